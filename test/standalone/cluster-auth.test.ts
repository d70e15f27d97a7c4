/**
 * Standalone mode (in process) wired like a broker: with authentication and authorization on, the
 * binary protocol refuses PRODUCER to a role without the produce grant (AuthorizationError) and
 * serves a granted one; topics are served through lib/cluster ownership (the in-process
 * coordinator and the broker registered as "host:webPort"), as the admin API shows.
 */
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadSecretKey } from '../../lib/auth/keys.ts';
import { createToken } from '../../lib/auth/tokens.ts';
import { silentLogger } from '../../lib/log/index.ts';
import { ServerError } from '../../lib/wire/protocol.ts';
import { loadStandaloneConfig } from '../../services/standalone/config.ts';
import { type Standalone, startStandalone } from '../../services/standalone/standalone.ts';
import { T, WireClient } from '../broker/wire-client.ts';
import { tempDir } from '../harness/index.ts';

const secret = `data:;base64,${randomBytes(32).toString('base64')}`;
const tokens: Record<'root' | 'writer' | 'stranger', string> = { root: '', writer: '', stranger: '' };
let standalone: Standalone;
let port = 0;
const TOPIC = 'persistent://public/default/guarded';

async function admin(method: string, path: string, body?: unknown) {
  const res = await fetch(`${standalone.adminUrl}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${tokens.root}`,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, json: text === '' ? undefined : JSON.parse(text) };
}

beforeAll(async () => {
  const key = loadSecretKey(secret);
  for (const role of ['root', 'writer', 'stranger'] as const)
    tokens[role] = await createToken({ subject: role, key });
  const dataDir = tempDir('standalone-auth-');
  const brokerConfig = join(dataDir, 'broker.json');
  writeFileSync(
    brokerConfig,
    JSON.stringify({
      authenticationEnabled: true,
      authorizationEnabled: true,
      superUserRoles: 'root',
      tokenSecretKey: secret,
    }),
  );
  const cfg = loadStandaloneConfig({
    env: {},
    overrides: { dataDir, brokerServicePort: 0, webServicePort: 0, brokerConfig, logLevel: 'warn' },
  });
  standalone = await startStandalone(cfg, { logger: silentLogger('standalone') });
  port = standalone.broker.brokerServicePort;
}, 60_000);

afterAll(async () => {
  await standalone?.close();
});

describe('standalone with authentication and authorization', { concurrent: false }, () => {
  it('joins the cluster as host:webPort; lookups go through bundle ownership', async () => {
    const id = `127.0.0.1:${standalone.broker.webServicePort}`;
    expect(standalone.broker.brokerId).toBe(id);
    expect((await admin('GET', '/admin/v2/brokers/standalone')).json).toEqual([id]);
    const lookup = await admin('GET', `/lookup/v2/topic/persistent/public/default/guarded`);
    expect(lookup.status).toBe(200);
    expect(lookup.json.brokerUrl).toBe(standalone.serviceUrl);
    const owned = await admin('GET', `/admin/v2/brokers/standalone/${id}/ownedNamespaces`);
    expect(Object.keys(owned.json).some((b) => b.startsWith('public/default/0x'))).toBe(true);
  });

  it('refuses PRODUCER without the produce grant and serves it with the grant', async () => {
    const stranger = await WireClient.open(port, { token: tokens.stranger });
    const refused = await stranger.createProducer(TOPIC, 1n);
    expect(refused.error?.error).toBe(ServerError.AuthorizationError);
    stranger.close();

    const beforeGrant = await WireClient.open(port, { token: tokens.writer });
    expect((await beforeGrant.createProducer(TOPIC, 1n)).error?.error).toBe(ServerError.AuthorizationError);
    beforeGrant.close();

    expect(
      (await admin('POST', '/admin/v2/namespaces/public/default/permissions/writer', ['produce'])).status,
    ).toBe(204);
    const writer = await WireClient.open(port, { token: tokens.writer });
    await writer.lookupUntil(TOPIC, standalone.serviceUrl);
    expect((await writer.createProducer(TOPIC, 1n)).type).toBe(T.PRODUCER_SUCCESS);
    expect((await writer.publish(1n, 0n, 'hello')).type).toBe(T.SEND_RECEIPT);
    writer.close();
  });

  it('refuses a connection without a token', async () => {
    const anonymous = await WireClient.open(port);
    expect(anonymous.connectAnswer?.type).toBe(T.ERROR);
    anonymous.close();
  });
});
