// KubePolicySource against the fake API server: synced builds the first model from all seven
// informers, changes reach subscribers as new models, a burst of changes is coalesced into few
// rebuilds, and a bad resource is logged once (not at every rebuild) and again once fixed and broken.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { KubeConfig } from '@kubernetes/client-node';
import { MESH_POLICY_DEFAULTS } from '../../../mesh/control/policy/inbound-policy';
import type { PolicyModel } from '../../../mesh/control/policy/policy-model';
import { KubePolicySource } from '../../../mesh/platform/kube-policy-source';
import { findResourceType, kubeconfigYaml, startFakeKubeApi, type FakeKubeApi } from '../../fixtures/kube-api';

const T = {
  ns: findResourceType('', 'v1', 'namespaces')!,
  pod: findResourceType('', 'v1', 'pods')!,
  server: findResourceType('policy.weft.dev', 'v1beta1', 'servers')!,
  authz: findResourceType('policy.weft.dev', 'v1beta1', 'authorizationpolicies')!,
  mtls: findResourceType('policy.weft.dev', 'v1beta1', 'meshtlsauthentications')!,
  netauth: findResourceType('policy.weft.dev', 'v1beta1', 'networkauthentications')!,
  route: findResourceType('gateway.networking.k8s.io', 'v1', 'httproutes')!,
};

async function until(what: string, cond: () => boolean, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('KubePolicySource', () => {
  let api: FakeKubeApi;
  let source: KubePolicySource;
  const logs: string[] = [];
  before(async () => {
    api = await startFakeKubeApi({ namespaces: ['default', 'shop'] });
    api.store.patch(T.ns, '', 'shop', 'application/merge-patch+json', { metadata: { annotations: { 'config.weft.dev/default-inbound-policy': 'deny' } } });
    api.store.create(T.pod, 'shop', { metadata: { name: 'web-1', labels: { app: 'web' } }, spec: { containers: [{ name: 'web', image: 'web', ports: [{ name: 'http', containerPort: 8080 }] }] } });
    api.store.create(T.server, 'shop', { metadata: { name: 'web-http' }, spec: { podSelector: { matchLabels: { app: 'web' } }, port: 'http' } });
    api.store.create(T.mtls, 'shop', { metadata: { name: 'any' }, spec: { identities: ['*'] } });
    api.store.create(T.netauth, 'shop', { metadata: { name: 'lan' }, spec: { networks: [{ cidr: '10.0.0.0/8' }] } });
    api.store.create(T.authz, 'shop', { metadata: { name: 'mesh' }, spec: { targetRef: { group: 'policy.weft.dev', kind: 'Server', name: 'web-http' }, requiredAuthenticationRefs: [{ group: 'policy.weft.dev', kind: 'MeshTLSAuthentication', name: 'any' }] } });
    api.store.create(T.route, 'shop', { metadata: { name: 'web-public' }, spec: { parentRefs: [{ group: 'policy.weft.dev', kind: 'Server', name: 'web-http' }], rules: [{ matches: [{ path: { value: '/public' } }] }] } });
    const kc = new KubeConfig();
    kc.loadFromString(kubeconfigYaml({ server: api.url }));
    source = new KubePolicySource({ kubeConfig: kc, meshDefaults: MESH_POLICY_DEFAULTS, coalesceMs: 50, log: (_l, m) => void logs.push(m) });
    source.start();
  });
  after(async () => {
    await source.stop();
    await api.close();
  });

  it('the first model, once every informer synced, holds everything in the API', async () => {
    await source.synced;
    const m = source.current();
    const names = Object.fromEntries(Object.entries(m.resources).map(([k, v]) => [k, (v as { name: string }[]).map((x) => x.name)]));
    assert.deepEqual(names, { servers: ['web-http'], authorizationPolicies: ['mesh'], meshTLSAuthentications: ['any'], networkAuthentications: ['lan'], httpRoutes: ['web-public'] });
    assert.deepEqual([...m.workloads.keys()], ['shop/web-1']);
    assert.equal(m.namespaces.get('shop')?.['config.weft.dev/default-inbound-policy'], 'deny');
  });

  it('a change reaches subscribers as a new model (the old one untouched)', async () => {
    await source.synced;
    const before = source.current();
    let latest: PolicyModel | undefined;
    const off = source.subscribe((m) => (latest = m));
    api.store.create(T.pod, 'shop', { metadata: { name: 'web-2', labels: { app: 'web' } }, spec: { containers: [{ name: 'web', image: 'web' }] } });
    await until('the new pod', () => latest?.workloads.has('shop/web-2') === true);
    assert.equal(before.workloads.has('shop/web-2'), false);
    off();
  });

  it('a burst of changes is applied in few rebuilds, and the last state wins', async () => {
    await source.synced;
    const before = source.rebuilds;
    for (let n = 1; n <= 20; n++) api.store.patch(T.ns, '', 'default', 'application/merge-patch+json', { metadata: { annotations: { n: String(n) } } });
    await until('the 20th change', () => source.current().namespaces.get('default')?.['n'] === '20');
    const rebuilds = source.rebuilds - before;
    assert.ok(rebuilds >= 1 && rebuilds < 10, `20 changes made ${rebuilds} rebuilds`);
  });

  it('a bad resource is left out and logged once, however many rebuilds follow', async () => {
    await source.synced;
    api.store.create(T.server, 'shop', { metadata: { name: 'broken' }, spec: { podSelector: {}, port: 70000 } });
    const bad = (): number => logs.filter((l) => l.startsWith('Server shop/broken: spec.port')).length;
    await until('the warning', () => bad() === 1);
    const rebuilds = source.rebuilds;
    api.store.create(T.pod, 'shop', { metadata: { name: 'web-3' }, spec: { containers: [{ name: 'web', image: 'web' }] } });
    await until('another rebuild', () => source.rebuilds > rebuilds && source.current().workloads.has('shop/web-3'));
    assert.equal(bad(), 1);
    assert.deepEqual(source.current().resources.servers.map((s) => s.name), ['web-http']);
  });
});
