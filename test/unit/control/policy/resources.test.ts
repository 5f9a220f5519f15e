import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseAllDocuments } from 'yaml';
import { formatParseErrors, parsePolicyResource, parsePolicyResources, type ParseResult } from '../../../../mesh/control/policy/resources';

const docs = (text: string): unknown[] => parseAllDocuments(text).map((d) => d.toJS());
const one = (text: string): ParseResult => parsePolicyResource(docs(text)[0]);
function errorsOf(text: string): string[] {
  const r = one(text);
  assert.equal(r.ok, false, 'expected errors');
  if (r.ok) return [];
  assert.equal(r.ignored, false);
  return formatParseErrors(r);
}

const server = (spec: string) => `apiVersion: policy.weft.dev/v1beta1\nkind: Server\nmetadata: {name: web-http, namespace: shop}\nspec:\n${spec}`;

test('a full set of resources parses into typed values, defaults filled in', () => {
  const { resources, errors } = parsePolicyResources(docs(`
apiVersion: policy.weft.dev/v1beta1
kind: Server
metadata: {name: web-http, namespace: shop}
spec:
  podSelector:
    matchLabels: {app: web}
    matchExpressions: [{key: track, operator: NotIn, values: [canary]}]
  port: http
  proxyProtocol: HTTP/1
---
apiVersion: policy.weft.dev/v1alpha1
kind: AuthorizationPolicy
metadata: {name: web-authz, namespace: shop}
spec:
  targetRef: {group: policy.weft.dev, kind: Server, name: web-http}
  requiredAuthenticationRefs:
  - {kind: MeshTLSAuthentication, name: frontends, group: policy.weft.dev}
  - {kind: ServiceAccount, name: bot, namespace: tools}
---
apiVersion: policy.weft.dev/v1alpha1
kind: MeshTLSAuthentication
metadata: {name: frontends, namespace: shop}
spec:
  identities: ["*.shop.serviceaccount.identity.weft.cluster.local"]
---
apiVersion: policy.weft.dev/v1alpha1
kind: NetworkAuthentication
metadata: {name: office, namespace: shop}
spec:
  networks:
  - cidr: 10.0.0.0/8
    except: [10.9.0.0/16]
  - cidr: fd00::/8
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: web-api, namespace: shop}
spec:
  parentRefs: [{group: policy.weft.dev, kind: Server, name: web-http}]
  rules:
  - matches: [{path: {value: /api}, method: get}]
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop}
`));
  assert.deepEqual(errors, []);
  const s = resources.servers[0];
  assert.deepEqual(s && { ...s }, {
    kind: 'Server', name: 'web-http', namespace: 'shop', port: 'http', proxyProtocol: 'HTTP/1', accessPolicy: 'deny',
    podSelector: { matchLabels: { app: 'web' }, matchExpressions: [{ key: 'track', operator: 'NotIn', values: ['canary'] }] },
  });
  assert.deepEqual(resources.authorizationPolicies[0]?.requiredAuthenticationRefs, [
    { kind: 'MeshTLSAuthentication', name: 'frontends', namespace: 'shop' },
    { kind: 'ServiceAccount', name: 'bot', namespace: 'tools' },
  ]);
  assert.deepEqual(resources.meshTLSAuthentications[0]?.identities, ['*.shop.serviceaccount.identity.weft.cluster.local']);
  assert.deepEqual(resources.networkAuthentications[0]?.networks.map((n) => [n.cidr.text, n.except.map((e) => e.text)]), [['10.0.0.0/8', ['10.9.0.0/16']], ['fd00::/8', []]]);
  assert.deepEqual(resources.httpRoutes[0]?.matches, [{ path: { type: 'PathPrefix', value: '/api' }, method: 'GET' }]);
  assert.equal(resources.httpRoutes.length, 1, 'the Deployment is skipped silently');
});

test('Server: port by number, port by name, and every port mistake named', () => {
  assert.ok(one(server('  podSelector: {}\n  port: 8080')).ok);
  assert.deepEqual(errorsOf(server('  podSelector: {}\n  port: 70000')), ['Server shop/web-http: spec.port: must be a port number from 1 to 65535, got 70000']);
  assert.match(errorsOf(server('  podSelector: {}\n  port: "8080"'))[0] ?? '', /spec\.port: "8080" is a string: write the port number without quotes/);
  assert.match(errorsOf(server('  podSelector: {}\n  port: Web_Port'))[0] ?? '', /spec\.port: "Web_Port" is not a port name/);
  assert.match(errorsOf(server('  podSelector: {}'))[0] ?? '', /spec\.port: must be a port number or a container port name, got nothing/);
});

test('Server: selector, proxyProtocol and accessPolicy errors each name their field', () => {
  const e = errorsOf(server(`  podSelector:
    matchLabels: {app: 7}
    matchExpressions:
    - {key: tier, operator: In}
    - {key: tier, operator: Exists, values: [x]}
    - {key: tier, operator: Like, values: [x]}
  port: 80
  proxyProtocol: http
  accessPolicy: allow`));
  assert.deepEqual(e, [
    'Server shop/web-http: spec.podSelector.matchLabels.app: label values are strings, got 7 (quote it in YAML)',
    'Server shop/web-http: spec.podSelector.matchExpressions[0].values: operator In needs at least one value',
    'Server shop/web-http: spec.podSelector.matchExpressions[1].values: operator Exists takes no values',
    'Server shop/web-http: spec.podSelector.matchExpressions[2].operator: must be one of In, NotIn, Exists, DoesNotExist; got "Like"',
    'Server shop/web-http: spec.proxyProtocol: must be one of unknown, HTTP/1, HTTP/2, gRPC, opaque, TLS; got "http"',
    'Server shop/web-http: spec.accessPolicy: must be one of all-unauthenticated, all-authenticated, cluster-unauthenticated, cluster-authenticated, deny, audit; got "allow"',
  ]);
  assert.deepEqual(errorsOf(server('  port: 80')), ['Server shop/web-http: spec.podSelector: must be an object, got nothing']);
});

test('metadata, group and kind mistakes', () => {
  assert.deepEqual(errorsOf('apiVersion: policy.weft.dev/v1beta1\nkind: Server\nmetadata: {name: x}\nspec: {podSelector: {}, port: 80}'), ['Server x: metadata.namespace: must be a non-empty string, got nothing']);
  const withDefault = parsePolicyResource(docs('apiVersion: policy.weft.dev/v1beta1\nkind: Server\nmetadata: {name: x}\nspec: {podSelector: {}, port: 80}')[0], 'shop');
  assert.ok(withDefault.ok && withDefault.resource.namespace === 'shop', 'a default namespace stands in');
  assert.match(errorsOf('apiVersion: policy.linkerd.io/v1beta1\nkind: Server\nmetadata: {name: x, namespace: a}\nspec: {}')[0] ?? '', /apiVersion: "policy\.linkerd\.io\/v1beta1" is Linkerd's group: Weft reads policy\.weft\.dev/);
  assert.match(errorsOf('apiVersion: policy.weft.dev/v1beta1\nkind: ServerAuthorization\nmetadata: {name: x, namespace: a}\nspec: {}')[0] ?? '', /kind: policy\.weft\.dev has no kind "ServerAuthorization"/);
  assert.deepEqual(errorsOf('apiVersion: policy.weft.dev/v1beta1\nkind: Server\nmetadata: {name: x, namespace: a}'), ['Server a/x: spec: must be an object, got nothing']);
  const r = parsePolicyResource('just text');
  assert.ok(!r.ok && !r.ignored && /a resource must be an object/.test(r.errors[0]?.message ?? ''));
  const ignored = parsePolicyResource({ apiVersion: 'v1', kind: 'Service', metadata: { name: 'a' } });
  assert.ok(!ignored.ok && ignored.ignored);
});

const authz = (spec: string) => `apiVersion: policy.weft.dev/v1alpha1\nkind: AuthorizationPolicy\nmetadata: {name: p, namespace: shop}\nspec:\n${spec}`;

test('AuthorizationPolicy errors: targetRef, foreign namespace, authentication refs', () => {
  assert.deepEqual(errorsOf(authz('  requiredAuthenticationRefs: []')), ['AuthorizationPolicy shop/p: spec.targetRef: must be an object, got nothing']);
  assert.deepEqual(errorsOf(authz('  targetRef: {kind: Namespace, name: other}')), ['AuthorizationPolicy shop/p: spec.targetRef.name: a policy may only target its own namespace (shop), got "other"']);
  assert.deepEqual(errorsOf(authz('  targetRef: {kind: Service, name: web}')), ['AuthorizationPolicy shop/p: spec.targetRef.kind: must be one of Server, Namespace, HTTPRoute, GRPCRoute; got "Service"']);
  assert.deepEqual(errorsOf(authz('  targetRef: {group: policy.linkerd.io, kind: Server, name: web}')), ['AuthorizationPolicy shop/p: spec.targetRef.group: a Server is in group policy.weft.dev, got "policy.linkerd.io"']);
  assert.deepEqual(errorsOf(authz(`  targetRef: {kind: Server, name: web}
  requiredAuthenticationRefs:
  - {kind: NetworkPolicy, name: x}
  - {kind: ServiceAccount, group: policy.weft.dev, name: web}
  - {kind: MeshTLSAuthentication}`)), [
    'AuthorizationPolicy shop/p: spec.requiredAuthenticationRefs[0].kind: must be one of MeshTLSAuthentication, NetworkAuthentication, ServiceAccount; got "NetworkPolicy"',
    'AuthorizationPolicy shop/p: spec.requiredAuthenticationRefs[1].group: a ServiceAccount is in the core group (leave group out), got "policy.weft.dev"',
    'AuthorizationPolicy shop/p: spec.requiredAuthenticationRefs[2].name: must be a non-empty string, got nothing',
  ]);
  const ok = one(authz('  targetRef: {kind: Server, name: web}'));
  assert.ok(ok.ok && ok.resource.kind === 'AuthorizationPolicy' && ok.resource.targetRef.group === 'policy.weft.dev' && ok.resource.requiredAuthenticationRefs.length === 0);
});

const mtls = (spec: string) => `apiVersion: policy.weft.dev/v1alpha1\nkind: MeshTLSAuthentication\nmetadata: {name: m, namespace: shop}\nspec:\n${spec}`;

test('MeshTLSAuthentication errors: neither or both lists, malformed wildcards, bad refs', () => {
  assert.match(errorsOf(mtls('  identities: []'))[0] ?? '', /spec: needs a non-empty identities or identityRefs list/);
  assert.match(errorsOf(mtls('  identities: ["*"]\n  identityRefs: [{kind: ServiceAccount, name: web}]'))[0] ?? '', /spec: set either identities or identityRefs, not both/);
  assert.match(errorsOf(mtls('  identities: ["web.*.serviceaccount.identity.weft.cluster.local"]'))[0] ?? '', /spec\.identities\[0\]: "web\.\*\.serviceaccount[^"]*" is not an identity: .*a "\*" may only stand first/);
  assert.match(errorsOf(mtls('  identities: ["*web.shop"]'))[0] ?? '', /spec\.identities\[0\]/);
  assert.match(errorsOf(mtls('  identityRefs: [{kind: User, name: web}]'))[0] ?? '', /spec\.identityRefs\[0\]\.kind: must be one of ServiceAccount, Namespace; got "User"/);
  assert.ok(one(mtls('  identities: ["*", "*.cluster.local", "web.shop.serviceaccount.identity.weft.cluster.local"]')).ok);
});

const netAuthn = (spec: string) => `apiVersion: policy.weft.dev/v1alpha1\nkind: NetworkAuthentication\nmetadata: {name: n, namespace: shop}\nspec:\n${spec}`;

test('NetworkAuthentication errors: empty, bad CIDR, except outside its cidr', () => {
  assert.match(errorsOf(netAuthn('  networks: []'))[0] ?? '', /spec\.networks: needs at least one network/);
  assert.deepEqual(errorsOf(netAuthn('  networks: [{cidr: 10.0.0.0/40}]')), ['NetworkAuthentication shop/n: spec.networks[0].cidr: "10.0.0.0/40" is not a CIDR block: the prefix length must be a whole number from 0 to 32']);
  assert.deepEqual(errorsOf(netAuthn('  networks: [{cidr: 10.0.0.0/16, except: [10.1.0.0/24, 10.0.0.0/8]}]')), [
    'NetworkAuthentication shop/n: spec.networks[0].except[0]: 10.1.0.0/24 is not inside 10.0.0.0/16, so excepting it changes nothing',
    'NetworkAuthentication shop/n: spec.networks[0].except[1]: 10.0.0.0/8 is not inside 10.0.0.0/16, so excepting it changes nothing',
  ]);
  assert.match(errorsOf(netAuthn('  networks: [{except: [10.0.0.0/8]}]'))[0] ?? '', /spec\.networks\[0\]\.cidr: must be a non-empty string/);
});

test('HTTPRoute: unsupported header matches and bad paths are refused rather than silently widened', () => {
  const route = (rules: string) => `apiVersion: policy.weft.dev/v1beta3\nkind: HTTPRoute\nmetadata: {name: r, namespace: shop}\nspec:\n  parentRefs: [{group: policy.weft.dev, kind: Server, name: s}]\n  rules:\n${rules}`;
  assert.match(errorsOf(route('  - matches: [{headers: [{name: x, value: y}]}]'))[0] ?? '', /spec\.rules\[0\]\.matches\[0\]\.headers: headers matches are not supported/);
  assert.match(errorsOf(route('  - matches: [{path: {type: Exact, value: api}}]'))[0] ?? '', /path\.value: a path starts with "\/", got "api"/);
  assert.match(errorsOf(route('  - matches: [{path: {type: RegularExpression, value: "(["}}]'))[0] ?? '', /path\.value: is not a regular expression/);
  const ok = one(route('  - {}'));
  assert.ok(ok.ok && ok.resource.kind === 'HTTPRoute' && ok.resource.matches.length === 1 && ok.resource.matches[0]?.path.value === '/', 'a rule without matches matches everything');
});

test('parsePolicyResources keeps the good ones and reports the bad ones with their names', () => {
  const { resources, errors } = parsePolicyResources(docs(`${server('  podSelector: {}\n  port: 0')}\n---\n${mtls('  identities: ["*"]')}`));
  assert.equal(resources.servers.length, 0);
  assert.equal(resources.meshTLSAuthentications.length, 1);
  assert.deepEqual(errors, ['Server shop/web-http: spec.port: must be a port number from 1 to 65535, got 0']);
});
