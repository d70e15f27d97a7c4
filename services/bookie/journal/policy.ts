/**
 * Group commit policy (pure). One group is written and fdatasync'ed at a time; while it is in
 * flight, new records gather into the next group. A waiting group starts when the disk is idle
 * and either `flushWhenIdle` is on, `maxBytes` are waiting, or its oldest record has waited
 * `maxWaitMs` (BookKeeper's journalMaxGroupWaitMSec / journalBufferedWritesThreshold).
 */
export interface GroupCommitSettings {
  readonly maxWaitMs: number;
  readonly maxBytes: number;
  readonly flushWhenIdle: boolean;
}

export interface GroupCommitState {
  readonly now: number;
  /** A group is being written or synced. */
  readonly inFlight: boolean;
  readonly pendingBytes: number;
  /** Whether anything waits (a commit request may wait with zero bytes). */
  readonly pending: boolean;
  /** When the oldest waiting record arrived. */
  readonly oldestAt: number;
}

export type GroupCommitDecision =
  | { readonly action: 'idle' }
  | { readonly action: 'flush' }
  | { readonly action: 'wait'; readonly ms: number };

export function decideGroupCommit(s: GroupCommitSettings, st: GroupCommitState): GroupCommitDecision {
  if (!st.pending || st.inFlight) return { action: 'idle' };
  if (s.flushWhenIdle || st.pendingBytes >= s.maxBytes) return { action: 'flush' };
  const waited = st.now - st.oldestAt;
  if (waited >= s.maxWaitMs) return { action: 'flush' };
  return { action: 'wait', ms: s.maxWaitMs - waited };
}
