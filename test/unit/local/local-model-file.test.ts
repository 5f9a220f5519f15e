import { test } from 'node:test';
import assert from 'node:assert/strict';
import { localModelFileText, modelFromLocalTopology, parseLocalModelFile } from '../../../mesh/control/destination/local-topology-source';
import { parseDestinationArgs } from '../../../mesh/cli/destination.command';
import type { LocalTopology, ServedEndpoint } from '../../../dev-cluster/local/local-mesh';

const topology: LocalTopology = {
  namespace: 'shop',
  workloads: [{ name: 'api', serviceAccount: 'api', command: 'node', args: ['secret-arg'], env: { TOKEN: 'hidden' }, ports: [{ authority: 'api.shop.workload:8080', appPort: 8080 }], upstreams: [] }],
  routes: [{ authority: 'api.shop:80', labels: { service: 'api', namespace: 'shop' }, backends: [{ authority: 'api.shop.workload:8080', weight: 1 }], retry: { limit: 1, http: ['5xx'], grpc: [], timeoutMs: 0 } }],
};
const served: ServedEndpoint[] = [
  { authority: 'api.shop.workload:8080', name: 'api', workload: 'api', serviceAccount: 'api', inbound: { host: '127.0.0.1', port: 14143 }, identity: 'api.shop.serviceaccount.identity.weft.cluster.local', appPort: 8080 },
];

test('the local model file round-trips to the same mesh model, without commands or environments', () => {
  const text = localModelFileText(topology, served);
  assert.ok(!text.includes('secret-arg') && !text.includes('hidden'), 'apps are not described in the file');
  const back = parseLocalModelFile(text);
  assert.ok(typeof back !== 'string', String(back));
  assert.deepEqual(modelFromLocalTopology(back.topology, back.served), modelFromLocalTopology(topology, served));
});

test('a broken local model file is refused with the reason', () => {
  assert.match(parseLocalModelFile('{') as string, /not JSON.*do not edit it by hand/);
  assert.match(parseLocalModelFile('{"version":2}') as string, /expected \{"version": 1/);
  assert.match(parseLocalModelFile('{"version":1,"namespace":"a","routes":[],"served":[{"authority":"x"}]}') as string, /served\[0\]: expected authority, inbound/);
  assert.match(parseLocalModelFile('{"version":1,"namespace":"a","routes":[{}],"served":[]}') as string, /routes\[0\]: expected authority and backends/);
});

test('weft destination --local-model: the -f file is read as the runner model', () => {
  assert.deepEqual(parseDestinationArgs(['-f', 'm.json', '--local-model', '--listen', '127.0.0.1:0']), { file: 'm.json', listen: { host: '127.0.0.1', port: 0 }, localModel: true });
  assert.equal('localModel' in (parseDestinationArgs(['-f', 't.yaml']) as object), false);
});
