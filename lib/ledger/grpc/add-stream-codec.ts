/**
 * Hand-rolled protobuf wire encoding of AddStreamRequest and decoding of AddStreamResponse
 * (proto/magnetar/bookie/v1/bookie.proto), the client's hottest path: the generic protobuf-es
 * create + toBinary costs a few microseconds per entry and per bookie, this one a fraction, and
 * writes each body once, straight into the message buffer. Field numbers must match the .proto;
 * the round-trip test against the generated schema guards that.
 *
 *   AddStreamRequest  { repeated AddEntry entries = 1; }
 *   AddEntry          { uint64 request_id = 1; int64 ledger_id = 2; int64 entry_id = 3;
 *                       bytes master_key = 4; bytes body = 5; bool recovery = 6; }
 *   AddStreamResponse { repeated AddResult results = 1; }
 *   AddResult         { uint64 request_id = 1; int64 ledger_id = 2; int64 entry_id = 3; Status status = 4; }
 */
import { assert } from '../../assert.ts';

export interface AddEntryFields {
  readonly requestId: number;
  readonly ledgerId: number;
  readonly entryId: number;
  readonly masterKey: Uint8Array;
  readonly body: Uint8Array;
  readonly recovery: boolean;
}

export interface AddResultFields {
  readonly requestId: number;
  readonly status: number;
}

const WIRE_VARINT = 0;
const WIRE_LEN = 2;

function varintBytes(v: number): number {
  let n = 1;
  while (v >= 0x80) {
    v = Math.floor(v / 128);
    n++;
  }
  return n;
}

function writeVarint(buf: Buffer, pos: number, v: number): number {
  while (v >= 0x80) {
    buf[pos++] = (v % 128) | 0x80;
    v = Math.floor(v / 128);
  }
  buf[pos++] = v;
  return pos;
}

function entrySize(e: AddEntryFields): number {
  return (
    1 +
    varintBytes(e.requestId) +
    1 +
    varintBytes(e.ledgerId) +
    1 +
    varintBytes(e.entryId) +
    1 +
    varintBytes(e.masterKey.byteLength) +
    e.masterKey.byteLength +
    1 +
    varintBytes(e.body.byteLength) +
    e.body.byteLength +
    (e.recovery ? 2 : 0)
  );
}

export function encodeAddStreamRequest(entries: readonly AddEntryFields[]): Buffer {
  let total = 0;
  const sizes = new Array<number>(entries.length);
  for (let i = 0; i < entries.length; i++) {
    const e = entries[i];
    assert(
      Number.isSafeInteger(e.requestId) && e.requestId >= 0 && e.ledgerId >= 0 && e.entryId >= 0,
      'add fields must be non-negative safe integers',
      { requestId: e.requestId, ledgerId: e.ledgerId, entryId: e.entryId },
    );
    sizes[i] = entrySize(e);
    total += 1 + varintBytes(sizes[i]) + sizes[i];
  }
  const buf = Buffer.allocUnsafe(total);
  let pos = 0;
  for (let i = 0; i < entries.length; i++) {
    const e = entries[i];
    buf[pos++] = (1 << 3) | WIRE_LEN;
    pos = writeVarint(buf, pos, sizes[i]);
    buf[pos++] = (1 << 3) | WIRE_VARINT;
    pos = writeVarint(buf, pos, e.requestId);
    buf[pos++] = (2 << 3) | WIRE_VARINT;
    pos = writeVarint(buf, pos, e.ledgerId);
    buf[pos++] = (3 << 3) | WIRE_VARINT;
    pos = writeVarint(buf, pos, e.entryId);
    buf[pos++] = (4 << 3) | WIRE_LEN;
    pos = writeVarint(buf, pos, e.masterKey.byteLength);
    buf.set(e.masterKey, pos);
    pos += e.masterKey.byteLength;
    buf[pos++] = (5 << 3) | WIRE_LEN;
    pos = writeVarint(buf, pos, e.body.byteLength);
    buf.set(e.body, pos);
    pos += e.body.byteLength;
    if (e.recovery) {
      buf[pos++] = (6 << 3) | WIRE_VARINT;
      buf[pos++] = 1;
    }
  }
  assert(pos === total, 'AddStreamRequest size mismatch', { pos, total });
  return buf;
}

/** Decode an AddStreamResponse; throws on malformed input (the stream then counts as broken). */
export function decodeAddStreamResponse(buf: Uint8Array): AddResultFields[] {
  const out: AddResultFields[] = [];
  const r = new Reader(buf, 0, buf.byteLength);
  while (!r.done) {
    const tag = r.varint();
    if (tag === ((1 << 3) | WIRE_LEN)) {
      const len = r.varint();
      out.push(decodeResult(new Reader(buf, r.pos, r.pos + len)));
      r.skipBytes(len);
    } else {
      r.skipField(tag);
    }
  }
  return out;
}

function decodeResult(r: Reader): AddResultFields {
  let requestId = 0;
  let status = 0;
  while (!r.done) {
    const tag = r.varint();
    if (tag === ((1 << 3) | WIRE_VARINT)) requestId = r.varint();
    else if (tag === ((4 << 3) | WIRE_VARINT)) status = r.varint();
    else r.skipField(tag);
  }
  return { requestId, status };
}

class Reader {
  readonly #buf: Uint8Array;
  readonly #end: number;
  pos: number;

  constructor(buf: Uint8Array, pos: number, end: number) {
    if (end > buf.byteLength) throw new Error('truncated protobuf message');
    this.#buf = buf;
    this.pos = pos;
    this.#end = end;
  }

  get done(): boolean {
    return this.pos >= this.#end;
  }

  /** A varint as a number (exact below 2^53; int64 values we read never exceed that). */
  varint(): number {
    let v = 0;
    let scale = 1;
    for (let i = 0; i < 10; i++) {
      if (this.pos >= this.#end) throw new Error('truncated varint');
      const b = this.#buf[this.pos++];
      v += (b & 0x7f) * scale;
      if (b < 0x80) return v;
      scale *= 128;
    }
    throw new Error('varint too long');
  }

  skipBytes(n: number): void {
    if (this.pos + n > this.#end) throw new Error('truncated field');
    this.pos += n;
  }

  skipField(tag: number): void {
    switch (tag & 7) {
      case WIRE_VARINT:
        this.varint();
        return;
      case 1:
        this.skipBytes(8);
        return;
      case WIRE_LEN:
        this.skipBytes(this.varint());
        return;
      case 5:
        this.skipBytes(4);
        return;
      default:
        throw new Error(`unsupported wire type ${tag & 7}`);
    }
  }
}
