/**
 * Proxies that get their certificates from the identity service (CSR + workload token), as the
 * injected proxy does in a pod: not ready until the first certificate, then mTLS with each other;
 * a proxy holding a forged token never becomes ready and says why.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { CONTROL_PLANE_NAMESPACE } from '../../mesh/config/names';
import { IDENTITY_SERVICE_ACCOUNT, identityName } from '../../mesh/config/identity';
import { createDevCa } from '../../mesh/control/identity/ca';
import { startIdentityServer, type IdentityServer } from '../../mesh/control/identity/server';
import { LocalTokenVerifier, mintLocalToken } from '../../mesh/control/identity/token';
import { spawnProxy, type ProxyProcess } from '../../dev-cluster/local/proxy-process';

const WEB = identityName({ serviceAccount: 'web', namespace: 'demo' });
const API = identityName({ serviceAccount: 'api', namespace: 'demo' });

let dir: string;
let identity: IdentityServer;
let app: http.Server;
const proxies: ProxyProcess[] = [];
let secret: Buffer;

async function adminGet(p: ProxyProcess, path: string): Promise<{ status: number; body: string }> {
  const r = await fetch(`http://127.0.0.1:${p.admin.port}${path}`);
  return { status: r.status, body: await r.text() };
}

function identityEnv(name: string, sa: string, token: string): Record<string, string> {
  const tokenFile = join(dir, `${sa}.token`);
  writeFileSync(tokenFile, token);
  return {
    WEFT_PROXY_IDENTITY_ADDR: `127.0.0.1:${identity.port}`,
    WEFT_PROXY_IDENTITY_NAME: name,
    WEFT_PROXY_IDENTITY_TOKEN_FILE: tokenFile,
    WEFT_PROXY_IDENTITY_DIR: join(dir, sa),
    WEFT_PROXY_TRUST_ANCHORS: join(dir, 'anchor.crt'),
  };
}

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'weft-idsvc-'));
  const ca = await createDevCa();
  writeFileSync(join(dir, 'anchor.crt'), ca.anchor.certPem);
  secret = randomBytes(32);
  identity = await startIdentityServer({
    host: '127.0.0.1',
    port: 0,
    issuer: ca.issuer,
    trustAnchorPem: ca.anchor.certPem,
    verifier: new LocalTokenVerifier(secret),
    serverCert: await ca.issue(identityName({ serviceAccount: IDENTITY_SERVICE_ACCOUNT, namespace: CONTROL_PLANE_NAMESPACE })),
  });
  app = http.createServer((req, res) => res.end(`client=${String(req.headers['weft-client-id'])}`));
  await new Promise<void>((r) => app.listen(0, '127.0.0.1', r));
});

after(async () => {
  await Promise.all(proxies.map((p) => p.stop()));
  await identity?.close();
  await new Promise((r) => app?.close(r));
  rmSync(dir, { recursive: true, force: true });
});

test('two proxies obtain certificates from the identity service and talk mTLS', async () => {
  const appPort = (app.address() as { port: number }).port;
  const server = await spawnProxy({
    name: 'api',
    env: { WEFT_PROXY_INBOUND_ADDR: '127.0.0.1:0', WEFT_PROXY_APP_PORT: String(appPort), ...identityEnv(API, 'api', mintLocalToken(secret, { sa: 'api', ns: 'demo', ttl: 3600 })) },
  });
  proxies.push(server);
  assert.equal(server.identity, API);
  writeFileSync(
    join(dir, 'dst.json'),
    JSON.stringify({ destinations: [{ authority: 'api.demo:80', endpoints: [{ addr: `127.0.0.1:${server.inbound!.port}`, identity: API, targetPort: appPort }] }] }),
  );
  const client = await spawnProxy({
    name: 'web',
    env: {
      WEFT_PROXY_UPSTREAMS: 'api.demo:80=127.0.0.1:0',
      WEFT_PROXY_DESTINATION_FILE: join(dir, 'dst.json'),
      ...identityEnv(WEB, 'web', mintLocalToken(secret, { sa: 'web', ns: 'demo', ttl: 3600 })),
    },
  });
  proxies.push(client);
  assert.equal((await adminGet(client, '/ready')).status, 200);
  const r = await fetch(`http://127.0.0.1:${client.upstreams.get('api.demo:80')!.port}/`);
  assert.equal(await r.text(), `client=${WEB}`);
  const metrics = (await adminGet(client, '/metrics')).body;
  assert.match(metrics, /^identity_cert_refresh_count(\{[^}]*\})? 1$/m);
  assert.match(metrics, /^identity_cert_expiration_timestamp_seconds(\{[^}]*\})? \d+/m);
});

test('a proxy whose token is forged stays not ready and logs why', async () => {
  const forged = mintLocalToken(randomBytes(32), { sa: 'web', ns: 'demo', ttl: 3600 });
  const env = identityEnv(WEB, 'forged', forged);
  // spawnProxy resolves on "proxy ready", which never comes: start it and read its admin port from the logs.
  const started = spawnProxy({ name: 'forged', env: { ...env, WEFT_PROXY_ADMIN_ADDR: '127.0.0.1:0' }, startTimeoutMs: 3_000 });
  await assert.rejects(started, (e: Error) => {
    assert.match(e.message, /did not become ready/);
    assert.match(e.message, /certificate request failed/);
    assert.match(e.message, /token/i, 'the reason names the token');
    return true;
  });
});
