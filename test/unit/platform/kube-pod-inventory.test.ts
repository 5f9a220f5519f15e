// The metrics API's Kubernetes inventory: the pure mapping of pods to scrape targets (workload from
// the owner, Deployment through the ReplicaSet's pod-template-hash, meshed = weft-proxy container,
// admin at podIP:<weft-admin port>, identity from the ServiceAccount, pods without IP or finished
// left out), and KubePodInventory following the fake API server.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { KubeConfig, type V1Container, type V1OwnerReference, type V1Pod } from '@kubernetes/client-node';
import jsonpatch, { type Operation } from 'fast-json-patch';
import { inject } from '../../../mesh/control/injector/injector';
import { podWorkload, proxyAdminPort, scrapeTargetsFromPods, KubePodInventory } from '../../../mesh/platform/kube-pod-inventory';
import { findResourceType, kubeconfigYaml, startFakeKubeApi, type KubeObject } from '../../fixtures/kube-api';

const owner = (kind: string, name: string, controller = true): V1OwnerReference => ({ apiVersion: 'apps/v1', kind, name, uid: `${name}-uid`, controller });
const proxy = (ports: V1Container['ports'] = [{ name: 'weft-proxy', containerPort: 4143 }, { name: 'weft-admin', containerPort: 4191 }]): V1Container => ({ name: 'weft-proxy', image: 'weft', ports });

function pod(name: string, o: { ns?: string; owners?: V1OwnerReference[]; hash?: string; meshed?: boolean | 'native'; proxyPorts?: V1Container['ports']; ip?: string | null; phase?: string; sa?: string } = {}): V1Pod {
  const containers: V1Container[] = [{ name: 'app', image: 'app' }];
  const initContainers: V1Container[] = [];
  if (o.meshed === 'native') initContainers.push({ ...proxy(o.proxyPorts), restartPolicy: 'Always' });
  else if (o.meshed) containers.push(proxy(o.proxyPorts));
  return {
    metadata: { name, namespace: o.ns ?? 'shop', ownerReferences: o.owners, labels: o.hash ? { 'pod-template-hash': o.hash } : {} },
    spec: { containers, initContainers, serviceAccountName: o.sa },
    status: { phase: o.phase ?? 'Running', ...(o.ip === null ? {} : { podIP: o.ip ?? '10.0.0.9' }) },
  };
}

describe('podWorkload', () => {
  it('a ReplicaSet owner with the pod-template-hash suffix is its Deployment', () => {
    assert.equal(podWorkload(pod('web-5d8f7c9b4-x2x9q', { owners: [owner('ReplicaSet', 'web-5d8f7c9b4')], hash: '5d8f7c9b4' })), 'web');
  });
  it('a ReplicaSet without the hash label (or whose name does not end with it) stays itself', () => {
    assert.equal(podWorkload(pod('rs-abc', { owners: [owner('ReplicaSet', 'hand-made-rs')] })), 'hand-made-rs');
    assert.equal(podWorkload(pod('rs-abc', { owners: [owner('ReplicaSet', 'hand-made-rs')], hash: '123' })), 'hand-made-rs');
  });
  it('StatefulSet, DaemonSet and Job owners by name; the controller owner wins; a bare pod is itself', () => {
    assert.equal(podWorkload(pod('db-0', { owners: [owner('StatefulSet', 'db')] })), 'db');
    assert.equal(podWorkload(pod('agent-x', { owners: [owner('DaemonSet', 'agent')] })), 'agent');
    assert.equal(podWorkload(pod('m-1', { owners: [owner('ConfigMap', 'not-controller', false), owner('Job', 'migrate')] })), 'migrate');
    assert.equal(podWorkload(pod('debug')), 'debug');
  });
});

describe('proxyAdminPort', () => {
  it("is the weft-proxy container's weft-admin port (plain or native sidecar), else 4191", () => {
    assert.equal(proxyAdminPort(pod('a', { meshed: true, proxyPorts: [{ name: 'weft-admin', containerPort: 9191 }] })), 9191);
    assert.equal(proxyAdminPort(pod('a', { meshed: 'native', proxyPorts: [{ name: 'weft-admin', containerPort: 9192 }] })), 9192);
    assert.equal(proxyAdminPort(pod('a', { meshed: true, proxyPorts: [{ name: 'weft-proxy', containerPort: 4143 }] })), 4191);
    assert.equal(proxyAdminPort(pod('a', { meshed: true, proxyPorts: [] })), 4191);
  });
});

describe('scrapeTargetsFromPods', () => {
  it('meshed pods get admin and identity, unmeshed ones neither; pods without IP and finished pods are left out; sorted', () => {
    const targets = scrapeTargetsFromPods([
      pod('web-5d8f7-b', { owners: [owner('ReplicaSet', 'web-5d8f7')], hash: '5d8f7', meshed: true, sa: 'web', ip: '10.0.0.2' }),
      pod('web-5d8f7-a', { owners: [owner('ReplicaSet', 'web-5d8f7')], hash: '5d8f7', meshed: 'native', sa: 'web', ip: 'fd00::1' }),
      pod('plain-0', { owners: [owner('StatefulSet', 'plain')], ip: '10.0.0.3' }),
      pod('pending', { meshed: true, ip: null, phase: 'Pending' }),
      pod('done', { meshed: true, phase: 'Succeeded' }),
      pod('crashed', { meshed: true, phase: 'Failed' }),
      pod('api-0', { ns: 'api', meshed: true, proxyPorts: [{ name: 'weft-admin', containerPort: 14191 }], ip: '10.0.1.1' }),
    ]);
    assert.deepEqual(targets, [
      { namespace: 'api', workload: 'api-0', pod: 'api-0', admin: '10.0.1.1:14191', identity: 'default.api.serviceaccount.identity.weft.cluster.local' },
      { namespace: 'shop', workload: 'plain', pod: 'plain-0' },
      { namespace: 'shop', workload: 'web', pod: 'web-5d8f7-a', admin: '[fd00::1]:4191', identity: 'web.shop.serviceaccount.identity.weft.cluster.local' },
      { namespace: 'shop', workload: 'web', pod: 'web-5d8f7-b', admin: '10.0.0.2:4191', identity: 'web.shop.serviceaccount.identity.weft.cluster.local' },
    ]);
  });
  it('the trust domain is configurable', () => {
    assert.equal(scrapeTargetsFromPods([pod('a', { meshed: true, sa: 'x' })], { trustDomain: 'example.org' })[0]!.identity, 'x.shop.serviceaccount.identity.weft.example.org');
  });
});

describe('KubePodInventory', () => {
  it('lists the pods, then follows adds, IP changes and deletes', async () => {
    const T = findResourceType('', 'v1', 'pods')!;
    const api = await startFakeKubeApi({ namespaces: ['shop'] });
    const kc = new KubeConfig();
    kc.loadFromString(kubeconfigYaml({ server: api.url }));
    const inv = new KubePodInventory({ kubeConfig: kc });
    try {
      api.store.create(T, 'shop', pod('web-1', { meshed: true, ip: '10.0.0.1' }) as KubeObject);
      inv.start();
      await inv.synced;
      assert.deepEqual(inv.targets().map((t) => [t.pod, t.admin]), [['web-1', '10.0.0.1:4191']]);
      api.store.create(T, 'shop', pod('web-2', { meshed: true, ip: null, phase: 'Pending' }) as KubeObject);
      api.store.patch(T, 'shop', 'web-2', 'application/merge-patch+json', { status: { phase: 'Running', podIP: '10.0.0.2' } });
      const until = async (want: string, ms = 10_000): Promise<void> => {
        const end = Date.now() + ms;
        while (JSON.stringify(inv.targets().map((t) => [t.pod, t.admin])) !== want) {
          if (Date.now() > end) assert.fail(`inventory is ${JSON.stringify(inv.targets())}, want ${want}`);
          await new Promise((r) => setTimeout(r, 20));
        }
      };
      await until(JSON.stringify([['web-1', '10.0.0.1:4191'], ['web-2', '10.0.0.2:4191']]));
      api.store.delete(T, 'shop', 'web-1');
      await until(JSON.stringify([['web-2', '10.0.0.2:4191']]));
    } finally {
      await inv.stop();
      await api.close();
    }
  });
});

describe('an injected pod (the injector and the inventory agree on the admin port)', () => {
  it("a pod patched by the injector is meshed and scraped at podIP:4191, the injector's weft-admin port", () => {
    const original = {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'web-5d8f7-x', namespace: 'shop', labels: { 'pod-template-hash': '5d8f7' }, ownerReferences: [owner('ReplicaSet', 'web-5d8f7')] },
      spec: { serviceAccountName: 'web', containers: [{ name: 'web', image: 'web', ports: [{ name: 'http', containerPort: 8080 }] }] },
    };
    const { patch } = inject(original, { metadata: { name: 'shop', annotations: { 'weft.dev/inject': 'enabled' } } }, { proxyImage: 'weft:dev', proxyVersion: 'dev', trustAnchorsPem: 'x' });
    assert.ok(patch.length > 0, 'the injector injected');
    const injected = jsonpatch.applyPatch(structuredClone(original), patch as Operation[]).newDocument as V1Pod;
    injected.status = { phase: 'Running', podIP: '10.1.2.3' };
    assert.deepEqual(scrapeTargetsFromPods([injected]), [{ namespace: 'shop', workload: 'web', pod: 'web-5d8f7-x', admin: '10.1.2.3:4191', identity: 'web.shop.serviceaccount.identity.weft.cluster.local' }]);
  });
});
