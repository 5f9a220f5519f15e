import { test } from 'node:test';
import assert from 'node:assert/strict';
import http2 from 'node:http2';
import { ANNOTATIONS } from '../../../../mesh/config/annotations';
import { modelFromFiles, parsePolicyFile, workloadFromObject } from '../../../../mesh/control/policy/policy-file';
import { answerLine, emptyPolicyModel, MemoryPolicySource, parseWorkloadRequest, workloadFacts, type PolicyModel } from '../../../../mesh/control/policy/policy-model';
import { startPolicyServer, type PolicyServer } from '../../../../mesh/control/policy/policy-server';
import { MESH_POLICY_DEFAULTS } from '../../../../mesh/control/policy/inbound-policy';
import { parsePolicyResources } from '../../../../mesh/control/policy/resources';

const DEPLOYMENT = `
apiVersion: apps/v1
kind: Deployment
metadata: {name: api, namespace: shop}
spec:
  template:
    metadata:
      labels: {app: api}
      annotations: {config.weft.dev/default-inbound-policy: all-authenticated}
    spec:
      containers:
      - name: api
        ports: [{name: http, containerPort: 8080}, {containerPort: 9090}]
        livenessProbe: {httpGet: {path: /live, port: http}}
        readinessProbe: {httpGet: {path: /ready, port: 8081}}
        startupProbe: {tcpSocket: {port: 8080}}
`;

test('workload facts from Kubernetes objects: labels, ports, annotations and HTTP probes (named ports resolved)', () => {
  const { workloads, errors } = parsePolicyFile(DEPLOYMENT, 'w.yaml');
  assert.deepEqual(errors, []);
  assert.deepEqual(workloads.get('shop/api'), {
    namespace: 'shop',
    name: 'api',
    labels: { app: 'api' },
    annotations: { [ANNOTATIONS.defaultInboundPolicy]: 'all-authenticated' },
    ports: [{ name: 'http', port: 8080 }, { port: 9090 }],
    probes: [{ port: 8080, path: '/live' }, { port: 8081, path: '/ready' }],
  });
  assert.equal(workloadFromObject({ kind: 'Pod', metadata: { name: 'p' }, spec: { containers: [] } })?.namespace, 'default');
  assert.equal(workloadFromObject({ kind: 'Service', metadata: { name: 's' } }), undefined);
});

test('a policy file: resources, Namespaces and workloads; every error names the file and document', () => {
  const text = `
apiVersion: v1
kind: Namespace
metadata: {name: shop, annotations: {config.weft.dev/default-inbound-policy: deny}}
---
apiVersion: policy.weft.dev/v1beta1
kind: Server
metadata: {name: bad, namespace: shop}
spec: {podSelector: {}, port: 70000}
---
apiVersion: v1
kind: List
items:
- {apiVersion: policy.weft.dev/v1alpha1, kind: NetworkAuthentication, metadata: {name: all, namespace: shop}, spec: {networks: [{cidr: 0.0.0.0/0}]}}
---
apiVersion: policy.linkerd.io/v1beta1
kind: Server
metadata: {name: linkerd, namespace: shop}
spec: {podSelector: {}, port: 80}
---
[1, 2]
---
key: [unclosed
`;
  const c = parsePolicyFile(text, 'p.yaml');
  assert.deepEqual(c.namespaces.get('shop'), { [ANNOTATIONS.defaultInboundPolicy]: 'deny' });
  assert.equal(c.resources.networkAuthentications.length, 1, 'List items are read');
  assert.equal(c.resources.servers.length, 0, 'bad resources are left out');
  assert.match(c.errors[0]!, /^p\.yaml: document 2: Server shop\/bad: spec\.port: /);
  assert.match(c.errors[1]!, /^p\.yaml: document 4: .*policy\.weft\.dev/);
  assert.match(c.errors[2]!, /^p\.yaml: document 5: expected a Kubernetes object/);
  assert.match(c.errors[3]!, /^p\.yaml: document 6: not valid YAML/);
  assert.equal(c.errors.length, 4);
});

test('the facts a table is compiled from: the source knows the workload, else what the proxy said; namespace annotations from the source', () => {
  const { model } = modelFromFiles([{ name: 'w.yaml', text: `${DEPLOYMENT}\n---\n{apiVersion: v1, kind: Namespace, metadata: {name: shop, annotations: {x: y}}}` }], MESH_POLICY_DEFAULTS);
  const known = workloadFacts(model, { namespace: 'shop', name: 'api', labels: { app: 'liar' }, ports: [{ port: 1 }] });
  assert.deepEqual(known.labels, { app: 'api' }, 'the source wins over the proxy');
  assert.deepEqual(known.namespaceAnnotations, { x: 'y' });
  const unknown = workloadFacts(model, { namespace: 'shop', name: 'other', labels: { app: 'other' }, ports: [{ port: 1 }], probes: [{ port: 1, path: '/h' }] });
  assert.deepEqual([unknown.labels, unknown.ports, unknown.probes], [{ app: 'other' }, [{ port: 1 }], [{ port: 1, path: '/h' }]]);
  const line = JSON.parse(answerLine(model, { namespace: 'shop', name: 'api' })) as { policy: { table: { defaultPolicy: string; defaultPolicySource: string }; workload: { known: boolean } } };
  assert.equal(line.policy.table.defaultPolicy, 'all-authenticated');
  assert.equal(line.policy.table.defaultPolicySource, 'workload');
  assert.equal(line.policy.workload.known, true);
});

test('a proxy request is checked field by field', () => {
  assert.deepEqual(parseWorkloadRequest({ namespace: 'shop', name: 'api', ports: [{ name: 'http', port: 80 }], probes: [{ port: 80, path: '/r' }] }), {
    ok: true,
    request: { namespace: 'shop', name: 'api', ports: [{ name: 'http', port: 80 }], probes: [{ port: 80, path: '/r' }] },
  });
  const bad = parseWorkloadRequest({ namespace: 'Shop!', labels: { a: 1 }, ports: [{ port: 0 }], probes: [{ port: 80, path: 'r' }] });
  assert.equal(bad.ok, false);
  if (!bad.ok) {
    assert.deepEqual(bad.errors.map((e) => e.split(':')[0]), ['namespace', 'name', 'labels', 'ports[0]', 'probes[0]']);
  }
  assert.equal(parseWorkloadRequest([]).ok, false);
});

// ---- the server, over real HTTP/2 on loopback ----

interface Watch {
  lines: string[];
  status: number;
  close(): void;
}

function watch(server: PolicyServer, body: unknown, method: 'POST' | 'GET' = 'POST', path = '/v1/inbound'): Promise<Watch> {
  const session = http2.connect(`http://127.0.0.1:${server.port}`);
  session.on('error', () => undefined);
  const req = session.request({ ':method': method, ':path': path, 'content-type': 'application/json' });
  if (method === 'POST') req.end(typeof body === 'string' ? body : JSON.stringify(body));
  const w: Watch = { lines: [], status: 0, close: () => session.destroy() };
  let buf = '';
  req.setEncoding('utf8');
  req.on('error', () => undefined);
  req.on('data', (d: string) => {
    buf += d;
    let nl: number;
    while ((nl = buf.indexOf('\n')) >= 0) {
      w.lines.push(buf.slice(0, nl));
      buf = buf.slice(nl + 1);
    }
  });
  req.on('end', () => {
    if (buf) w.lines.push(buf);
  });
  return new Promise((resolve) => req.once('response', (h) => ((w.status = Number(h[':status'])), resolve(w))));
}

async function until(what: string, pred: () => boolean): Promise<void> {
  const end = Date.now() + 10_000;
  while (!pred()) {
    if (Date.now() > end) throw new Error(`timed out: ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

const policyOf = (line: string): string => (JSON.parse(line) as { policy: { table: { defaultPolicy: string } } }).policy.table.defaultPolicy;

test('the policy service streams a table at once, pushes it again only when it changes, and refuses bad requests', async () => {
  const base = emptyPolicyModel();
  const withNs = (ns: string, policy: string): PolicyModel => ({ ...base, namespaces: new Map([[ns, { [ANNOTATIONS.defaultInboundPolicy]: policy }]]) });
  const source = new MemoryPolicySource(base);
  const server = await startPolicyServer({ host: '127.0.0.1', port: 0, source, heartbeatMs: 50 });
  const watches: Watch[] = [];
  try {
    const a = await watch(server, { namespace: 'shop', name: 'api' });
    const b = await watch(server, { name: 'api', namespace: 'shop' });
    const viaGet = await watch(server, undefined, 'GET', '/v1/inbound?namespace=shop&name=api');
    watches.push(a, b, viaGet);
    assert.deepEqual([a.status, b.status, viaGet.status], [200, 200, 200]);
    await until('first tables', () => [a, b, viaGet].every((w) => w.lines.length > 0));
    assert.equal(policyOf(a.lines[0]!), 'all-unauthenticated');
    assert.equal(server.watchCount(), 3);

    source.set(withNs('shop', 'deny'));
    await until('the change', () => a.lines.some((l) => l.startsWith('{"policy"') && policyOf(l) === 'deny'));
    await until('the change for the other watchers', () => [b, viaGet].every((w) => w.lines.some((l) => l.startsWith('{"policy"') && policyOf(l) === 'deny')));

    // A change that does not touch this workload's table sends nothing new (heartbeats only).
    source.set({ ...withNs('shop', 'deny'), resources: parsePolicyResources([{ apiVersion: 'policy.weft.dev/v1beta1', kind: 'Server', metadata: { name: 's', namespace: 'elsewhere' }, spec: { podSelector: {}, port: 80 } }]).resources });
    const heartbeatsBefore = a.lines.filter((l) => l === '{"heartbeat":true}').length;
    await until('two more heartbeats', () => a.lines.filter((l) => l === '{"heartbeat":true}').length >= heartbeatsBefore + 2);
    assert.equal(a.lines.filter((l) => l.startsWith('{"policy"')).length, 2, 'one table at start, one for the change that mattered');

    const bad = await watch(server, { namespace: 'shop' });
    const notJson = await watch(server, '{');
    const wrongPath = await watch(server, {}, 'POST', '/v2/x');
    watches.push(bad, notJson, wrongPath);
    await until('error bodies', () => [bad, notJson, wrongPath].every((w) => w.lines.length > 0));
    assert.equal(bad.status, 400);
    assert.match(bad.lines[0]!, /bad policy request: name: expected the workload's name/);
    assert.equal(notJson.status, 400);
    assert.match(notJson.lines[0]!, /not JSON/);
    assert.equal(wrongPath.status, 404);
  } finally {
    for (const w of watches) w.close();
    await server.close();
  }
});
