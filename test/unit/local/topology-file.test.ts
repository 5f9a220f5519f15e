import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatTopologyError, parseTopology, replicaNames, toLocalTopology, type Topology } from '../../../dev-cluster/local/topology-file';
import { checkTopology, destinationDocument } from '../../../dev-cluster/local/local-mesh';
import { parseDestinationFile } from '../../../mesh/proxy/discovery/static-file';
import { readFileSync } from 'node:fs';

const GOOD = `namespace: shop
workloads:
  - name: api
    command: [node, api.js]
    env: { FAILURE_RATE: 0.1, MODE: fast }
    replicas: 2
    ports:
      - { port: 8080, name: http }
      - { port: 9090, name: grpc, appProtocol: grpc }
  - name: api-canary
    serviceAccount: api
    command: [node, api.js]
    ports: [{ port: 8180 }]
  - name: db
    namespace: data
    command: [node, db.js]
    ports: [{ port: 6390, opaque: true }]
  - name: web
    command: [node, web.js]
    inboundPort: 18000
    ports: [{ port: 8000 }]
    upstreams: [api, db.data]
services:
  - name: api
    port: 80
    backends:
      - { workload: api, weight: 90 }
      - { workload: api-canary, weight: 10 }
    retry: { limit: 2, http: ["5xx"], grpc: [unavailable], timeout: 2s }
    timeout: { request: 10s, response: 500ms }
`;

/** Errors of a text as `line: field: message` strings (file name checked once separately). */
function errorsOf(text: string): string[] {
  const r = parseTopology(text, 'topology.yaml');
  assert.equal(r.ok, false, 'expected errors');
  if (r.ok) return [];
  for (const e of r.errors) assert.equal(e.file, 'topology.yaml');
  return r.errors.map((e) => `${e.line}: ${e.field}: ${e.message}`);
}

function good(text: string): Topology {
  const r = parseTopology(text, 't.yaml');
  assert.ok(r.ok, r.ok ? '' : r.errors.map(formatTopologyError).join('\n'));
  return r.topology;
}

test('a full topology parses: defaults, namespaces, env as strings, explicit and implicit services', () => {
  const t = good(GOOD);
  assert.equal(t.namespace, 'shop');
  const api = t.workloads[0]!;
  assert.deepEqual(api.env, { FAILURE_RATE: '0.1', MODE: 'fast' });
  assert.equal(api.serviceAccount, 'api', 'serviceAccount defaults to the name');
  assert.equal(t.workloads[1]!.serviceAccount, 'api');
  assert.deepEqual(api.ports[1], { port: 9090, name: 'grpc', opaque: false, appProtocol: 'grpc' });
  assert.equal(t.workloads[2]!.namespace, 'data');
  assert.deepEqual(t.workloads[3]!.upstreams, ['api.shop', 'db.data']);
  const svc = Object.fromEntries(t.services.map((s) => [`${s.name}.${s.namespace}`, s]));
  assert.deepEqual(Object.keys(svc).sort(), ['api.shop', 'db.data', 'web.shop'], 'api-canary is a backend of api, so no service of its own');
  assert.deepEqual(svc['api.shop']!.backends, [
    { workload: 'api', port: 8080, weight: 90 },
    { workload: 'api-canary', port: 8180, weight: 10 },
  ]);
  assert.deepEqual(svc['api.shop']!.retry, { limit: 2, http: ['5xx'], grpc: ['unavailable'], timeoutMs: 2000 });
  assert.deepEqual(svc['api.shop']!.timeout, { requestMs: 10_000, responseMs: 500 });
  assert.equal(svc['db.data']!.implicit, true);
  assert.equal(svc['db.data']!.opaque, true);
  assert.equal(svc['db.data']!.port, 6390);
});

test('toLocalTopology: replicas on port + i, PORT and PORT_<NAME>, upstreams as service authorities, a runnable topology', () => {
  const lt = toLocalTopology(good(GOOD));
  assert.deepEqual(replicaNames({ name: 'api', replicas: 2 }), ['api-0', 'api-1']);
  assert.deepEqual(lt.workloads.map((w) => w.name), ['api-0', 'api-1', 'api-canary', 'db', 'web']);
  const api1 = lt.workloads[1]!;
  assert.equal(api1.workload, 'api');
  assert.deepEqual([api1.command, api1.args], ['node', ['api.js']]);
  assert.deepEqual(api1.ports, [
    { authority: 'api.shop.workload:8080', appPort: 8081, name: 'http' },
    { authority: 'api.shop.workload:9090', appPort: 9091, protocolHint: 'h2', name: 'grpc' },
  ]);
  assert.deepEqual(api1.labels, { app: 'api' }, 'labels default to app: <workload>');
  assert.equal(lt.policy, undefined, 'no policy settings: no policy service');
  assert.equal(api1.env!['PORT'], '8081');
  assert.equal(api1.env!['PORT_GRPC'], '9091');
  assert.equal(lt.workloads[3]!.ports![0]!.protocolHint, 'opaque');
  assert.equal(lt.workloads[4]!.inboundPort, 18000);
  assert.deepEqual(lt.workloads[4]!.upstreams, ['api.shop:80', 'db.data:6390']);
  assert.deepEqual(checkTopology(lt), []);
  const route = lt.routes!.find((r) => r.authority === 'api.shop:80')!;
  assert.deepEqual(route.backends, [
    { authority: 'api.shop.workload:8080', weight: 90 },
    { authority: 'api-canary.shop.workload:8180', weight: 10 },
  ]);
});

test('the destination document from a parsed topology is accepted by the proxy: replicas grouped, split, retry, opaque', () => {
  const lt = toLocalTopology(good(GOOD));
  const served = lt.workloads.flatMap((w, i) =>
    w.ports!.map((p) => ({ authority: p.authority, name: w.name, workload: w.workload ?? w.name, inbound: { host: '127.0.0.1', port: 20000 + i }, identity: `${w.serviceAccount}.x`, appPort: p.appPort, ...(p.protocolHint ? { protocolHint: p.protocolHint } : {}) })),
  );
  const r = parseDestinationFile(destinationDocument('shop', served, lt.routes));
  assert.ok(r.ok, JSON.stringify(r));
  const apiPods = r.table.get('api.shop.workload:8080')!;
  assert.deepEqual(apiPods.endpoints.map((e) => [e.addr.port, e.targetPort]), [[20000, 8080], [20001, 8081]]);
  assert.deepEqual(apiPods.profile.labels, { service: 'api', namespace: 'shop' });
  const api = r.table.get('api.shop:80')!;
  assert.deepEqual(api.profile.backends, [
    { authority: 'api.shop.workload:8080', weight: 90 },
    { authority: 'api-canary.shop.workload:8180', weight: 10 },
  ]);
  assert.equal(api.profile.retry?.limit, 2);
  assert.equal(api.profile.timeouts.requestMs, 10_000);
  const db = r.table.get('db.data:6390')!;
  assert.equal(db.profile.opaque, true);
  assert.equal(db.endpoints.length, 1, 'a one-backend service carries the endpoints itself');
  assert.equal(db.endpoints[0]!.protocolHint, 'opaque');
});

test('formatTopologyError: file:line: field: message', () => {
  assert.equal(formatTopologyError({ file: 'topology.yaml', line: 12, field: 'workloads[1].ports[0].port', message: 'expected a number from 1 to 65535' }), 'topology.yaml:12: workloads[1].ports[0].port: expected a number from 1 to 65535');
});

test('YAML syntax errors and an empty or non-map file', () => {
  assert.match(errorsOf('workloads: [\n')[0]!, /^\d+: : YAML: /);
  assert.deepEqual(errorsOf(''), ['1: : the file is empty (expected workloads: [...])']);
  assert.deepEqual(errorsOf('- a\n'), ['1: : expected a map']);
  assert.deepEqual(errorsOf('namespace: x\n'), ['1: workloads: expected at least one workload']);
  assert.deepEqual(errorsOf('workloads: 3\n'), ['1: workloads: expected a list', '1: workloads: expected at least one workload']);
});

test('value errors name the line and the field', () => {
  const text = `namespace: Shop
workloads:
  - name: a
    command: [node, a.js]
  - name: b_b
    serviceAccount: "x y"
    command: node b.js
    replicas: 0
    inboundPort: 70000
    env: { 1BAD: x, OK: [1] }
    ports:
      - port: 65536
      - port: 80
        name: Http
        opaque: "yes"
        appProtocol: smtp
      - port: 80
      - { port: 81, name: web }
      - { port: 82, name: web }
      - 3
  - command: []
    upstreams: [Bad.Name.x, 5]
`;
  assert.deepEqual(errorsOf(text), [
    '1: namespace: expected a DNS label, got "Shop"',
    '5: workloads[1].name: expected a DNS label, got "b_b"',
    '6: workloads[1].serviceAccount: expected a DNS label, got "x y"',
    '7: workloads[1].command: expected a non-empty list of strings (argv)',
    '8: workloads[1].replicas: expected a whole number from 1 to 100',
    '9: workloads[1].inboundPort: expected a number from 1 to 65535',
    '10: workloads[1].env.1BAD: expected a variable name (letters, digits, _)',
    '10: workloads[1].env.OK: expected a string, number or boolean',
    '12: workloads[1].ports[0].port: expected a number from 1 to 65535',
    '14: workloads[1].ports[1].name: expected a DNS label, got "Http"',
    '15: workloads[1].ports[1].opaque: expected true or false',
    '16: workloads[1].ports[1].appProtocol: unknown protocol "smtp" (expected one of tcp, opaque, linkerd.io/opaque, weft.dev/opaque, h2c, http2, grpc, kubernetes.io/h2c, http, http1, kubernetes.io/ws)',
    '17: workloads[1].ports[2].port: port 80 is listed twice',
    '19: workloads[1].ports[4].name: name "web" is used twice',
    '20: workloads[1].ports[5]: expected a map',
    '21: workloads[2].name: required',
    '21: workloads[2].command: expected a non-empty list of strings (argv)',
    '22: workloads[2].upstreams[0]: expected a service name, or name.namespace',
    '22: workloads[2].upstreams[1]: expected a service name, or name.namespace',
  ]);
});

test('unknown fields are flagged where they are, at every level', () => {
  const text = `workloads:
  - name: a
    command: [x]
    port: 80
    ports:
      - { port: 80, protocol: http }
services:
  - name: a
    weights: 3
    retry: { limit: 1, on: 5xx }
    timeout: { total: 1s }
    backends:
      - { workload: a, wieght: 2 }
extra: true
`;
  assert.deepEqual(errorsOf(text), [
    '4: workloads[0].port: unknown field (expected one of name, namespace, serviceAccount, command, env, replicas, ports, inboundPort, upstreams, labels, defaultInboundPolicy, probes)',
    '6: workloads[0].ports[0].protocol: unknown field (expected one of port, name, opaque, appProtocol)',
    '9: services[0].weights: unknown field (expected one of name, namespace, port, backends, opaque, retry, timeout)',
    '10: services[0].retry.on: unknown field (expected one of limit, http, grpc, timeout)',
    '11: services[0].timeout.total: unknown field (expected one of request, response, idle)',
    '13: services[0].backends[0].wieght: unknown field (expected one of workload, port, weight)',
    '14: extra: unknown field (expected one of namespace, workloads, services, defaultInboundPolicy, policy)',
  ]);
});

test('references: unknown upstream, unknown backend workload or port, duplicates, a port used twice', () => {
  const text = `workloads:
  - name: a
    command: [x]
    ports: [{ port: 8080 }]
    upstreams: [nobody, b]
  - name: a
    command: [x]
  - name: c
    command: [x]
    replicas: 2
    ports: [{ port: 8079 }]
  - name: d
    command: [x]
services:
  - name: b
    backends:
      - { workload: ghost }
      - { workload: a, port: 9999 }
      - { workload: d }
  - name: b
    backends: [{ workload: a }]
  - name: e
  - name: f
    backends: []
  - name: g
    backends: [{ workload: a, weight: 0 }]
    retry: { http: [7xx], grpc: [nope] }
    timeout: { request: soon }
`;
  const errors = errorsOf(text);
  assert.deepEqual(errors, [
    '5: workloads[0].upstreams[0]: no service "nobody.default" (known: b.default, e.default, f.default, g.default, c.default)',
    '6: workloads[1].name: "a" is used twice',
    '8: workloads[2].ports[0].port: port 8080 is also used by workloads[0] (a)',
    '17: services[0].backends[0].workload: no workload named "ghost"',
    '18: services[0].backends[1].port: workload "a" has no port 9999 (it has 8080)',
    '19: services[0].backends[2].workload: workload "d" serves no ports',
    '20: services[1].name: service "b.default" is defined twice',
    '22: services[2].backends: no backends given and no workload named "e"',
    '24: services[3].backends: expected at least one backend',
    '26: services[4].backends: every weight is 0: no request could be sent',
    '27: services[4].retry.http: "7xx" is not an HTTP retry condition; expected a status code ("503"), a range ("500-504"), a class ("5xx") or "gateway-error"',
    '27: services[4].retry.grpc: "nope" is not a gRPC status name; expected one of cancelled, deadline-exceeded, internal, resource-exhausted, unavailable',
    '28: services[4].timeout.request: "soon" is not a duration; expected a number and a unit (ms, s, m, h), e.g. "500ms", "10s", "1.5s", "1m30s"',
  ]);
});

test('a key given twice is an error, not silently the last one', () => {
  assert.deepEqual(errorsOf('workloads:\n  - name: a\n    name: b\n    command: [x]\n'), ['3: workloads[0].name: given twice']);
});

test('the example in docs/local-mode.md parses and runs through the runner checks', () => {
  const md = readFileSync(new URL('../../../docs/local-mode.md', import.meta.url), 'utf8');
  const example = /```yaml\n# topology.yaml\n([\s\S]*?)```/.exec(md);
  assert.ok(example, 'the example block');
  const t = good(example[1]!);
  assert.deepEqual(t.workloads.map((w) => w.name), ['api', 'api-canary', 'cache', 'web']);
  assert.deepEqual(checkTopology(toLocalTopology(t)), []);
});

const POLICY = `namespace: shop
defaultInboundPolicy: all-authenticated
policy: [policy.yaml, /etc/weft/extra.yaml]
workloads:
  - name: api
    replicas: 2
    command: [node, api.js]
    labels: { app: api, tier: backend, weft.dev/team: core }
    defaultInboundPolicy: cluster-authenticated
    ports: [{ port: 8080, name: http }, { port: 9090 }]
  - name: web
    command: [node, web.js]
    ports: [{ port: 8000 }]
    upstreams: [api]
`;

test('policy settings: top-level and per-workload defaultInboundPolicy, labels (default app: <name>), policy files relative to the topology file', () => {
  const t = good(POLICY);
  assert.equal(t.defaultInboundPolicy, 'all-authenticated');
  assert.deepEqual(t.policy, ['policy.yaml', '/etc/weft/extra.yaml']);
  assert.deepEqual(t.workloads[0]!.labels, { app: 'api', tier: 'backend', 'weft.dev/team': 'core' });
  assert.equal(t.workloads[0]!.defaultInboundPolicy, 'cluster-authenticated');
  assert.deepEqual(t.workloads[1]!.labels, { app: 'web' });
  assert.equal(t.workloads[1]!.defaultInboundPolicy, undefined);

  const lt = toLocalTopology(t, '/home/me/project');
  assert.deepEqual(lt.policy, { files: ['/home/me/project/policy.yaml', '/etc/weft/extra.yaml'], defaultInboundPolicy: 'all-authenticated' });
  const [api0, api1, web] = lt.workloads;
  assert.equal(api0!.defaultInboundPolicy, 'cluster-authenticated');
  assert.deepEqual(api1!.labels, { app: 'api', tier: 'backend', 'weft.dev/team': 'core' }, 'every replica carries the labels');
  assert.deepEqual(api1!.ports!.map((p) => [p.name, p.appPort]), [['http', 8081], [undefined, 9091]]);
  assert.equal(web!.defaultInboundPolicy, undefined);
  assert.deepEqual(checkTopology(lt), []);
});

test('any one policy setting is enough to run the policy service; labels alone are not', () => {
  const base = `workloads:\n  - name: api\n    command: [node, api.js]\n    ports: [{ port: 8080 }]\n`;
  assert.deepEqual(toLocalTopology(good(`defaultInboundPolicy: deny\n${base}`)).policy, { files: [], defaultInboundPolicy: 'deny' });
  assert.deepEqual(toLocalTopology(good(`policy: [p.yaml]\n${base}`), 'dir').policy, { files: ['dir/p.yaml'] });
  assert.deepEqual(toLocalTopology(good(`${base}    defaultInboundPolicy: audit\n`)).policy, { files: [] });
  assert.equal(toLocalTopology(good(`${base}    labels: { app: x }\n`)).policy, undefined);
});

test('policy field errors name the file, the line and the field', () => {
  assert.deepEqual(
    errorsOf(`defaultInboundPolicy: allow-all
policy: [a.yaml, "", a.yaml, { file: b.yaml }]
workloads:
  - name: api
    command: [node, api.js]
    defaultInboundPolicy: 3
    labels: { "bad key!": x, app: "no spaces", ok: fine }
    ports: [{ port: 8080 }]
  - name: web
    command: [node, web.js]
    labels: [app=web]
    defaultInboundPolicy: Deny
`),
    [
      '1: defaultInboundPolicy: expected one of all-unauthenticated, all-authenticated, cluster-unauthenticated, cluster-authenticated, deny, audit, got "allow-all"',
      '2: policy[1]: expected a file name (policy.weft.dev resources; relative to this file)',
      '2: policy[2]: "a.yaml" is listed twice',
      '2: policy[3]: expected a file name (policy.weft.dev resources; relative to this file)',
      '6: workloads[0].defaultInboundPolicy: expected one of all-unauthenticated, all-authenticated, cluster-unauthenticated, cluster-authenticated, deny, audit',
      '7: workloads[0].labels.bad key!: expected a label key (letters, digits, -, _, ., up to 63; optionally prefix/)',
      '7: workloads[0].labels.app: expected a label value (letters, digits, -, _, ., up to 63)',
      '11: workloads[1].labels: expected a map of key: value (e.g. { app: api, tier: backend })',
      '12: workloads[1].defaultInboundPolicy: expected one of all-unauthenticated, all-authenticated, cluster-unauthenticated, cluster-authenticated, deny, audit, got "Deny"',
    ],
  );
  assert.deepEqual(errorsOf(`policy: policy.yaml\nworkloads:\n  - name: api\n    command: [node, api.js]\n`), ['1: policy: expected a list']);
});

test('the policy example in docs/local-mode.md parses, with its policy settings', () => {
  const md = readFileSync(new URL('../../../docs/local-mode.md', import.meta.url), 'utf8');
  const example = /```yaml\n# topology.yaml with policy\n([\s\S]*?)```/.exec(md);
  assert.ok(example, 'the example block');
  const lt = toLocalTopology(good(example[1]!), '/project');
  assert.deepEqual(lt.policy, { files: ['/project/policy.yaml'], defaultInboundPolicy: 'all-authenticated' });
  assert.deepEqual(lt.workloads.map((w) => [w.name, w.labels, w.defaultInboundPolicy]), [
    ['api', { app: 'api', tier: 'backend' }, undefined],
    ['metrics-sink', { app: 'metrics-sink' }, 'all-unauthenticated'],
  ]);
  assert.deepEqual(checkTopology(lt), []);
});

test('probes: paths on a port (by number or name, default the first), per replica; errors name the field', () => {
  const t = good(`workloads:
  - name: api
    replicas: 2
    command: [node, api.js]
    ports: [{ port: 8080, name: http }, { port: 9090, name: admin }]
    probes: [{ path: /ready }, { path: /live, port: admin }, { path: /healthz, port: 9090 }]
`);
  assert.deepEqual(t.workloads[0]!.probes, [
    { port: 8080, path: '/ready' },
    { port: 9090, path: '/live' },
    { port: 9090, path: '/healthz' },
  ]);
  assert.deepEqual(toLocalTopology(t).workloads[1]!.probes, [
    { appPort: 8081, path: '/ready' },
    { appPort: 9091, path: '/live' },
    { appPort: 9091, path: '/healthz' },
  ]);
  assert.deepEqual(
    errorsOf(`workloads:
  - name: api
    command: [node, api.js]
    ports: [{ port: 8080, name: http }]
    probes: [{ path: ready }, { path: /a, port: grpc }, { port: 8080 }, { path: "/a,b" }]
  - name: bot
    command: [node, bot.js]
    probes: [{ path: /ready }]
`),
    [
      '5: workloads[0].probes[0].path: expected an HTTP path starting with / (no spaces or commas), got "ready"',
      '5: workloads[0].probes[1].port: expected one of this workload\'s ports (http/8080), got "grpc"',
      '5: workloads[0].probes[2].path: required',
      '5: workloads[0].probes[3].path: expected an HTTP path starting with / (no spaces or commas), got "/a,b"',
      '8: workloads[1].probes: only a workload with ports can be probed',
    ],
  );
});
