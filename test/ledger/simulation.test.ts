/**
 * Deterministic simulation of the ledger protocol (style-anchors §1, §13.3): thousands of seeded
 * runs of the real client code against simulated bookies, network, metadata store and clock,
 * with faults constrained by the fault atlas. Every run checks that no confirmed entry is lost
 * or reordered and that every recoverer closes the ledger at the same last entry.
 *
 *   LEDGER_SIM_SEEDS=5000 LEDGER_SIM_FROM=100000 vitest run test/ledger/simulation.test.ts
 *   LEDGER_SIM_SEED=1234 vitest run test/ledger/simulation.test.ts     replay one seed, with trace
 *   node test/ledger/sim/run.ts --seed 1234 --trace                    the same from the shell
 */
import { describe, expect, it } from 'vitest';
import { randomScenario, runScenario } from './sim/scenario.ts';

const single = process.env.LEDGER_SIM_SEED;
const count = Number(process.env.LEDGER_SIM_SEEDS ?? 2000);
const from = Number(process.env.LEDGER_SIM_FROM ?? 0);

describe('ledger protocol simulation', () => {
  it(single ? `replays seed ${single}` : `keeps every confirmed entry over ${count} seeds`, {
    timeout: 600_000,
  }, async () => {
    const seeds = single ? [Number(single)] : Array.from({ length: count }, (_, i) => from + i);
    const failures: string[] = [];
    let events = 0;
    let confirmed = 0;
    let ensembleChanges = 0;
    for (const seed of seeds) {
      const r = await runScenario(randomScenario(seed, { trace: single !== undefined }));
      events += r.events;
      confirmed += r.confirmed;
      ensembleChanges += r.ensembleChanges;
      if (r.violations.length > 0) {
        failures.push(
          [
            `seed ${seed}: ${r.violations.join('; ')}`,
            `  config ${JSON.stringify(r.config)}`,
            `  replay: LEDGER_SIM_SEED=${seed} vitest run test/ledger/simulation.test.ts`,
            ...(single ? r.trace.map((l) => `    ${l}`) : []),
          ].join('\n'),
        );
      }
    }
    console.log(
      `${seeds.length} seeds: ${events} events, ${confirmed} confirmed entries, ${ensembleChanges} ensemble changes`,
    );
    expect(failures.slice(0, 10).join('\n')).toBe('');
  });

  it('is deterministic: the same seed gives the same run', async () => {
    for (const seed of [11, 4242]) {
      const a = await runScenario(randomScenario(seed, { trace: true }));
      const b = await runScenario(randomScenario(seed, { trace: true }));
      expect(b.events).toBe(a.events);
      expect(b.trace).toEqual(a.trace);
      expect(b.finalLastEntryId).toBe(a.finalLastEntryId);
    }
  });
});
