/**
 * A test process running the cluster half of a broker: the real OwnershipService (session,
 * registration, load reports, lookups, claims, unload handling) without the Pulsar data path,
 * which does not exist yet. Tests drive it over a small HTTP API and read its events on stdout:
 *
 *   GET /lookup?topic=T[&authoritative=true]  → LookupResult | {error}
 *   GET /check?topic=T                        → {bundle, epoch} | {error}
 *   GET /owned                                → {bundles: [...], session, state}
 *   GET /load?msgRate=N&bundleTopics=B:N,...  → sets the traffic the load reports carry
 *   stdout: one JSON line per event: {"event":"ready"}, {"event":"unload","bundle":..,"reason":..}
 *
 * node test/cluster/broker-agent.ts <etcd host:port> <rootPrefix> <cluster> <brokerId> <httpPort> [configJson]
 */
import { createServer } from 'node:http';
import { type BundleLoadSample, EMPTY_LOAD, type LoadSample } from '../../lib/cluster/broker-registry.ts';
import { clusterConfigSpec } from '../../lib/cluster/config.ts';
import { OwnershipService } from '../../lib/cluster/ownership-service.ts';
import { loadConfig } from '../../lib/config/index.ts';
import { isMagnetarError } from '../../lib/errors/index.ts';
import { silentLogger } from '../../lib/log/index.ts';
import { openEtcdStore } from '../../lib/metadata/etcd-store.ts';

const [endpoint, rootPrefix, cluster, brokerId, portText, configJson] = process.argv.slice(2);
const emit = (o: Record<string, unknown>): void => {
  process.stdout.write(`${JSON.stringify(o)}\n`);
};

let load: LoadSample = EMPTY_LOAD;

async function main(): Promise<void> {
  const store = await openEtcdStore({ hosts: [endpoint], rootPrefix, logger: silentLogger() });
  const config = loadConfig('broker', clusterConfigSpec, { overrides: JSON.parse(configJson ?? '{}') });
  const port = Number(portText);
  const svc = await OwnershipService.start({
    store,
    cluster,
    brokerId,
    addresses: { serviceUrl: `pulsar://127.0.0.1:${port + 1}`, httpUrl: `http://127.0.0.1:${port}` },
    config,
    log: silentLogger(),
    loadSource: () => load,
  });
  svc.onBundleUnload((bundle, reason) => {
    emit({ event: 'unload', broker: brokerId, bundle: bundle.name, reason });
  });
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    const reply = (status: number, body: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    const fail = (err: unknown) =>
      reply(200, {
        error: isMagnetarError(err) ? err.code : String(err),
        message: String((err as Error)?.message),
      });
    const topic = url.searchParams.get('topic') ?? '';
    if (url.pathname === '/lookup') {
      svc
        .lookupTopic(topic, { authoritative: url.searchParams.get('authoritative') === 'true' })
        .then((r) => reply(200, r), fail);
    } else if (url.pathname === '/check') {
      svc.checkOwnership(topic).then((t) => reply(200, { bundle: t.bundle.name, epoch: t.epoch }), fail);
    } else if (url.pathname === '/owned') {
      reply(200, {
        bundles: svc.ownedBundles().map((b) => b.name),
        session: svc.session?.id,
        state: svc.state,
      });
    } else if (url.pathname === '/load') {
      const msgRate = Number(url.searchParams.get('msgRate') ?? 0);
      const bundles: BundleLoadSample[] = (url.searchParams.get('bundleTopics') ?? '')
        .split(',')
        .filter(Boolean)
        .map((spec) => {
          const [name, topics] = spec.split('=');
          const parts = name.split('/');
          return {
            namespace: `${parts[0]}/${parts[1]}`,
            range: parts[2],
            topics: Number(topics),
            producers: 0,
            consumers: 0,
            msgRateIn: 0,
            msgRateOut: 0,
            bytesInPerSec: 0,
            bytesOutPerSec: 0,
          };
        });
      load = { ...EMPTY_LOAD, msgRateIn: msgRate, bundles };
      svc.reportLoad().then(() => reply(200, { ok: true }), fail);
    } else reply(404, { error: 'no route' });
  });
  server.listen(port, '127.0.0.1', () => emit({ event: 'ready', broker: brokerId, port }));
  const stop = () => {
    server.close();
    svc
      .close()
      .then(() => store.close())
      .finally(() => process.exit(0));
  };
  process.on('SIGTERM', stop);
}

main().catch((err: unknown) => {
  emit({ event: 'failed', error: String((err as Error)?.stack ?? err) });
  process.exit(1);
});
