/**
 * A lean batching AddStream client for benchmarks: envelopes are built straight into the encoded
 * gRPC message (no per-entry objects), results are parsed without protobuf objects. Wire format
 * is bookie.proto's AddStreamRequest / AddStreamResponse.
 */
import * as grpc from '@grpc/grpc-js';
import { crc32c } from '../../lib/util/crc32c.ts';

const ADD_PATH = '/magnetar.bookie.v1.BookieService/AddStream';
const identity = (b: Buffer) => b;
const Client = grpc.makeGenericClientConstructor(
  {
    addStream: {
      path: ADD_PATH,
      requestStream: true,
      responseStream: true,
      requestSerialize: identity,
      requestDeserialize: identity,
      responseSerialize: identity,
      responseDeserialize: identity,
    },
  },
  'BookieService',
);

function varintSize(v: number): number {
  let n = 1;
  while (v >= 128) {
    v = Math.floor(v / 128);
    n++;
  }
  return n;
}

function putVarint(buf: Buffer, off: number, v: number): number {
  while (v >= 128) {
    buf[off++] = (v % 128) | 128;
    v = Math.floor(v / 128);
  }
  buf[off++] = v;
  return off;
}

function putInt64BE(buf: Buffer, off: number, v: number): void {
  if (v < 0) {
    buf.writeInt32BE(-1, off);
    buf.writeInt32BE(-1, off + 4);
    return;
  }
  buf.writeUInt32BE(Math.floor(v / 0x100000000), off);
  buf.writeUInt32BE(v >>> 0, off + 4);
}

export interface BatchEntry {
  readonly ledgerId: number;
  readonly entryId: number;
}

export interface BatchResult {
  readonly ok: number;
  readonly failed: number;
  /** performance.now() when the results arrived. */
  readonly at: number;
}

interface Outstanding {
  readonly firstRequestId: number;
  readonly count: number;
  ok: number;
  failed: number;
  seen: number;
  readonly done: (r: BatchResult) => void;
}

export class BenchAddClient {
  readonly #client: grpc.Client;
  readonly #stream: grpc.ClientDuplexStream<Buffer, Buffer>;
  readonly #queue: Outstanding[] = [];
  readonly #key: Buffer;
  #nextRequestId = 1;
  #error: Error | undefined;

  constructor(address: string, masterKey = Buffer.from('bench')) {
    this.#client = new Client(address, grpc.credentials.createInsecure(), {
      'grpc.max_receive_message_length': 64 << 20,
      'grpc.max_send_message_length': 64 << 20,
    });
    this.#key = masterKey;
    this.#stream = (
      this.#client as unknown as { addStream(): grpc.ClientDuplexStream<Buffer, Buffer> }
    ).addStream();
    this.#stream.on('data', (b: Buffer) => this.#onResponse(b));
    this.#stream.on('error', (err: Error) => this.#fail(err));
    this.#stream.on('end', () => this.#fail(new Error('stream ended')));
  }

  get inFlight(): number {
    return this.#queue.length;
  }

  /** Encode and send one message with `entries` (payload shared); resolves with its results. */
  send(entries: readonly BatchEntry[], payload: Buffer): Promise<BatchResult> {
    if (this.#error) return Promise.reject(this.#error);
    const firstRequestId = this.#nextRequestId;
    const bodyLen = 36 + payload.length;
    let total = 0;
    const sizes: number[] = new Array(entries.length);
    for (let i = 0; i < entries.length; i++) {
      const e = entries[i];
      const inner =
        1 +
        varintSize(firstRequestId + i) +
        1 +
        varintSize(e.ledgerId) +
        1 +
        varintSize(e.entryId) +
        1 +
        varintSize(this.#key.length) +
        this.#key.length +
        1 +
        varintSize(bodyLen) +
        bodyLen;
      sizes[i] = inner;
      total += 1 + varintSize(inner) + inner;
    }
    const buf = Buffer.allocUnsafe(total);
    let off = 0;
    for (let i = 0; i < entries.length; i++) {
      const e = entries[i];
      buf[off++] = 0x0a;
      off = putVarint(buf, off, sizes[i]);
      buf[off++] = 0x08;
      off = putVarint(buf, off, firstRequestId + i);
      buf[off++] = 0x10;
      off = putVarint(buf, off, e.ledgerId);
      buf[off++] = 0x18;
      off = putVarint(buf, off, e.entryId);
      buf[off++] = 0x22;
      off = putVarint(buf, off, this.#key.length);
      this.#key.copy(buf, off);
      off += this.#key.length;
      buf[off++] = 0x2a;
      off = putVarint(buf, off, bodyLen);
      // The envelope: ledgerId | entryId | lac | length | crc32c(header ++ payload) | payload
      putInt64BE(buf, off, e.ledgerId);
      putInt64BE(buf, off + 8, e.entryId);
      putInt64BE(buf, off + 16, e.entryId - 1);
      putInt64BE(buf, off + 24, 0);
      payload.copy(buf, off + 36);
      const crc = crc32c(payload, crc32c(buf.subarray(off, off + 32)));
      buf.writeUInt32BE(crc, off + 32);
      off += bodyLen;
    }
    this.#nextRequestId += entries.length;
    return new Promise((done) => {
      this.#queue.push({ firstRequestId, count: entries.length, ok: 0, failed: 0, seen: 0, done });
      this.#stream.write(buf);
    });
  }

  #onResponse(b: Buffer): void {
    const at = performance.now();
    let off = 0;
    while (off < b.length) {
      const tag = b[off++];
      const [len, o1] = readVarint(b, off);
      off = o1;
      if (tag !== 0x0a) {
        off += len;
        continue;
      }
      const end = off + len;
      let status = 0;
      while (off < end) {
        const t = b[off++];
        const [v, o2] = readVarint(b, off);
        off = o2;
        if (t === 0x20) status = v;
      }
      const head = this.#queue[0];
      if (!head) continue;
      if (status === 1) head.ok++;
      else head.failed++;
      if (++head.seen === head.count) {
        this.#queue.shift();
        head.done({ ok: head.ok, failed: head.failed, at });
      }
    }
  }

  #fail(err: Error): void {
    this.#error ??= err;
    for (const o of this.#queue.splice(0))
      o.done({ ok: o.ok, failed: o.count - o.ok, at: performance.now() });
  }

  close(): void {
    this.#stream.end();
    this.#client.close();
  }
}

function readVarint(b: Buffer, off: number): [number, number] {
  let v = 0;
  let mul = 1;
  for (;;) {
    const byte = b[off++];
    v += (byte & 0x7f) * mul;
    if (byte < 0x80) return [v, off];
    mul *= 128;
  }
}
