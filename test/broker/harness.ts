/** In-process broker for integration tests: real TCP listener on a free port, quiet logs. */
import { silentLogger } from '../../lib/log/index.ts';
import { createMetrics } from '../../lib/metrics/index.ts';
import { type Broker, type BrokerDeps, startBroker } from '../../services/broker/broker.ts';
import { loadBrokerConfig } from '../../services/broker/config.ts';

export async function startTestBroker(
  overrides: Record<string, unknown> = {},
  deps: BrokerDeps = {},
): Promise<Broker> {
  const config = loadBrokerConfig({
    overrides: { bindAddress: '127.0.0.1', brokerServicePort: 0, webServicePort: 0, ...overrides },
  });
  return startBroker(config, {
    logger: silentLogger('broker'),
    metrics: createMetrics('broker', 'test', false),
    ...deps,
  });
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Poll until `check` is true (bounded); for broker-side state that changes asynchronously. */
export async function eventually(
  check: () => boolean | Promise<boolean>,
  what: string,
  timeoutMs = 15_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}
