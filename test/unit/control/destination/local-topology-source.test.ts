import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LocalTopologySource, modelFromLocalTopology, servedFromRunning, type LocalServed } from '../../../../mesh/control/destination/local-topology-source';
import { resolveService, type MeshModel } from '../../../../mesh/control/destination/destination-model';
import type { LocalTopology, RunningWorkload } from '../../../../dev-cluster/local/local-mesh';

const topology: LocalTopology = {
  namespace: 'demo',
  workloads: [
    { name: 'web', serviceAccount: 'web', command: 'node', args: [], serves: 'web.demo:80', upstreams: ['voting.demo:8080'] },
    { name: 'voting', serviceAccount: 'voting-sa', command: 'node', args: [], serves: 'voting.demo:8080', upstreams: [] },
    { name: 'bot', serviceAccount: 'bot', command: 'node', args: [], upstreams: ['web.demo:80'] },
  ],
};
const w = (name: string) => topology.workloads.find((x) => x.name === name)!;
const served: LocalServed[] = [
  { workload: w('web'), identity: 'web.demo.serviceaccount.identity.weft.cluster.local', inbound: { host: '127.0.0.1', port: 14001 }, appPort: 15001 },
  { workload: w('voting'), identity: 'voting-sa.demo.serviceaccount.identity.weft.cluster.local', inbound: { host: '127.0.0.1', port: 14002 }, appPort: 15002 },
];

test('one service per served workload, its endpoint the workload proxy inbound with identity and app port', () => {
  const m = modelFromLocalTopology(topology, served);
  assert.deepEqual(
    m.services.map((s) => s.authority),
    ['web.demo:80', 'voting.demo:8080'],
  );
  const u = resolveService(m.services[1]!);
  assert.deepEqual(u.endpoints, [
    { addr: { host: '127.0.0.1', port: 14002 }, identity: 'voting-sa.demo.serviceaccount.identity.weft.cluster.local', targetPort: 15002, labels: { pod: 'voting', serviceaccount: 'voting-sa' } },
  ]);
  assert.deepEqual(u.profile.labels, { service: 'voting', namespace: 'demo' });
});

test('a served workload that is not running has no endpoint; extras add appProtocol and the split', () => {
  const m = modelFromLocalTopology(topology, served.slice(0, 1), {
    'voting.demo:8080': { appProtocol: 'grpc', route: { backends: [{ authority: 'voting.demo:8080', weight: 9 }, { authority: 'web.demo:80', weight: 1 }] } },
  });
  const voting = m.services.find((s) => s.authority === 'voting.demo:8080')!;
  assert.deepEqual(voting.endpoints, []);
  assert.equal(voting.appProtocol, 'grpc');
  assert.equal(resolveService(voting).profile.backends?.length, 2);
});

test('servedFromRunning keeps served workloads that have an inbound listener', () => {
  const running = [
    { workload: w('web'), identity: 'i-web', proxy: { inbound: { host: '127.0.0.1', port: 1 } }, appPort: 2 },
    { workload: w('bot'), identity: 'i-bot', proxy: { inbound: undefined }, appPort: undefined },
  ] as unknown as RunningWorkload[];
  assert.deepEqual(servedFromRunning(running), [{ workload: w('web'), identity: 'i-web', inbound: { host: '127.0.0.1', port: 1 }, appPort: 2 }]);
});

test('LocalTopologySource tells subscribers when the served set changes, and stops after unsubscribe', () => {
  const src = new LocalTopologySource(topology, served);
  const seen: MeshModel[] = [];
  const off = src.subscribe((m) => seen.push(m));
  src.setServed(served.slice(1));
  assert.equal(seen.length, 1);
  assert.deepEqual(seen[0]!.services.find((s) => s.authority === 'web.demo:80')!.endpoints, []);
  assert.equal(src.current(), seen[0]);
  off();
  src.setServed(served);
  assert.equal(seen.length, 1);
  assert.equal(src.current().services[0]!.endpoints.length, 1);
});
