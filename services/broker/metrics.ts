/** The broker front's Prometheus series (lib/metrics registry, labelled with service and node). */
import type { Counter, Gauge, Histogram, Metrics } from '../../lib/metrics/index.ts';

export interface BrokerMetrics {
  readonly registry: Metrics;
  readonly connections: Gauge<string>;
  readonly connectionsTotal: Counter<string>;
  readonly connectionsClosed: Counter<string>;
  readonly commands: Counter<string>;
  readonly protocolErrors: Counter<string>;
  readonly msgsIn: Counter<string>;
  readonly bytesIn: Counter<string>;
  readonly msgsOut: Counter<string>;
  readonly bytesOut: Counter<string>;
  readonly sendErrors: Counter<string>;
  readonly publishLatency: Histogram<string>;
  readonly topicsLoaded: Gauge<string>;
  readonly producers: Gauge<string>;
  readonly consumers: Gauge<string>;
  readonly pausedConnections: Gauge<string>;
}

export function createBrokerMetrics(m: Metrics): BrokerMetrics {
  return {
    registry: m,
    connections: m.gauge('magnetar_broker_connections', 'Open client connections'),
    connectionsTotal: m.counter('magnetar_broker_connections_total', 'Client connections accepted'),
    connectionsClosed: m.counter(
      'magnetar_broker_connections_closed_total',
      'Client connections closed, by reason',
      ['reason'],
    ),
    commands: m.counter('magnetar_broker_commands_total', 'Commands received, by type', ['type']),
    protocolErrors: m.counter('magnetar_broker_protocol_errors_total', 'Bad input refused, by kind', [
      'kind',
    ]),
    msgsIn: m.counter('magnetar_broker_msgs_in_total', 'Messages published (batch members counted)'),
    bytesIn: m.counter('magnetar_broker_bytes_in_total', 'Entry bytes published'),
    msgsOut: m.counter('magnetar_broker_msgs_out_total', 'Messages dispatched to consumers'),
    bytesOut: m.counter('magnetar_broker_bytes_out_total', 'Entry bytes dispatched to consumers'),
    sendErrors: m.counter('magnetar_broker_send_errors_total', 'SEND_ERROR answers, by ServerError', [
      'error',
    ]),
    publishLatency: m.histogram(
      'magnetar_broker_publish_latency_seconds',
      'SEND received to SEND_RECEIPT written',
    ),
    topicsLoaded: m.gauge('magnetar_broker_topics_loaded', 'Topics loaded on this broker'),
    producers: m.gauge('magnetar_broker_producers', 'Producers attached'),
    consumers: m.gauge('magnetar_broker_consumers', 'Consumers attached'),
    pausedConnections: m.gauge(
      'magnetar_broker_paused_connections',
      'Connections whose reading is paused (backpressure)',
    ),
  };
}
