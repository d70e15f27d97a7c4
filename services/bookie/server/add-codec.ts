/**
 * Hand-written codec for the AddStream hot path (bookie.proto AddStreamRequest in, AddStreamResponse
 * out), replacing protobuf-es there: it makes no object per field, keeps entry bodies as views
 * into the received message, and echoes request/ledger/entry ids as the very varint bytes the
 * client sent. It accepts any valid proto3 encoding (any field order, unknown fields skipped,
 * last value wins) and rejects malformed bytes with an error (grpc-js then fails the call).
 */
export interface WireAdd {
  /** NaN when the id is negative or above 2^53-1. */
  ledgerId: number;
  entryId: number;
  masterKey: Buffer;
  body: Buffer;
  recovery: boolean;
  /** Offsets of the raw varints in the message (start === -1: field absent). */
  reqStart: number;
  reqEnd: number;
  ledStart: number;
  ledEnd: number;
  entStart: number;
  entEnd: number;
}

export interface WireAddBatch {
  readonly buf: Buffer;
  readonly entries: WireAdd[];
}

const EMPTY = Buffer.alloc(0);

class Malformed extends Error {
  constructor(why: string) {
    super(`malformed AddStreamRequest: ${why}`);
  }
}

/** Varint at `off`: value as a safe integer (NaN beyond 2^53-1, e.g. negative int64), next offset. */
function varint(buf: Buffer, off: number, end: number): [number, number] {
  let value = 0;
  let mul = 1;
  for (let i = 0; i < 10; i++) {
    if (off >= end) throw new Malformed('truncated varint');
    const b = buf[off++];
    value += (b & 0x7f) * mul;
    if (b < 0x80) return [value <= Number.MAX_SAFE_INTEGER ? value : Number.NaN, off];
    mul *= 128;
  }
  throw new Malformed('varint longer than 10 bytes');
}

function skip(buf: Buffer, off: number, end: number, wireType: number): number {
  switch (wireType) {
    case 0:
      return varint(buf, off, end)[1];
    case 1:
      off += 8;
      break;
    case 2: {
      const [len, o] = varint(buf, off, end);
      off = o + len;
      break;
    }
    case 5:
      off += 4;
      break;
    default:
      throw new Malformed(`unsupported wire type ${wireType}`);
  }
  if (off > end || Number.isNaN(off)) throw new Malformed('field runs past the end');
  return off;
}

function decodeEntry(buf: Buffer, off: number, end: number): WireAdd {
  const e: WireAdd = {
    ledgerId: 0,
    entryId: 0,
    masterKey: EMPTY,
    body: EMPTY,
    recovery: false,
    reqStart: -1,
    reqEnd: -1,
    ledStart: -1,
    ledEnd: -1,
    entStart: -1,
    entEnd: -1,
  };
  while (off < end) {
    const [tag, o] = varint(buf, off, end);
    off = o;
    const field = Math.floor(tag / 8);
    const wt = tag & 7;
    if (wt === 0 && field >= 1 && field <= 3) {
      const [v, next] = varint(buf, off, end);
      if (field === 1) [e.reqStart, e.reqEnd] = [off, next];
      else if (field === 2) [e.ledgerId, e.ledStart, e.ledEnd] = [v, off, next];
      else [e.entryId, e.entStart, e.entEnd] = [v, off, next];
      off = next;
    } else if (wt === 2 && (field === 4 || field === 5)) {
      const [len, o2] = varint(buf, off, end);
      if (o2 + len > end || Number.isNaN(len)) throw new Malformed('bytes field runs past the end');
      const bytes = buf.subarray(o2, o2 + len);
      if (field === 4) e.masterKey = bytes;
      else e.body = bytes;
      off = o2 + len;
    } else if (wt === 0 && field === 6) {
      const [v, next] = varint(buf, off, end);
      e.recovery = v !== 0;
      off = next;
    } else {
      off = skip(buf, off, end, wt);
    }
  }
  return e;
}

export function decodeAddStreamRequest(buf: Buffer): WireAddBatch {
  const entries: WireAdd[] = [];
  let off = 0;
  const end = buf.length;
  while (off < end) {
    const [tag, o] = varint(buf, off, end);
    off = o;
    if (tag === 0x0a) {
      const [len, o2] = varint(buf, off, end);
      if (o2 + len > end || Number.isNaN(len)) throw new Malformed('entry runs past the end');
      entries.push(decodeEntry(buf, o2, o2 + len));
      off = o2 + len;
    } else {
      off = skip(buf, off, end, tag & 7);
    }
  }
  return { buf, entries };
}

/** The id the client sent, as text (for error details), from the raw varint. */
export function rawId(buf: Buffer, start: number, end: number): string {
  if (start < 0) return '0';
  let v = 0n;
  for (let i = end - 1; i >= start; i--) v = (v << 7n) | BigInt(buf[i] & 0x7f);
  return BigInt.asIntN(64, v).toString();
}

export interface AddOutcome {
  readonly src: Buffer;
  readonly e: WireAdd;
  readonly status: number;
}

function varintSize(v: number): number {
  let n = 1;
  while (v >= 128) {
    v = Math.floor(v / 128);
    n++;
  }
  return n;
}

function resultSize(r: AddOutcome): number {
  const e = r.e;
  let n = 2; // status: tag + one byte (Status values are < 128)
  if (e.reqStart >= 0) n += 1 + e.reqEnd - e.reqStart;
  if (e.ledStart >= 0) n += 1 + e.ledEnd - e.ledStart;
  if (e.entStart >= 0) n += 1 + e.entEnd - e.entStart;
  return n;
}

/** AddStreamResponse { repeated AddResult results = 1 } for these outcomes. */
export function encodeAddResults(results: readonly AddOutcome[]): Buffer {
  let total = 0;
  const sizes = new Array<number>(results.length);
  for (let i = 0; i < results.length; i++) {
    sizes[i] = resultSize(results[i]);
    total += 1 + varintSize(sizes[i]) + sizes[i];
  }
  const out = Buffer.allocUnsafe(total);
  let off = 0;
  for (let i = 0; i < results.length; i++) {
    const { src, e, status } = results[i];
    out[off++] = 0x0a;
    let len = sizes[i];
    while (len >= 128) {
      out[off++] = (len & 0x7f) | 0x80;
      len >>>= 7;
    }
    out[off++] = len;
    if (e.reqStart >= 0) {
      out[off++] = 0x08;
      off += src.copy(out, off, e.reqStart, e.reqEnd);
    }
    if (e.ledStart >= 0) {
      out[off++] = 0x10;
      off += src.copy(out, off, e.ledStart, e.ledEnd);
    }
    if (e.entStart >= 0) {
      out[off++] = 0x18;
      off += src.copy(out, off, e.entStart, e.entEnd);
    }
    out[off++] = 0x20;
    out[off++] = status;
  }
  return out;
}
