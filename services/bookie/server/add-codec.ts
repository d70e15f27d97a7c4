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

/**
 * The decoder's cursor. Varints are read through module state rather than returned as
 * [value, offset] tuples: at 100k+ entries/s those tuples were most of the bookie's young
 * garbage, and the scavenges they caused showed up in the add latency tail.
 */
let pos = 0;

/** Varint at `pos` (advancing it): the value as a safe integer (NaN beyond 2^53-1, e.g. negative int64). */
function varint(buf: Buffer, end: number): number {
  let value = 0;
  let mul = 1;
  for (let i = 0; i < 10; i++) {
    if (pos >= end) throw new Malformed('truncated varint');
    const b = buf[pos++];
    value += (b & 0x7f) * mul;
    if (b < 0x80) return value <= Number.MAX_SAFE_INTEGER ? value : Number.NaN;
    mul *= 128;
  }
  throw new Malformed('varint longer than 10 bytes');
}

/** Skips a field's value at `pos`. */
function skip(buf: Buffer, end: number, wireType: number): void {
  switch (wireType) {
    case 0:
      varint(buf, end);
      return;
    case 1:
      pos += 8;
      break;
    case 2: {
      const len = varint(buf, end);
      pos += len;
      break;
    }
    case 5:
      pos += 4;
      break;
    default:
      throw new Malformed(`unsupported wire type ${wireType}`);
  }
  if (pos > end || Number.isNaN(pos)) throw new Malformed('field runs past the end');
}

/** The length-delimited value at `pos`: its start, with `pos` moved past it. */
function bytesField(buf: Buffer, end: number): number {
  const len = varint(buf, end);
  const start = pos;
  if (start + len > end || Number.isNaN(len)) throw new Malformed('bytes field runs past the end');
  pos = start + len;
  return start;
}

/**
 * The master key view of the previous entry in this message: entries of one ledger carry the
 * same key, and reusing its view saves an allocation per entry.
 */
let lastKey: Buffer = EMPTY;

function masterKeyAt(buf: Buffer, start: number, end: number): Buffer {
  const len = end - start;
  if (len === lastKey.length && (len === 0 || buf.compare(lastKey, 0, len, start, end) === 0)) return lastKey;
  lastKey = buf.subarray(start, end);
  return lastKey;
}

function decodeEntry(buf: Buffer, end: number): WireAdd {
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
  while (pos < end) {
    const tag = varint(buf, end);
    const field = Math.floor(tag / 8);
    const wt = tag & 7;
    const at = pos;
    if (wt === 0 && field === 1) {
      varint(buf, end);
      e.reqStart = at;
      e.reqEnd = pos;
    } else if (wt === 0 && field === 2) {
      e.ledgerId = varint(buf, end);
      e.ledStart = at;
      e.ledEnd = pos;
    } else if (wt === 0 && field === 3) {
      e.entryId = varint(buf, end);
      e.entStart = at;
      e.entEnd = pos;
    } else if (wt === 2 && field === 4) {
      e.masterKey = masterKeyAt(buf, bytesField(buf, end), pos);
    } else if (wt === 2 && field === 5) {
      e.body = buf.subarray(bytesField(buf, end), pos);
    } else if (wt === 0 && field === 6) {
      e.recovery = varint(buf, end) !== 0;
    } else {
      skip(buf, end, wt);
    }
  }
  return e;
}

export function decodeAddStreamRequest(buf: Buffer): WireAddBatch {
  const entries: WireAdd[] = [];
  pos = 0;
  lastKey = EMPTY;
  const end = buf.length;
  while (pos < end) {
    const tag = varint(buf, end);
    if (tag === 0x0a) {
      const start = bytesField(buf, end);
      const entryEnd = pos;
      pos = start;
      entries.push(decodeEntry(buf, entryEnd));
      pos = entryEnd;
    } else {
      skip(buf, end, tag & 7);
    }
  }
  lastKey = EMPTY;
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
