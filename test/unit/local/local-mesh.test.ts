import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { checkTopology, destinationDocument, upstreamEnvName, type LocalTopology } from '../../../dev-cluster/local/local-mesh';
import { checkPortFree } from '../../../dev-cluster/local/port-check';
import { parseDestinationFile } from '../../../mesh/proxy/discovery/static-file';
import { demoTopology } from '../../../dev-cluster/demo/demo-topology';

const w = (o: Partial<LocalTopology['workloads'][number]>): LocalTopology['workloads'][number] => ({ name: 'a', serviceAccount: 'a', command: 'node', args: [], upstreams: [], ...o });

test('upstreamEnvName: the first DNS label, upper-cased', () => {
  assert.equal(upstreamEnvName('api.demo:80'), 'API');
  assert.equal(upstreamEnvName('emoji-svc.emojivoto:8080'), 'EMOJI_SVC');
});

test('the demo topology is valid: three workloads, web → api, traffic → web', () => {
  const t = demoTopology({ weftEntry: '/x/weft.js', nodePath: 'node', webPort: 0, rps: 20, failureRate: 0.05 });
  assert.deepEqual(checkTopology(t), []);
  assert.deepEqual(t.workloads.map((x) => [x.name, x.serves, x.upstreams]), [
    ['api', 'api.demo:80', []],
    ['web', 'web.demo:80', ['api.demo:80']],
    ['traffic', undefined, ['web.demo:80']],
  ]);
  assert.deepEqual(t.workloads[0]!.args, ['/x/weft.js', 'demo', '--app', 'api']);
});

test('checkTopology names the workload and the field of each problem', () => {
  const errors = checkTopology({
    namespace: 'demo',
    workloads: [
      w({ name: 'Web', serves: 'web.demo' }),
      w({ name: 'b', serves: 'x.demo:80' }),
      w({ name: 'b', serves: 'x.demo:80', inboundPort: 1 }),
      w({ name: 'c', upstreams: ['nobody.demo:80'], inboundPort: 8080 }),
    ],
  });
  assert.deepEqual(errors, [
    'workloads[0] (Web).name: expected a DNS label',
    'workloads[0] (Web).serves: expected host:port, got "web.demo"',
    'workloads[2] (b).name: "b" is used twice',
    'workloads[2] (b).serves: "x.demo:80" is already served by b',
    'workloads[3] (c).inboundPort: only a workload that serves a service has an inbound listener',
    'workloads[3] (c).upstreams: no workload serves "nobody.demo:80"',
  ]);
});

test('destinationDocument is a destination file the proxy accepts, with identity and target port', () => {
  const text = destinationDocument('demo', [{ authority: 'api.demo:80', name: 'api', inbound: { host: '127.0.0.1', port: 4143 }, identity: 'api.demo.serviceaccount.identity.weft.cluster.local', appPort: 9000 }]);
  const r = parseDestinationFile(text);
  assert.ok(r.ok, JSON.stringify(r));
  const d = r.table.get('api.demo:80')!;
  assert.deepEqual(d.endpoints[0]!.addr, { host: '127.0.0.1', port: 4143 });
  assert.equal(d.endpoints[0]!.identity, 'api.demo.serviceaccount.identity.weft.cluster.local');
  assert.equal(d.endpoints[0]!.targetPort, 9000);
  assert.equal(d.profile.retry, undefined, 'no retries: the demo shows failures as they are');
  assert.deepEqual(d.profile.labels, { service: 'api', namespace: 'demo' });
});

test('checkPortFree: a bound port is reported taken, 0 is always fine', async () => {
  const srv = net.createServer();
  await new Promise<void>((r) => srv.listen({ host: '127.0.0.1', port: 0 }, r));
  const port = (srv.address() as net.AddressInfo).port;
  try {
    const r = await checkPortFree('127.0.0.1', port);
    assert.deepEqual(r, { ok: false, reason: `port ${port} on 127.0.0.1 is already in use` });
    assert.deepEqual(await checkPortFree('127.0.0.1', 0), { ok: true });
  } finally {
    srv.close();
  }
  assert.deepEqual(await checkPortFree('127.0.0.1', port), { ok: true });
});
