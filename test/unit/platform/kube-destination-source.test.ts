// KubeDestinationSource against the fake API server: synced builds the first model from all five
// informers, changes reach subscribers, and a burst of changes is coalesced into few rebuilds.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { KubeConfig } from '@kubernetes/client-node';
import { KubeDestinationSource } from '../../../mesh/platform/kube-destination-source';
import { resolveService, type MeshModel } from '../../../mesh/control/destination/destination-model';
import { findResourceType, kubeconfigYaml, startFakeKubeApi, type FakeKubeApi } from '../../fixtures/kube-api';

const T = {
  svc: findResourceType('', 'v1', 'services')!,
  pod: findResourceType('', 'v1', 'pods')!,
  slice: findResourceType('discovery.k8s.io', 'v1', 'endpointslices')!,
  route: findResourceType('gateway.networking.k8s.io', 'v1', 'httproutes')!,
  ns: findResourceType('', 'v1', 'namespaces')!,
};

async function until(what: string, cond: () => boolean, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const find = (m: MeshModel, authority: string) => {
  const s = m.services.find((x) => x.authority === authority);
  return s ? resolveService(s) : undefined;
};

describe('KubeDestinationSource', () => {
  let api: FakeKubeApi;
  let source: KubeDestinationSource;
  before(async () => {
    api = await startFakeKubeApi({ namespaces: ['default', 'shop'] });
    api.store.create(T.svc, 'shop', { metadata: { name: 'web' }, spec: { clusterIP: '10.96.1.1', ports: [{ name: 'http', port: 80 }] } });
    api.store.create(T.pod, 'shop', { metadata: { name: 'web-1' }, spec: { serviceAccountName: 'web', containers: [{ name: 'app', image: 'x' }, { name: 'weft-proxy', image: 'weft' }] } });
    api.store.create(T.slice, 'shop', {
      metadata: { name: 'web-abc', labels: { 'kubernetes.io/service-name': 'web' } },
      addressType: 'IPv4',
      ports: [{ name: 'http', port: 8080 }],
      endpoints: [{ addresses: ['10.0.0.1'], conditions: { ready: true }, targetRef: { kind: 'Pod', name: 'web-1', namespace: 'shop' } }],
    });
    const kc = new KubeConfig();
    kc.loadFromString(kubeconfigYaml({ server: api.url }));
    source = new KubeDestinationSource({ kubeConfig: kc, coalesceMs: 50 });
    source.start();
  });
  after(async () => {
    await source.stop();
    await api.close();
  });

  it('the first model, after every informer synced, has the endpoint with its identity', async () => {
    await source.synced;
    const a = find(source.current(), 'web.shop.svc.cluster.local:80');
    assert.deepEqual(a?.endpoints.map((e) => [e.addr.host, e.addr.port, e.targetPort, e.identity]), [['10.0.0.1', 4143, 8080, 'web.shop.serviceaccount.identity.weft.cluster.local']]);
    assert.ok(find(source.current(), '10.96.1.1:80'));
  });

  it('an HTTPRoute created later reaches subscribers as a split', async () => {
    await source.synced;
    let latest: MeshModel | undefined;
    const off = source.subscribe((m) => (latest = m));
    api.store.create(T.route, 'shop', {
      metadata: { name: 'web-split' },
      spec: { parentRefs: [{ group: '', kind: 'Service', name: 'web' }], rules: [{ backendRefs: [{ name: 'web', port: 80, weight: 3 }, { name: 'web-v2', port: 80, weight: 1 }] }] },
    });
    await until('the split', () => latest !== undefined && find(latest, 'web.shop:80')?.profile.backends?.length === 2);
    off();
  });

  it('a burst of changes is applied in few rebuilds, and the last state wins', async () => {
    await source.synced;
    const before = source.rebuilds;
    const endpoints = (n: number) => Array.from({ length: n }, (_, i) => ({ addresses: [`10.0.1.${i + 1}`], conditions: { ready: true } }));
    for (let n = 1; n <= 20; n++) {
      api.store.patch(T.slice, 'shop', 'web-abc', 'application/merge-patch+json', { endpoints: endpoints(n) });
    }
    await until('all 20 endpoints', () => find(source.current(), 'web.shop:80')?.endpoints.length === 20);
    const rebuilds = source.rebuilds - before;
    assert.ok(rebuilds >= 1 && rebuilds < 10, `20 changes made ${rebuilds} rebuilds`);
  });
});
