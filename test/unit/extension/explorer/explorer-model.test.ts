// What the Weft explorer shows for given API answers: roots, meshed badges, labels, descriptions,
// tooltips, icons, contextValues and sorting; the welcome-view state when nothing is reachable.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  CONTEXT_VALUES,
  explorerDescription,
  explorerRoots,
  explorerState,
  findNode,
  formatRps,
  formatSuccessRate,
  namespaceNode,
  podNode,
  selects,
  workloadNode,
  type ExplorerInput,
  type LocalInput,
  type WorkloadStats,
} from '../../../../extension/explorer/explorer-model';
import { connected, deployment, ns, pod } from './fixtures';

const none = new Map<string, WorkloadStats>();
const input = (p: Partial<ExplorerInput>): ExplorerInput => ({ cluster: undefined, local: undefined, clusterStats: none, localStats: none, ...p });

describe('explorer model: the cluster tree', () => {
  const cluster = connected({
    namespaces: [ns('shop', 'enabled'), ns('default'), ns('weft'), ns('legacy', 'disabled'), ns('billing')],
    deployments: [deployment('shop', 'web', 2), deployment('shop', 'api'), deployment('billing', 'ledger')],
    pods: [
      pod('shop', 'web-7d9f-b', 'web', { meshed: true }),
      pod('shop', 'web-7d9f-a', 'web', { meshed: true, proxyReady: false }),
      pod('shop', 'api-55c-x', 'api'),
      pod('billing', 'ledger-1', 'ledger'),
      pod('weft', 'weft-identity-1', 'weft-identity'),
    ],
  });

  it('the root is the context, expanded, with how many namespaces are meshed', () => {
    const [root] = explorerRoots(input({ cluster }));
    assert.equal(root.label, 'kind-weft');
    assert.equal(root.collapsible, 'expanded');
    assert.equal(root.contextValue, CONTEXT_VALUES.cluster);
    assert.equal(root.description, '1/5 ns meshed');
    assert.match(root.tooltip ?? '', /Server: https:\/\/127\.0\.0\.1:6443/);
    assert.match(root.tooltip ?? '', /Control plane: namespace `weft`/);
  });

  it('says when the mesh is not installed (no weft namespace)', () => {
    const [root] = explorerRoots(input({ cluster: connected({ namespaces: [ns('default')] }) }));
    assert.equal(root.description, '0/1 ns meshed · mesh not installed');
    assert.match(root.tooltip ?? '', /Mesh: Install Mesh/);
  });

  it('namespaces are sorted by name and carry their meshed badge and contextValue', () => {
    const [root] = explorerRoots(input({ cluster }));
    assert.deepEqual(root.children.map((n) => n.label), ['billing', 'default', 'legacy', 'shop', 'weft']);
    const shop = findNode([root], 'ns:shop');
    assert.ok(shop);
    assert.equal(shop.contextValue, CONTEXT_VALUES.namespaceMeshed);
    assert.deepEqual(shop.icon, { id: 'shield', color: 'charts.green' });
    // One pod of three has no proxy yet: the namespace says a restart is due.
    assert.equal(shop.description, 'meshed · 1 pod to restart');
    assert.deepEqual(shop.ref, { namespace: 'shop' });
    const billing = findNode([root], 'ns:billing');
    assert.equal(billing?.contextValue, CONTEXT_VALUES.namespaceUnmeshed);
    assert.equal(billing?.description, '');
    assert.deepEqual(billing?.icon, { id: 'symbol-namespace' });
    assert.equal(findNode([root], 'ns:legacy')?.description, 'injection disabled');
    assert.equal(findNode([root], 'ns:legacy')?.contextValue, CONTEXT_VALUES.namespaceUnmeshed);
    assert.equal(findNode([root], 'ns:weft')?.description, 'control plane');
    assert.equal(findNode([root], 'ns:default')?.collapsible, 'none', 'no workloads: nothing to expand');
  });

  it('a namespace whose annotation was removed but whose pods still run the proxy says so', () => {
    const c = connected({ namespaces: [ns('shop')], deployments: [deployment('shop', 'web')], pods: [pod('shop', 'web-1', 'web', { meshed: true })] });
    const n = namespaceNode(ns('shop'), c, none);
    assert.equal(n.description, '1 meshed pod');
    assert.match(n.tooltip ?? '', /Injection: not enabled \(run "Mesh: Inject Namespace"\)/);
  });

  it('workloads show meshed/total pods, are sorted, and pass {namespace, name, kind} to commands', () => {
    const shop = findNode(explorerRoots(input({ cluster })), 'ns:shop');
    assert.deepEqual(shop?.children.map((w) => [w.label, w.description]), [
      ['api', '0/1 meshed'],
      ['web', '2/2 meshed'],
    ]);
    const web = findNode(explorerRoots(input({ cluster })), 'wl:shop/web');
    assert.deepEqual(web?.ref, { namespace: 'shop', name: 'web', kind: 'Deployment' });
    assert.equal(web?.contextValue, CONTEXT_VALUES.workload);
    assert.deepEqual(web?.icon, { id: 'pass', color: 'charts.green' });
    assert.deepEqual(findNode(explorerRoots(input({ cluster })), 'wl:shop/api')?.icon, { id: 'circle-outline' });
    assert.match(web?.tooltip ?? '', /Replicas: 2\/2 ready/);
    assert.match(web?.tooltip ?? '', /Metrics: none yet/);
  });

  it('workloads add success rate and RPS from the metrics API; a failing one is red', () => {
    const stats = new Map<string, WorkloadStats>([
      ['shop/web', { successRate: 0.9876, rps: 12.34, p99Ms: 41.2 }],
      ['shop/api', { successRate: 0.5, rps: 0.04 }],
      ['billing/ledger', { successRate: 0.995, rps: 3 }],
    ]);
    const roots = explorerRoots(input({ cluster, clusterStats: stats }));
    const web = findNode(roots, 'wl:shop/web');
    assert.equal(web?.description, '2/2 meshed · 98.8% · 12 rps');
    assert.match(web?.tooltip ?? '', /Success rate: \*\*98\.8%\*\*/);
    assert.match(web?.tooltip ?? '', /Latency p99: 41\.2 ms/);
    const api = findNode(roots, 'wl:shop/api');
    assert.equal(api?.description, '0/1 meshed · 50.0% · <0.1 rps');
    assert.deepEqual(api?.icon, { id: 'error', color: 'charts.red' });
    // Under 99 % failing (red) as in the metrics view, whatever its pods; under 99.9 % degraded (yellow).
    assert.deepEqual(web?.icon, { id: 'error', color: 'charts.red' });
    assert.deepEqual(findNode(roots, 'wl:billing/ledger')?.icon, { id: 'warning', color: 'charts.yellow' });
  });

  it('a workload with stats but no traffic says so', () => {
    const w = workloadNode(deployment('shop', 'web'), [pod('shop', 'web-1', 'web', { meshed: true })], { successRate: undefined, rps: 0 });
    assert.equal(w.description, '1/1 meshed · no traffic');
  });

  it('pods show proxy readiness and identity; phase when not running', () => {
    const ready = podNode(pod('shop', 'web-1', 'web', { meshed: true, sa: 'web-sa' }));
    assert.equal(ready.description, 'proxy ready');
    assert.deepEqual(ready.icon, { id: 'pass-filled', color: 'charts.green' });
    assert.match(ready.tooltip ?? '', /Identity: `web-sa\.shop\.serviceaccount\.identity\.weft\.cluster\.local`/);
    assert.equal(ready.contextValue, CONTEXT_VALUES.pod);
    assert.equal(podNode(pod('shop', 'web-2', 'web', { meshed: true, proxyReady: false, phase: 'Pending' })).description, 'proxy not ready · pending');
    const plain = podNode(pod('shop', 'web-3', 'web'));
    assert.equal(plain.description, 'no proxy');
    assert.doesNotMatch(plain.tooltip ?? '', /Identity/);
    // The proxy as a native sidecar (an init container with restartPolicy Always) counts too.
    assert.equal(podNode(pod('shop', 'web-4', 'web', { meshed: true, native: true })).description, 'proxy ready');
  });

  it('pods belong to the deployment whose selector matches, in its namespace only, sorted', () => {
    const w = workloadNode(deployment('shop', 'web'), [pod('shop', 'web-b', 'web'), pod('shop', 'web-a', 'web'), pod('other', 'web-x', 'web'), pod('shop', 'api-1', 'api')], undefined);
    assert.deepEqual(w.children.map((p) => p.label), ['web-a', 'web-b']);
    assert.equal(w.collapsible, 'collapsed');
  });

  it('label selectors: matchLabels and every matchExpressions operator', () => {
    const l = { app: 'web', tier: 'front' };
    assert.equal(selects({ matchLabels: { app: 'web' } }, l), true);
    assert.equal(selects({ matchLabels: { app: 'api' } }, l), false);
    assert.equal(selects({ matchExpressions: [{ key: 'tier', operator: 'In', values: ['front', 'back'] }] }, l), true);
    assert.equal(selects({ matchExpressions: [{ key: 'tier', operator: 'NotIn', values: ['front'] }] }, l), false);
    assert.equal(selects({ matchExpressions: [{ key: 'canary', operator: 'DoesNotExist' }] }, l), true);
    assert.equal(selects({ matchExpressions: [{ key: 'canary', operator: 'Exists' }] }, l), false);
    assert.equal(selects({}, l), false, 'an empty selector selects nothing');
    assert.equal(selects(undefined, l), false);
  });
});

describe('explorer model: connection states and the welcome view', () => {
  const unreachable = { state: 'failed' as const, context: 'kind-weft', synced: false, namespaces: [], deployments: [], pods: [], error: { kind: 'unreachable', message: 'cannot reach the Kubernetes API server at https://127.0.0.1:6443 (context "kind-weft"): ECONNREFUSED', hint: 'check that the cluster is running' } };
  const local: LocalInput = {
    status: 'running',
    startedAt: '2026-11-23T12:00:00.000Z',
    topologyFile: '/w/demo.yaml',
    metricsApi: 'http://127.0.0.1:8085',
    workloads: [
      { name: 'voting-1', workload: 'voting', namespace: 'emojivoto', identity: 'voting.emojivoto.serviceaccount.identity.weft.cluster.local', appAlive: true, proxyAlive: true, proxyAdmin: '127.0.0.1:40001' },
      { name: 'voting-0', workload: 'voting', namespace: 'emojivoto', identity: 'voting.emojivoto.serviceaccount.identity.weft.cluster.local', appAlive: true, proxyAlive: false, proxyAdmin: '127.0.0.1:40002' },
      { name: 'emoji', workload: 'emoji', namespace: 'emojivoto', identity: 'emoji.emojivoto.serviceaccount.identity.weft.cluster.local', appAlive: true, proxyAlive: true, proxyAdmin: '127.0.0.1:40003' },
    ],
  };

  it('nothing reachable and no local mesh: no rows (the welcome view), the cause in the header', () => {
    const i = input({ cluster: unreachable });
    assert.deepEqual(explorerRoots(i), []);
    assert.equal(explorerState(i), 'unreachable');
    // The header says why (a TreeView message would hide the welcome view).
    assert.equal(explorerDescription(i), 'kind-weft: unreachable');
  });

  it('each kubeconfig failure has its own state (its own welcome text)', () => {
    for (const kind of ['unauthorized', 'bad-kubeconfig', 'context-not-found'] as const) {
      assert.equal(explorerState(input({ cluster: { ...unreachable, error: { ...unreachable.error, kind } } })), kind);
    }
    assert.equal(explorerState(input({ cluster: { ...unreachable, error: { ...unreachable.error, kind: 'something-new' } } })), 'unreachable');
    assert.equal(explorerDescription(input({ cluster: connected({}) })), undefined);
  });

  it('no kubeconfig at all is its own state (the welcome view says so)', () => {
    const i = input({ cluster: { ...unreachable, error: { kind: 'no-kubeconfig', message: 'no kubeconfig found at ~/.kube/config', hint: 'start a cluster' } } });
    assert.equal(explorerState(i), 'no-kubeconfig');
    assert.deepEqual(explorerRoots(i), []);
  });

  it('connecting shows a spinning row', () => {
    const [root] = explorerRoots(input({ cluster: { state: 'connecting', context: 'kind-weft', synced: false, namespaces: [], deployments: [], pods: [] } }));
    assert.equal(root.description, 'connecting…');
    assert.deepEqual(root.icon, { id: 'loading~spin' });
    assert.equal(explorerState(input({ cluster: { state: 'connecting', synced: false, namespaces: [], deployments: [], pods: [] } })), 'connecting');
  });

  it('a local mesh shows as its own root; an unreachable cluster then is one red row with the next step', () => {
    const roots = explorerRoots(input({ cluster: unreachable, local }));
    assert.deepEqual(roots.map((r) => r.label), ['kind-weft', 'Local mesh']);
    assert.equal(roots[0].description, 'unreachable');
    assert.equal(roots[0].contextValue, CONTEXT_VALUES.clusterError);
    assert.match(roots[0].tooltip ?? '', /\*\*Next step:\*\* check that the cluster is running/);
    assert.equal(explorerState(input({ cluster: unreachable, local })), 'local');
    assert.equal(explorerDescription(input({ cluster: unreachable, local })), 'kind-weft: unreachable');
  });

  it('local workloads group their replicas, sorted, with liveness and stats', () => {
    const stats = new Map<string, WorkloadStats>([['emojivoto/emoji', { successRate: 0.8, rps: 3 }]]);
    const [root] = explorerRoots(input({ local, localStats: stats }));
    assert.equal(root.label, 'Local mesh');
    assert.equal(root.description, '2 workloads');
    assert.equal(root.contextValue, CONTEXT_VALUES.local);
    assert.deepEqual(root.children.map((w) => [w.label, w.description]), [
      ['emoji', 'emojivoto · 80.0% · 3.0 rps'],
      ['voting', 'emojivoto · 1/2 up'],
    ]);
    const emoji = root.children[0];
    assert.deepEqual(emoji.icon, { id: 'error', color: 'charts.red' });
    assert.deepEqual(emoji.ref, { namespace: 'emojivoto', name: 'emoji', kind: 'LocalWorkload' });
    assert.equal(emoji.contextValue, CONTEXT_VALUES.localWorkload);
    const voting = root.children[1];
    assert.deepEqual(voting.icon, { id: 'warning', color: 'charts.yellow' });
    assert.deepEqual(voting.children.map((p) => [p.label, p.description]), [
      ['voting-0', 'proxy exited'],
      ['voting-1', 'running'],
    ]);
  });
});

describe('explorer model: formatting', () => {
  it('success rate and RPS', () => {
    assert.equal(formatSuccessRate(undefined), '–');
    assert.equal(formatSuccessRate(1), '100%');
    assert.equal(formatSuccessRate(0), '0%');
    assert.equal(formatSuccessRate(0.95), '95.0%');
    assert.equal(formatRps(0), '0 rps');
    assert.equal(formatRps(0.05), '<0.1 rps');
    assert.equal(formatRps(2.25), '2.3 rps');
    assert.equal(formatRps(120.4), '120 rps');
  });
});
