/**
 * Records of the on-disk index (pure encode/decode). Both index files are sequences of frames
 * (journal/frame.ts) whose file id is the index generation:
 *
 * - snapshot `index-<gen>.snap`: for each ledger, one LEDGER record then one PAGE record per
 *   page of slots; a final END record (a snapshot without it is incomplete).
 * - change log `index-<gen>.log`: LEDGER, SLOTS and DELETE records appended by checkpoints and
 *   compaction since the snapshot. Only the prefix named by the CHECKPOINT file counts.
 *
 * Integers are little-endian; ids are safe integers written as 64-bit (see frame.ts).
 */
import { readInt53LE, writeInt53LE } from '../journal/frame.ts';
import { PAGE_BYTES, SLOT_BYTES, type Slot } from './ledger-record.ts';

export const IndexRecordType = { LEDGER: 1, PAGE: 2, SLOTS: 3, DELETE: 4, END: 5, CHECKPOINT: 9 } as const;

export interface LedgerStateRecord {
  readonly ledgerId: number;
  readonly flags: number;
  readonly lac: number;
  readonly lastEntryId: number;
  readonly masterKey: Buffer | undefined;
}

const NO_KEY = 0xffff;

export function encodeLedgerState(s: LedgerStateRecord): Buffer {
  const keyLen = s.masterKey?.length ?? 0;
  const buf = Buffer.allocUnsafe(27 + keyLen);
  writeInt53LE(buf, s.ledgerId, 0);
  buf[8] = s.flags;
  writeInt53LE(buf, s.lac, 9);
  writeInt53LE(buf, s.lastEntryId, 17);
  buf.writeUInt16LE(s.masterKey ? keyLen : NO_KEY, 25);
  if (s.masterKey) s.masterKey.copy(buf, 27);
  return buf;
}

export function decodeLedgerState(p: Buffer): LedgerStateRecord | undefined {
  if (p.length < 27) return undefined;
  const keyLen = p.readUInt16LE(25);
  if (keyLen !== NO_KEY && p.length !== 27 + keyLen) return undefined;
  return {
    ledgerId: readInt53LE(p, 0),
    flags: p[8],
    lac: readInt53LE(p, 9),
    lastEntryId: readInt53LE(p, 17),
    masterKey: keyLen === NO_KEY ? undefined : Buffer.from(p.subarray(27, 27 + keyLen)),
  };
}

/** PAGE payload header; the page's slot bytes follow at PAGE_SLOTS_OFFSET. */
export const PAGE_SLOTS_OFFSET = 16;

export function encodePage(ledgerId: number, pageNo: number, page: Uint8Array): Buffer {
  const buf = Buffer.allocUnsafe(PAGE_SLOTS_OFFSET + PAGE_BYTES);
  writeInt53LE(buf, ledgerId, 0);
  writeInt53LE(buf, pageNo, 8);
  buf.set(page.subarray(0, PAGE_BYTES), PAGE_SLOTS_OFFSET);
  return buf;
}

export function decodePage(p: Buffer): { ledgerId: number; pageNo: number; slots: Buffer } | undefined {
  if (p.length !== PAGE_SLOTS_OFFSET + PAGE_BYTES) return undefined;
  return { ledgerId: readInt53LE(p, 0), pageNo: readInt53LE(p, 8), slots: p.subarray(PAGE_SLOTS_OFFSET) };
}

/** A run of consecutive entries' slots (checkpoint flushes write ledgers in entry order). */
export interface SlotRun {
  readonly ledgerId: number;
  readonly firstEntryId: number;
  readonly slots: readonly Slot[];
}

export function encodeSlotRun(run: SlotRun): Buffer {
  const buf = Buffer.allocUnsafe(20 + run.slots.length * SLOT_BYTES);
  writeInt53LE(buf, run.ledgerId, 0);
  writeInt53LE(buf, run.firstEntryId, 8);
  buf.writeUInt32LE(run.slots.length, 16);
  let off = 20;
  for (const s of run.slots) {
    buf.writeUInt32LE(s.logId, off);
    buf.writeUInt32LE(s.offset, off + 4);
    buf.writeUInt32LE(s.length, off + 8);
    off += SLOT_BYTES;
  }
  return buf;
}

export function decodeSlotRun(p: Buffer): SlotRun | undefined {
  if (p.length < 20) return undefined;
  const count = p.readUInt32LE(16);
  if (p.length !== 20 + count * SLOT_BYTES) return undefined;
  const slots: Slot[] = new Array(count);
  for (let i = 0, off = 20; i < count; i++, off += SLOT_BYTES) {
    slots[i] = {
      logId: p.readUInt32LE(off),
      offset: p.readUInt32LE(off + 4),
      length: p.readUInt32LE(off + 8),
    };
  }
  return { ledgerId: readInt53LE(p, 0), firstEntryId: readInt53LE(p, 8), slots };
}

/** Split (entryId, slot) pairs sorted by entry id into runs of consecutive ids. */
export function toSlotRuns(ledgerId: number, items: readonly { entryId: number; slot: Slot }[]): SlotRun[] {
  const runs: SlotRun[] = [];
  let cur: { ledgerId: number; firstEntryId: number; slots: Slot[] } | undefined;
  for (const { entryId, slot } of items) {
    if (cur && entryId === cur.firstEntryId + cur.slots.length) cur.slots.push(slot);
    else {
      cur = { ledgerId, firstEntryId: entryId, slots: [slot] };
      runs.push(cur);
    }
  }
  return runs;
}

export function encodeLedgerId(ledgerId: number): Buffer {
  const buf = Buffer.allocUnsafe(8);
  writeInt53LE(buf, ledgerId, 0);
  return buf;
}

export function decodeLedgerId(p: Buffer): number | undefined {
  return p.length === 8 ? readInt53LE(p, 0) : undefined;
}

/** The CHECKPOINT file: where journal replay starts and which index files are current. */
export interface CheckpointState {
  readonly version: 1;
  readonly journalFileId: number;
  readonly journalOffset: number;
  readonly indexGen: number;
  /** Whether index-<gen>.snap exists (generation 0 starts without one). */
  readonly hasSnapshot: boolean;
  /** Valid prefix of index-<gen>.log. */
  readonly indexLogBytes: number;
}

export function encodeCheckpoint(c: CheckpointState): Buffer {
  return Buffer.from(JSON.stringify(c));
}

export function decodeCheckpoint(p: Buffer): CheckpointState | undefined {
  try {
    const c = JSON.parse(p.toString('utf8')) as CheckpointState;
    const ints = [c.journalFileId, c.journalOffset, c.indexGen, c.indexLogBytes];
    if (c.version !== 1 || !ints.every((n) => Number.isSafeInteger(n) && n >= 0)) return undefined;
    if (typeof c.hasSnapshot !== 'boolean') return undefined;
    return c;
  } catch {
    return undefined;
  }
}
