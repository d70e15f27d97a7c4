/**
 * Standalone settings (`magnetar standalone --help`; env MAGNETAR_STANDALONE_<NAME>; or a YAML/JSON
 * `--config` file). Standalone runs one bookie, one broker and the coordinator in one process on
 * an embedded metadata store under `dataDir`; any broker setting can still be given through a
 * broker config file (`--broker-config`).
 */
import { type ConfigOf, describeConfig, type LoadOptions, loadConfig } from '../../lib/config/index.ts';

const MiB = 1024 * 1024;

export const standaloneSettings = {
  dataDir: {
    type: 'string',
    default: './data/standalone',
    doc: 'Directory holding everything: metadata store, bookie journal and ledgers, logs.',
  },
  clusterName: { type: 'string', default: 'standalone', doc: 'Cluster name created on first start.' },
  bindAddress: {
    type: 'string',
    default: '127.0.0.1',
    doc: 'Address the broker, bookie and coordinator listen on (0.0.0.0 for every interface).',
  },
  advertisedAddress: {
    type: 'string',
    default: '127.0.0.1',
    doc: 'Host name in the service and admin URLs handed to clients.',
  },
  brokerServicePort: { type: 'int', default: 6650, min: 0, max: 65535, doc: 'Pulsar binary protocol port.' },
  webServicePort: { type: 'int', default: 8080, min: 0, max: 65535, doc: 'Admin REST API / HTTP port.' },
  bookieGrpcPort: {
    type: 'int',
    default: 0,
    min: 0,
    max: 65535,
    doc: 'Bookie gRPC port (0: any free port; only the in-process broker uses it).',
  },
  bookieHttpPort: {
    type: 'int',
    default: 0,
    min: 0,
    max: 65535,
    doc: 'Bookie health/metrics port (0: any).',
  },
  coordinatorHttpPort: {
    type: 'int',
    default: 0,
    min: 0,
    max: 65535,
    doc: 'Coordinator health/status port (0: any).',
  },
  journalFileBytes: {
    type: 'int',
    default: 16 * MiB,
    min: 12 * MiB,
    max: 1024 * MiB,
    doc: 'Size of each preallocated bookie journal file.',
  },
  brokerConfig: {
    type: 'string',
    default: '',
    doc: 'YAML/JSON file of extra broker settings (auth, limits...); standalone values win for ports, addresses and storage.',
  },
  logFile: {
    type: 'string',
    default: '',
    doc: 'Where the JSON logs go: a file (default <dataDir>/logs/standalone.log) or "-" for stdout.',
  },
  logLevel: {
    type: 'string',
    default: 'info',
    choices: ['debug', 'info', 'warn', 'error'],
    doc: 'Log level of every service in the process.',
  },
} as const;

export type StandaloneConfig = ConfigOf<typeof standaloneSettings>;

export function loadStandaloneConfig(opts: LoadOptions = {}): StandaloneConfig {
  return loadConfig('standalone', standaloneSettings, opts);
}

export function describeStandaloneConfig(): string {
  return describeConfig('standalone', standaloneSettings);
}
