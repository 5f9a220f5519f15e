import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseAllDocuments } from 'yaml';
import { ANNOTATIONS } from '../../../../mesh/config/annotations';
import { identityName } from '../../../../mesh/config/identity';
import { compileInboundPolicy, type InboundPolicyTable } from '../../../../mesh/control/policy/inbound-policy';
import { emptyPolicyResources, parsePolicyResources } from '../../../../mesh/control/policy/resources';
import { createLogger } from '../../../../mesh/proxy/log';
import { ProxyMetrics } from '../../../../mesh/proxy/metrics/proxy-metrics';
import { InboundAuthorizer } from '../../../../mesh/proxy/policy/authorizer';
import { authzLabels } from '../../../../mesh/proxy/policy/authz-metrics';
import type { InboundPolicySource } from '../../../../mesh/proxy/policy/policy-source';

const WEB = identityName({ serviceAccount: 'web', namespace: 'shop' });

function table(policy: string, yaml = ''): InboundPolicyTable {
  const resources = yaml ? parsePolicyResources(parseAllDocuments(yaml).map((d) => d.toJS())).resources : emptyPolicyResources();
  return compileInboundPolicy({ namespace: 'shop', labels: { app: 'api' }, ports: [{ name: 'http', port: 8080 }], annotations: { [ANNOTATIONS.defaultInboundPolicy]: policy }, probes: [{ port: 8080, path: '/ready' }] }, resources);
}

class TestSource implements InboundPolicySource {
  readonly ready = Promise.resolve();
  private cb: ((t: InboundPolicyTable) => void) | undefined;
  constructor(private t: InboundPolicyTable | undefined) {}
  current(): InboundPolicyTable | undefined {
    return this.t;
  }
  onTable(cb: (t: InboundPolicyTable) => void): void {
    this.cb = cb;
  }
  push(t: InboundPolicyTable): void {
    this.t = t;
    this.cb?.(t);
  }
  close(): void {}
}

function setup(t: InboundPolicyTable | undefined): { a: InboundAuthorizer; source: TestSource; metrics: ProxyMetrics; lines: Record<string, unknown>[]; decisions: () => number } {
  const lines: Record<string, unknown>[] = [];
  const log = createLogger({ level: 'debug', format: 'json', write: (l) => void lines.push(JSON.parse(l) as Record<string, unknown>) });
  const metrics = new ProxyMetrics(undefined, { processMetrics: false });
  const source = new TestSource(t);
  const a = new InboundAuthorizer(source, metrics, log);
  let n = 0;
  const decide = a.decide.bind(a);
  a.decide = (r) => (n++, decide(r));
  return { a, source, metrics, lines, decisions: () => n };
}

const GET = (path = '/x') => ({ port: 8080, method: 'GET', path, grpc: false, targetAddr: '127.0.0.1:8080' });

test('per connection, a decision that cannot change is made once per table; a new table is obeyed at once', async () => {
  const { a, source, metrics, decisions } = setup(table('all-authenticated'));
  const meshed = a.connection(WEB, '10.0.0.1');
  const plain = a.connection(undefined, '10.0.0.2');
  for (let i = 0; i < 100; i++) {
    assert.equal(meshed.http(GET()).allow, true);
    assert.equal(plain.http(GET()).allow, false);
  }
  assert.equal(decisions(), 2, 'one decision per connection');
  source.push(table('deny'));
  assert.equal(meshed.http(GET()).allow, false, 'the new table applies to an open connection');
  assert.equal(decisions(), 3);
  const text = await metrics.metricsText();
  assert.match(text, /inbound_http_authz_allow_total\{target_addr="127\.0\.0\.1:8080",srv_group="",srv_kind="default",srv_name="all-authenticated",route_group="",route_kind="default",route_name="default",authz_group="",authz_kind="default",authz_name="all-authenticated",tls="true",client_id="web\.shop\.serviceaccount\.identity\.weft\.cluster\.local"\} 100/);
  assert.match(text, /inbound_http_authz_deny_total\{target_addr="127\.0\.0\.1:8080",srv_group="",srv_kind="default",srv_name="all-authenticated",route_group="",route_kind="default",route_name="default",tls="no_identity",no_tls_reason="no_tls_from_remote"\} 100/);
  assert.match(text, /inbound_http_authz_deny_total\{[^}]*srv_name="deny"[^}]*client_id="web[^}]*\} 1/);
});

test('probes and route-scoped ports are decided per request', () => {
  const routes = `
apiVersion: policy.weft.dev/v1beta1
kind: Server
metadata: {name: api, namespace: shop}
spec: {podSelector: {matchLabels: {app: api}}, port: 8080}
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: open, namespace: shop}
spec:
  parentRefs: [{group: policy.weft.dev, kind: Server, name: api}]
  rules: [{matches: [{path: {type: PathPrefix, value: /open}}]}]
---
apiVersion: policy.weft.dev/v1alpha1
kind: AuthorizationPolicy
metadata: {name: open-any, namespace: shop}
spec:
  targetRef: {group: gateway.networking.k8s.io, kind: HTTPRoute, name: open}
  requiredAuthenticationRefs: []
`;
  const deny = setup(table('deny'));
  const c = deny.a.connection(undefined, '192.0.2.1');
  assert.equal(c.http(GET('/ready')).allow, true, 'a probe passes under deny');
  assert.equal(c.http({ ...GET('/ready'), method: 'POST' }).allow, false, 'only GET/HEAD is a probe');
  assert.equal(c.http(GET('/x')).allow, false);
  assert.equal(c.http(GET('/ready?verbose')).allow, true);
  const r = setup(table('all-unauthenticated', routes));
  const rc = r.a.connection(undefined, '192.0.2.1');
  const before = r.decisions();
  assert.equal(rc.http(GET('/open/1')).allow, true);
  assert.equal(rc.http(GET('/closed')).allow, false);
  assert.equal(rc.http(GET('/open')).allow, true);
  assert.equal(r.decisions() - before, 3, 'route-scoped: one decision per request');
  assert.equal(rc.tcp(8080, '127.0.0.1:8080').allow, false, 'opaque TCP ignores routes: the Server has no policy for it');
  const opaque = setup(table('all-unauthenticated', routes.replace('port: 8080}', 'port: 8080, proxyProtocol: opaque}')));
  assert.equal(opaque.a.isOpaquePort(8080), true, "a Server's proxyProtocol opaque skips detection on its port");
  assert.equal(r.a.isOpaquePort(8080), false);
});

test('denials are logged, at most once per server and client every interval; audit allows are logged too', () => {
  const { a, lines } = setup(table('deny'));
  const c = a.connection(undefined, '192.0.2.1');
  for (let i = 0; i < 50; i++) c.http(GET());
  c.tcp(8080, '127.0.0.1:8080');
  const denials = lines.filter((l) => String(l['msg']).endsWith('denied'));
  assert.deepEqual(denials.map((l) => l['msg']), ['inbound: request denied', 'inbound: connection denied']);
  assert.match(String(denials[0]!['reason']), /^denied on port 8080: the default inbound policy deny/);
  const audit = setup(table('audit'));
  assert.equal(audit.a.connection(WEB, '10.0.0.1').http(GET()).allow, true);
  assert.ok(audit.lines.some((l) => l['msg'] === 'inbound: request allowed in audit mode'));
  assert.ok(audit.lines.some((l) => l['msg'] === 'policy: table applied' && l['defaultPolicy'] === 'audit'));
});

test('no table yet: everything is denied, never allowed by accident', () => {
  const { a } = setup(undefined);
  const d = a.connection(WEB, '10.0.0.1').http(GET());
  assert.equal(d.allow, false);
  assert.match(d.reason, /no inbound policy/);
});

test('authz labels: AuthorizationPolicy names without namespace, a Server accessPolicy as default:<policy>, denials without authz_*', () => {
  const server = { kind: 'server' as const, name: 'api' };
  assert.deepEqual(authzLabels('tcp', { allow: true, reason: '', server, authorization: { kind: 'authorizationpolicy', name: 'shop/web-to-api' }, audited: false }, '10.0.0.1:80', WEB), {
    target_addr: '10.0.0.1:80',
    srv_group: 'policy.weft.dev',
    srv_kind: 'server',
    srv_name: 'api',
    authz_group: 'policy.weft.dev',
    authz_kind: 'authorizationpolicy',
    authz_name: 'web-to-api',
    tls: 'true',
    client_id: WEB,
  });
  const audited = authzLabels('http', { allow: true, reason: '', server, authorization: { kind: 'server', name: 'shop/api accessPolicy audit' }, route: 'shop/r', audited: true }, 'a:1', undefined);
  assert.deepEqual([audited['authz_kind'], audited['authz_name'], audited['route_kind'], audited['route_name'], audited['tls']], ['default', 'audit', 'HTTPRoute', 'r', 'no_identity']);
  const denied = authzLabels('http', { allow: false, reason: '', server, audited: false }, 'a:1', undefined);
  assert.equal(Object.keys(denied).some((k) => k.startsWith('authz_')), false);
});
