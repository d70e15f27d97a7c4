/** The bookie's Prometheus metrics (names prefixed magnetar_bookie_). */
import { createMetrics, LATENCY_BUCKETS_S, type Metrics } from '../../lib/metrics/index.ts';

const SIZE_BUCKETS = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 4096, 16384];
const BYTE_BUCKETS = [1024, 4096, 16384, 65536, 262144, 524288, 1048576, 4194304, 16777216];

export function createBookieMetrics(node: string, withProcessMetrics = true) {
  const m: Metrics = createMetrics('bookie', node, withProcessMetrics);
  const p = 'magnetar_bookie_';
  return {
    registry: m,
    addEntries: m.counter(`${p}add_entries_total`, 'Entries added, by status', ['status']),
    addBytes: m.counter(`${p}add_bytes_total`, 'Envelope bytes made durable'),
    addLatency: m.histogram(
      `${p}add_batch_latency_seconds`,
      'From receiving an AddStream message to its results being sent (after fsync)',
    ),
    addBatchEntries: m.histogram(`${p}add_message_entries`, 'Entries per AddStream message', SIZE_BUCKETS),
    readEntries: m.counter(`${p}read_entries_total`, 'Entries read, by call and status', ['call', 'status']),
    readLatency: m.histogram(`${p}read_latency_seconds`, 'Read call latency', LATENCY_BUCKETS_S, ['call']),
    journalFsync: m.histogram(`${p}journal_fsync_seconds`, 'Journal fdatasync latency'),
    journalWrite: m.histogram(`${p}journal_write_seconds`, 'Journal group write latency'),
    journalGroupFrames: m.histogram(`${p}journal_group_records`, 'Records per group commit', SIZE_BUCKETS),
    journalGroupBytes: m.histogram(`${p}journal_group_bytes`, 'Bytes per group commit', BYTE_BUCKETS),
    checkpointLatency: m.histogram(`${p}checkpoint_seconds`, 'Checkpoint duration', LATENCY_BUCKETS_S),
    checkpointEntries: m.counter(`${p}checkpoint_entries_total`, 'Entries written to entry logs'),
    gcReclaimedBytes: m.counter(`${p}gc_reclaimed_bytes_total`, 'Entry log bytes reclaimed'),
    gcLogs: m.counter(`${p}gc_logs_total`, 'Entry logs deleted or compacted', ['action']),
    cacheHits: m.counter(`${p}cache_hits_total`, 'Reads served from a cache', ['cache']),
    cacheMisses: m.counter(`${p}cache_misses_total`, 'Reads that went to an entry log'),
    writeCacheBytes: m.gauge(`${p}write_cache_bytes`, 'Bytes in the write caches'),
    readCacheBytes: m.gauge(`${p}read_cache_bytes`, 'Bytes in the read cache'),
    diskUsage: m.gauge(`${p}disk_usage_ratio`, 'Used fraction of the fuller of the journal and ledger disks'),
    diskFreeBytes: m.gauge(`${p}disk_free_bytes`, 'Free bytes on the ledger disk'),
    readOnly: m.gauge(`${p}read_only`, '1 while the bookie is read-only'),
    ledgers: m.gauge(`${p}ledgers`, 'Ledgers stored'),
    longPolls: m.gauge(`${p}long_polls`, 'ReadLac long polls waiting'),
    entryLogBytes: m.gauge(`${p}entry_log_bytes`, 'Bytes in entry logs'),
  };
}

export type BookieMetrics = ReturnType<typeof createBookieMetrics>;
