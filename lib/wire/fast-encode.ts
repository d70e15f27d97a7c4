/**
 * Hand-written encoders for the two commands a broker sends per message: MESSAGE and
 * SEND_RECEIPT. They produce exactly the bytes `serializeCommand` does for the same values (a test
 * checks byte equality against protobuf-es) without building message objects, which matters at
 * tens of thousands of frames per second.
 */
import { BaseCommand_Type } from '../gen/pulsar/PulsarApi_pb.ts';
import { numberToU64 } from './message-id.ts';

const WIRE_VARINT = 0;
const WIRE_LEN = 2;

/** Little protobuf writer over a growable buffer. */
class Writer {
  buf = Buffer.allocUnsafe(128);
  pos = 0;

  private room(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    const next = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.pos + n));
    this.buf.copy(next, 0, 0, this.pos);
    this.buf = next;
  }

  /** Unsigned varint of a non-negative safe integer. */
  uint(v: number): void {
    this.room(10);
    while (v >= 0x80) {
      this.buf[this.pos++] = (v % 0x80) | 0x80;
      v = Math.floor(v / 0x80);
    }
    this.buf[this.pos++] = v;
  }

  /** Varint of a 64-bit value given as bigint (already reduced to uint64). */
  u64(v: bigint): void {
    if (v <= 0x1fffffffffffffn) {
      this.uint(Number(v));
      return;
    }
    this.room(10);
    let x = v;
    while (x >= 0x80n) {
      this.buf[this.pos++] = Number(x & 0x7fn) | 0x80;
      x >>= 7n;
    }
    this.buf[this.pos++] = Number(x);
  }

  /** int32 field value: negatives are sign-extended to 64 bits (10 bytes), as protobuf does. */
  int32(v: number): void {
    if (v === -1) {
      this.room(10);
      this.buf.fill(0xff, this.pos, this.pos + 9);
      this.buf[this.pos + 9] = 0x01;
      this.pos += 10;
    } else this.num(v);
  }

  tag(field: number, wireType: number): void {
    this.uint(field * 8 + wireType);
  }

  /** A signed JS number as a 64-bit varint (negative values sign-extended, 10 bytes). */
  num(v: number): void {
    if (v >= 0) this.uint(v);
    else this.u64(BigInt.asUintN(64, BigInt(v)));
  }

  /**
   * Run `body` as a length-delimited field: one byte is reserved for the length and the body
   * moved when its length needs more (rare: only large ack sets).
   */
  nested(field: number, body: (w: Writer) => void): void {
    this.tag(field, WIRE_LEN);
    this.room(1);
    const at = this.pos++;
    body(this);
    const len = this.pos - at - 1;
    if (len < 0x80) {
      this.buf[at] = len;
      return;
    }
    const body2 = Buffer.from(this.buf.subarray(at + 1, this.pos));
    this.pos = at;
    this.uint(len);
    this.room(len);
    body2.copy(this.buf, this.pos);
    this.pos += len;
  }

  result(): Buffer {
    return this.buf.subarray(0, this.pos);
  }
}

function messageId(w: Writer, ledgerId: number, entryId: number, partition: number): void {
  w.tag(1, WIRE_VARINT);
  if (ledgerId >= 2 ** 62) w.u64(numberToU64(ledgerId));
  else w.num(ledgerId);
  w.tag(2, WIRE_VARINT);
  if (entryId >= 2 ** 62) w.u64(numberToU64(entryId));
  else w.num(entryId);
  w.tag(3, WIRE_VARINT);
  w.int32(partition);
}

/** Serialized BaseCommand{MESSAGE}: consumer id, message id (with partition), redelivery count, ack set. */
export function encodeMessageCommand(
  consumerId: bigint,
  id: { ledgerId: number; entryId: number; partition: number },
  redeliveryCount: number,
  ackSet?: readonly bigint[],
): Buffer {
  const w = new Writer();
  w.tag(1, WIRE_VARINT);
  w.uint(BaseCommand_Type.MESSAGE);
  w.nested(9, (m) => {
    m.tag(1, WIRE_VARINT);
    m.u64(consumerId);
    m.nested(2, (x) => messageId(x, id.ledgerId, id.entryId, id.partition));
    m.tag(3, WIRE_VARINT);
    m.uint(redeliveryCount);
    for (const word of ackSet ?? []) {
      m.tag(4, WIRE_VARINT);
      m.u64(BigInt.asUintN(64, word));
    }
  });
  return w.result();
}

/** Serialized BaseCommand{SEND_RECEIPT}. */
export function encodeSendReceiptCommand(
  producerId: bigint,
  sequenceId: bigint,
  highestSequenceId: bigint,
  id: { ledgerId: number; entryId: number; partition: number },
): Buffer {
  const w = new Writer();
  w.tag(1, WIRE_VARINT);
  w.uint(BaseCommand_Type.SEND_RECEIPT);
  w.nested(7, (r) => {
    r.tag(1, WIRE_VARINT);
    r.u64(producerId);
    r.tag(2, WIRE_VARINT);
    r.u64(sequenceId);
    r.nested(3, (x) => messageId(x, id.ledgerId, id.entryId, id.partition));
    r.tag(4, WIRE_VARINT);
    r.u64(highestSequenceId);
  });
  return w.result();
}
