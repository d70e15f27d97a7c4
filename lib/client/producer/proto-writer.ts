/**
 * A minimal protobuf writer for the two messages the producer writes per message or per batch
 * (MessageMetadata, SingleMessageMetadata). Going through the generated classes costs an object
 * per message; this writes the same bytes (fields in number order, like protobuf-es) into one
 * reusable buffer. Tests compare its output with protobuf-es byte for byte.
 */

const WIRE_VARINT = 0;
const WIRE_LEN = 2;

export class ProtoWriter {
  private buf: Buffer;
  private pos = 0;

  constructor(initialBytes = 4096) {
    this.buf = Buffer.allocUnsafe(initialBytes);
  }

  get length(): number {
    return this.pos;
  }

  reset(): void {
    this.pos = 0;
  }

  private ensure(extra: number): void {
    if (this.pos + extra <= this.buf.byteLength) return;
    let size = this.buf.byteLength * 2;
    while (size < this.pos + extra) size *= 2;
    const next = Buffer.allocUnsafe(size);
    this.buf.copy(next, 0, 0, this.pos);
    this.buf = next;
  }

  /** Unsigned varint of a non-negative safe integer. */
  varint(value: number): void {
    this.ensure(10);
    let v = value;
    while (v >= 0x80) {
      this.buf[this.pos++] = (v % 0x80) | 0x80;
      v = Math.floor(v / 0x80);
    }
    this.buf[this.pos++] = v;
  }

  /** A signed 64-bit value as a varint (negative numbers take 10 bytes, like protobuf int64). */
  int64(value: number): void {
    if (value >= 0) {
      this.varint(value);
      return;
    }
    let v = BigInt.asUintN(64, BigInt(value));
    this.ensure(10);
    while (v >= 0x80n) {
      this.buf[this.pos++] = Number(v & 0x7fn) | 0x80;
      v >>= 7n;
    }
    this.buf[this.pos++] = Number(v);
  }

  tag(field: number, wireType: number): void {
    this.varint(field * 8 + wireType);
  }

  varintField(field: number, value: number): void {
    this.tag(field, WIRE_VARINT);
    this.varint(value);
  }

  int64Field(field: number, value: number): void {
    this.tag(field, WIRE_VARINT);
    this.int64(value);
  }

  boolField(field: number, value: boolean): void {
    this.tag(field, WIRE_VARINT);
    this.varint(value ? 1 : 0);
  }

  stringField(field: number, value: string): void {
    this.tag(field, WIRE_LEN);
    const len = Buffer.byteLength(value);
    this.varint(len);
    this.ensure(len);
    this.pos += this.buf.write(value, this.pos, 'utf8');
  }

  bytesField(field: number, value: Uint8Array): void {
    this.tag(field, WIRE_LEN);
    this.raw(value, true);
  }

  /** Bytes, optionally preceded by their varint length. */
  raw(value: Uint8Array, withLength = false): void {
    if (withLength) this.varint(value.byteLength);
    this.ensure(value.byteLength);
    this.buf.set(value, this.pos);
    this.pos += value.byteLength;
  }

  /** repeated KeyValue{1: key, 2: value} as field `field`. */
  keyValues(field: number, props: Readonly<Record<string, string>>): void {
    for (const key in props) {
      const value = props[key];
      const kl = Buffer.byteLength(key);
      const vl = Buffer.byteLength(value);
      this.tag(field, WIRE_LEN);
      this.varint(1 + varintSize(kl) + kl + 1 + varintSize(vl) + vl);
      this.stringField(1, key);
      this.stringField(2, value);
    }
  }

  /** Reserve a 4-byte big-endian length to patch later; returns its position. */
  reserveUInt32(): number {
    this.ensure(4);
    const at = this.pos;
    this.pos += 4;
    return at;
  }

  patchUInt32(at: number, value: number): void {
    this.buf.writeUInt32BE(value, at);
  }

  /** A copy of what was written. */
  toBuffer(): Buffer {
    const out = Buffer.allocUnsafe(this.pos);
    this.buf.copy(out, 0, 0, this.pos);
    return out;
  }
}

export function varintSize(value: number): number {
  let n = 1;
  let v = value;
  while (v >= 0x80) {
    v = Math.floor(v / 0x80);
    n++;
  }
  return n;
}
