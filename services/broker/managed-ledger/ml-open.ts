/**
 * Opening a managed ledger as its (new) owner (internals.md §1.11, §4.1, §5.6):
 * read the ledger list → recover the last ledger (fencing the previous writer and learning its
 * true length) and fence the one before it too if it was never sealed (a roll was in flight) →
 * drop empty ledgers → create a new ledger → CAS the list. Only after that CAS succeeded may
 * appends be confirmed; a lost CAS means another broker got there first (MANAGED_LEDGER_FENCED).
 */
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from 'pino';
import { LedgerState } from '../../../lib/gen/magnetar/meta/v1/meta_pb.ts';
import type { LedgerClient, WritableLedger } from '../../../lib/ledger/api.ts';
import type { Version } from '../../../lib/metadata/store.ts';
import type { ManagedLedgerConfig } from './api.ts';
import { decodeCursorInfo, decodeLedgerList, encodeLedgerList, type StoredLedgerList } from './codec.ts';
import { mlErrors } from './errors.ts';
import { LedgerList } from './ledger-list.ts';
import { backoffMs, type ManagedLedgerSettings } from './limits.ts';
import { isConflict, type MlStore } from './ml-store.ts';

export interface MlContext {
  readonly meta: MlStore;
  readonly client: LedgerClient;
  readonly settings: ManagedLedgerSettings;
  readonly log: Logger;
  readonly password: Uint8Array;
  now(): number;
  random(): number;
}

/** The state a freshly opened managed ledger starts from. */
export interface OpenedLedgerList {
  readonly list: LedgerList;
  readonly version: Version;
  readonly stored: StoredLedgerList;
  /** The new ledger to write to (absent when terminated). */
  readonly current: WritableLedger | undefined;
}

const errCode = (err: unknown) => (err as { code?: string })?.code;

/**
 * Create a ledger for `name` whose id is above `afterLedgerId`, retrying transient failures.
 * Positions order by ledger id (Pulsar clients compare message ids), but ids come from batches
 * reserved per process, so a new owner may be handed ids below the previous owner's: those
 * ledgers are deleted unused and the next id is tried (bounded by maxLedgerIdSkips).
 */
export async function createDataLedger(
  ctx: MlContext,
  name: string,
  config: ManagedLedgerConfig,
  afterLedgerId: number,
): Promise<WritableLedger> {
  for (let skipped = 0; ; skipped++) {
    const ledger = await createOnce(ctx, name, config);
    if (ledger.id > afterLedgerId) {
      if (skipped > 0)
        ctx.log.info({ name, skipped, ledgerId: ledger.id }, 'skipped ledger ids below the list');
      return ledger;
    }
    await ctx.client.deleteLedger(ledger.id).catch(() => undefined);
    if (skipped + 1 >= ctx.settings.maxLedgerIdSkips)
      throw mlErrors.make('METADATA_ERROR', {
        name,
        reason: `no ledger id above ${afterLedgerId} after ${skipped + 1} attempts`,
      });
  }
}

async function createOnce(
  ctx: MlContext,
  name: string,
  config: ManagedLedgerConfig,
): Promise<WritableLedger> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await ctx.client.createLedger({
        ensembleSize: config.ensembleSize,
        writeQuorum: config.writeQuorum,
        ackQuorum: config.ackQuorum,
        password: ctx.password,
        customMetadata: { component: 'managed-ledger', 'managed-ledger': name },
      });
    } catch (err) {
      const retryable = (err as { retry?: string }).retry === 'retryable';
      if (!retryable || attempt + 1 >= ctx.settings.ledgerCreateAttempts) throw err;
      ctx.log.warn({ err, name, attempt }, 'ledger creation failed; retrying');
      await sleep(backoffMs(ctx.settings, attempt));
    }
  }
}

export async function openLedgerList(
  ctx: MlContext,
  name: string,
  config: ManagedLedgerConfig,
): Promise<OpenedLedgerList> {
  const key = ctx.meta.ledgerKey(name);
  for (let attempt = 0; ; attempt++) {
    const e = await ctx.meta.get(key, name);
    if (!e) {
      const created = await createNew(ctx, name, config);
      if (created) return created;
    } else {
      const stored = decodeLedgerList(e.value, name);
      if (stored.deleting) {
        await finishDelete(ctx, name, stored, e.version);
        continue;
      }
      try {
        return await takeOver(ctx, name, config, stored, e.version);
      } catch (err) {
        // The previous owner moved the list while we recovered its ledger (it is fenced now and
        // will stop): read the list again and start over, a bounded number of times.
        if (!mlErrors.is(err, 'MANAGED_LEDGER_FENCED') || attempt + 1 >= ctx.settings.openTakeoverAttempts)
          throw err;
        ctx.log.info({ name, attempt }, 'ledger list changed during takeover; starting over');
        continue;
      }
    }
    // Someone created the topic concurrently: take it over like any existing one.
    if (attempt + 1 >= ctx.settings.openTakeoverAttempts)
      throw mlErrors.make('METADATA_ERROR', { name, reason: 'topic keeps being created concurrently' });
  }
}

async function createNew(
  ctx: MlContext,
  name: string,
  config: ManagedLedgerConfig,
): Promise<OpenedLedgerList | undefined> {
  const ledger = await createDataLedger(ctx, name, config, -1);
  const now = ctx.now();
  const stored: StoredLedgerList = {
    ledgers: [{ ledgerId: ledger.id, entries: 0, sizeBytes: 0, timestampMs: now }],
    properties: {},
    createdMs: now,
    deleting: false,
    owner: randomUUID(),
  };
  try {
    const version = await ctx.meta.putLedgerList(name, encodeLedgerList(stored, ledger.id), 'absent');
    return { list: new LedgerList(stored.ledgers), version, stored, current: ledger };
  } catch (err) {
    await ctx.client.deleteLedger(ledger.id).catch(() => undefined);
    if (isConflict(err)) return undefined;
    throw err;
  }
}

async function takeOver(
  ctx: MlContext,
  name: string,
  config: ManagedLedgerConfig,
  found: StoredLedgerList,
  foundVersion: Version,
): Promise<OpenedLedgerList> {
  // Claim first: rewrite the list unchanged but for our owner token. From then on the previous
  // owner can no longer write the list (no roll to a ledger we would not fence, no trim), and its
  // cursor writes (which check the list version) fail. Only then fence and recover its ledgers.
  const stored: StoredLedgerList = { ...found, owner: randomUUID() };
  let version: Version;
  try {
    version = await ctx.meta.putLedgerList(name, encodeLedgerList(stored, undefined), foundVersion);
  } catch (err) {
    if (isConflict(err)) throw mlErrors.make('MANAGED_LEDGER_FENCED', { name }, err);
    throw err;
  }
  const list = new LedgerList(stored.ledgers);
  await recoverTail(ctx, name, list);
  const now = ctx.now();
  const empties = new Set(list.records.filter((r) => r.entries === 0).map((r) => r.ledgerId));
  let current: WritableLedger | undefined;
  if (stored.terminatedPosition) {
    // Terminated: no new ledger; keep the (sealed) last ledger even if empty.
    const last = list.last;
    if (last) empties.delete(last.ledgerId);
  } else {
    current = await createDataLedger(ctx, name, config, list.last?.ledgerId ?? -1);
  }
  list.remove(empties);
  if (current) list.append({ ledgerId: current.id, entries: 0, sizeBytes: 0, timestampMs: now });
  const next: StoredLedgerList = { ...stored, ledgers: [...list.records] };
  let newVersion: Version;
  try {
    // Nobody but a newer owner can have written the list since our claim.
    newVersion = await ctx.meta.putLedgerList(name, encodeLedgerList(next, current?.id), version);
  } catch (err) {
    if (current) await ctx.client.deleteLedger(current.id).catch(() => undefined);
    if (isConflict(err)) throw mlErrors.make('MANAGED_LEDGER_FENCED', { name }, err);
    throw err;
  }
  for (const id of empties) {
    await ctx.client
      .deleteLedger(id)
      .catch((err) => ctx.log.warn({ err, name, ledgerId: id }, 'empty ledger not deleted'));
  }
  return { list, version: newVersion, stored: next, current };
}

/**
 * Recover the last ledger (its stored counts are 0/0 while it was being written) and fence the
 * one before it when it was never sealed. Counts of earlier ledgers were fixed when the list
 * moved past them and stay authoritative.
 */
async function recoverTail(ctx: MlContext, name: string, list: LedgerList): Promise<void> {
  const last = list.last;
  if (!last) return;
  const prev = list.previousLedger(last.ledgerId);
  if (prev) {
    const md = await ctx.client.getLedgerMetadata(prev.ledgerId);
    if (md && md.state !== LedgerState.CLOSED) {
      const h = await ctx.client.openLedger(prev.ledgerId, { recovery: true, password: ctx.password });
      await h.release();
    }
  }
  try {
    const h = await ctx.client.openLedger(last.ledgerId, { recovery: true, password: ctx.password });
    const entries = h.lastAddConfirmed + 1;
    if (entries !== last.entries || last.sizeBytes === 0) {
      last.entries = entries;
      last.sizeBytes = Number(h.metadata.length);
      last.timestampMs = ctx.now();
    }
    await h.release();
  } catch (err) {
    if (errCode(err) !== 'NO_SUCH_LEDGER') throw err;
    ctx.log.warn(
      { name, ledgerId: last.ledgerId },
      'last ledger of the list does not exist; treating it as empty',
    );
    last.entries = 0;
    last.sizeBytes = 0;
  }
}

/** Complete a delete that a previous owner started (ledgers first, keys last). */
export async function finishDelete(
  ctx: MlContext,
  name: string,
  stored: StoredLedgerList,
  version: Version,
): Promise<void> {
  const ids = new Set(stored.ledgers.map((r) => r.ledgerId));
  for (const cursor of await ctx.meta.listCursorNames(name)) {
    const e = await ctx.meta.get(ctx.meta.cursorKey(name, cursor), name);
    if (!e) continue;
    const c = decodeCursorInfo(e.value, `${name}/${cursor}`);
    if (c.cursorLedgerId >= 0) ids.add(c.cursorLedgerId);
  }
  await deleteLedgers(ctx, name, ids);
  await ctx.meta.deleteAllKeys(name, version);
}

/** Delete ledgers, ignoring ones already gone; other failures are logged (orphans). */
export async function deleteLedgers(ctx: MlContext, name: string, ids: Iterable<number>): Promise<number[]> {
  const failed: number[] = [];
  for (const id of ids) {
    for (let attempt = 0; ; attempt++) {
      try {
        await ctx.client.deleteLedger(id);
        break;
      } catch (err) {
        if (errCode(err) === 'NO_SUCH_LEDGER') break;
        if (attempt + 1 >= ctx.settings.metadataAttempts) {
          ctx.log.warn({ err, name, ledgerId: id }, 'ledger could not be deleted (orphan)');
          failed.push(id);
          break;
        }
        await sleep(backoffMs(ctx.settings, attempt));
      }
    }
  }
  return failed;
}
