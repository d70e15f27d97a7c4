/**
 * Scripted simulation runs: hand-written fault sequences on the same simulated cluster, for the
 * hard cases and the known protocol defects. A script is an async function run inside virtual
 * time; `verify` heals the cluster, recovers the ledger with a fresh client and checks the
 * history (history.ts) like the random runs do.
 */
import type { MagnetarError } from '../../../lib/errors/index.ts';
import type { LedgerEntry } from '../../../lib/ledger/api.ts';
import { errorCode } from '../../../lib/ledger/errors.ts';
import type { LedgerLimits } from '../../../lib/ledger/limits.ts';
import { decodeMeta, type LedgerMeta } from '../../../lib/ledger/protocol/metadata.ts';
import type { ProtocolDefects } from '../../../lib/ledger/protocol/recovery.ts';
import { type ClusterOptions, type SimClient, SimCluster } from './cluster.ts';
import { checkHistory, type History, newHistory } from './history.ts';

export const PASSWORD = Buffer.from('scripted');

export class Script {
  readonly cluster: SimCluster;
  readonly history: History;

  constructor(opts: ClusterOptions) {
    this.cluster = new SimCluster(opts);
    this.history = newHistory((i) => payload(i));
  }

  client(name: string, defects: ProtocolDefects = {}, limits: Partial<LedgerLimits> = {}): SimClient {
    return this.cluster.newClient(name, defects, limits);
  }

  sleep(ms: number): Promise<void> {
    return new Promise((resolve) => this.cluster.sched.schedule(ms, resolve));
  }

  /** Poll `cond` every 0.2 ms of virtual time. */
  async until(cond: () => boolean, maxMs = 10_000): Promise<void> {
    const deadline = this.cluster.sched.nowMs + maxMs;
    while (!cond()) {
      if (this.cluster.sched.nowMs > deadline) throw new Error(`condition not met within ${maxMs} ms`);
      await this.sleep(0.2);
    }
  }

  /** The ledger's metadata as stored now. */
  meta(ledgerId: number): LedgerMeta {
    const key = this.cluster.storeServer.keys().find((k) => k.endsWith(`/${ledgerId}`))!;
    return decodeMeta(this.cluster.storeServer.get(key)!.value, ledgerId);
  }

  /** Append entry `i` (payload(i)) and record the outcome in the history. */
  append(ledger: { append(p: Uint8Array): Promise<number> }, i: number): Promise<void> {
    return ledger.append(payload(i)).then(
      (id) => void this.history.confirmed.push(id),
      (e) => void this.history.appendFailures.push({ entryId: i, code: errorCode(e) ?? String(e) }),
    );
  }

  /** Run `body` in virtual time; resolves with what it returned or threw. */
  async run<T>(body: () => Promise<T>, maxMs = 120_000): Promise<{ value?: T; error?: unknown }> {
    let result: { value?: T; error?: unknown } | undefined;
    void body().then(
      (value) => (result = { value }),
      (error) => (result = { error }),
    );
    await this.cluster.sched.run(() => result !== undefined, this.cluster.sched.nowMs + maxMs);
    if (!result) throw new Error(`script did not finish within ${maxMs} virtual ms`);
    return result;
  }

  /** Heal everything, recover with a fresh client, read all entries back, check the history. */
  async verify(ledgerId: number): Promise<{ violations: string[]; lastEntryId: number }> {
    this.cluster.healAll();
    const verifier = this.client(`verifier${this.cluster.sched.executed}`);
    const r = await this.run(async () => {
      const h = await verifier.client.openLedger(ledgerId, { recovery: true, password: PASSWORD });
      let entries: LedgerEntry[] = [];
      for (let attempt = 0; h.lastAddConfirmed >= 0; attempt++) {
        try {
          entries = await h.read(0, h.lastAddConfirmed);
          break;
        } catch (e) {
          if (attempt >= 5 || (e as MagnetarError).retry !== 'retryable') throw e;
          await this.sleep(100);
        }
      }
      return { lastEntryId: h.lastAddConfirmed, entries };
    });
    if (r.error)
      return { violations: [`verification failed: ${(r.error as Error).message}`], lastEntryId: -2 };
    const final = r.value!;
    return { violations: checkHistory(this.history, final), lastEntryId: final.lastEntryId };
  }
}

export function payload(i: number): Buffer {
  return Buffer.from(`entry-${i}-${'x'.repeat(i % 17)}`);
}
