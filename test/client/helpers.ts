/**
 * Real brokers for the client's integration tests: a standalone Magnetar (real bookie with fsync,
 * real broker, embedded metadata store) started in this process on free ports under a temp dir.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll } from 'vitest';
import { type Consumer, type Message, PulsarClient } from '../../lib/client/index.ts';
import type { ClientOptions } from '../../lib/client/options.ts';
import { silentLogger } from '../../lib/log/index.ts';
import { loadStandaloneConfig } from '../../services/standalone/config.ts';
import { type Standalone, startStandalone } from '../../services/standalone/standalone.ts';
import { tempDir } from '../harness/index.ts';

export interface TestCluster {
  readonly standalone: Standalone;
  readonly serviceUrl: string;
  readonly dataDir: string;
  /** A client on this cluster; closed by `stop`. */
  client(opts?: Partial<ClientOptions>): PulsarClient;
  stop(): Promise<void>;
}

export async function startTestStandalone(
  brokerSettings: Record<string, unknown> = {},
  dataDir = tempDir('client-'),
  ports: { broker: number; web: number } = { broker: 0, web: 0 },
): Promise<TestCluster> {
  let brokerConfig = '';
  if (Object.keys(brokerSettings).length > 0) {
    brokerConfig = join(dataDir, 'broker.json');
    writeFileSync(brokerConfig, JSON.stringify(brokerSettings));
  }
  const cfg = loadStandaloneConfig({
    env: {},
    overrides: {
      dataDir,
      brokerServicePort: ports.broker,
      webServicePort: ports.web,
      brokerConfig,
      logLevel: 'warn',
    },
  });
  const standalone = await startStandalone(cfg, { logger: silentLogger('standalone') });
  const clients: PulsarClient[] = [];
  return {
    standalone,
    serviceUrl: standalone.serviceUrl,
    dataDir,
    client(opts = {}) {
      const c = new PulsarClient({ serviceUrl: standalone.serviceUrl, operationTimeoutMs: 15_000, ...opts });
      clients.push(c);
      return c;
    },
    async stop() {
      await Promise.all(clients.map((c) => c.close().catch(() => undefined)));
      await standalone.close();
    },
  };
}

/**
 * A standalone started before the calling file's tests and stopped after them, with one client on
 * it. Read `tc` and `client` inside tests and hooks (they exist once `beforeAll` ran).
 */
export function useTestStandalone(brokerSettings: Record<string, unknown> = {}): {
  readonly tc: TestCluster;
  readonly client: PulsarClient;
} {
  let tc: TestCluster | undefined;
  let client: PulsarClient | undefined;
  beforeAll(async () => {
    tc = await startTestStandalone(brokerSettings);
    client = tc.client();
  });
  afterAll(async () => {
    await tc?.stop();
  });
  const started = <T>(v: T | undefined): T => {
    if (v === undefined) throw new Error('the test standalone is not started (use it inside tests)');
    return v;
  };
  return {
    get tc() {
      return started(tc);
    },
    get client() {
      return started(client);
    },
  };
}

/** Receive `n` messages in order (each within 10 s), acknowledging each unless `ack` is false. */
export async function take(consumer: Consumer, n: number, ack = true): Promise<Message[]> {
  const out: Message[] = [];
  for (let i = 0; i < n; i++) {
    const m = await consumer.receive(10_000);
    if (ack) consumer.ack(m);
    out.push(m);
  }
  return out;
}

let counter = 0;
/** A topic name no other test uses. */
export function uniqueTopic(tag = 't'): string {
  return `persistent://public/default/${tag}-${process.pid}-${Date.now().toString(36)}-${counter++}`;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Poll until `check` holds (bounded). */
export async function eventually(
  check: () => boolean | Promise<boolean>,
  what: string,
  timeoutMs = 20_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

/** Create a partitioned topic through the admin REST API (PUT .../partitions). */
export async function createPartitionedTopic(
  adminUrl: string,
  topic: string,
  partitions: number,
): Promise<void> {
  const path = topic.replace('persistent://', 'persistent/');
  const res = await fetch(`${adminUrl}/admin/v2/${path}/partitions`, {
    method: 'PUT',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(partitions),
  });
  if (res.status !== 204 && res.status !== 200)
    throw new Error(`create partitioned topic: ${res.status} ${await res.text()}`);
}

/** Unload a topic through the admin REST API: its producers and consumers are closed by the broker. */
export async function unloadTopic(adminUrl: string, topic: string): Promise<void> {
  const path = topic.replace('persistent://', 'persistent/');
  const res = await fetch(`${adminUrl}/admin/v2/${path}/unload`, { method: 'PUT' });
  if (res.status !== 204 && res.status !== 200) throw new Error(`unload: ${res.status} ${await res.text()}`);
}
