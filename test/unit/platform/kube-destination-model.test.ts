// The pure mapping from Kubernetes objects to the destination model, checked through the answers
// proxies get (resolveService), so that each rule is proven where it matters.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { V1EndpointSlice, V1Namespace, V1Pod, V1Service } from '@kubernetes/client-node';
import { meshModelFromKube, type HttpRoute, type KubeFacts } from '../../../mesh/platform/kube-destination-source';
import { resolveService, type ModelService } from '../../../mesh/control/destination/destination-model';

function pod(name: string, o: { ns?: string; sa?: string; meshed?: boolean | 'native'; proxyPort?: number; annotations?: Record<string, string>; ports?: { name: string; containerPort: number }[]; rs?: string; hash?: string } = {}): V1Pod {
  const proxy = { name: 'weft-proxy', image: 'weft', ports: o.proxyPort ? [{ name: 'weft-proxy', containerPort: o.proxyPort }] : [] };
  const app = { name: 'app', image: 'app', ports: o.ports ?? [] };
  return {
    metadata: {
      name,
      namespace: o.ns ?? 'shop',
      annotations: o.annotations ?? {},
      labels: o.hash ? { 'pod-template-hash': o.hash } : {},
      ...(o.rs ? { ownerReferences: [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: o.rs, uid: 'u', controller: true }] } : {}),
    },
    spec: {
      serviceAccountName: o.sa,
      containers: o.meshed === true ? [app, proxy] : [app],
      ...(o.meshed === 'native' ? { initContainers: [{ ...proxy, restartPolicy: 'Always' }] } : {}),
    },
  };
}

function service(name: string, ports: { name?: string; port: number; appProtocol?: string; protocol?: string }[], o: { ns?: string; ip?: string; annotations?: Record<string, string>; type?: string } = {}): V1Service {
  return { metadata: { name, namespace: o.ns ?? 'shop', annotations: o.annotations ?? {} }, spec: { type: o.type, clusterIP: o.ip ?? '10.96.0.10', clusterIPs: [o.ip ?? '10.96.0.10'], ports } };
}

function slice(svc: string, name: string, ports: { name?: string; port: number }[], eps: { ip: string; pod?: string; ready?: boolean; zone?: string }[], ns = 'shop'): V1EndpointSlice {
  return {
    metadata: { name, namespace: ns, labels: { 'kubernetes.io/service-name': svc } },
    addressType: 'IPv4',
    ports,
    endpoints: eps.map((e) => ({ addresses: [e.ip], conditions: { ready: e.ready ?? true }, ...(e.pod ? { targetRef: { kind: 'Pod', name: e.pod, namespace: ns } } : {}), ...(e.zone ? { zone: e.zone } : {}) })),
  };
}

const ns = (name: string, annotations: Record<string, string> = {}): V1Namespace => ({ metadata: { name, annotations } });

function facts(p: Partial<KubeFacts>): KubeFacts {
  return { services: [], endpointSlices: [], pods: [], namespaces: [ns('shop')], httpRoutes: [], ...p };
}

function byAuthority(f: KubeFacts): Map<string, ModelService> {
  return new Map(meshModelFromKube(f).model.services.map((s) => [s.authority, s]));
}

const answer = (f: KubeFacts, authority: string) => {
  const s = byAuthority(f).get(authority);
  assert.ok(s, `no answer for ${authority}`);
  return resolveService(s);
};

describe('meshModelFromKube: services and endpoints', () => {
  const base = facts({
    services: [service('web', [{ name: 'http', port: 80 }, { name: 'admin', port: 9000 }])],
    endpointSlices: [
      slice('web', 'web-a', [{ name: 'http', port: 8080 }, { name: 'admin', port: 9001 }], [{ ip: '10.0.0.1', pod: 'web-1' }, { ip: '10.0.0.2', pod: 'web-2' }, { ip: '10.0.0.3', pod: 'web-3', ready: false }]),
      // A second slice repeating one endpoint (as during a slice migration) and adding an unmeshed one.
      slice('web', 'web-b', [{ name: 'http', port: 8080 }], [{ ip: '10.0.0.2', pod: 'web-2' }, { ip: '10.0.0.4', pod: 'legacy' }]),
    ],
    pods: [pod('web-1', { sa: 'web', meshed: true, rs: 'web-5d8f9', hash: '5d8f9' }), pod('web-2', { sa: 'web', meshed: 'native', proxyPort: 14143 }), pod('web-3', { sa: 'web', meshed: true }), pod('legacy', {})],
  });

  it('answers every name of the Service port and its ClusterIP', () => {
    const names = [...byAuthority(base).keys()].sort();
    assert.deepEqual(names, ['10.96.0.10:80', '10.96.0.10:9000', 'web.shop.svc.cluster.local:80', 'web.shop.svc.cluster.local:9000', 'web.shop.svc:80', 'web.shop.svc:9000', 'web.shop:80', 'web.shop:9000'].sort());
    assert.deepEqual(answer(base, '10.96.0.10:80'), answer(base, 'web.shop.svc.cluster.local:80'));
  });

  it('ready endpoints of the matching slice port; meshed ones at their proxy with the ServiceAccount identity, others at the app', () => {
    const eps = answer(base, 'web.shop.svc.cluster.local:80').endpoints;
    assert.deepEqual(
      eps.map((e) => [`${e.addr.host}:${e.addr.port}`, e.targetPort, e.identity]),
      [
        ['10.0.0.1:4143', 8080, 'web.shop.serviceaccount.identity.weft.cluster.local'],
        ['10.0.0.2:14143', 8080, 'web.shop.serviceaccount.identity.weft.cluster.local'],
        ['10.0.0.4:8080', 8080, undefined],
      ],
    );
    assert.deepEqual(eps[0]!.labels, { pod: 'web-1', serviceaccount: 'web', deployment: 'web', replicaset: 'web-5d8f9' });
    assert.equal(eps[2]!.labels['serviceaccount'], 'default', 'a pod without serviceAccountName runs as default');
    const admin = answer(base, 'web.shop:9000').endpoints;
    assert.deepEqual(admin.map((e) => e.targetPort), [9001, 9001], 'the admin port comes only from the slice that names it');
  });

  it('a pod without the weft-proxy container gets no identity; the default ServiceAccount is "default"', () => {
    const f = facts({ services: [service('db', [{ port: 5000 }])], endpointSlices: [slice('db', 'db', [{ port: 5000 }], [{ ip: '10.0.1.1', pod: 'db-0' }])], pods: [pod('db-0', { meshed: true })] });
    assert.equal(answer(f, 'db.shop:5000').endpoints[0]!.identity, 'default.shop.serviceaccount.identity.weft.cluster.local');
    const unmeshed = facts({ ...f, pods: [pod('db-0', {})] });
    assert.equal(answer(unmeshed, 'db.shop:5000').endpoints[0]!.identity, undefined);
  });

  it('trust and cluster domains are options', () => {
    const f = facts({ services: [service('db', [{ port: 5000 }])], endpointSlices: [slice('db', 'db', [{ port: 5000 }], [{ ip: '10.0.1.1', pod: 'db-0' }])], pods: [pod('db-0', { meshed: true, sa: 'db' })] });
    const m = meshModelFromKube(f, { clusterDomain: 'corp.example', trustDomain: 'example.org' }).model.services;
    assert.ok(m.some((s) => s.authority === 'db.shop.svc.corp.example:5000'));
    assert.equal(m[0]!.endpoints[0]!.identity, 'db.shop.serviceaccount.identity.weft.example.org');
  });

  it('headless Services have no ClusterIP name; ExternalName Services and UDP ports are skipped', () => {
    const f = facts({ services: [service('h', [{ port: 80 }], { ip: 'None' }), service('ext', [{ port: 80 }], { type: 'ExternalName' }), service('dns', [{ port: 53, protocol: 'UDP' }, { port: 53, name: 'tcp', protocol: 'TCP' }])] });
    assert.deepEqual([...byAuthority(f).keys()].sort(), ['10.96.0.10:53', 'dns.shop.svc.cluster.local:53', 'dns.shop.svc:53', 'dns.shop:53', 'h.shop.svc.cluster.local:80', 'h.shop.svc:80', 'h.shop:80'].sort());
  });

  it('the same facts in another order give the same answers', () => {
    const shuffled = facts({ ...base, endpointSlices: [...base.endpointSlices].reverse(), pods: [...base.pods].reverse() });
    assert.equal(JSON.stringify(answer(shuffled, 'web.shop:80')), JSON.stringify(answer(base, 'web.shop:80')));
  });
});

describe('meshModelFromKube: protocol hints and opaque ports', () => {
  const mk = (o: { svcAnn?: Record<string, string>; podAnn?: Record<string, string>; nsAnn?: Record<string, string>; appProtocol?: string }) =>
    facts({
      namespaces: [ns('shop', o.nsAnn)],
      services: [service('db', [{ name: 'sql', port: 3307, appProtocol: o.appProtocol }, { name: 'web', port: 80 }], { annotations: o.svcAnn })],
      endpointSlices: [slice('db', 'db', [{ name: 'sql', port: 13306 }, { name: 'web', port: 8080 }], [{ ip: '10.0.2.1', pod: 'db-0' }])],
      pods: [pod('db-0', { meshed: true, annotations: o.podAnn, ports: [{ name: 'mysql', containerPort: 13306 }] })],
    });

  it('no annotation: the default opaque list (3307 is not in it)', () => {
    const a = answer(mk({}), 'db.shop:3307');
    assert.equal(a.profile.opaque, false);
    assert.equal(a.endpoints[0]!.protocolHint, undefined);
  });

  it('the Service annotation, by port name, makes the port opaque', () => {
    const a = answer(mk({ svcAnn: { 'config.weft.dev/opaque-ports': 'sql' } }), 'db.shop:3307');
    assert.equal(a.profile.opaque, true);
    assert.equal(a.endpoints[0]!.protocolHint, 'opaque');
    assert.equal(answer(mk({ svcAnn: { 'config.weft.dev/opaque-ports': 'sql' } }), 'db.shop:80').profile.opaque, false);
  });

  it("Linkerd's key and the namespace's annotation are honoured", () => {
    assert.equal(answer(mk({ svcAnn: { 'config.linkerd.io/opaque-ports': '3307' } }), 'db.shop:3307').profile.opaque, true);
    const viaNs = answer(mk({ nsAnn: { 'config.weft.dev/opaque-ports': '3307,13306' } }), 'db.shop:3307');
    assert.equal(viaNs.profile.opaque, true);
  });

  it("the pod's annotation (a container port name) marks the endpoint opaque even when the Service is not", () => {
    const a = answer(mk({ podAnn: { 'config.weft.dev/opaque-ports': 'mysql' } }), 'db.shop:3307');
    assert.equal(a.profile.opaque, false);
    assert.equal(a.endpoints[0]!.protocolHint, 'opaque');
  });

  it('appProtocol gives the h2 hint', () => {
    assert.equal(answer(mk({ appProtocol: 'kubernetes.io/h2c' }), 'db.shop:3307').endpoints[0]!.protocolHint, 'h2');
  });

  it('a malformed annotation falls back to the defaults with a warning naming the object', () => {
    const r = meshModelFromKube(mk({ svcAnn: { 'config.weft.dev/opaque-ports': 'nope' } }));
    assert.ok(r.warnings.some((w) => w.includes('service shop/db') && w.includes('"nope"')), r.warnings.join('\n'));
  });
});

describe('meshModelFromKube: HTTPRoute splits, retries and timeouts', () => {
  const route = (name: string, o: { parent?: string; port?: number; ns?: string; created?: string; rules?: NonNullable<HttpRoute['spec']>['rules']; annotations?: Record<string, string> } = {}): HttpRoute => ({
    apiVersion: 'gateway.networking.k8s.io/v1',
    kind: 'HTTPRoute',
    metadata: { name, namespace: o.ns ?? 'shop', creationTimestamp: (o.created ?? '2024-01-01T00:00:00Z') as unknown as Date, annotations: o.annotations ?? {} },
    spec: {
      parentRefs: [{ group: '', kind: 'Service', name: o.parent ?? 'voting', ...(o.port ? { port: o.port } : {}) }],
      rules: o.rules ?? [{ backendRefs: [{ name: 'voting', port: 8080, weight: 90 }, { name: 'voting-canary', port: 8080, weight: 10 }], timeouts: { request: '3s', backendRequest: '1s' } }],
    },
  });
  const withRoutes = (routes: HttpRoute[], svcAnn: Record<string, string> = {}) => facts({ services: [service('voting', [{ port: 8080 }], { annotations: svcAnn })], httpRoutes: routes });

  it('backendRefs become weighted backends by FQDN; rule timeouts become the profile timeouts', () => {
    const p = answer(withRoutes([route('split')]), 'voting.shop:8080').profile;
    assert.deepEqual(p.backends, [
      { authority: 'voting.shop.svc.cluster.local:8080', weight: 90 },
      { authority: 'voting-canary.shop.svc.cluster.local:8080', weight: 10 },
    ]);
    assert.deepEqual(p.timeouts, { requestMs: 3000, responseMs: 1000 });
  });

  it('retry and timeout annotations of the Service, overridden by the route', () => {
    const svcAnn = { 'retry.weft.dev/http': '5xx,429', 'retry.weft.dev/limit': '3', 'timeout.weft.dev/idle': '30s', 'timeout.weft.dev/request': '9s' };
    const plain = answer(withRoutes([], svcAnn), 'voting.shop:8080').profile;
    assert.deepEqual(plain.retry, { limit: 3, http: ['5xx', '429'], grpc: [], timeoutMs: 0 });
    assert.deepEqual(plain.timeouts, { requestMs: 9000, idleMs: 30_000 });
    const routed = answer(withRoutes([route('r', { annotations: { 'retry.weft.dev/limit': '5' }, rules: [{ backendRefs: [{ name: 'voting', port: 8080 }] }] })], svcAnn), 'voting.shop:8080').profile;
    assert.equal(routed.retry?.limit, 5);
    assert.deepEqual(routed.backends, [{ authority: 'voting.shop.svc.cluster.local:8080', weight: 1 }], 'weight defaults to 1');
  });

  it('only a catch-all rule splits; a path-only route is reported and ignored', () => {
    const pathOnly = route('p', { rules: [{ matches: [{ path: { type: 'PathPrefix', value: '/api' } }], backendRefs: [{ name: 'voting-canary', port: 8080 }] }] });
    const r = meshModelFromKube(withRoutes([pathOnly]));
    assert.equal(resolveService(r.model.services[0]!).profile.backends, undefined);
    assert.ok(r.warnings.some((w) => w.includes('httproute shop/p')));
    const slash = route('s', { rules: [{ matches: [{ path: { type: 'PathPrefix', value: '/api' } }], backendRefs: [{ name: 'a', port: 1 }] }, { matches: [{ path: { value: '/' } }], backendRefs: [{ name: 'b', port: 2 }] }] });
    assert.deepEqual(answer(withRoutes([slash]), 'voting.shop:8080').profile.backends, [{ authority: 'b.shop.svc.cluster.local:2', weight: 1 }]);
  });

  it('routes of another namespace, another Service, a Gateway parent or another port do not apply', () => {
    const others = [route('x', { ns: 'other' }), route('y', { parent: 'web' }), route('z', { port: 9999 }), { ...route('g'), spec: { ...route('g').spec, parentRefs: [{ name: 'voting' }] } }];
    assert.equal(answer(withRoutes(others), 'voting.shop:8080').profile.backends, undefined);
    assert.ok(answer(withRoutes([route('w', { port: 8080 })]), 'voting.shop:8080').profile.backends);
  });

  it('of two routes for the same port, the oldest wins', () => {
    const older = route('b-older', { created: '2023-01-01T00:00:00Z', rules: [{ backendRefs: [{ name: 'old', port: 1 }] }] });
    const newer = route('a-newer', { created: '2024-06-01T00:00:00Z', rules: [{ backendRefs: [{ name: 'new', port: 1 }] }] });
    assert.deepEqual(answer(withRoutes([newer, older]), 'voting.shop:8080').profile.backends, [{ authority: 'old.shop.svc.cluster.local:1', weight: 1 }]);
  });
});
