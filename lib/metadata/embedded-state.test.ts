import { describe, expect, it } from 'vitest';
import { decodeFrames, encodeFrame } from './embedded-files.ts';
import { compareKeys, EmbeddedState, type LogRecord } from './embedded-state.ts';
import { MetadataErrors } from './errors.ts';

const enc = (s: string) => new TextEncoder().encode(s);

describe('embedded state machine', () => {
  it('orders keys like etcd (UTF-8 bytes), not like UTF-16', () => {
    const samples = [
      '/a',
      '/a/b',
      '/ab',
      '/\uffff',
      '/\u{1f600}',
      '/\ue000x',
      '/z',
      '/',
      '/a\u00e9',
      '/\ud7ff',
    ];
    for (const a of samples) {
      for (const b of samples) {
        expect(Math.sign(compareKeys(a, b)), `${a} vs ${b}`).toBe(
          Math.sign(Buffer.compare(Buffer.from(a), Buffer.from(b))),
        );
      }
    }
  });

  it('replays records into the same state as a snapshot does', () => {
    const live = new EmbeddedState();
    const log: LogRecord[] = [];
    const run = (r: LogRecord | undefined) => {
      if (!r) return;
      log.push(r);
      live.apply(r);
    };
    run(live.planSessionStart(1000));
    const session = {
      id: '1',
      ttlMs: 1000,
      alive: true,
      onLost: () => undefined,
      close: async () => undefined,
    };
    run(live.planTxn([{ op: 'put', key: '/x/1', value: enc('a'), session }]));
    run(live.planTxn([{ op: 'put', key: '/x/2', value: enc('b'), expectedVersion: 'absent' }]));
    run(live.planDeletePrefix('/x/2'));
    run(live.planTxn([{ op: 'put', key: '/y', value: enc('c') }]));
    const replayed = new EmbeddedState();
    for (const r of log) replayed.apply(JSON.parse(JSON.stringify(r)));
    expect(replayed.snapshot()).toEqual(live.snapshot());
    const restored = EmbeddedState.fromSnapshot(JSON.parse(JSON.stringify(live.snapshot())));
    const events = restored.apply(restored.planSessionEnd('1')!);
    expect(events).toEqual([{ type: 'delete', key: '/x/1', version: live.revision + 1 }]);
    expect(restored.range('/', undefined, 10).entries.map((e) => e.key)).toEqual(['/y']);
    expect(() => live.planTxn([{ op: 'put', key: '/y', value: enc('d'), expectedVersion: 1 }])).toThrow(
      /BAD_VERSION/,
    );
  });

  it('decodes frames, cuts a torn tail, refuses damage before intact frames', () => {
    const frames = Buffer.concat([encodeFrame({ a: 1 }), encodeFrame({ b: 2 }), encodeFrame({ c: 3 })]);
    expect(decodeFrames(frames, 'f').payloads).toEqual([{ a: 1 }, { b: 2 }, { c: 3 }]);
    const cut = frames.subarray(0, frames.length - 3);
    expect(decodeFrames(cut, 'f')).toMatchObject({ payloads: [{ a: 1 }, { b: 2 }] });
    const zeros = Buffer.concat([frames, Buffer.alloc(4096)]);
    expect(decodeFrames(zeros, 'f')).toMatchObject({
      payloads: [{ a: 1 }, { b: 2 }, { c: 3 }],
      validBytes: frames.length,
    });
    const damaged = Buffer.from(frames);
    damaged[9] ^= 1;
    try {
      decodeFrames(damaged, 'f');
      throw new Error('expected STORE_CORRUPT');
    } catch (err) {
      expect(MetadataErrors.is(err, 'STORE_CORRUPT')).toBe(true);
    }
  });
});
