/**
 * Prometheus metrics. One registry per service instance (several services share a process in
 * standalone mode), every series labelled with service and node.
 */
import client from 'prom-client';

export type { Counter, Gauge, Histogram, Registry } from 'prom-client';

export interface Metrics {
  readonly registry: client.Registry;
  counter(name: string, help: string, labelNames?: readonly string[]): client.Counter<string>;
  gauge(name: string, help: string, labelNames?: readonly string[]): client.Gauge<string>;
  histogram(
    name: string,
    help: string,
    buckets?: readonly number[],
    labelNames?: readonly string[],
  ): client.Histogram<string>;
  /** Prometheus text exposition. */
  render(): Promise<string>;
}

/** Latency buckets in seconds, from 50 µs to 10 s. */
export const LATENCY_BUCKETS_S = [
  0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10,
];

export function createMetrics(service: string, node: string, withProcessMetrics = true): Metrics {
  const registry = new client.Registry();
  registry.setDefaultLabels({ service, node });
  if (withProcessMetrics) client.collectDefaultMetrics({ register: registry, prefix: 'magnetar_' });
  return {
    registry,
    counter: (name, help, labelNames = []) =>
      new client.Counter({ name, help, labelNames: [...labelNames], registers: [registry] }),
    gauge: (name, help, labelNames = []) =>
      new client.Gauge({ name, help, labelNames: [...labelNames], registers: [registry] }),
    histogram: (name, help, buckets = LATENCY_BUCKETS_S, labelNames = []) =>
      new client.Histogram({
        name,
        help,
        buckets: [...buckets],
        labelNames: [...labelNames],
        registers: [registry],
      }),
    render: () => registry.metrics(),
  };
}
