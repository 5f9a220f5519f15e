// policyModelFromKube, the pure mapping of the policy service's Kubernetes source: policy objects as
// the API lists them (no apiVersion/kind on list items) become the same resources a file would, only
// Server-attached HTTPRoutes are policy routes, bad resources are left out with a warning naming
// them, pods become workloads keyed namespace/name, and the model compiles to the expected table.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { KubernetesObject, V1Namespace, V1Pod } from '@kubernetes/client-node';
import jsonpatch, { type Operation } from 'fast-json-patch';
import { inject } from '../../../mesh/control/injector/injector';
import { MESH_POLICY_DEFAULTS, type MeshPolicyDefaults } from '../../../mesh/control/policy/inbound-policy';
import { answerLine, workloadFacts } from '../../../mesh/control/policy/policy-model';
import { isPolicyRoute, policyModelFromKube, type KubePolicyFacts } from '../../../mesh/platform/kube-policy-source';

const meta = (name: string, namespace = 'shop', created = '2026-01-01T00:00:00Z') => ({ name, namespace, creationTimestamp: created as unknown as Date });

const server: KubernetesObject & { spec: unknown } = { metadata: meta('web-http'), spec: { podSelector: { matchLabels: { app: 'web' } }, port: 'http' } };
const mtls: KubernetesObject & { spec: unknown } = { metadata: meta('only-a'), spec: { identities: ['a.shop.serviceaccount.identity.weft.cluster.local'] } };
const netAuth: KubernetesObject & { spec: unknown } = { metadata: meta('office'), spec: { networks: [{ cidr: '10.0.0.0/8' }] } };
const authz: KubernetesObject & { spec: unknown } = {
  metadata: meta('a-only'),
  spec: { targetRef: { group: 'policy.weft.dev', kind: 'Server', name: 'web-http' }, requiredAuthenticationRefs: [{ group: 'policy.weft.dev', kind: 'MeshTLSAuthentication', name: 'only-a' }] },
};
const policyRoute: KubernetesObject & { spec: unknown } = {
  metadata: meta('web-public'),
  spec: { parentRefs: [{ group: 'policy.weft.dev', kind: 'Server', name: 'web-http' }], rules: [{ matches: [{ path: { type: 'PathPrefix', value: '/public' } }] }] },
};
// A traffic-split route of a Service, with a header match the policy parser would refuse.
const splitRoute: KubernetesObject & { spec: unknown } = {
  metadata: meta('web-split'),
  spec: { parentRefs: [{ group: '', kind: 'Service', name: 'web' }], rules: [{ matches: [{ headers: [{ name: 'x-canary', value: '1' }] }], backendRefs: [{ name: 'web-v2', port: 80 }] }] },
};
const pod = (name: string, extra: Partial<V1Pod> = {}): V1Pod => ({
  metadata: { ...meta(name), labels: { app: 'web' }, annotations: { 'config.weft.dev/opaque-ports': '7000' } },
  spec: {
    containers: [
      { name: 'web', image: 'web', ports: [{ name: 'http', containerPort: 8080 }], readinessProbe: { httpGet: { path: '/ready', port: 'http' as unknown as number } } },
      { name: 'weft-proxy', image: 'weft', ports: [{ name: 'weft-proxy', containerPort: 4143 }], readinessProbe: { httpGet: { path: '/ready', port: 4191 } } },
    ],
  },
  status: { phase: 'Running', podIP: '10.0.0.7' },
  ...extra,
});
const ns = (name: string, annotations: Record<string, string> = {}): V1Namespace => ({ metadata: { name, annotations } });

const facts = (over: Partial<KubePolicyFacts> = {}): KubePolicyFacts => ({
  servers: [server],
  authorizationPolicies: [authz],
  meshTLSAuthentications: [mtls],
  networkAuthentications: [netAuth],
  httpRoutes: [policyRoute, splitRoute],
  pods: [pod('web-1')],
  namespaces: [ns('shop', { 'config.weft.dev/default-inbound-policy': 'deny' }), ns('default')],
  ...over,
});

const defaults: MeshPolicyDefaults = { ...MESH_POLICY_DEFAULTS, defaultInboundPolicy: 'cluster-authenticated' };

describe('policyModelFromKube', () => {
  it('reads every policy kind from list items that carry no apiVersion or kind', () => {
    const { model, warnings } = policyModelFromKube(facts(), defaults);
    assert.deepEqual(warnings, []);
    const r = model.resources;
    assert.deepEqual(r.servers.map((s) => [s.namespace, s.name, s.port]), [['shop', 'web-http', 'http']]);
    assert.deepEqual(r.authorizationPolicies.map((a) => [a.name, a.targetRef.kind, a.requiredAuthenticationRefs.map((x) => x.name)]), [['a-only', 'Server', ['only-a']]]);
    assert.deepEqual(r.meshTLSAuthentications.map((m) => m.identities), [['a.shop.serviceaccount.identity.weft.cluster.local']]);
    assert.deepEqual(r.networkAuthentications.map((n) => n.networks.map((x) => x.cidr.text)), [['10.0.0.0/8']]);
    assert.equal(model.meshDefaults, defaults);
  });

  it('only HTTPRoutes attached to a Server are policy routes; a Service route is not parsed (no warning for its header match)', () => {
    const { model, warnings } = policyModelFromKube(facts(), defaults);
    assert.deepEqual(model.resources.httpRoutes.map((h) => [h.name, h.group]), [['web-public', 'gateway.networking.k8s.io']]);
    assert.deepEqual(warnings, []);
    assert.equal(isPolicyRoute(policyRoute), true);
    assert.equal(isPolicyRoute(splitRoute), false);
    assert.equal(isPolicyRoute({ metadata: meta('x'), spec: { parentRefs: [{ kind: 'Server', name: 'web-http' }] } } as KubernetesObject), false, 'a parentRef without the policy group is a Gateway API Server kind, not ours');
  });

  it('a resource with a mistake is left out and named; the others still apply', () => {
    const bad = { metadata: meta('broken'), spec: { podSelector: {}, port: 70000 } };
    const { model, warnings } = policyModelFromKube(facts({ servers: [server, bad] }), defaults);
    assert.deepEqual(model.resources.servers.map((s) => s.name), ['web-http']);
    assert.equal(warnings.length, 1);
    assert.match(warnings[0]!, /^Server shop\/broken: spec\.port: .*ignored until it is fixed$/);
  });

  it('pods are workloads keyed namespace/name (labels, app ports, annotations, probes with named ports resolved); finished pods are left out', () => {
    const { model } = policyModelFromKube(facts({ pods: [pod('web-1'), pod('web-old', { status: { phase: 'Succeeded' } }), pod('web-err', { status: { phase: 'Failed' } })] }), defaults);
    assert.deepEqual([...model.workloads.keys()], ['shop/web-1']);
    const w = model.workloads.get('shop/web-1')!;
    assert.deepEqual(w.labels, { app: 'web' });
    assert.deepEqual(w.ports, [{ name: 'http', port: 8080 }], "the weft-proxy container's ports are not the app's");
    assert.deepEqual(w.probes, [{ port: 8080, path: '/ready' }]);
    assert.equal(w.annotations['config.weft.dev/opaque-ports'], '7000');
  });

  it('namespaces carry their annotations', () => {
    const { model } = policyModelFromKube(facts(), defaults);
    assert.deepEqual([...model.namespaces.entries()], [
      ['shop', { 'config.weft.dev/default-inbound-policy': 'deny' }],
      ['default', {}],
    ]);
  });

  it('the model does not depend on the order the informers delivered objects in (oldest first, then name)', () => {
    const s2 = { metadata: meta('web-admin', 'shop', '2025-06-01T00:00:00Z'), spec: { podSelector: {}, port: 9990 } };
    const s3 = { metadata: meta('aaa', 'shop', '2026-01-01T00:00:00Z'), spec: { podSelector: {}, port: 9991 } };
    const a = policyModelFromKube(facts({ servers: [server, s2, s3] }), defaults).model;
    const b = policyModelFromKube(facts({ servers: [s3, server, s2] }), defaults).model;
    assert.deepEqual(a.resources.servers.map((s) => s.name), ['web-admin', 'aaa', 'web-http']);
    assert.deepEqual(answerLine(a, { namespace: 'shop', name: 'web-1' }), answerLine(b, { namespace: 'shop', name: 'web-1' }));
  });

  it('compiles: the known pod facts win over the request, the namespace annotation sets the default', () => {
    const { model } = policyModelFromKube(facts(), defaults);
    const f = workloadFacts(model, { namespace: 'shop', name: 'web-1', labels: { app: 'other' } });
    assert.deepEqual(f.labels, { app: 'web' });
    const line = JSON.parse(answerLine(model, { namespace: 'shop', name: 'web-1' })) as { policy: { table: { defaultPolicy: string; defaultPolicySource: string; ports: { port: number; server: unknown }[] }; workload: { known: boolean } } };
    assert.equal(line.policy.workload.known, true);
    assert.equal(line.policy.table.defaultPolicy, 'deny');
    assert.equal(line.policy.table.defaultPolicySource, 'namespace');
    assert.deepEqual(line.policy.table.ports.map((p) => p.port), [8080], 'the Server port "http" resolved against the pod');
    const other = JSON.parse(answerLine(model, { namespace: 'default', name: 'x' })) as { policy: { table: { defaultPolicy: string }; workload: { known: boolean } } };
    assert.equal(other.policy.workload.known, false);
    assert.equal(other.policy.table.defaultPolicy, 'cluster-authenticated', 'no annotation: the mesh default given');
  });

  it("an injected pod's workload is its app: the native weft-proxy sidecar's ports and probes are left out", () => {
    const original = {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'web-1', namespace: 'shop', labels: { app: 'web' } },
      spec: { containers: [{ name: 'web', image: 'web', ports: [{ name: 'http', containerPort: 8080 }], livenessProbe: { httpGet: { path: '/live', port: 8080 } } }] },
    };
    const { patch } = inject(original, { metadata: { name: 'shop', annotations: { 'weft.dev/inject': 'enabled' } } }, { proxyImage: 'weft:dev', proxyVersion: 'dev', trustAnchorsPem: 'x' });
    const injected = jsonpatch.applyPatch(structuredClone(original), patch as Operation[]).newDocument as V1Pod;
    assert.ok(injected.spec?.initContainers?.some((c) => c.name === 'weft-proxy' && (c.ports?.length ?? 0) > 0), 'the injector added a proxy with ports');
    const w = policyModelFromKube(facts({ pods: [injected] }), defaults).model.workloads.get('shop/web-1')!;
    assert.deepEqual(w.ports, [{ name: 'http', port: 8080 }]);
    assert.deepEqual(w.probes, [{ port: 8080, path: '/live' }]);
  });
});
