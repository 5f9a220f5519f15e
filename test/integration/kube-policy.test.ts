/**
 * `weft policy --kube` (a real process, driven through client-node against the fake API server)
 * feeding a real server proxy (WEFT_PROXY_POLICY_ADDR, workload demo/web-0 = the pod seeded in the
 * fake API) with meshed client proxies of two identities: the namespace's
 * config.weft.dev/default-inbound-policy annotation denies, and changing it opens the door while
 * the proxy serves; a Server + MeshTLSAuthentication + AuthorizationPolicy created in the API take
 * effect (only identity A gets in), and deleting the AuthorizationPolicy takes it away again. With
 * the API cut off the proxy keeps its table; back after the API's history was compacted, the
 * service relists (410 Gone) and a policy created meanwhile takes effect.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { identityName } from '../../mesh/config/identity';
import { findResourceType, startFakeKubeApi, writeKubeconfig, type FakeKubeApi, type KubeObject } from '../fixtures/kube-api';
import { startApiSwitch, type ApiSwitch } from '../unit/platform/api-switch';
import { applyAndWait, httpGet, startMuxApp, startPolicyMesh, tablesApplied, waitFor, type Caller, type MuxApp, type PolicyMesh } from './policy-mesh';

const T = {
  ns: findResourceType('', 'v1', 'namespaces')!,
  pod: findResourceType('', 'v1', 'pods')!,
  server: findResourceType('policy.weft.dev', 'v1beta1', 'servers')!,
  authz: findResourceType('policy.weft.dev', 'v1beta1', 'authorizationpolicies')!,
  mtls: findResourceType('policy.weft.dev', 'v1beta1', 'meshtlsauthentications')!,
};
const DEFAULT_POLICY = 'config.weft.dev/default-inbound-policy';
const SERVER_ID = identityName({ serviceAccount: 'web', namespace: 'demo' });
const A = identityName({ serviceAccount: 'a', namespace: 'demo' });
const B = identityName({ serviceAccount: 'b', namespace: 'demo' });
const authzOnlyA = {
  metadata: { name: 'a-only' },
  spec: { targetRef: { group: 'policy.weft.dev', kind: 'Server', name: 'web-http' }, requiredAuthenticationRefs: [{ group: 'policy.weft.dev', kind: 'MeshTLSAuthentication', name: 'only-a' }] },
};

let api: FakeKubeApi | undefined;
let sw: ApiSwitch | undefined;
let app: MuxApp | undefined;
let mesh: PolicyMesh | undefined;
let dir = '';
let service: ChildProcess | undefined;
let serviceLog = '';

before(async () => {
  app = await startMuxApp();
  dir = mkdtempSync(join(tmpdir(), 'weft-kube-policy-'));
  api = await startFakeKubeApi({ namespaces: ['default'] });
  api.store.create(T.ns, '', { metadata: { name: 'demo', annotations: { [DEFAULT_POLICY]: 'deny' } } });
  const pod = {
    metadata: { name: 'web-0', labels: { app: 'web' } },
    spec: {
      serviceAccountName: 'web',
      containers: [
        { name: 'web', image: 'web', ports: [{ name: 'http', containerPort: app.port }], readinessProbe: { httpGet: { path: '/ready', port: 'http' } } },
        { name: 'weft-proxy', image: 'weft', ports: [{ name: 'weft-proxy', containerPort: 4143 }, { name: 'weft-admin', containerPort: 4191 }] },
      ],
    },
    status: { phase: 'Running', podIP: '127.0.0.1' },
  };
  api.store.create(T.pod, 'demo', pod as unknown as KubeObject);
  sw = await startApiSwitch(api.url);
  const kubeconfig = writeKubeconfig(dir, { server: sw.url });
  service = spawn(process.execPath, ['--import', 'tsx', 'mesh/cli/main.ts', 'policy', '--kube', '--kubeconfig', kubeconfig, '--listen', '127.0.0.1:0'], { stdio: ['ignore', 'ignore', 'pipe'] });
  service.stderr!.setEncoding('utf8');
  service.stderr!.on('data', (d: string) => (serviceLog += d));
  await waitFor('weft policy --kube to sync and listen', () => /synced: .*listening on 127\.0\.0\.1:\d+/.test(serviceLog) || service!.exitCode !== null, 60_000);
  const port = /synced: .*listening on 127\.0\.0\.1:(\d+)/.exec(serviceLog)?.[1];
  assert.ok(port, serviceLog);
  assert.match(serviceLog, /synced: 0 Servers, .* 1 pods, 2 namespaces/);
  mesh = await startPolicyMesh({
    app,
    serverIdentity: SERVER_ID,
    clientIdentities: [A, B],
    serverEnv: { WEFT_PROXY_POLICY_ADDR: `127.0.0.1:${port}`, WEFT_PROXY_POLICY_WORKLOAD: 'demo/web-0' },
  });
});

after(async () => {
  await mesh?.close();
  if (service && service.exitCode === null) {
    const exited = new Promise((r) => service!.once('exit', r));
    service.kill('SIGTERM');
    await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
    if (service.exitCode === null) service.kill('SIGKILL');
  }
  await sw?.close();
  await api?.close();
  await app?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const client = (id: string): Caller => ({ kind: 'meshed', proxy: mesh!.clients.get(id)! });
const plain = (): Caller => ({ kind: 'plain', inbound: mesh!.server.inbound! });

test('the namespace annotation deny denies (403); changing it to all-unauthenticated in the API allows within seconds', async () => {
  await waitFor('the first table', () => tablesApplied(mesh!.server).some((l) => l['defaultPolicy'] === 'deny' && l['from'] === 'namespace'));
  const denied = await httpGet(plain(), '/x');
  assert.equal(denied.status, 403);
  assert.match(denied.body, /the default inbound policy deny/);
  assert.equal((await httpGet(client(A), '/x')).status, 403);
  assert.equal((await httpGet(plain(), '/ready')).status, 200, "the pod spec's readiness probe (from the API's Pod) passes under deny");

  const started = Date.now();
  await applyAndWait(
    mesh!.server,
    () => void api!.store.patch(T.ns, '', 'demo', 'application/merge-patch+json', { metadata: { annotations: { [DEFAULT_POLICY]: 'all-unauthenticated' } } }),
    (l) => l['defaultPolicy'] === 'all-unauthenticated',
  );
  const tookMs = Date.now() - started;
  assert.equal((await httpGet(plain(), '/x')).status, 200);
  assert.equal((await httpGet(client(B), '/x')).status, 200);
  process.stderr.write(`# namespace annotation change → table applied in ${tookMs} ms\n`);
});

test('a Server + MeshTLSAuthentication + AuthorizationPolicy created in the API: only identity A gets in; deleting the policy shuts A out too', async () => {
  await applyAndWait(
    mesh!.server,
    () => {
      api!.store.create(T.server, 'demo', { metadata: { name: 'web-http' }, spec: { podSelector: { matchLabels: { app: 'web' } }, port: 'http' } });
      api!.store.create(T.mtls, 'demo', { metadata: { name: 'only-a' }, spec: { identities: [A] } });
      api!.store.create(T.authz, 'demo', authzOnlyA);
    },
    (l) => String(l['ports']).includes('Server web-http'),
  );
  // The three objects travel on three watches: the policy may follow the Server by a moment.
  await waitFor('identity A to be let in', async () => (await httpGet(client(A), '/x')).status === 200);
  const b = await httpGet(client(B), '/x');
  assert.equal(b.status, 403);
  assert.match(b.body, /nothing on Server demo\/web-http allows client b\.demo\.serviceaccount/);
  assert.equal((await httpGet(plain(), '/x')).status, 403);

  await applyAndWait(mesh!.server, () => void api!.store.delete(T.authz, 'demo', 'a-only'));
  const a = await httpGet(client(A), '/x');
  assert.equal(a.status, 403, 'a Server without any AuthorizationPolicy denies everyone (its accessPolicy deny)');
  assert.match(a.body, /no AuthorizationPolicy targets Server demo\/web-http/);
});

test('API cut off: the proxy keeps its table; back after compaction: 410 → relist → the policy created meanwhile applies', async () => {
  assert.equal((await httpGet(client(A), '/x')).status, 403);
  await sw!.down();
  await waitFor('the informers to notice the outage', () => /keeping the last-known state/.test(serviceLog));
  api!.store.create(T.authz, 'demo', authzOnlyA);
  api!.compact();
  assert.equal((await httpGet(client(A), '/x')).status, 403, 'the service cannot see the new policy: the last-known table stays');
  await sw!.up();
  await waitFor('a relist after 410 Gone', () => /watch expired \(410 Gone\), relisting/.test(serviceLog), 60_000);
  await waitFor('identity A to be let in', async () => (await httpGet(client(A), '/x')).status === 200, 60_000);
  assert.equal((await httpGet(client(B), '/x')).status, 403);
});

test('weft policy --kube stops cleanly on SIGTERM', { timeout: 30_000 }, async () => {
  const code = await new Promise<number | null>((resolve) => {
    service!.once('exit', (c) => resolve(c));
    service!.kill('SIGTERM');
  });
  assert.equal(code, 0, serviceLog);
});
