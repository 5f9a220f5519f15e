/**
 * The netns mode's pure plan: names and addresses per pod, /etc/hosts (service VIPs with the mesh,
 * pod IPs without), `weft init` arguments from skip ports, and the destination file that maps the
 * addresses apps dial (VIP:port, pod IP:port, v4 and v6) to endpoints with identities.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseNetnsArgs } from '../../../dev-cluster/netns/netns-command';
import { planNetns } from '../../../dev-cluster/netns/netns-plan';
import { parseTopology } from '../../../dev-cluster/local/topology-file';

const TOPOLOGY = `
namespace: shop
workloads:
  - name: api
    replicas: 2
    command: [node, api.js]
    ports: [{ port: 8080 }]
  - name: api-canary
    serviceAccount: api
    command: [node, api.js]
    ports: [{ port: 8180 }]
  - name: cache
    command: [redis-server]
    ports: [{ port: 6379, opaque: true }]
  - name: web
    command: [node, web.js]
services:
  - name: api
    port: 8080
    backends: [{ workload: api, weight: 90 }, { workload: api-canary, weight: 10 }]
`;

function plan(mesh = true, skipPorts = {}) {
  const t = parseTopology(TOPOLOGY, 't.yaml');
  assert.ok(t.ok);
  const p = planNetns(t.topology, { runId: 'ab12cd', subnet: [77, 5], mesh, skipPorts });
  assert.ok(p.ok, !p.ok ? p.error : '');
  return p.plan;
}

type Dest = { authority: string; endpoints: { addr: string; identity: string; targetPort: number }[]; backends?: { authority: string; weight: number }[]; opaque?: boolean };

test('one pod per replica: names carry the run id, addresses from the run subnet (v4 and v6)', () => {
  const p = plan();
  assert.deepEqual(p.pods.map((x) => x.name), ['api-0', 'api-1', 'api-canary', 'cache', 'web']);
  assert.deepEqual(p.pods.map((x) => x.netns), ['weft-ab12cd-api-0', 'weft-ab12cd-api-1', 'weft-ab12cd-api-canary', 'weft-ab12cd-cache', 'weft-ab12cd-web']);
  assert.deepEqual(p.pods.map((x) => x.ipv4), ['10.77.5.2', '10.77.5.3', '10.77.5.4', '10.77.5.5', '10.77.5.6']);
  assert.equal(p.pods[0]!.ipv6, 'fd57:ef7:4d:5::2');
  assert.equal(p.bridge, 'wbab12cd');
  assert.ok(p.pods.every((x) => x.vethHost.length <= 15 && x.vethPeer.length <= 15), 'interface names fit IFNAMSIZ');
  assert.equal(p.pods[2]!.identity, 'api.shop.serviceaccount.identity.weft.cluster.local');
});

test('with the mesh, service names resolve to VIPs, which the destination file routes with the service split', () => {
  const p = plan();
  const api = p.services.find((s) => s.name === 'api')!;
  assert.deepEqual(api.addresses, ['10.77.5.200', 'fd57:ef7:4d:5::c8']);
  const hosts = p.pods.find((x) => x.name === 'web')!.hosts;
  assert.match(hosts, /^10\.77\.5\.200\tapi api\.shop api\.shop\.svc api\.shop\.svc\.cluster\.local$/m);
  assert.match(hosts, /^fd57:ef7:4d:5::c8\tapi api\.shop/m);
  assert.match(hosts, /^10\.77\.5\.2\tapi-0\.shop\.pod$/m);
  const dests = (JSON.parse(p.destinations) as { destinations: Dest[] }).destinations;
  const byAuth = (a: string): Dest => dests.find((d) => d.authority === a) ?? assert.fail(`no destination ${a}`);
  for (const vip of ['10.77.5.200:8080', '[fd57:ef7:4d:5::c8]:8080', 'api.shop:8080']) {
    assert.deepEqual(byAuth(vip).backends, [{ authority: 'api.shop.workload:8080', weight: 90 }, { authority: 'api-canary.shop.workload:8180', weight: 10 }], vip);
  }
  // The workload authority: both replicas, at their pod IPs and the app port (the peer's inbound redirect takes it).
  assert.deepEqual(byAuth('api.shop.workload:8080').endpoints.map((e) => e.addr), ['10.77.5.2:8080', '10.77.5.3:8080']);
  // A pod dialled by its own address reaches only that pod, over the same family.
  assert.deepEqual(byAuth('[fd57:ef7:4d:5::3]:8080').endpoints.map((e) => e.addr), ['[fd57:ef7:4d:5::3]:8080']);
  assert.equal(byAuth('10.77.5.5:6379').opaque, true);
  assert.equal(byAuth('10.77.5.5:6379').endpoints[0]!.identity, 'cache.shop.serviceaccount.identity.weft.cluster.local');
});

test('without the mesh, names resolve to the first backend pod (headless), and there is no destination file', () => {
  const p = plan(false);
  assert.deepEqual(p.services.find((s) => s.name === 'api')!.addresses, ['10.77.5.2', 'fd57:ef7:4d:5::2']);
  assert.match(p.pods[0]!.hosts, /^10\.77\.5\.2\tapi api\.shop/m);
  assert.equal(p.destinations, '');
});

test('skip ports become the weft init arguments of that workload only', () => {
  const p = plan(true, { web: { outbound: [{ from: 6379, to: 6379 }] }, cache: { inbound: [{ from: 9000, to: 9010 }] } });
  assert.deepEqual(p.pods.find((x) => x.name === 'web')!.initArgs, ['--skip-outbound-ports', '6379']);
  assert.deepEqual(p.pods.find((x) => x.name === 'cache')!.initArgs, ['--skip-inbound-ports', '9000-9010']);
  assert.deepEqual(p.pods.find((x) => x.name === 'api-0')!.initArgs, []);
});

test('bad plan input is an error sentence', () => {
  const t = parseTopology(TOPOLOGY, 't.yaml');
  assert.ok(t.ok);
  const bad = planNetns(t.topology, { runId: 'XYZ', subnet: [1, 2] });
  assert.ok(!bad.ok);
  assert.match(bad.error, /run id "XYZ"/);
  const skip = planNetns(t.topology, { runId: 'abcd', subnet: [1, 2], skipPorts: { nope: {} } });
  assert.ok(!skip.ok);
  assert.match(skip.error, /skip ports for "nope": no such workload/);
});

test('--isolation flags: netns only, a file for up, none for down', () => {
  assert.deepEqual(parseNetnsArgs('up', ['-f', 't.yaml', '--isolation', 'netns', '--no-mesh']), { ok: true, value: { command: 'up', file: 't.yaml', mesh: false } });
  assert.deepEqual(parseNetnsArgs('down', ['--isolation=netns']), { ok: true, value: { command: 'down', mesh: true } });
  const cases: [string, string[], RegExp][] = [
    ['up', ['--isolation', 'netns'], /no topology file/],
    ['up', ['-f', 'x', '--isolation', 'process'], /--isolation process: expected netns/],
    ['up', ['-f', 'x', '--isolation'], /needs a value/],
    ['status', ['--isolation', 'netns'], /applies to up and down/],
    ['up', ['-f', 'x', '--isolation', 'netns', '--detach'], /unknown option --detach/],
  ];
  for (const [cmd, args, re] of cases) {
    const r = parseNetnsArgs(cmd, args);
    assert.ok(!r.ok);
    assert.match(r.error, re);
  }
});
