/**
 * startBookie: wire a bookie together and start serving. Order: lock dirs -> check cookies ->
 * open storage (index load + journal replay) -> disk check -> gRPC + HTTP servers -> register.
 * `close()` reverses it: unregister, stop accepting, let calls finish (shutdownGraceMs), final
 * checkpoint, release the dirs.
 */
import { mkdir } from 'node:fs/promises';
import * as grpc from '@grpc/grpc-js';
import { channelOptions } from '../../lib/grpc/adapter.ts';
import { create } from '@bufbuild/protobuf';
import { BookieRegistrationSchema } from '../../lib/gen/magnetar/meta/v1/meta_pb.ts';
import { startOpsServer, type OpsServer } from '../../lib/http/ops-server.ts';
import { createLogger, type Logger } from '../../lib/log/index.ts';
import type { MetadataStore } from '../../lib/metadata/store.ts';
import { type BookieConfig, checkBookieConfig } from './config.ts';
import { type BookieMetrics, createBookieMetrics } from './metrics.ts';
import { checkCookies } from './registration/cookie.ts';
import { ledgerOpenInMetadata, readLedgerIdWatermark } from './registration/ledger-id-watermark.ts';
import { lockDir, type DirLock } from './registration/dir-lock.ts';
import { DiskMonitor, type DiskProbe, fileProbe, statfsProbe } from './registration/disk-monitor.ts';
import { MetadataLedgerGc } from './registration/ledger-gc.ts';
import { Registration } from './registration/register.ts';
import { openStore } from './registration/store.ts';
import type { ServerContext } from './server/context.ts';
import { LacWaiters } from './server/long-poll.ts';
import { widenFlowControl } from './server/flow-control.ts';
import { bookieServiceDefinition, bookieServiceImpl } from './server/service.ts';
import { LedgerStorage } from './storage/ledger-storage.ts';
import { storageHooks } from './storage-hooks.ts';

const GAUGE_INTERVAL_MS = 1000;

export interface StartOptions {
  /** Use this store instead of opening `metadataUrl` (standalone mode shares one). */
  readonly metadataStore?: MetadataStore;
  readonly logger?: Logger;
  /** Replace the disk usage source (tests). */
  readonly diskProbe?: DiskProbe;
  /** Called when storage fails for good (journal or checkpoint I/O); default: close the bookie. */
  readonly onFatal?: (err: Error) => void;
  /** Register process metrics (false when several services share one process). */
  readonly processMetrics?: boolean;
}

export interface BookieHandle {
  readonly bookieId: string;
  readonly grpcPort: number;
  readonly httpPort: number;
  /** host:port clients should use. */
  readonly address: string;
  readonly storage: LedgerStorage;
  readonly metrics: BookieMetrics;
  readonly readOnly: boolean;
  /** Re-read disk usage now (tests and drills; the monitor also does it periodically). */
  checkDisk(): Promise<boolean>;
  close(): Promise<void>;
}

export async function startBookie(config: BookieConfig, opts: StartOptions = {}): Promise<BookieHandle> {
  const cfg = checkBookieConfig({ ...config });
  const log = opts.logger ?? createLogger({ service: 'bookie', node: cfg.bookieId, level: cfg.logLevel });
  const cleanup: (() => Promise<void>)[] = [];
  const undo = async () => {
    for (const fn of cleanup.reverse()) await fn().catch(() => {});
  };
  try {
    const locks: DirLock[] = [];
    for (const dir of [cfg.journalDir, cfg.ledgerDir]) {
      await mkdir(dir, { recursive: true });
      const lock = await lockDir(dir);
      locks.push(lock);
      cleanup.push(() => lock.release());
    }
    const store = await openStore(cfg, opts.metadataStore, log);
    if (store && !opts.metadataStore) cleanup.push(() => store.close());
    const cookie = await checkCookies({
      bookieId: cfg.bookieId,
      clusterName: cfg.clusterName,
      journalDir: cfg.journalDir,
      ledgerDir: cfg.ledgerDir,
      store,
      dataLossRecovery: cfg.dataLossRecovery,
      log,
    });
    const metrics = createBookieMetrics(cfg.bookieId, opts.processMetrics ?? true);
    const waiters = new LacWaiters(cfg.maxLongPolls);
    let handle: BookieHandle | undefined;
    let fatalSeen = false;
    const onFatal = (err: Error) => {
      if (fatalSeen) return;
      fatalSeen = true;
      log.fatal({ err }, 'bookie storage failed; shutting down');
      if (opts.onFatal) opts.onFatal(err);
      else void handle?.close();
    };
    const storage = await LedgerStorage.open({
      journalDir: cfg.journalDir,
      ledgerDir: cfg.ledgerDir,
      cfg,
      log,
      hooks: storageHooks(metrics, waiters, onFatal),
      ledgerIdWatermark: () => readLedgerIdWatermark(store, cfg.clusterName),
      ledgerOpenInMetadata: store ? (id) => ledgerOpenInMetadata(store, cfg.clusterName, id) : undefined,
    });
    cleanup.push(() => storage.close());

    const real = statfsProbe([cfg.journalDir, cfg.ledgerDir]);
    const probe = opts.diskProbe ?? (cfg.diskUsageProbeFile ? fileProbe(cfg.diskUsageProbeFile, real) : real);
    let registration: Registration | undefined;
    const monitor = new DiskMonitor(
      probe,
      { high: cfg.diskUsageThreshold, low: cfg.diskUsageLwmThreshold },
      (readOnly, stats) => {
        log.warn(
          { readOnly, usage: stats.usage },
          readOnly ? 'disk full: bookie is read-only' : 'bookie is writable again',
        );
        metrics.readOnly.set(readOnly ? 1 : 0);
        void registration
          ?.setReadOnly(readOnly)
          .catch((err) => log.error({ err }, 'registration move failed'));
      },
      (err) => log.error({ err }, 'disk usage probe failed'),
    );
    await monitor.check();
    metrics.readOnly.set(monitor.readOnly ? 1 : 0);
    monitor.start(cfg.diskCheckIntervalMs);
    cleanup.push(async () => monitor.stop());

    const gauges = setInterval(() => {
      metrics.writeCacheBytes.set(storage.cachedBytes);
      metrics.readCacheBytes.set(storage.readCache.bytes);
      metrics.ledgers.set(storage.ledgers.size);
      metrics.entryLogBytes.set(storage.logs.totalBytes());
      metrics.diskUsage.set(monitor.last.usage);
      metrics.diskFreeBytes.set(monitor.last.freeBytes);
    }, GAUGE_INTERVAL_MS);
    gauges.unref();
    cleanup.push(async () => clearInterval(gauges));

    const ctx: ServerContext = {
      cfg,
      storage,
      waiters,
      log,
      metrics,
      identity: { bookieId: cfg.bookieId, instanceId: cookie.instanceId },
      disk: monitor,
      closing: false,
      streams: new Set(),
    };
    const server = new grpc.Server(channelOptions(cfg.grpcMaxMessageBytes));
    server.addService(bookieServiceDefinition(), bookieServiceImpl(ctx));
    const grpcPort = await new Promise<number>((resolve, reject) =>
      server.bindAsync(
        `${cfg.bindHost}:${cfg.grpcPort}`,
        grpc.ServerCredentials.createInsecure(),
        (err, port) => (err ? reject(err) : resolve(port)),
      ),
    );
    cleanup.push(() => new Promise<void>((resolve) => server.tryShutdown(() => resolve())));
    widenFlowControl(server, cfg.grpcFlowControlWindowBytes, log);
    const ops: OpsServer = await startOpsServer({
      host: cfg.bindHost,
      port: cfg.httpPort,
      metrics: metrics.registry,
      readiness: () => (ctx.closing ? 'shutting down' : undefined),
      routes: {
        '/status': () => ({
          bookieId: cfg.bookieId,
          readOnly: monitor.readOnly,
          disk: monitor.last,
          ledgers: storage.ledgers.size,
          limbo: storage.limboMarker ?? null,
          registered: registration?.registered ?? null,
        }),
      },
    });
    cleanup.push(() => ops.close());
    const address = `${cfg.advertisedHost}:${grpcPort}`;

    if (store && cfg.registration) {
      registration = new Registration({
        store,
        clusterName: cfg.clusterName,
        bookieId: cfg.bookieId,
        ttlMs: cfg.registrationTtlMs,
        waitMs: cfg.registrationWaitMs,
        log,
        value: (readOnly) =>
          create(BookieRegistrationSchema, {
            bookieId: cfg.bookieId,
            grpcAddress: address,
            httpAddress: `${cfg.advertisedHost}:${ops.port}`,
            readOnly,
            totalDiskBytes: BigInt(Math.round(monitor.last.totalBytes)),
            freeDiskBytes: BigInt(Math.round(monitor.last.freeBytes)),
            registeredAtMs: BigInt(Date.now()),
          }),
      });
      const r = registration;
      cleanup.push(() => r.close());
      await registration.start(monitor.readOnly);
      const ledgerGc = new MetadataLedgerGc(store, storage, cfg, log);
      ledgerGc.start();
      cleanup.push(async () => ledgerGc.stop());
    }

    let closing: Promise<void> | undefined;
    const reg = registration;
    handle = {
      bookieId: cfg.bookieId,
      grpcPort,
      httpPort: ops.port,
      address,
      storage,
      metrics,
      get readOnly() {
        return monitor.readOnly;
      },
      checkDisk: () => monitor.check(),
      close: () => {
        closing ??= shutdown(ctx, server, cfg, log, reg, undo);
        return closing;
      },
    };
    log.info(
      {
        bookieId: cfg.bookieId,
        grpcPort,
        httpPort: ops.port,
        address,
        readOnly: monitor.readOnly,
        ledgers: storage.ledgers.size,
      },
      'bookie ready',
    );
    return handle;
  } catch (err) {
    await undo();
    throw err;
  }
}

async function shutdown(
  ctx: ServerContext,
  server: grpc.Server,
  cfg: BookieConfig,
  log: Logger,
  registration: Registration | undefined,
  undo: () => Promise<void>,
): Promise<void> {
  log.info('bookie shutting down');
  ctx.closing = true;
  // Leave the registration first so that clients stop choosing this bookie.
  await registration?.close().catch((err) => log.warn({ err }, 'unregistering failed'));
  ctx.waiters.closeAll();
  for (const s of [...ctx.streams]) s.shutdown();
  await new Promise<void>((resolve) => {
    const timer = setTimeout(() => {
      server.forceShutdown();
      resolve();
    }, cfg.shutdownGraceMs);
    server.tryShutdown(() => {
      clearTimeout(timer);
      resolve();
    });
  });
  await undo();
  log.info('bookie stopped');
}
