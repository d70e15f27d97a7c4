/**
 * copyFragment against a scripted transport double (bookies as maps of envelopes): which entries
 * are copied, from where, with which flags, and that a missing or corrupt entry fails the copy.
 * The copy over real bookies (gRPC) is tested by the coordinator's autorecovery process test.
 */
import { describe, expect, it } from 'vitest';
import { Status } from '../gen/magnetar/bookie/v1/bookie_pb.ts';
import type { AddRequest, BookieTransport, ReadRangeReply, ReplyStatus } from './driver/transport.ts';
import { encodeEnvelope } from './envelope.ts';
import { copyFragment, entriesOnIndex, type FragmentToCopy } from './fragment-replicator.ts';

class ScriptedBookies implements BookieTransport {
  readonly data = new Map<string, Map<number, Uint8Array>>();
  readonly adds: { bookie: string; req: AddRequest }[] = [];
  readonly reads: string[] = [];
  down = new Set<string>();
  put(bookie: string, entryId: number, body: Uint8Array): void {
    if (!this.data.has(bookie)) this.data.set(bookie, new Map());
    this.data.get(bookie)!.set(entryId, body);
  }
  add(bookie: string, req: AddRequest, cb: (s: ReplyStatus) => void): void {
    this.adds.push({ bookie, req });
    this.put(bookie, req.entryId, req.body);
    queueMicrotask(() => cb(this.down.has(bookie) ? -1 : Status.OK));
  }
  readEntry(
    bookie: string,
    req: { entryId: number },
    _t: number,
    cb: (r: { status: ReplyStatus; body?: Uint8Array }) => void,
  ): void {
    this.reads.push(`${bookie}:${req.entryId}`);
    const body = this.down.has(bookie) ? undefined : this.data.get(bookie)?.get(req.entryId);
    queueMicrotask(() =>
      cb(body ? { status: Status.OK, body } : { status: this.down.has(bookie) ? -1 : Status.NO_ENTRY }),
    );
  }
  readRange(
    bookie: string,
    req: { firstEntryId: number; maxEntries: number },
    _t: number,
    cb: (r: ReadRangeReply) => void,
  ): void {
    this.reads.push(`${bookie}:${req.firstEntryId}+`);
    const bodies: Uint8Array[] = [];
    const store = this.down.has(bookie) ? undefined : this.data.get(bookie);
    for (let e = req.firstEntryId; store?.has(e) && bodies.length < req.maxEntries; e++)
      bodies.push(store.get(e)!);
    queueMicrotask(() => cb({ status: bodies.length ? Status.OK : -1, bodies, stopStatus: Status.OK }));
  }
  readLac(): void {
    throw new Error('unused');
  }
  fence(): void {
    throw new Error('unused');
  }
  deleteLedger(): void {
    throw new Error('unused');
  }
  async close(): Promise<void> {}
}

const body = (ledgerId: number, entryId: number) =>
  encodeEnvelope(
    { ledgerId, entryId, lastAddConfirmed: entryId - 1, length: 0 },
    Buffer.from(`payload-${entryId}`),
  );
const opts = { batchEntries: 4, batchBytes: 1 << 20, requestTimeoutMs: 5_000 };

describe('copyFragment', () => {
  it('copies every entry of an E=Qw fragment from a surviving bookie, as recovery adds with the master key', async () => {
    const t = new ScriptedBookies();
    for (let e = 10; e <= 20; e++) {
      t.put('b1', e, body(5, e));
      t.put('b2', e, body(5, e));
    }
    const f: FragmentToCopy = {
      ledgerId: 5,
      masterKey: new Uint8Array([9]),
      quorum: { ensembleSize: 2, writeQuorum: 2, ackQuorum: 2 },
      ensemble: ['b1', 'b2'],
      firstEntryId: 10,
      lastEntryId: 20,
      replaceIndex: 1,
      target: 'b3',
      unavailable: new Set(['b2']),
    };
    const progress: number[] = [];
    const res = await copyFragment(t, f, { ...opts, onProgress: (n) => progress.push(n) });
    expect(res.entries).toBe(11);
    expect([...t.data.get('b3')!.keys()].sort((a, b) => a - b)).toEqual(
      Array.from({ length: 11 }, (_, i) => 10 + i),
    );
    for (let e = 10; e <= 20; e++)
      expect(Buffer.from(t.data.get('b3')!.get(e)!)).toEqual(Buffer.from(body(5, e)));
    expect(t.adds.every((a) => a.req.recovery && a.req.masterKey[0] === 9 && a.bookie === 'b3')).toBe(true);
    expect(t.reads.every((r) => r.startsWith('b1'))).toBe(true);
    expect(progress.at(-1)).toBe(11);
  });

  it('copies only the striped entries of the replaced index when E > Qw, reading each from its write set', async () => {
    const q = { ensembleSize: 3, writeQuorum: 2, ackQuorum: 2 };
    expect(entriesOnIndex({ quorum: q, firstEntryId: 0, lastEntryId: 8, replaceIndex: 0 }, 0, 100)).toEqual([
      0, 2, 3, 5, 6, 8,
    ]);
    const t = new ScriptedBookies();
    const ensemble = ['b1', 'b2', 'b3'];
    for (let e = 0; e <= 8; e++) for (const i of [e % 3, (e + 1) % 3]) t.put(ensemble[i], e, body(6, e));
    const res = await copyFragment(
      t,
      {
        ledgerId: 6,
        masterKey: new Uint8Array(),
        quorum: q,
        ensemble,
        firstEntryId: 0,
        lastEntryId: 8,
        replaceIndex: 0,
        target: 'b4',
        unavailable: new Set(['b1']),
      },
      opts,
    );
    expect(res.entries).toBe(6);
    expect([...t.data.get('b4')!.keys()].sort((a, b) => a - b)).toEqual([0, 2, 3, 5, 6, 8]);
    expect(t.reads.some((r) => r.startsWith('b1'))).toBe(false);
  });

  it('falls back to the next survivor, and fails rather than skip an entry no survivor has', async () => {
    const t = new ScriptedBookies();
    const q = { ensembleSize: 3, writeQuorum: 3, ackQuorum: 2 };
    for (let e = 0; e < 6; e++) {
      t.put('b2', e, body(7, e));
      if (e !== 3) t.put('b3', e, body(7, e));
    }
    t.put('b2', 4, body(7, 99)); // wrong entry id inside the envelope: must not be copied
    t.down.add('b2');
    const f = {
      ledgerId: 7,
      masterKey: new Uint8Array(),
      quorum: q,
      ensemble: ['b1', 'b2', 'b3'],
      firstEntryId: 0,
      lastEntryId: 5,
      replaceIndex: 0,
      target: 'b4',
    };
    await expect(copyFragment(t, f, opts)).rejects.toThrow(/READ_FAILED/);
    t.down.delete('b2');
    const res = await copyFragment(t, f, opts);
    expect(res.entries).toBe(6);
    expect(Buffer.from(t.data.get('b4')!.get(4)!)).toEqual(Buffer.from(body(7, 4)));
  });

  it('reports a target that refuses the adds', async () => {
    const t = new ScriptedBookies();
    t.put('b1', 0, body(8, 0));
    t.down.add('b9');
    const f = {
      ledgerId: 8,
      masterKey: new Uint8Array(),
      quorum: { ensembleSize: 2, writeQuorum: 2, ackQuorum: 1 },
      ensemble: ['b1', 'b2'],
      firstEntryId: 0,
      lastEntryId: 0,
      replaceIndex: 1,
      target: 'b9',
    };
    await expect(copyFragment(t, f, opts)).rejects.toThrow(/ADD_FAILED/);
  });
});
