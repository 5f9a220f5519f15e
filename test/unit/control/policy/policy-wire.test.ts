import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseAllDocuments } from 'yaml';
import { ANNOTATIONS } from '../../../../mesh/config/annotations';
import { identityName } from '../../../../mesh/config/identity';
import { authorize, isProbeRequest, type InboundRequest } from '../../../../mesh/control/policy/authorize';
import { compileInboundPolicy, type InboundPolicyTable } from '../../../../mesh/control/policy/inbound-policy';
import { decodeTable, encodeTable } from '../../../../mesh/control/policy/policy-wire';
import { parsePolicyResources } from '../../../../mesh/control/policy/resources';

const WEB = identityName({ serviceAccount: 'web', namespace: 'shop' });
const BOT = identityName({ serviceAccount: 'bot', namespace: 'tools' });

const YAML = `
apiVersion: policy.weft.dev/v1beta1
kind: Server
metadata: {name: api-http, namespace: shop}
spec: {podSelector: {matchLabels: {app: api}}, port: http, accessPolicy: audit}
---
apiVersion: policy.weft.dev/v1beta1
kind: Server
metadata: {name: api-redis, namespace: shop}
spec: {podSelector: {matchLabels: {app: api}}, port: 6379, proxyProtocol: opaque}
---
apiVersion: policy.weft.dev/v1alpha1
kind: MeshTLSAuthentication
metadata: {name: shop-sa, namespace: shop}
spec: {identities: ["*.shop.serviceaccount.identity.weft.cluster.local", "${BOT}"]}
---
apiVersion: policy.weft.dev/v1alpha1
kind: NetworkAuthentication
metadata: {name: pods, namespace: shop}
spec: {networks: [{cidr: 10.0.0.0/8, except: [10.66.0.0/16]}, {cidr: "fd00::/8"}]}
---
apiVersion: policy.weft.dev/v1alpha1
kind: AuthorizationPolicy
metadata: {name: redis, namespace: shop}
spec:
  targetRef: {group: policy.weft.dev, kind: Server, name: api-redis}
  requiredAuthenticationRefs:
  - {group: policy.weft.dev, kind: MeshTLSAuthentication, name: shop-sa}
  - {group: policy.weft.dev, kind: NetworkAuthentication, name: pods}
  - {group: policy.weft.dev, kind: NetworkAuthentication, name: missing}
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: items, namespace: shop}
spec:
  parentRefs: [{group: policy.weft.dev, kind: Server, name: api-http}]
  rules:
  - matches: [{path: {type: RegularExpression, value: "/items/[0-9]+"}, method: GET}, {path: {type: Exact, value: /health}}]
---
apiVersion: policy.weft.dev/v1alpha1
kind: AuthorizationPolicy
metadata: {name: items-web, namespace: shop}
spec:
  targetRef: {group: gateway.networking.k8s.io, kind: HTTPRoute, name: items}
  requiredAuthenticationRefs: [{kind: ServiceAccount, name: web}]
`;

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- the test spoils arbitrary fields of a JSON document on purpose
type Json = Record<string, any>;

function table(): InboundPolicyTable {
  const { resources, errors } = parsePolicyResources(parseAllDocuments(YAML).map((d) => d.toJS()));
  assert.deepEqual(errors, []);
  return compileInboundPolicy(
    {
      namespace: 'shop',
      labels: { app: 'api' },
      ports: [{ name: 'http', port: 8080 }, { port: 6379 }, { port: 9000 }],
      annotations: { [ANNOTATIONS.defaultInboundPolicy]: 'cluster-authenticated' },
      probes: [{ port: 9000, path: '/live?full=1' }],
    },
    resources,
  );
}

test('a table sent over the wire decides every request exactly as the original', () => {
  const original = table();
  const wire = JSON.parse(JSON.stringify(encodeTable(original))) as unknown;
  const decoded = decodeTable(wire);
  assert.ok(decoded.ok, decoded.ok ? '' : decoded.error);
  const copy = decoded.table;
  assert.deepEqual(copy.warnings, original.warnings);
  assert.ok(copy.warnings.some((w) => w.includes('NetworkAuthentication shop/missing')), 'warnings travel');
  assert.equal(copy.ports.get(6379)?.proxyProtocol, 'opaque');
  const requests: InboundRequest[] = [];
  for (const port of [8080, 6379, 9000, 12345]) {
    for (const clientIdentity of [WEB, BOT, 'x.other.serviceaccount.identity.weft.cluster.local', undefined]) {
      for (const clientIp of ['10.1.2.3', '10.66.0.1', '192.0.2.1', 'fd00::1', '::ffff:10.1.2.3']) {
        for (const [protocol, path, method] of [['http', '/items/42', 'GET'], ['http', '/items/x', 'GET'], ['grpc', '/health', 'POST'], ['tcp', undefined, undefined]] as const) {
          requests.push({ port, clientIdentity, clientIp, protocol, path, method, isProbe: false });
        }
      }
    }
  }
  requests.push({ port: 9000, clientIp: '192.0.2.1', protocol: 'http', path: '/live', method: 'GET', isProbe: true });
  let allowed = 0;
  for (const r of requests) {
    const a = authorize(original, r);
    assert.deepEqual(authorize(copy, r), a, JSON.stringify(r));
    if (a.allow) allowed++;
  }
  assert.ok(allowed > 10 && allowed < requests.length - 10, `a mix of allows and denials (${allowed}/${requests.length})`);
  assert.equal(isProbeRequest(copy, 9000, 'GET', '/live?x'), true, 'probe paths travel (query dropped)');
  assert.equal(isProbeRequest(copy, 9000, 'POST', '/live'), false);
  assert.equal(isProbeRequest(copy, 8080, 'GET', '/live'), false);
});

test('a malformed table is refused with the path of the bad field, never half-used', () => {
  const good = JSON.parse(JSON.stringify(encodeTable(table()))) as Record<string, unknown>;
  const cases: [(t: Json) => void, RegExp][] = [
    [(t) => delete t['otherPorts'], /table\.otherPorts: expected an object/],
    [(t) => (t['defaultPolicy'] = 'let-everyone-in'), /table\.defaultPolicy: expected one of all-unauthenticated/],
    [(t) => (t['ports'][0].port = 70000), /table\.ports\[0\]\.port: expected a port number/],
    [(t) => (t['ports'][0].rules[0].requirements[1].networks[0].cidr = '10.0.0.0/40'), /table\.ports\[0\]\.rules\[0\]\.requirements\[1\]\.networks\[0\]\.cidr: .*prefix length/],
    [(t) => (t['ports'][1].routes[0].matches[0].path.value = '(['), /routes\[0\]\.matches\[0\]\.path\.value/],
    [(t) => (t['ports'][1].fallback[0].audited = 'yes'), /fallback\[0\]\.audited: expected true or false/],
  ];
  for (const [spoil, message] of cases) {
    const t = JSON.parse(JSON.stringify(good)) as Json;
    spoil(t);
    const r = decodeTable(t);
    assert.equal(r.ok, false);
    if (!r.ok) assert.match(r.error, message);
  }
  assert.equal(decodeTable('not a table').ok, false);
});
