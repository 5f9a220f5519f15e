import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LocalTopologySource, modelFromLocalTopology, servedFromRunning } from '../../../../mesh/control/destination/local-topology-source';
import { DestinationIndex, resolveService, type MeshModel } from '../../../../mesh/control/destination/destination-model';
import { destinationDocument, type LocalTopology, type RunningWorkload, type ServedEndpoint } from '../../../../dev-cluster/local/local-mesh';
import { parseDestinationFile } from '../../../../mesh/proxy/discovery/static-file';

const id = (sa: string) => `${sa}.demo.serviceaccount.identity.weft.cluster.local`;
const topology: LocalTopology = {
  namespace: 'demo',
  workloads: [
    { name: 'web', serviceAccount: 'web', command: 'node', args: [], ports: [{ authority: 'web.demo.workload:8080', appPort: 8080 }], upstreams: ['voting.demo:80'] },
    { name: 'voting-0', workload: 'voting', serviceAccount: 'voting', command: 'node', args: [], ports: [{ authority: 'voting.demo.workload:9090', appPort: 9090, protocolHint: 'h2' }], upstreams: [] },
    { name: 'voting-1', workload: 'voting', serviceAccount: 'voting', command: 'node', args: [], ports: [{ authority: 'voting.demo.workload:9090', appPort: 9091, protocolHint: 'h2' }], upstreams: [] },
    { name: 'canary', serviceAccount: 'voting', command: 'node', args: [], ports: [{ authority: 'canary.demo.workload:9090', appPort: 9190, protocolHint: 'h2' }], upstreams: [] },
    { name: 'db', serviceAccount: 'db', command: 'node', args: [], ports: [{ authority: 'db.demo.workload:6379', appPort: 6379, protocolHint: 'opaque' }], upstreams: [] },
  ],
  routes: [
    { authority: 'web.demo:80', labels: { service: 'web', namespace: 'demo' }, backends: [{ authority: 'web.demo.workload:8080', weight: 1 }], timeouts: { requestMs: 5_000, responseMs: 0 } },
    {
      authority: 'voting.demo:80',
      labels: { service: 'voting', namespace: 'demo' },
      backends: [
        { authority: 'voting.demo.workload:9090', weight: 90 },
        { authority: 'canary.demo.workload:9090', weight: 10 },
      ],
      retry: { limit: 2, http: ['5xx'], grpc: ['unavailable'], timeoutMs: 0 },
    },
    { authority: 'db.demo:6379', labels: { service: 'db', namespace: 'demo' }, opaque: true, backends: [{ authority: 'db.demo.workload:6379', weight: 1 }] },
  ],
};
const served = (name: string, authority: string, inboundPort: number, appPort: number, sa: string, workload = name, hint?: 'h2' | 'opaque'): ServedEndpoint => ({
  authority,
  name,
  workload,
  serviceAccount: sa,
  inbound: { host: '127.0.0.1', port: inboundPort },
  identity: id(sa),
  appPort,
  ...(hint ? { protocolHint: hint } : {}),
});
const all: ServedEndpoint[] = [
  served('web', 'web.demo.workload:8080', 14001, 8080, 'web'),
  served('voting-0', 'voting.demo.workload:9090', 14002, 9090, 'voting', 'voting', 'h2'),
  served('voting-1', 'voting.demo.workload:9090', 14003, 9091, 'voting', 'voting', 'h2'),
  served('canary', 'canary.demo.workload:9090', 14004, 9190, 'voting', 'canary', 'h2'),
  served('db', 'db.demo.workload:6379', 14005, 6379, 'db', 'db', 'opaque'),
];

test('the local source answers exactly what the runner writes to the destination file', () => {
  const file = parseDestinationFile(destinationDocument(topology.namespace, all, topology.routes));
  assert.ok(file.ok);
  const model = modelFromLocalTopology(topology, all);
  const ix = new DestinationIndex();
  ix.apply(model);
  assert.equal(ix.size, file.table.size);
  for (const [authority, fromFile] of file.table) assert.deepEqual(ix.get(authority), fromFile, authority);
});

test('replicas of one authority are its endpoints; a split route has backends and no endpoints; a single-backend route has its backend endpoints', () => {
  const byAuthority = new Map(modelFromLocalTopology(topology, all).services.map((s) => [s.authority, resolveService(s)]));
  assert.deepEqual(
    byAuthority.get('voting.demo.workload:9090')!.endpoints.map((e) => [e.addr.port, e.targetPort, e.protocolHint, e.labels['pod']]),
    [
      [14002, 9090, 'h2', 'voting-0'],
      [14003, 9091, 'h2', 'voting-1'],
    ],
  );
  const voting = byAuthority.get('voting.demo:80')!;
  assert.deepEqual(voting.endpoints, []);
  assert.deepEqual(voting.profile.backends?.map((b) => b.weight), [90, 10]);
  assert.deepEqual(voting.profile.retry, { limit: 2, http: ['5xx'], grpc: ['unavailable'], timeoutMs: 0 });
  assert.deepEqual(byAuthority.get('web.demo:80')!.endpoints.map((e) => e.addr.port), [14001]);
  assert.deepEqual(byAuthority.get('web.demo:80')!.profile.timeouts, { requestMs: 5_000 });
  assert.equal(byAuthority.get('db.demo:6379')!.profile.opaque, true);
  assert.equal(byAuthority.get('db.demo.workload:6379')!.profile.opaque, true);
  assert.equal(byAuthority.get('web.demo.workload:8080')!.profile.opaque, false);
});

test('servedFromRunning lists one endpoint per replica and port, skipping a proxy without inbound', () => {
  const running = [
    { workload: topology.workloads[1], identity: id('voting'), proxy: { inbound: { host: '127.0.0.1', port: 14002 } }, appPort: 9090, ports: topology.workloads[1]!.ports },
    { workload: { name: 'bot', serviceAccount: 'bot', command: 'node', args: [], upstreams: [] }, identity: id('bot'), proxy: { inbound: undefined }, appPort: undefined, ports: [] },
  ] as unknown as RunningWorkload[];
  assert.deepEqual(servedFromRunning(running), [all[1]]);
});

test('LocalTopologySource tells subscribers when a replica goes away, and stops after unsubscribe', () => {
  const src = new LocalTopologySource(topology, all);
  const seen: MeshModel[] = [];
  const off = src.subscribe((m) => seen.push(m));
  src.setServed(all.filter((s) => s.name !== 'voting-1'));
  assert.equal(seen.length, 1);
  assert.equal(src.current(), seen[0]);
  assert.deepEqual(
    seen[0]!.services.find((s) => s.authority === 'voting.demo.workload:9090')!.endpoints.map((e) => e.addr.port),
    [14002],
  );
  off();
  src.setServed(all);
  assert.equal(seen.length, 1);
  assert.equal(src.current().services.find((s) => s.authority === 'voting.demo.workload:9090')!.endpoints.length, 2);
});
