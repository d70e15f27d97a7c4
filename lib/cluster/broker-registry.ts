/**
 * Broker registration: one key per broker, bound to the broker's session, holding its advertised
 * addresses and a load report rewritten every `loadReportIntervalMs` (internals.md §5.4: Pulsar's
 * LocalBrokerData). The key's existence is the broker's liveness: when the session expires it
 * vanishes, and with it every owner key of the broker's bundles.
 *
 * A restarting broker whose previous registration (another session) is still there waits up to
 * `registrationWaitMs` for it to expire, as a BookKeeper bookie does, so two live processes never
 * share one id.
 */
import { readFileSync } from 'node:fs';
import { totalmem } from 'node:os';
import { create } from '@bufbuild/protobuf';
import {
  BrokerLoadSchema,
  type BrokerRegistration,
  BrokerRegistrationSchema,
  BundleLoadSchema,
} from '../gen/magnetar/cluster/v1/cluster_pb.ts';
import type { Logger } from '../log/index.ts';
import * as keys from '../metadata/keys.ts';
import type { MetadataStore, Session } from '../metadata/store.ts';
import { decodeRegistration, encodeRegistration } from './codec.ts';
import { ClusterErrors } from './errors.ts';

export interface BrokerAddresses {
  /** pulsar://host:port as clients must dial it. */
  readonly serviceUrl: string;
  readonly serviceUrlTls?: string;
  /** http://host:port of the admin/lookup API. */
  readonly httpUrl: string;
  readonly httpUrlTls?: string;
}

export interface BundleLoadSample {
  /** tenant/namespace */
  readonly namespace: string;
  /** 0xLLLLLLLL_0xUUUUUUUU */
  readonly range: string;
  readonly topics: number;
  readonly producers: number;
  readonly consumers: number;
  readonly msgRateIn: number;
  readonly msgRateOut: number;
  readonly bytesInPerSec: number;
  readonly bytesOutPerSec: number;
}

/** What the broker reports about its traffic (CPU and memory are measured here). */
export interface LoadSample {
  readonly topics: number;
  readonly producers: number;
  readonly consumers: number;
  readonly connections: number;
  readonly msgRateIn: number;
  readonly msgRateOut: number;
  readonly bytesInPerSec: number;
  readonly bytesOutPerSec: number;
  readonly bundles: readonly BundleLoadSample[];
}

export type LoadSource = () => LoadSample;

export const EMPTY_LOAD: LoadSample = {
  topics: 0,
  producers: 0,
  consumers: 0,
  connections: 0,
  msgRateIn: 0,
  msgRateOut: 0,
  bytesInPerSec: 0,
  bytesOutPerSec: 0,
  bundles: [],
};

export interface RegistrarOptions {
  readonly store: MetadataStore;
  readonly cluster: string;
  readonly brokerId: string;
  readonly addresses: BrokerAddresses;
  readonly version: string;
  readonly loadReportIntervalMs: number;
  readonly loadReportMaxBundles: number;
  readonly memoryLimitBytes: number;
  readonly registrationWaitMs: number;
  readonly log: Logger;
  readonly loadSource: LoadSource;
  /** Bundles this broker owns right now (from the ownership service). */
  readonly ownedBundleCount: () => number;
}

/**
 * CPU use of this process as a fraction of one core, over windows of at least a second (a shorter
 * window, e.g. right at start-up, repeats the previous reading: 0 at first).
 */
class CpuMeter {
  static readonly MIN_WINDOW_MS = 1000;
  #last = process.cpuUsage();
  #lastAt = performance.now();
  #value = 0;
  sample(): number {
    const now = performance.now();
    if (now - this.#lastAt < CpuMeter.MIN_WINDOW_MS) return this.#value;
    const cur = process.cpuUsage();
    const usedUs = cur.user - this.#last.user + (cur.system - this.#last.system);
    this.#value = Math.max(0, usedUs / ((now - this.#lastAt) * 1000));
    this.#last = cur;
    this.#lastAt = now;
    return this.#value;
  }
}

/** The cgroup v2/v1 memory limit if one applies, else the machine's memory. */
export function detectMemoryLimit(): number {
  for (const path of ['/sys/fs/cgroup/memory.max', '/sys/fs/cgroup/memory/memory.limit_in_bytes']) {
    try {
      const n = Number(readFileSync(path, 'utf8').trim());
      if (Number.isFinite(n) && n > 0 && n < totalmem()) return n;
    } catch {
      // not in a cgroup with a limit
    }
  }
  return totalmem();
}

export class BrokerRegistrar {
  readonly #o: RegistrarOptions;
  readonly #key: string;
  readonly #cpu = new CpuMeter();
  readonly #memoryLimit: number;
  readonly #startedAtMs = Date.now();
  #session: Session | undefined;
  #timer: NodeJS.Timeout | undefined;
  #draining = false;
  #writing: Promise<void> = Promise.resolve();
  #last: BrokerRegistration | undefined;

  constructor(o: RegistrarOptions) {
    this.#o = o;
    this.#key = keys.broker(o.cluster, o.brokerId);
    this.#memoryLimit = o.memoryLimitBytes > 0 ? o.memoryLimitBytes : detectMemoryLimit();
  }

  get lastReport(): BrokerRegistration | undefined {
    return this.#last;
  }

  /** Register under `session` (waiting out a previous incarnation) and start the load reports. */
  async register(session: Session): Promise<void> {
    this.#session = session;
    await this.#waitForPrevious(session);
    await this.#write();
    clearInterval(this.#timer);
    this.#timer = setInterval(() => {
      this.reportNow().catch((err: unknown) =>
        this.#o.log.warn({ err: (err as Error).message }, 'load report failed'),
      );
    }, this.#o.loadReportIntervalMs);
    this.#timer.unref();
  }

  /** Write a fresh load report now (serialized with the periodic ones). */
  reportNow(): Promise<void> {
    this.#writing = this.#writing.then(
      () => this.#write(),
      () => this.#write(),
    );
    return this.#writing;
  }

  /** Mark the broker as draining (no new assignments) and publish it. */
  async setDraining(draining: boolean): Promise<void> {
    this.#draining = draining;
    if (this.#session?.alive) await this.reportNow();
  }

  stop(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
    this.#session = undefined;
  }

  /** Remove the registration now (graceful shutdown; the session would also remove it). */
  async deregister(): Promise<void> {
    this.stop();
    await this.#o.store.delete(this.#key).catch(() => false);
  }

  async #waitForPrevious(session: Session): Promise<void> {
    const deadline = Date.now() + this.#o.registrationWaitMs;
    for (;;) {
      const cur = await this.#o.store.get(this.#key);
      if (!cur) return;
      const reg = decodeRegistration(cur.key, cur.value);
      if (reg.sessionId === session.id) return;
      if (Date.now() >= deadline) {
        throw ClusterErrors.make('BROKER_ID_IN_USE', {
          broker: this.#o.brokerId,
          session: reg.sessionId,
          waitedMs: this.#o.registrationWaitMs,
        });
      }
      this.#o.log.info(
        { previousSession: reg.sessionId },
        'waiting for the previous registration of this broker id to expire',
      );
      await new Promise((r) => setTimeout(r, Math.min(250, Math.max(10, deadline - Date.now()))));
    }
  }

  #build(session: Session): BrokerRegistration {
    const sample = safeSample(this.#o.loadSource, this.#o.log);
    const bundles = [...sample.bundles]
      .sort((a, b) => b.msgRateIn + b.msgRateOut - (a.msgRateIn + a.msgRateOut) || b.topics - a.topics)
      .slice(0, this.#o.loadReportMaxBundles);
    const { addresses } = this.#o;
    return create(BrokerRegistrationSchema, {
      brokerId: this.#o.brokerId,
      sessionId: session.id,
      serviceUrl: addresses.serviceUrl,
      serviceUrlTls: addresses.serviceUrlTls ?? '',
      httpUrl: addresses.httpUrl,
      httpUrlTls: addresses.httpUrlTls ?? '',
      version: this.#o.version,
      startedAtMs: BigInt(this.#startedAtMs),
      draining: this.#draining,
      load: create(BrokerLoadSchema, {
        topics: sample.topics,
        bundles: this.#o.ownedBundleCount(),
        producers: sample.producers,
        consumers: sample.consumers,
        connections: sample.connections,
        msgRateIn: sample.msgRateIn,
        msgRateOut: sample.msgRateOut,
        bytesInPerSec: sample.bytesInPerSec,
        bytesOutPerSec: sample.bytesOutPerSec,
        cpuUsage: this.#cpu.sample(),
        memoryUsage: process.memoryUsage().rss / this.#memoryLimit,
        reportedAtMs: BigInt(Date.now()),
        bundleLoads: bundles.map((b) => create(BundleLoadSchema, b)),
      }),
    });
  }

  async #write(): Promise<void> {
    const session = this.#session;
    if (!session?.alive) return;
    const reg = this.#build(session);
    await this.#o.store.put(this.#key, encodeRegistration(reg), { session });
    this.#last = reg;
  }
}

function safeSample(source: LoadSource, log: Logger): LoadSample {
  try {
    return source();
  } catch (err) {
    log.warn({ err: (err as Error).message }, 'load source failed; reporting no traffic');
    return EMPTY_LOAD;
  }
}
