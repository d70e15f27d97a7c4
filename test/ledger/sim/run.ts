/**
 * Run simulation seeds from the command line (replay and exploration):
 *   node test/ledger/sim/run.ts --seed 123 [--trace]      one seed, printing its trace on failure
 *   node test/ledger/sim/run.ts --from 0 --count 1000     a range of seeds
 *   ... --defect recoveryReadsDoNotFence                  with a known protocol defect re-introduced
 */
import { parseArgs } from 'node:util';
import { randomScenario, runScenario } from './scenario.ts';

const { values } = parseArgs({
  options: {
    seed: { type: 'string' },
    from: { type: 'string', default: '0' },
    count: { type: 'string', default: '100' },
    trace: { type: 'boolean', default: false },
    defect: { type: 'string' },
  },
});

const seeds =
  values.seed !== undefined
    ? [Number(values.seed)]
    : Array.from({ length: Number(values.count) }, (_, i) => Number(values.from) + i);
const started = performance.now();
let failed = 0;
let events = 0;
let current = -1;
process.on('unhandledRejection', (e) => {
  console.log(`seed ${current}: unhandled rejection ${(e as Error).stack ?? e}`);
  process.exit(1);
});
for (const seed of seeds) {
  current = seed;
  const defects = values.defect ? { [values.defect]: true } : {};
  const r = await runScenario(randomScenario(seed, { trace: values.trace, defects }));
  events += r.events;
  if (r.violations.length > 0 || values.seed !== undefined) {
    if (r.violations.length > 0) failed++;
    console.log(`seed ${seed}: ${r.violations.length} violations; config ${JSON.stringify(r.config)}`);
    for (const v of r.violations) console.log(`  ${v}`);
    if (values.trace) for (const line of r.trace) console.log(`    ${line}`);
    console.log(
      `  confirmed ${r.confirmed}, final last ${r.finalLastEntryId}, ensemble changes ${r.ensembleChanges}, events ${r.events}`,
    );
  }
}
const ms = performance.now() - started;
console.log(
  `${seeds.length} seeds, ${failed} failed, ${events} events, ${ms.toFixed(0)} ms (${(ms / seeds.length).toFixed(1)} ms/seed)`,
);
