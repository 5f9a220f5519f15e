/**
 * THE POLICY MATRIX, with real proxy processes and real mTLS: every default inbound policy ×
 * meshed client (through a client proxy) / unmeshed client (plaintext to the server proxy) ×
 * HTTP/1.1, gRPC (@grpc/grpc-js) and opaque TCP. One server proxy; its policy is switched live
 * through the policy service (which also proves updates reach the proxy). Each denial has its form
 * (403, PERMISSION_DENIED, connection closed) and every decision is counted in the authz metrics.
 * Then the policy service goes away and the last-known policy is still enforced.
 */
import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, test } from 'node:test';
import { ANNOTATIONS, type DefaultInboundPolicy } from '../../mesh/config/annotations';
import { identityName } from '../../mesh/config/identity';
import { DEFAULT_CLUSTER_NETWORKS, DEFAULT_TRUST_DOMAIN, LOCAL_CLUSTER_NETWORKS } from '../../mesh/config/names';
import { emptyPolicyModel, MemoryPolicySource, type PolicyModel, type WorkloadRecord } from '../../mesh/control/policy/policy-model';
import { startPolicyServer, type PolicyServer } from '../../mesh/control/policy/policy-server';
import { spawnProxy, type ProxyProcess } from '../../dev-cluster/local/proxy-process';
import { applyAndWait, grpcCall, httpGet, metricValue, scrape, startMuxApp, startPolicyMesh, tcpPing, waitFor, type Caller, type MuxApp, type PolicyMesh } from './policy-mesh';

const SERVER_ID = identityName({ serviceAccount: 'web', namespace: 'demo' });
const CLIENT_ID = identityName({ serviceAccount: 'client', namespace: 'demo' });

let app: MuxApp | undefined;
let mesh: PolicyMesh | undefined;
let policy: PolicyServer | undefined;
const source = new MemoryPolicySource();
let appPort = 0;

function model(defaultPolicy: DefaultInboundPolicy, clusterNetworks: readonly string[] = LOCAL_CLUSTER_NETWORKS): PolicyModel {
  const web: WorkloadRecord = {
    namespace: 'demo',
    name: 'web',
    labels: { app: 'web' },
    ports: [{ name: 'http', port: appPort }],
    annotations: { [ANNOTATIONS.defaultInboundPolicy]: defaultPolicy },
    probes: [],
  };
  return { ...emptyPolicyModel({ defaultInboundPolicy: 'all-unauthenticated', clusterNetworks, trustDomain: DEFAULT_TRUST_DOMAIN }), workloads: new Map([['demo/web', web]]) };
}

before(async () => {
  app = await startMuxApp();
  appPort = app.port;
  source.set(model('all-unauthenticated'));
  policy = await startPolicyServer({ host: '127.0.0.1', port: 0, source });
  mesh = await startPolicyMesh({
    app,
    serverIdentity: SERVER_ID,
    clientIdentities: [CLIENT_ID],
    serverEnv: { WEFT_PROXY_POLICY_ADDR: `127.0.0.1:${policy.port}`, WEFT_PROXY_POLICY_WORKLOAD: 'demo/web' },
  });
});

after(async () => {
  await mesh?.close();
  await policy?.close();
  await app?.close();
});

const meshed = (): Caller => ({ kind: 'meshed', proxy: mesh!.clients.get(CLIENT_ID)! });
const plain = (): Caller => ({ kind: 'plain', inbound: mesh!.server.inbound! });

/** What each cell saw. */
interface Row {
  http: number;
  grpc: number;
  tcp: 'echo' | 'closed';
}

async function row(c: Caller): Promise<Row> {
  const h = await httpGet(c, '/x');
  if (h.status === 403) {
    assert.match(h.body, /^denied on port \d+/, 'a 403 carries the reason as its short text body');
    assert.match(String(h.headers['weft-proxy-error']), /^denied/);
  } else assert.equal(h.body, 'ok /x');
  const g = await grpcCall(c);
  if (g.code === 7) assert.match(g.details, /denied/, 'PERMISSION_DENIED carries the reason in grpc-message');
  return { http: h.status, grpc: g.code, tcp: await tcpPing(c) };
}

const ALLOWED: Row = { http: 200, grpc: 0, tcp: 'echo' };
const DENIED: Row = { http: 403, grpc: 7, tcp: 'closed' };

type Counts = Record<string, number>;
async function counts(srvName: string): Promise<Counts> {
  const text = await scrape(mesh!.server);
  const out: Counts = {};
  for (const [who, labels] of [
    ['meshed', { tls: 'true', client_id: CLIENT_ID }],
    ['plain', { tls: 'no_identity', no_tls_reason: 'no_tls_from_remote' }],
  ] as const) {
    for (const kind of ['http', 'tcp'] as const) {
      for (const verdict of ['allow', 'deny'] as const) {
        out[`${who} ${kind} ${verdict}`] = metricValue(text, `inbound_${kind}_authz_${verdict}_total`, { srv_kind: 'default', srv_name: srvName, target_addr: `127.0.0.1:${appPort}`, ...labels });
      }
    }
  }
  return out;
}

function delta(a: Counts, b: Counts): Counts {
  return Object.fromEntries(Object.keys(b).map((k) => [k, b[k]! - (a[k] ?? 0)]));
}

/** [meshed allowed, unmeshed allowed]: loopback counts as the cluster network here (local mode's networks). */
const MATRIX: [DefaultInboundPolicy, boolean, boolean][] = [
  ['all-unauthenticated', true, true],
  ['all-authenticated', true, false],
  ['cluster-authenticated', true, false],
  ['cluster-unauthenticated', true, true],
  ['deny', false, false],
  ['audit', true, true],
];

for (const [policyName, meshedAllowed, plainAllowed] of MATRIX) {
  test(`${policyName}: meshed ${meshedAllowed ? 'allowed' : 'denied'}, unmeshed ${plainAllowed ? 'allowed' : 'denied'} (HTTP, gRPC, TCP), each decision counted`, async () => {
    const first = policyName === 'all-unauthenticated';
    if (!first) await applyAndWait(mesh!.server, () => source.set(model(policyName)), (l) => l['defaultPolicy'] === policyName);
    const before = await counts(policyName);
    assert.deepEqual(await row(meshed()), meshedAllowed ? ALLOWED : DENIED, 'meshed client');
    assert.deepEqual(await row(plain()), plainAllowed ? ALLOWED : DENIED, 'unmeshed client');
    const d = delta(before, await counts(policyName));
    // HTTP counts the HTTP request and the gRPC call; TCP counts the opaque connection.
    assert.deepEqual(d, {
      'meshed http allow': meshedAllowed ? 2 : 0,
      'meshed http deny': meshedAllowed ? 0 : 2,
      'meshed tcp allow': meshedAllowed ? 1 : 0,
      'meshed tcp deny': meshedAllowed ? 0 : 1,
      'plain http allow': plainAllowed ? 2 : 0,
      'plain http deny': plainAllowed ? 0 : 2,
      'plain tcp allow': plainAllowed ? 1 : 0,
      'plain tcp deny': plainAllowed ? 0 : 1,
    });
    const text = await scrape(mesh!.server);
    if (meshedAllowed || plainAllowed) {
      // Allowed by the default policy: authz_kind="default", authz_name=<policy>; audit says so in its name.
      assert.ok(metricValue(text, 'inbound_http_authz_allow_total', { srv_name: policyName, authz_kind: 'default', authz_name: policyName, route_kind: 'default' }) > 0);
    }
    if (policyName === 'audit') {
      assert.ok(mesh!.server.logs.some((l) => l['msg'] === 'inbound: request allowed in audit mode'), 'audited requests are logged');
    }
    if (!meshedAllowed || !plainAllowed) {
      await waitFor('the denial in the proxy log', () => mesh!.server.logs.some((l) => l['msg'] === 'inbound: request denied' && String(l['reason']).includes(policyName)));
    }
  });
}

test('the cluster networks decide the cluster-* policies: outside them (no loopback), both clients are denied', async () => {
  for (const p of ['cluster-unauthenticated', 'cluster-authenticated'] as const) {
    await applyAndWait(mesh!.server, () => source.set(model(p, DEFAULT_CLUSTER_NETWORKS)), (l) => l['defaultPolicy'] === p);
    assert.deepEqual(await row(meshed()), DENIED, `${p}, meshed`);
    assert.deepEqual(await row(plain()), DENIED, `${p}, unmeshed`);
  }
});

test('policy service down: the proxy keeps enforcing the last-known policy', async () => {
  await applyAndWait(mesh!.server, () => source.set(model('all-authenticated')), (l) => l['defaultPolicy'] === 'all-authenticated');
  await policy!.close();
  policy = undefined;
  await waitFor('the proxy to notice the policy service is gone', () => mesh!.server.logs.some((l) => String(l['msg']).includes('keeping the last-known policy')));
  for (let i = 0; i < 3; i++) {
    assert.deepEqual(await row(meshed()), ALLOWED);
    assert.deepEqual(await row(plain()), DENIED);
  }
});

test('with the policy service not up yet, a proxy waits (serving nothing inbound) and becomes ready with its first table', async () => {
  const spare = net.createServer();
  await new Promise<void>((r) => spare.listen(0, '127.0.0.1', r));
  const port = (spare.address() as net.AddressInfo).port;
  await new Promise((r) => spare.close(r));
  const logs: string[] = [];
  const starting = spawnProxy({
    name: 'policy-waiter',
    env: { WEFT_PROXY_INBOUND_ADDR: '127.0.0.1:0', WEFT_PROXY_APP_PORT: String(appPort), WEFT_PROXY_POLICY_ADDR: `127.0.0.1:${port}`, WEFT_PROXY_POLICY_WORKLOAD: 'demo/web' },
    onLog: (l) => void logs.push(l),
    startTimeoutMs: 60_000,
  });
  let late: PolicyServer | undefined;
  let waiter: ProxyProcess | undefined;
  try {
    await waitFor('the proxy to wait for its policy', () => logs.some((l) => l.includes('policy: waiting for the inbound policy')));
    await waitFor('the proxy to notice the service is unreachable', () => logs.some((l) => l.includes('no policy yet: inbound connections wait')));
    assert.ok(!logs.some((l) => l.includes('"proxy ready"')), 'not ready without a policy');
    late = await startPolicyServer({ host: '127.0.0.1', port, source: new MemoryPolicySource(model('deny')) });
    waiter = await starting;
    assert.equal((await httpGet({ kind: 'plain', inbound: waiter.inbound! }, '/x')).status, 403, 'the first table is in force from the start');
  } finally {
    await (waiter ?? (await starting.catch(() => undefined)))?.stop(3_000);
    await late?.close();
  }
});
