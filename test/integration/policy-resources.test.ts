/**
 * Policy resources end to end, served by a real `weft policy -f FILE` process that re-reads its file:
 * a Server + AuthorizationPolicy + MeshTLSAuthentication allowing one meshed identity only (another
 * meshed identity and unmeshed clients denied), an HTTPRoute-scoped policy (one path allowed),
 * kubelet probes allowed under `deny`, and the proxy's own sources: WEFT_PROXY_POLICY_FILE (the
 * proxy compiles the same file) and WEFT_PROXY_DEFAULT_INBOUND_POLICY.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { identityName } from '../../mesh/config/identity';
import { spawnProxy, WEFT_ENTRY, type ProxyProcess } from '../../dev-cluster/local/proxy-process';
import { applyAndWait, grpcCall, httpGet, metricValue, scrape, startMuxApp, startPolicyMesh, tcpPing, waitFor, type Caller, type MuxApp, type PolicyMesh } from './policy-mesh';

const SERVER_ID = identityName({ serviceAccount: 'web', namespace: 'demo' });
const A = identityName({ serviceAccount: 'a', namespace: 'demo' });
const B = identityName({ serviceAccount: 'b', namespace: 'demo' });

let app: MuxApp | undefined;
let mesh: PolicyMesh | undefined;
let dir = '';
let policyFile = '';
let service: ChildProcess | undefined;
let serviceLog = '';
const extra: ProxyProcess[] = [];

const deployment = (port: number): string => `
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: demo}
spec:
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
      - name: web
        image: web
        ports: [{name: http, containerPort: ${port}}]
        readinessProbe: {httpGet: {path: /ready, port: http}}
`;

const ONLY_A = `
apiVersion: policy.weft.dev/v1beta1
kind: Server
metadata: {name: web-http, namespace: demo}
spec:
  podSelector: {matchLabels: {app: web}}
  port: http
---
apiVersion: policy.weft.dev/v1alpha1
kind: MeshTLSAuthentication
metadata: {name: only-a, namespace: demo}
spec:
  identities: ["${A}"]
---
apiVersion: policy.weft.dev/v1alpha1
kind: AuthorizationPolicy
metadata: {name: a-only, namespace: demo}
spec:
  targetRef: {group: policy.weft.dev, kind: Server, name: web-http}
  requiredAuthenticationRefs: [{group: policy.weft.dev, kind: MeshTLSAuthentication, name: only-a}]
`;

const PUBLIC_ROUTE = `
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: web-public, namespace: demo}
spec:
  parentRefs: [{group: policy.weft.dev, kind: Server, name: web-http}]
  rules:
  - matches: [{path: {type: PathPrefix, value: /public}}]
---
apiVersion: policy.weft.dev/v1alpha1
kind: AuthorizationPolicy
metadata: {name: public-any, namespace: demo}
spec:
  targetRef: {group: gateway.networking.k8s.io, kind: HTTPRoute, name: web-public}
  requiredAuthenticationRefs: []
`;

const NAMESPACE_DENY = `
apiVersion: v1
kind: Namespace
metadata:
  name: demo
  annotations: {config.weft.dev/default-inbound-policy: deny}
`;

const docs = (...parts: string[]): string => parts.map((p) => p.trim()).join('\n---\n') + '\n';

before(async () => {
  app = await startMuxApp();
  dir = await mkdtemp(join(tmpdir(), 'weft-policy-svc-'));
  policyFile = join(dir, 'policy.yaml');
  await writeFile(policyFile, docs(deployment(app.port), ONLY_A));
  service = spawn(process.execPath, [WEFT_ENTRY, 'policy', '-f', policyFile, '--listen', '127.0.0.1:0'], { stdio: ['ignore', 'ignore', 'pipe'] });
  service.stderr!.setEncoding('utf8');
  service.stderr!.on('data', (d: string) => (serviceLog += d));
  await waitFor('weft policy to listen', () => /listening on 127\.0\.0\.1:\d+/.test(serviceLog));
  const port = /listening on 127\.0\.0\.1:(\d+)/.exec(serviceLog)![1]!;
  mesh = await startPolicyMesh({
    app,
    serverIdentity: SERVER_ID,
    clientIdentities: [A, B],
    serverEnv: { WEFT_PROXY_POLICY_ADDR: `127.0.0.1:${port}`, WEFT_PROXY_POLICY_WORKLOAD: 'demo/web' },
  });
});

after(async () => {
  await Promise.all(extra.map((p) => p.stop(3_000).catch(() => undefined)));
  await mesh?.close();
  if (service && service.exitCode === null) {
    const exited = new Promise((r) => service!.once('exit', r));
    service.kill('SIGTERM');
    await exited;
  }
  await app?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

const client = (id: string): Caller => ({ kind: 'meshed', proxy: mesh!.clients.get(id)! });
const plain = (): Caller => ({ kind: 'plain', inbound: mesh!.server.inbound! });

test('Server + AuthorizationPolicy + MeshTLSAuthentication: only identity A gets in (HTTP, gRPC, TCP); B and unmeshed clients are denied', async () => {
  await waitFor('the first table', () => mesh!.server.logs.some((l) => l['msg'] === 'policy: table applied' && String(l['ports']).includes('Server web-http')));
  assert.equal((await httpGet(client(A), '/x')).status, 200);
  assert.equal((await grpcCall(client(A))).code, 0);
  assert.equal(await tcpPing(client(A)), 'echo');

  const denied = await httpGet(client(B), '/x');
  assert.equal(denied.status, 403);
  assert.match(denied.body, /nothing on Server demo\/web-http allows client b\.demo\.serviceaccount/);
  assert.equal((await grpcCall(client(B))).code, 7);
  assert.equal(await tcpPing(client(B)), 'closed');
  assert.equal((await httpGet(plain(), '/x')).status, 403);
  assert.equal(await tcpPing(plain()), 'closed');

  const text = await scrape(mesh!.server);
  const server = { srv_group: 'policy.weft.dev', srv_kind: 'server', srv_name: 'web-http' };
  assert.equal(metricValue(text, 'inbound_http_authz_allow_total', { ...server, authz_kind: 'authorizationpolicy', authz_name: 'a-only', client_id: A }), 2);
  assert.equal(metricValue(text, 'inbound_tcp_authz_allow_total', { ...server, authz_kind: 'authorizationpolicy', authz_name: 'a-only', client_id: A }), 1);
  assert.equal(metricValue(text, 'inbound_http_authz_deny_total', { ...server, client_id: B }), 2);
  assert.equal(metricValue(text, 'inbound_tcp_authz_deny_total', { ...server, client_id: B }), 1);
  assert.equal(metricValue(text, 'inbound_http_authz_deny_total', { ...server, tls: 'no_identity' }), 1);
  assert.equal(metricValue(text, 'inbound_http_authz_allow_total', { client_id: B }), 0, 'nothing of B was allowed');
});

test('a kubelet probe (GET on the pod spec probe path) passes a Server without routes, unauthenticated', async () => {
  const r = await httpGet(plain(), '/ready');
  assert.equal(r.status, 200);
  assert.equal(r.body, 'ok /ready');
  assert.equal((await httpGet(plain(), '/ready-not')).status, 403);
  const text = await scrape(mesh!.server);
  assert.equal(metricValue(text, 'inbound_http_authz_allow_total', { srv_name: 'web-http', authz_kind: 'default', authz_name: 'probe', tls: 'no_identity' }), 1);
});

test('an HTTPRoute-scoped policy: the one path is open to everyone, everything else on the Server is denied', async () => {
  await applyAndWait(mesh!.server, () => writeFile(policyFile, docs(deployment(app!.port), ONLY_A, PUBLIC_ROUTE)), (l) => String(l['ports']).includes('1 routes'));
  assert.equal((await httpGet(plain(), '/public/page')).status, 200);
  assert.equal((await httpGet(client(B), '/public')).status, 200);
  const miss = await httpGet(client(A), '/x');
  assert.equal(miss.status, 403, 'no route matches /x, so even A is denied');
  assert.match(miss.body, /no HTTPRoute of Server demo\/web-http matches GET \/x/);
  assert.equal((await grpcCall(client(A))).code, 7, 'the gRPC path matches no route');
  assert.equal((await httpGet(plain(), '/ready')).status, 403, 'with a route attached, probes need their own route (as Linkerd)');
  assert.equal(await tcpPing(client(A)), 'echo', 'opaque TCP ignores routes: the Server policy still lets A in');
  assert.equal(await tcpPing(client(B)), 'closed');
  const text = await scrape(mesh!.server);
  assert.equal(metricValue(text, 'inbound_http_authz_allow_total', { route_kind: 'HTTPRoute', route_name: 'web-public', authz_name: 'public-any' }), 2);
});

test('probes are allowed under the deny default policy; nothing else is', async () => {
  await applyAndWait(mesh!.server, () => writeFile(policyFile, docs(NAMESPACE_DENY, deployment(app!.port))), (l) => l['defaultPolicy'] === 'deny' && l['from'] === 'namespace');
  assert.equal((await httpGet(plain(), '/ready')).status, 200);
  assert.equal((await httpGet(client(A), '/ready')).status, 200);
  assert.equal((await httpGet(plain(), '/x')).status, 403);
  assert.equal((await httpGet(client(A), '/x')).status, 403);
  assert.equal(await tcpPing(client(A)), 'closed');
  // An HTTP/1 upgrade (WebSocket) is a request too: refused with a 403 before any tunnel exists.
  const inbound = mesh!.server.inbound!;
  const answer = await new Promise<string>((resolve, reject) => {
    const s = net.connect(inbound.port, inbound.host, () => s.write('GET /ws HTTP/1.1\r\nHost: web\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n'));
    let got = '';
    s.setEncoding('utf8');
    s.on('data', (d: string) => (got += d));
    s.on('close', () => resolve(got));
    s.on('error', reject);
  });
  assert.match(answer, /^HTTP\/1\.1 403 Forbidden\r\n[\s\S]*\r\n\r\ndenied on port \d+: the default inbound policy deny/);
});

test('a policy file with an error is refused by weft policy and the proxy keeps the last good policy', async () => {
  await writeFile(policyFile, docs(NAMESPACE_DENY, 'apiVersion: policy.weft.dev/v1beta1\nkind: Server\nmetadata: {name: bad, namespace: demo}\nspec: {podSelector: {}, port: 70000}'));
  await waitFor('weft policy to refuse the file', () => serviceLog.includes('keeping the previous policy'));
  assert.match(serviceLog, /Server demo\/bad: spec\.port/);
  assert.equal((await httpGet(plain(), '/x')).status, 403);
  assert.equal((await httpGet(plain(), '/ready')).status, 200);
});

test('WEFT_PROXY_POLICY_FILE: the proxy compiles the same file itself; WEFT_PROXY_DEFAULT_INBOUND_POLICY alone sets the default', async () => {
  const file = join(dir, 'own.yaml');
  await writeFile(file, docs(deployment(app!.port), ONLY_A));
  const own = await spawnProxy({
    name: 'policy-file-proxy',
    env: { WEFT_PROXY_INBOUND_ADDR: '127.0.0.1:0', WEFT_PROXY_APP_PORT: String(app!.port), WEFT_PROXY_POLICY_FILE: file, WEFT_PROXY_POLICY_WORKLOAD: 'demo/web' },
    startTimeoutMs: 30_000,
  });
  extra.push(own);
  const ownCaller: Caller = { kind: 'plain', inbound: own.inbound! };
  const r = await httpGet(ownCaller, '/x');
  assert.equal(r.status, 403);
  assert.match(r.body, /Server demo\/web-http/);
  assert.equal((await httpGet(ownCaller, '/ready')).status, 200);

  const simple = await spawnProxy({
    name: 'default-policy-proxy',
    env: { WEFT_PROXY_INBOUND_ADDR: '127.0.0.1:0', WEFT_PROXY_APP_PORT: String(app!.port), WEFT_PROXY_DEFAULT_INBOUND_POLICY: 'all-authenticated', WEFT_PROXY_POLICY_PROBES: `${app!.port}:/ready` },
    startTimeoutMs: 30_000,
  });
  extra.push(simple);
  const simpleCaller: Caller = { kind: 'plain', inbound: simple.inbound! };
  const d = await httpGet(simpleCaller, '/x');
  assert.equal(d.status, 403);
  assert.match(d.body, /all-authenticated/);
  assert.equal((await grpcCall(simpleCaller)).code, 7);
  assert.equal(await tcpPing(simpleCaller), 'closed');
  assert.equal((await httpGet(simpleCaller, '/ready')).status, 200);
});
