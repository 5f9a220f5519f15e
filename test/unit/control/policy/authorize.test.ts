import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseAllDocuments } from 'yaml';
import { ANNOTATIONS, DEFAULT_INBOUND_POLICIES, type DefaultInboundPolicy } from '../../../../mesh/config/annotations';
import { identityName } from '../../../../mesh/config/identity';
import { LOCAL_CLUSTER_NETWORKS } from '../../../../mesh/config/names';
import { authorize, denialFor, type InboundProtocol, type InboundRequest } from '../../../../mesh/control/policy/authorize';
import { compileInboundPolicy, MESH_POLICY_DEFAULTS, type WorkloadFacts } from '../../../../mesh/control/policy/inbound-policy';
import { emptyPolicyResources, parsePolicyResources, type PolicyResources } from '../../../../mesh/control/policy/resources';

const WEB = identityName({ serviceAccount: 'web', namespace: 'shop' });
const BOT = identityName({ serviceAccount: 'bot', namespace: 'tools' });
const IN_CLUSTER = '10.42.0.7';
const OUTSIDE = '203.0.113.9';

const workload = (annotations: Record<string, string> = {}, namespaceAnnotations: Record<string, string> = {}): WorkloadFacts => ({
  namespace: 'shop',
  labels: { app: 'api' },
  ports: [{ name: 'http', port: 8080 }, { name: 'grpc', port: 9090 }, { port: 6379 }],
  annotations,
  namespaceAnnotations,
});

function resources(yaml: string): PolicyResources {
  const { resources: r, errors } = parsePolicyResources(parseAllDocuments(yaml).map((d) => d.toJS()));
  assert.deepEqual(errors, []);
  return r;
}

const req = (over: Partial<InboundRequest>): InboundRequest => ({ port: 8080, clientIp: IN_CLUSTER, protocol: 'http', path: '/', method: 'GET', isProbe: false, ...over });
const policyAnnotation = (p: string) => ({ [ANNOTATIONS.defaultInboundPolicy]: p });

test('matrix: every default policy × meshed/unmeshed × in-cluster/outside × HTTP/gRPC/TCP', () => {
  const expected: Record<DefaultInboundPolicy, (meshed: boolean, inCluster: boolean) => boolean> = {
    'all-unauthenticated': () => true,
    'all-authenticated': (m) => m,
    'cluster-unauthenticated': (_m, c) => c,
    'cluster-authenticated': (m, c) => m && c,
    deny: () => false,
    audit: () => true,
  };
  const ports: Record<InboundProtocol, number> = { http: 8080, grpc: 9090, tcp: 6379 };
  let cases = 0;
  for (const policy of DEFAULT_INBOUND_POLICIES) {
    const table = compileInboundPolicy(workload(policyAnnotation(policy)), emptyPolicyResources());
    assert.equal(table.defaultPolicy, policy);
    for (const meshed of [true, false]) {
      for (const inCluster of [true, false]) {
        for (const protocol of ['http', 'grpc', 'tcp'] as const) {
          const d = authorize(table, req({ port: ports[protocol], protocol, clientIp: inCluster ? IN_CLUSTER : OUTSIDE, ...(meshed ? { clientIdentity: WEB } : {}), ...(protocol === 'tcp' ? { path: undefined, method: undefined } : {}) }));
          const label = `${policy} ${meshed ? 'meshed' : 'unmeshed'} ${inCluster ? 'in-cluster' : 'outside'} ${protocol}`;
          assert.equal(d.allow, expected[policy](meshed, inCluster), `${label}: ${d.reason}`);
          assert.equal(d.audited, policy === 'audit', `${label}: audited`);
          assert.deepEqual(d.server, { kind: 'default', name: policy }, label);
          if (d.allow) assert.deepEqual(d.authorization, { kind: 'default', name: policy }, label);
          else {
            assert.equal(d.authorization, undefined);
            assert.match(d.reason, new RegExp(`^denied on port ${ports[protocol]}.*default inbound policy ${policy} \\(from the workload's annotation\\)`), label);
          }
          cases++;
        }
      }
    }
  }
  assert.equal(cases, 72);
});

test('deny reasons say what was missing, and a denial maps to 403 / PERMISSION_DENIED / close', () => {
  const authn = compileInboundPolicy(workload(policyAnnotation('all-authenticated')), emptyPolicyResources());
  assert.equal(authorize(authn, req({})).reason, `denied on port 8080 by the default inbound policy all-authenticated (from the workload's annotation): a mesh identity requires a meshed (mTLS) client, and client ${IN_CLUSTER} has no mesh identity`);
  const cluster = compileInboundPolicy(workload({}, policyAnnotation('cluster-unauthenticated')), emptyPolicyResources());
  assert.equal(authorize(cluster, req({ clientIp: OUTSIDE })).reason, `denied on port 8080 by the default inbound policy cluster-unauthenticated (from the namespace's annotation): client ${OUTSIDE} is outside the cluster networks`);
  const deny = compileInboundPolicy(workload(), emptyPolicyResources(), { ...MESH_POLICY_DEFAULTS, defaultInboundPolicy: 'deny' });
  assert.equal(authorize(deny, req({})).reason, "denied on port 8080: the default inbound policy deny (from the mesh's default) denies all traffic");
  assert.deepEqual(denialFor('http'), { kind: 'http', status: 403 });
  assert.deepEqual(denialFor('grpc'), { kind: 'grpc', grpcStatus: 7 });
  assert.deepEqual(denialFor('tcp'), { kind: 'tcp-close' });
});

test('mesh default applies when no annotation; local mode cluster networks include loopback', () => {
  const plain = compileInboundPolicy(workload(), emptyPolicyResources());
  assert.equal(plain.defaultPolicy, 'all-unauthenticated');
  assert.ok(authorize(plain, req({ clientIp: OUTSIDE })).allow);
  const ann = policyAnnotation('cluster-unauthenticated');
  const k8s = compileInboundPolicy(workload(ann), emptyPolicyResources());
  assert.ok(!authorize(k8s, req({ clientIp: '127.0.0.1' })).allow);
  const local = compileInboundPolicy(workload(ann), emptyPolicyResources(), { ...MESH_POLICY_DEFAULTS, clusterNetworks: LOCAL_CLUSTER_NETWORKS });
  for (const ip of ['127.0.0.1', '::1', '::ffff:127.0.0.1', '192.168.3.4']) assert.ok(authorize(local, req({ clientIp: ip })).allow, ip);
  assert.ok(!authorize(local, req({ clientIp: OUTSIDE })).allow);
  assert.ok(!authorize(local, req({ clientIp: 'not-an-ip' })).allow, 'an unreadable address is never in a network');
});

const SERVER_BY_NUMBER = `
apiVersion: policy.weft.dev/v1beta1
kind: Server
metadata: {name: api-http, namespace: shop}
spec: {podSelector: {matchLabels: {app: api}}, port: 8080, proxyProtocol: HTTP/1}
`;
const SERVER_BY_NAME = `
apiVersion: policy.weft.dev/v1beta1
kind: Server
metadata: {name: api-grpc, namespace: shop}
spec: {podSelector: {matchLabels: {app: api}}, port: grpc, proxyProtocol: gRPC}
`;
const allowWeb = (name: string, target: string) => `
apiVersion: policy.weft.dev/v1alpha1
kind: AuthorizationPolicy
metadata: {name: ${name}, namespace: shop}
spec:
  targetRef: ${target}
  requiredAuthenticationRefs: [{kind: ServiceAccount, name: web}]
`;

test('a Server with no authorization denies everything on its port, under any default policy, and only there', () => {
  const table = compileInboundPolicy(workload(policyAnnotation('all-unauthenticated')), resources(SERVER_BY_NUMBER));
  for (const protocol of ['http', 'tcp'] as const) {
    const d = authorize(table, req({ protocol, clientIdentity: WEB }));
    assert.equal(d.allow, false);
    assert.deepEqual(d.server, { kind: 'server', name: 'api-http' });
    assert.equal(d.reason, 'denied on port 8080: no AuthorizationPolicy targets Server shop/api-http or its namespace, and a Server denies what is not authorized');
  }
  assert.ok(authorize(table, req({ port: 9090 })).allow, 'port 9090 has no Server: the default policy applies');
  assert.ok(authorize(table, req({ port: 12345 })).allow, 'undeclared ports follow the default policy');
});

test('Server by port number and by port name; the other ports stay on the default', () => {
  const table = compileInboundPolicy(workload(policyAnnotation('deny')), resources([SERVER_BY_NUMBER, SERVER_BY_NAME, allowWeb('web-to-http', '{group: policy.weft.dev, kind: Server, name: api-http}'), allowWeb('web-to-grpc', '{kind: Server, name: api-grpc}')].join('---\n')));
  assert.equal(table.ports.get(8080)?.server.name, 'api-http');
  assert.equal(table.ports.get(9090)?.server.name, 'api-grpc');
  assert.equal(table.ports.get(9090)?.proxyProtocol, 'gRPC');
  assert.equal(table.ports.get(6379)?.server.kind, 'default');
  const http = authorize(table, req({ clientIdentity: WEB }));
  assert.deepEqual([http.allow, http.authorization], [true, { kind: 'authorizationpolicy', name: 'shop/web-to-http' }]);
  assert.equal(http.reason, 'allowed on port 8080 by AuthorizationPolicy shop/web-to-http');
  assert.ok(authorize(table, req({ port: 9090, protocol: 'grpc', clientIdentity: WEB })).allow);
  const bot = authorize(table, req({ port: 9090, protocol: 'grpc', clientIdentity: BOT }));
  assert.equal(bot.allow, false);
  assert.match(bot.reason, /^denied on port 9090: nothing on Server shop\/api-grpc allows client bot\.tools\.serviceaccount\.identity\.weft\.cluster\.local \(10\.42\.0\.7\) \(AuthorizationPolicy shop\/web-to-grpc: client bot\.tools.* is not an identity allowed by ServiceAccount shop\/web\)$/);
  assert.ok(!authorize(table, req({ port: 6379, protocol: 'tcp', clientIdentity: WEB })).allow, 'deny default on the port without a Server');
});

test('a Server by name selects nothing when the workload has no such port, and says so; selectors must match', () => {
  const other = compileInboundPolicy({ ...workload(), labels: { app: 'web' } }, resources(SERVER_BY_NUMBER));
  assert.equal(other.ports.get(8080)?.server.kind, 'default', 'podSelector app=api does not select app=web');
  const noName = compileInboundPolicy({ ...workload(), ports: [{ port: 9090 }] }, resources(SERVER_BY_NAME));
  assert.equal(noName.ports.get(9090)?.server.kind, 'default');
  assert.deepEqual(noName.warnings, ['Server shop/api-grpc names port "grpc", which the workload does not declare: it selects nothing']);
  const undeclared = compileInboundPolicy({ ...workload(), ports: [] }, resources(SERVER_BY_NUMBER));
  assert.equal(undeclared.ports.get(8080)?.server.name, 'api-http', 'a Server by number covers the port even if the pod spec does not list it');
});

const MTLS = (identities: string) => `
apiVersion: policy.weft.dev/v1alpha1
kind: MeshTLSAuthentication
metadata: {name: callers, namespace: shop}
spec:
  ${identities}
---
apiVersion: policy.weft.dev/v1alpha1
kind: AuthorizationPolicy
metadata: {name: callers, namespace: shop}
spec:
  targetRef: {group: policy.weft.dev, kind: Server, name: api-http}
  requiredAuthenticationRefs: [{kind: MeshTLSAuthentication, name: callers, group: policy.weft.dev}]
`;

test('identity wildcards: *.<namespace suffix>, *, exact, identityRefs to ServiceAccounts and Namespaces', () => {
  const check = (identities: string, allowed: (string | undefined)[], denied: (string | undefined)[]) => {
    const table = compileInboundPolicy(workload(), resources(SERVER_BY_NUMBER + '---' + MTLS(identities)));
    for (const id of allowed) assert.ok(authorize(table, req({ clientIdentity: id })).allow, `${identities} allows ${id}`);
    for (const id of denied) assert.ok(!authorize(table, req({ clientIdentity: id })).allow, `${identities} denies ${id}`);
  };
  const ADMIN = identityName({ serviceAccount: 'admin', namespace: 'shop' });
  check('identities: ["*.shop.serviceaccount.identity.weft.cluster.local"]', [WEB, ADMIN, WEB.toUpperCase()], [BOT, undefined, 'shop.serviceaccount.identity.weft.cluster.local', 'x.evilshop.serviceaccount.identity.weft.cluster.local']);
  check('identities: ["*"]', [WEB, BOT], [undefined]);
  check(`identities: ["${BOT}"]`, [BOT], [WEB, undefined]);
  check('identities: ["*.cluster.local"]', [WEB, BOT], [undefined, 'web.example.org']);
  check('identityRefs: [{kind: ServiceAccount, name: web}, {kind: ServiceAccount, name: bot, namespace: tools}]', [WEB, BOT], [ADMIN, undefined]);
  check('identityRefs: [{kind: Namespace, name: tools}]', [BOT], [WEB]);
  const unmeshed = authorize(compileInboundPolicy(workload(), resources(SERVER_BY_NUMBER + '---' + MTLS('identities: ["*"]'))), req({}));
  assert.match(unmeshed.reason, /MeshTLSAuthentication shop\/callers requires a meshed \(mTLS\) client, and client 10\.42\.0\.7 has no mesh identity/);
});

const NETWORK_POLICY = `
apiVersion: policy.weft.dev/v1alpha1
kind: NetworkAuthentication
metadata: {name: office, namespace: shop}
spec:
  networks:
  - cidr: 10.0.0.0/8
    except: [10.66.0.0/16, 10.1.2.3/32]
  - cidr: fd00::/8
---
apiVersion: policy.weft.dev/v1alpha1
kind: AuthorizationPolicy
metadata: {name: office, namespace: shop}
spec:
  targetRef: {group: policy.weft.dev, kind: Server, name: api-http}
  requiredAuthenticationRefs: [{kind: NetworkAuthentication, name: office}]
`;

test('NetworkAuthentication: cidr with except, both families, no identity needed', () => {
  const table = compileInboundPolicy(workload(), resources(SERVER_BY_NUMBER + '---' + NETWORK_POLICY));
  for (const ip of ['10.42.0.7', '10.1.2.4', 'fd00::5', '::ffff:10.5.5.5']) assert.ok(authorize(table, req({ clientIp: ip, protocol: 'tcp' })).allow, ip);
  for (const ip of ['10.66.1.1', '10.1.2.3', '192.168.0.1', 'fe80::1']) {
    const d = authorize(table, req({ clientIp: ip, protocol: 'tcp' }));
    assert.ok(!d.allow, ip);
    assert.match(d.reason, new RegExp(`client ${ip.replace(/[.:]/g, '\\$&')} is outside NetworkAuthentication shop/office`));
  }
});

test('ALL required authentications must hold: identity AND network', () => {
  const both = resources(SERVER_BY_NUMBER + '---' + NETWORK_POLICY.replace('requiredAuthenticationRefs: [{kind: NetworkAuthentication, name: office}]', 'requiredAuthenticationRefs: [{kind: NetworkAuthentication, name: office}, {kind: ServiceAccount, name: web}]'));
  const table = compileInboundPolicy(workload(), both);
  assert.ok(authorize(table, req({ clientIdentity: WEB })).allow);
  assert.ok(!authorize(table, req({ clientIdentity: BOT })).allow, 'right network, wrong identity');
  assert.ok(!authorize(table, req({ clientIdentity: WEB, clientIp: '192.168.0.1' })).allow, 'right identity, wrong network');
  assert.ok(!authorize(table, req({})).allow, 'right network, no identity');
});

test('a namespace-targeted AuthorizationPolicy covers every Server of its namespace, and no other namespace', () => {
  const yaml = [SERVER_BY_NUMBER, SERVER_BY_NAME, allowWeb('web-to-shop', '{kind: Namespace, name: shop}')].join('---\n');
  const table = compileInboundPolicy(workload(), resources(yaml));
  assert.ok(authorize(table, req({ clientIdentity: WEB })).allow);
  const d = authorize(table, req({ port: 9090, protocol: 'grpc', clientIdentity: WEB }));
  assert.deepEqual([d.allow, d.authorization?.name], [true, 'shop/web-to-shop']);
  assert.ok(!authorize(table, req({ port: 9090, protocol: 'grpc', clientIdentity: BOT })).allow);
  const elsewhere = compileInboundPolicy({ ...workload(), namespace: 'tools' }, resources(yaml.replace(/metadata: \{name: api-(http|grpc), namespace: shop\}/g, 'metadata: {name: api-$1, namespace: tools}')));
  assert.ok(!authorize(elsewhere, req({ clientIdentity: WEB })).allow, "the shop namespace's policy does not reach Servers in tools");
});

test('a policy requiring an authentication that does not exist allows no one, and the table warns', () => {
  const table = compileInboundPolicy(workload(), resources(SERVER_BY_NUMBER + '---' + MTLS('identities: ["*"]').split('---')[1]));
  const d = authorize(table, req({ clientIdentity: WEB }));
  assert.equal(d.allow, false);
  assert.match(d.reason, /MeshTLSAuthentication shop\/callers does not exist, so it authenticates no one/);
  assert.deepEqual(table.warnings, ['AuthorizationPolicy shop/callers requires MeshTLSAuthentication shop/callers, which does not exist: the policy allows no one']);
});

test('an AuthorizationPolicy with no required authentications allows any client', () => {
  const table = compileInboundPolicy(workload(), resources(SERVER_BY_NUMBER + `---
apiVersion: policy.weft.dev/v1alpha1
kind: AuthorizationPolicy
metadata: {name: open, namespace: shop}
spec: {targetRef: {kind: Server, name: api-http}}
`));
  assert.ok(authorize(table, req({ clientIp: OUTSIDE })).allow);
});

test('kubelet probes: allowed under every default policy and on Servers without routes; not once routes exist; never over TCP', () => {
  const probe = req({ isProbe: true, path: '/ready', clientIp: '10.0.0.1' });
  for (const policy of DEFAULT_INBOUND_POLICIES) {
    const table = compileInboundPolicy(workload(policyAnnotation(policy)), emptyPolicyResources());
    const d = authorize(table, probe);
    assert.deepEqual([d.allow, d.authorization, d.audited], [true, { kind: 'default', name: 'probe' }, false], policy);
    assert.equal(authorize(table, { ...probe, isProbe: false }).allow, !['deny', 'all-authenticated', 'cluster-authenticated'].includes(policy), `${policy} without the probe exemption`);
    assert.equal(authorize(table, { ...probe, protocol: 'tcp' }).allow, policy !== 'deny' && !policy.endsWith('-authenticated'), 'TCP is never a probe');
  }
  const server = compileInboundPolicy(workload(policyAnnotation('deny')), resources(SERVER_BY_NUMBER));
  assert.ok(authorize(server, probe).allow, 'a Server without routes keeps the probe authorization');
  assert.ok(!authorize(server, { ...probe, isProbe: false }).allow);
  const routed = compileInboundPolicy(workload(policyAnnotation('deny')), resources(SERVER_BY_NUMBER + ROUTE));
  const d = authorize(routed, probe);
  assert.equal(d.allow, false, 'once an HTTPRoute attaches to the Server, probes need their own authorization');
  assert.match(d.reason, /no HTTPRoute of Server shop\/api-http matches GET \/ready/);
});

const ROUTE = `---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: api-read, namespace: shop}
spec:
  parentRefs: [{group: policy.weft.dev, kind: Server, name: api-http}]
  rules:
  - matches: [{path: {type: PathPrefix, value: /api}, method: GET}]
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: api-admin, namespace: shop}
spec:
  parentRefs: [{group: policy.weft.dev, kind: Server, name: api-http}]
  rules:
  - matches: [{path: {type: PathPrefix, value: /api/admin}}, {path: {type: Exact, value: /metrics}}]
`;

test('HTTPRoute-targeted policies apply to their route only; Server-level policies to every route; TCP ignores routes', () => {
  const yaml = SERVER_BY_NUMBER + ROUTE + '---' + allowWeb('web-reads', '{group: gateway.networking.k8s.io, kind: HTTPRoute, name: api-read}') + '---' + `
apiVersion: policy.weft.dev/v1alpha1
kind: AuthorizationPolicy
metadata: {name: bot-everywhere, namespace: shop}
spec:
  targetRef: {kind: Server, name: api-http}
  requiredAuthenticationRefs: [{kind: ServiceAccount, name: bot, namespace: tools}]
`;
  const table = compileInboundPolicy(workload(), resources(yaml));
  const read = authorize(table, req({ clientIdentity: WEB, path: '/api/items?id=1' }));
  assert.deepEqual([read.allow, read.route], [true, 'shop/api-read']);
  const admin = authorize(table, req({ clientIdentity: WEB, path: '/api/admin/users' }));
  assert.deepEqual([admin.allow, admin.route], [false, 'shop/api-admin'], 'the longer prefix wins, and web is not authorized there');
  assert.ok(authorize(table, req({ clientIdentity: BOT, path: '/api/admin/users' })).allow, 'the Server-level policy covers every route');
  assert.ok(authorize(table, req({ clientIdentity: BOT, path: '/metrics' })).allow);
  assert.ok(!authorize(table, req({ clientIdentity: WEB, path: '/apix' })).allow, 'PathPrefix matches whole segments');
  assert.ok(!authorize(table, req({ clientIdentity: WEB, path: '/api/items', method: 'POST' })).allow, 'method must match');
  assert.ok(authorize(table, req({ clientIdentity: BOT, protocol: 'tcp', path: undefined })).allow, 'opaque traffic is authorized at the Server level');
  assert.ok(!authorize(table, req({ clientIdentity: WEB, protocol: 'tcp', path: undefined })).allow);
});

test('audit: the default policy flags everything it lets through; a Server accessPolicy audit flags only what no policy allows', () => {
  const table = compileInboundPolicy(workload({}, policyAnnotation('audit')), emptyPolicyResources());
  const d = authorize(table, req({ clientIp: OUTSIDE }));
  assert.deepEqual([d.allow, d.audited, d.reason], [true, true, 'allowed in audit mode on port 8080 by the default inbound policy audit']);
  const yaml = SERVER_BY_NUMBER.replace('proxyProtocol: HTTP/1}', 'proxyProtocol: HTTP/1, accessPolicy: audit}') + '---' + allowWeb('web-to-http', '{kind: Server, name: api-http}');
  const server = compileInboundPolicy(workload(), resources(yaml));
  const web = authorize(server, req({ clientIdentity: WEB }));
  assert.deepEqual([web.allow, web.audited, web.authorization?.kind], [true, false, 'authorizationpolicy']);
  const stranger = authorize(server, req({ clientIp: OUTSIDE }));
  assert.deepEqual([stranger.allow, stranger.audited, stranger.authorization], [true, true, { kind: 'server', name: 'shop/api-http accessPolicy audit' }]);
  const authnOnly = compileInboundPolicy(workload(), resources(SERVER_BY_NUMBER.replace('proxyProtocol: HTTP/1}', 'accessPolicy: all-authenticated}')));
  assert.ok(authorize(authnOnly, req({ clientIdentity: BOT })).allow, 'accessPolicy all-authenticated lets any meshed client through');
  const refused = authorize(authnOnly, req({}));
  assert.equal(refused.allow, false);
  assert.match(refused.reason, /nothing on Server shop\/api-http allows client 10\.42\.0\.7 \(a mesh identity requires a meshed/);
});

test('reasons stay valid header values whatever the client presented', () => {
  const table = compileInboundPolicy(workload(policyAnnotation('cluster-authenticated')), emptyPolicyResources());
  const d = authorize(table, req({ clientIdentity: 'evil\r\nset-cookie: x\u00e9', clientIp: OUTSIDE }));
  assert.equal(d.allow, false);
  assert.match(d.reason, /^[\x20-\x7e]+$/);
  assert.match(d.reason, /evil\?\?set-cookie: x\?/);
});

test('overlapping Servers: the first by name is used and the table warns', () => {
  const table = compileInboundPolicy(workload(), resources(SERVER_BY_NUMBER + '---' + SERVER_BY_NUMBER.replace('api-http', 'aaa-http')));
  assert.equal(table.ports.get(8080)?.server.name, 'aaa-http');
  assert.deepEqual(table.warnings, ['Servers aaa-http, api-http all select port 8080; aaa-http is used (Servers must not overlap)']);
});
