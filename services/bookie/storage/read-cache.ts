/**
 * Read cache: entries read from entry logs (including read-ahead), bounded in bytes. Entries go
 * into the newest of a few segments; when the bound is passed the oldest segment is dropped
 * whole (BookKeeper's ReadCache ring): cheap eviction, no per-entry bookkeeping.
 */
const SEGMENTS = 8;

type Segment = { map: Map<number, Map<number, Buffer>>; bytes: number };

export class ReadCache {
  readonly #maxBytes: number;
  readonly #segmentBytes: number;
  #segments: Segment[] = [newSegment()];
  #bytes = 0;
  hits = 0;
  misses = 0;

  constructor(maxBytes: number) {
    this.#maxBytes = maxBytes;
    this.#segmentBytes = Math.max(1, Math.floor(maxBytes / SEGMENTS));
  }

  get bytes(): number {
    return this.#bytes;
  }

  get(ledgerId: number, entryId: number): Buffer | undefined {
    for (let i = this.#segments.length - 1; i >= 0; i--) {
      const b = this.#segments[i].map.get(ledgerId)?.get(entryId);
      if (b) {
        this.hits++;
        return b;
      }
    }
    this.misses++;
    return undefined;
  }

  put(ledgerId: number, entryId: number, body: Buffer): void {
    if (this.#maxBytes === 0 || body.length > this.#segmentBytes) return;
    let seg = this.#segments[this.#segments.length - 1];
    if (seg.bytes + body.length > this.#segmentBytes) {
      seg = newSegment();
      this.#segments.push(seg);
    }
    let m = seg.map.get(ledgerId);
    if (!m) {
      m = new Map();
      seg.map.set(ledgerId, m);
    }
    if (m.has(entryId)) return;
    m.set(entryId, body);
    seg.bytes += body.length;
    this.#bytes += body.length;
    while (this.#bytes > this.#maxBytes && this.#segments.length > 1) {
      const old = this.#segments.shift()!;
      this.#bytes -= old.bytes;
    }
  }

  deleteLedger(ledgerId: number): void {
    for (const seg of this.#segments) {
      const m = seg.map.get(ledgerId);
      if (!m) continue;
      for (const b of m.values()) {
        seg.bytes -= b.length;
        this.#bytes -= b.length;
      }
      seg.map.delete(ledgerId);
    }
  }
}

function newSegment(): Segment {
  return { map: new Map(), bytes: 0 };
}
