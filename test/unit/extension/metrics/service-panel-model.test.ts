import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Edge } from '../../../../mesh/control/metrics-api/aggregate';
import { backendsFromHttpRoutes, backendsFromRoutes, backendsOf } from '../../../../extension/metrics/local-backends';
import { MetricsHistory } from '../../../../extension/metrics/metrics-history';
import { edgesFor, panelMessage, successAxisMin, targetFromArgument, trafficSplit } from '../../../../extension/metrics/service-panel-model';
import { statRow } from './fixtures';

const edge = (src: string, dst: string, over: Partial<Edge> = {}): Edge => ({
  srcNamespace: 'demo', srcWorkload: src, dstNamespace: 'demo', dstService: dst,
  clientId: `${src}.demo.serviceaccount.identity.weft.cluster.local`, serverIds: [`${dst}.demo.serviceaccount.identity.weft.cluster.local`], mtls: 'yes', requests: 10, ...over,
});

describe('edges of a service panel', () => {
  const edges = [edge('vote-bot', 'web'), edge('web', 'emoji'), edge('web', 'voting'), edge('voting-canary', 'db', { mtls: 'no', serverIds: [], clientId: undefined }), edge('web', 'voting', { srcNamespace: 'other' })];

  test('inbound are calls to the service, outbound the calls its workload makes, with identities', () => {
    const e = edgesFor(edges, { kind: 'service', namespace: 'demo', name: 'web' });
    assert.deepEqual(e.inbound.map((r) => [r.peer, r.clientId, r.mtls]), [['vote-bot', 'vote-bot.demo.serviceaccount.identity.weft.cluster.local', 'yes']]);
    assert.deepEqual(e.outbound.map((r) => [r.peer, r.serverIds]), [['emoji', 'emoji.demo.serviceaccount.identity.weft.cluster.local'], ['voting', 'voting.demo.serviceaccount.identity.weft.cluster.local']]);
  });

  test("a split service's outbound includes its backends' calls; missing identities show a dash", () => {
    const e = edgesFor(edges, { kind: 'service', namespace: 'demo', name: 'voting' }, ['voting', 'voting-canary']);
    assert.deepEqual(e.inbound.map((r) => [r.peer, r.peerNamespace]), [['web', 'demo'], ['web', 'other']]);
    assert.deepEqual(e.outbound.map((r) => [r.peer, r.clientId, r.serverIds, r.mtls]), [['db', '–', '–', 'no']]);
  });
});

describe('traffic split', () => {
  test('configured weights next to the observed share of each backend workload', () => {
    const split = trafficSplit([{ workload: 'voting', weight: 90 }, { workload: 'voting-canary', weight: 10 }], [statRow({ name: 'voting', rps: 9 }), statRow({ name: 'voting-canary', rps: 1 }), statRow({ name: 'voting', namespace: 'x', rps: 100 })], 'demo');
    assert.deepEqual(split?.map((s) => [s.workload, s.weightShare, s.rps, s.observedShare, s.observedPercent]), [['voting', '90%', '9.0', '90.0%', 90], ['voting-canary', '10%', '1.0', '10.0%', 10]]);
  });

  test('no split for one backend; a backend without data shows dashes', () => {
    assert.equal(trafficSplit([{ workload: 'web', weight: 1 }], [], 'demo'), undefined);
    const split = trafficSplit([{ workload: 'a', weight: 1 }, { workload: 'b', weight: 1 }], [statRow({ name: 'a', rps: 2 })], 'demo');
    assert.deepEqual(split?.map((s) => [s.rps, s.observedShare]), [['2.0', '100.0%'], ['–', '–']]);
  });

  test('local mode: the weighted backends of a service from the topology file', () => {
    const topology = [
      'namespace: demo',
      'workloads:',
      '  - { name: voting, command: [node, v.js], ports: [{ port: 8081 }] }',
      '  - { name: voting-canary, serviceAccount: voting, command: [node, v.js], ports: [{ port: 8082 }] }',
      '  - { name: web, command: [node, w.js], ports: [{ port: 8000 }], upstreams: [voting] }',
      'services:',
      '  - name: voting',
      '    port: 8080',
      '    backends: [{ workload: voting, weight: 90 }, { workload: voting-canary, weight: 10 }]',
      '',
    ].join('\n');
    assert.deepEqual(backendsOf(topology, 't.yaml', 'voting', 'demo'), [{ workload: 'voting', weight: 90 }, { workload: 'voting-canary', weight: 10 }]);
    assert.deepEqual(backendsOf(topology, 't.yaml', 'web', 'demo'), [{ workload: 'web', weight: 1 }], 'an implicit service: one backend, no split');
    assert.deepEqual(backendsOf(topology, 't.yaml', 'voting', 'other'), []);
    assert.deepEqual(backendsOf('workloads: 3', 't.yaml', 'voting', 'demo'), []);
  });
});

describe('traffic split from the local control plane', () => {
  test("a route's backends name their workloads in their authority", () => {
    const doc = JSON.stringify({
      version: 1,
      routes: [
        { authority: 'emoji.demo:8080', labels: { service: 'emoji', namespace: 'demo' }, backends: [{ authority: 'emoji.demo.workload:39219', weight: 1 }] },
        { authority: 'voting.demo:8080', labels: { service: 'voting', namespace: 'demo' }, backends: [{ authority: 'voting.demo.workload:38111', weight: 90 }, { authority: 'voting-canary.demo.workload:41691', weight: 10 }] },
      ],
    });
    assert.deepEqual(backendsFromRoutes(doc, 'voting', 'demo'), [{ workload: 'voting', weight: 90 }, { workload: 'voting-canary', weight: 10 }]);
    assert.deepEqual(backendsFromRoutes(doc, 'emoji', 'demo'), [{ workload: 'emoji', weight: 1 }]);
    assert.deepEqual(backendsFromRoutes(doc, 'voting', 'other'), []);
    assert.deepEqual(backendsFromRoutes('{', 'voting', 'demo'), []);
  });
});

describe('traffic split in a cluster (HTTPRoute)', () => {
  const route = (over: object = {}) => ({
    metadata: { namespace: 'demo', name: 'voting-split' },
    spec: {
      parentRefs: [{ group: 'core', kind: 'Service', name: 'voting' }],
      rules: [
        { matches: [{ path: { type: 'Exact', value: '/admin' } }], backendRefs: [{ name: 'voting-admin' }] },
        { backendRefs: [{ name: 'voting-v1', port: 8080, weight: 90 }, { name: 'voting-v2', port: 8080, weight: 10 }, { kind: 'Other', name: 'x' }] },
      ],
    },
    ...over,
  });

  test("the catch-all rule's backend Services of the route whose parent is the service", () => {
    assert.deepEqual(backendsFromHttpRoutes([route()], 'voting', 'demo'), [{ workload: 'voting-v1', weight: 90, kind: 'service' }, { workload: 'voting-v2', weight: 10, kind: 'service' }]);
    assert.deepEqual(backendsFromHttpRoutes([route()], 'web', 'demo'), []);
    assert.deepEqual(backendsFromHttpRoutes([route({ metadata: { namespace: 'other' } })], 'voting', 'demo'), []);
    assert.deepEqual(backendsFromHttpRoutes([route({ spec: { parentRefs: [{ group: 'gateway.networking.k8s.io', kind: 'Gateway', name: 'voting' }], rules: [] } })], 'voting', 'demo'), [], 'a Gateway parent is north-south, not a mesh split');
  });

  test('observed RPS of Service backends comes from the service rows', () => {
    const split = trafficSplit([{ workload: 'voting-v1', weight: 90, kind: 'service' }, { workload: 'voting-v2', weight: 10, kind: 'service' }], [statRow({ name: 'voting-v1', rps: 3 }), statRow({ name: 'voting-v1', kind: 'service', rps: 8 }), statRow({ name: 'voting-v2', kind: 'service', rps: 2 })], 'demo');
    assert.deepEqual(split?.map((s) => [s.workload, s.rps, s.observedShare]), [['voting-v1', '8.0', '80.0%'], ['voting-v2', '2.0', '20.0%']]);
  });
});

describe('the command argument', () => {
  test('from the view, a CodeLens or the explorer (manifest kinds map to workload)', () => {
    assert.deepEqual(targetFromArgument({ kind: 'service', namespace: 'demo', name: 'web' }), { kind: 'service', namespace: 'demo', name: 'web' });
    assert.deepEqual(targetFromArgument({ kind: 'Deployment', namespace: 'demo', name: 'web', node: {} }), { kind: 'workload', namespace: 'demo', name: 'web' });
    assert.deepEqual(targetFromArgument({ kind: 'LocalWorkload', namespace: 'demo', name: 'voting' }), { kind: 'workload', namespace: 'demo', name: 'voting' });
    assert.deepEqual(targetFromArgument({ namespace: 'demo', name: 'web' }), { kind: 'service', namespace: 'demo', name: 'web' });
    assert.equal(targetFromArgument({ namespace: 'demo' }), undefined);
    assert.equal(targetFromArgument(undefined), undefined);
    assert.equal(targetFromArgument('web'), undefined);
  });
});

describe('panel charts', () => {
  test('the success axis zooms in: 90 % while all values are above, else the tenth below the lowest', () => {
    assert.equal(successAxisMin([0.95, 1]), 0.9);
    assert.equal(successAxisMin([]), 0.9);
    assert.equal(successAxisMin([0.84, 0.97]), 0.8);
    assert.equal(successAxisMin([0.05]), 0);
  });
});

describe('the panel message', () => {
  test('summary, three charts from the history, edges and split', () => {
    const h = new MetricsHistory();
    const row = statRow({ name: 'voting', kind: 'service', successRate: 0.8, rps: 4 });
    h.record([statRow({ name: 'voting', kind: 'service', successRate: 0.9, rps: 3 })], 1_000_000);
    h.record([row], 1_002_000);
    const m = panelMessage({
      target: { kind: 'service', namespace: 'demo', name: 'voting' }, row, samples: h.series('service/demo/voting', 1_002_000), edges: [edge('web', 'voting')],
      backends: [], namespaceRows: [], status: { level: 'ok' }, source: 'local', now: 1_002_000, updatedAt: '12:00:00',
    });
    assert.equal(m.health, 'failing');
    assert.deepEqual(m.summary.slice(0, 2), [{ label: 'Success', value: '80.00%' }, { label: 'RPS', value: '4.0' }]);
    assert.deepEqual(m.charts.map((c) => [c.title, c.series.map((s) => s.name), c.series[0]!.latest]), [['Success rate', ['success'], '80%'], ['Requests per second', ['rps'], '4.0'], ['Latency', ['p50', 'p95', 'p99'], '2.0ms']]);
    assert.equal(m.inbound.length, 1);
    assert.equal(m.split, undefined);
  });

  test('a target the API does not know yet: dashes and an explanation', () => {
    const m = panelMessage({ target: { kind: 'workload', namespace: 'demo', name: 'ghost' }, row: undefined, samples: [], edges: [], backends: [], namespaceRows: [], status: { level: 'ok' }, source: 'local', now: 0, updatedAt: '' });
    assert.equal(m.health, 'idle');
    assert.match(m.title, /ghost: not seen by the metrics API/);
    assert.ok(m.summary.every((s) => s.value === '–'));
    assert.ok(m.charts.every((c) => c.empty));
  });
});
