import { describe, expect, it } from 'vitest';
import { decideGroupCommit } from './policy.ts';
import {
  encodeFrame,
  FRAME_HEADER_BYTES,
  readInt53LE,
  readSafeInt64BE,
  scanFrames,
  writeInt53LE,
} from './frame.ts';

const MAX = 1 << 20;

function frames(fileId: number, payloads: string[]): Buffer {
  return Buffer.concat(payloads.map((p, i) => encodeFrame(fileId, i + 1, Buffer.from(p))));
}

describe('journal framing', () => {
  it('round-trips frames and stops cleanly at the end of the buffer', () => {
    const buf = frames(7, ['a', 'bb', '']);
    const res = scanFrames(buf, 7, MAX);
    expect(res.stop).toBe('end');
    expect(res.end).toBe(buf.length);
    expect(res.frames.map((f) => [f.type, f.payload.toString()])).toEqual([
      [1, 'a'],
      [2, 'bb'],
      [3, ''],
    ]);
  });

  it('stops at zeros (preallocated, never written space)', () => {
    const data = frames(1, ['x', 'y']);
    const buf = Buffer.concat([data, Buffer.alloc(100)]);
    const res = scanFrames(buf, 1, MAX);
    expect(res).toMatchObject({ stop: 'zeros', end: data.length });
    expect(res.frames).toHaveLength(2);
    const tiny = Buffer.concat([data, Buffer.alloc(5)]);
    expect(scanFrames(tiny, 1, MAX)).toMatchObject({ stop: 'zeros', end: data.length });
  });

  it('detects a torn frame: cut short, or garbage in it', () => {
    const data = frames(3, ['first', 'second-frame-payload']);
    const cut = data.subarray(0, data.length - 4);
    expect(scanFrames(cut, 3, MAX)).toMatchObject({ stop: 'short', end: FRAME_HEADER_BYTES + 5 });
    const garbled = Buffer.from(data);
    garbled[data.length - 2] ^= 0xff;
    expect(scanFrames(garbled, 3, MAX)).toMatchObject({ stop: 'bad-crc', end: FRAME_HEADER_BYTES + 5 });
    const garbage = Buffer.concat([
      frames(3, ['ok']),
      Buffer.from([9, 9, 9, 9, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13]),
    ]);
    const res = scanFrames(garbage, 3, MAX);
    expect(res.frames).toHaveLength(1);
    expect(['bad-crc', 'bad-length', 'short']).toContain(res.stop);
  });

  it('rejects lengths below the header or above the maximum', () => {
    const buf = Buffer.alloc(64, 0);
    buf.writeUInt32LE(8, 0);
    expect(scanFrames(buf, 0, MAX).stop).toBe('bad-length');
    buf.writeUInt32LE(60, 0);
    expect(scanFrames(buf, 0, 32).stop).toBe('bad-length');
  });

  it('treats a valid frame of another file id as stale data of a recycled file', () => {
    const buf = Buffer.concat([frames(10, ['new']), frames(9, ['old', 'older'])]);
    const res = scanFrames(buf, 10, MAX);
    expect(res).toMatchObject({ stop: 'other-file', end: FRAME_HEADER_BYTES + 3 });
    expect(res.frames).toHaveLength(1);
  });

  it('scans from an offset up to a limit', () => {
    const buf = frames(2, ['a', 'b', 'c']);
    const second = FRAME_HEADER_BYTES + 1;
    const res = scanFrames(buf, 2, MAX, second, second * 2);
    expect(res.frames.map((f) => f.payload.toString())).toEqual(['b']);
    expect(res.stop).toBe('end');
  });

  it('encodes ids as safe integers', () => {
    const b = Buffer.alloc(8);
    for (const v of [0, 1, -1, 2 ** 32, 2 ** 53 - 1, 123456789012]) {
      writeInt53LE(b, v, 0);
      expect(readInt53LE(b, 0)).toBe(v);
      b.writeBigInt64BE(BigInt(v), 0);
      expect(readSafeInt64BE(b, 0)).toBe(v);
    }
    b.writeBigInt64BE(2n ** 60n, 0);
    expect(readSafeInt64BE(b, 0)).toBeNaN();
    b.writeBigInt64BE(-5n, 0);
    expect(readSafeInt64BE(b, 0)).toBeNaN();
  });
});

describe('group commit policy', () => {
  const base = { now: 10, inFlight: false, pending: true, pendingBytes: 100, oldestAt: 9 };
  it('never starts a second group while one is in flight, nor an empty one', () => {
    const s = { maxWaitMs: 2, maxBytes: 1000, flushWhenIdle: true };
    expect(decideGroupCommit(s, { ...base, inFlight: true })).toEqual({ action: 'idle' });
    expect(decideGroupCommit(s, { ...base, pending: false })).toEqual({ action: 'idle' });
    expect(decideGroupCommit(s, base)).toEqual({ action: 'flush' });
  });
  it('waits for the oldest record up to maxWaitMs unless maxBytes are waiting', () => {
    const s = { maxWaitMs: 2, maxBytes: 1000, flushWhenIdle: false };
    expect(decideGroupCommit(s, base)).toEqual({ action: 'wait', ms: 1 });
    expect(decideGroupCommit(s, { ...base, now: 11 })).toEqual({ action: 'flush' });
    expect(decideGroupCommit(s, { ...base, pendingBytes: 1000 })).toEqual({ action: 'flush' });
  });
});

describe('self-checked entry frames', () => {
  it('round-trip, and a torn payload fails the envelope digest', async () => {
    const { encodeEnvelope } = await import('../../../lib/ledger/envelope.ts');
    const { sealSelfCheckedFrame } = await import('./frame.ts');
    const env = encodeEnvelope(
      { ledgerId: 1, entryId: 2, lastAddConfirmed: 1, length: 0 },
      Buffer.alloc(500, 3),
    );
    const buf = Buffer.alloc(FRAME_HEADER_BYTES + env.length);
    env.copy(buf, FRAME_HEADER_BYTES);
    sealSelfCheckedFrame(buf, 0, env.length, 4, 1);
    const ok = scanFrames(buf, 4, MAX);
    expect(ok.frames).toHaveLength(1);
    expect(ok.frames[0].payload.equals(env)).toBe(true);
    const tornPayload = Buffer.from(buf);
    tornPayload[FRAME_HEADER_BYTES + 300] ^= 0xff;
    expect(scanFrames(tornPayload, 4, MAX).stop).toBe('bad-crc');
    const tornLength = Buffer.from(buf);
    tornLength.writeUInt32LE(buf.length - 1, 0);
    expect(scanFrames(tornLength, 4, MAX).stop).toBe('bad-crc');
  });
});
