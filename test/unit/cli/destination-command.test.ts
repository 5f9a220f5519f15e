import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseDestinationArgs } from '../../../mesh/cli/destination.command';
import { servedFromTopology } from '../../../mesh/control/destination/local-topology-source';
import { CONTROL_PLANE_PORTS } from '../../../mesh/config/ports';
import { DestinationClient } from '../../../mesh/proxy/discovery/destination-client';
import type { DestinationUpdate } from '../../../mesh/proxy/discovery/discovery';

test('parseDestinationArgs: -f is required; --listen defaults to the destination port on loopback', () => {
  assert.deepEqual(parseDestinationArgs(['-f', 't.yaml']), { file: 't.yaml', listen: { host: '127.0.0.1', port: CONTROL_PLANE_PORTS.destination } });
  assert.deepEqual(parseDestinationArgs(['--file', 't.yaml', '--listen=127.0.0.1:0']), { file: 't.yaml', listen: { host: '127.0.0.1', port: 0 } });
  assert.match(parseDestinationArgs([]) as string, /no topology file/);
  assert.match(parseDestinationArgs(['-f']) as string, /missing value/);
  assert.match(parseDestinationArgs(['-f', 'x', '--listen', 'nowhere']) as string, /expected host:port/);
  assert.match(parseDestinationArgs(['-f', 'x', '--bogus']) as string, /unknown argument/);
});

test('servedFromTopology: fixed inbound ports are served with the ServiceAccount identity; others are skipped', () => {
  const r = servedFromTopology({
    namespace: 'shop',
    workloads: [
      { name: 'api', serviceAccount: 'api', command: 'node', args: [], inboundPort: 14143, ports: [{ authority: 'api.shop.workload:8080', appPort: 8080, protocolHint: 'h2' }], upstreams: [] },
      { name: 'web', serviceAccount: 'web', command: 'node', args: [], ports: [{ authority: 'web.shop.workload:80', appPort: 8000 }], upstreams: [] },
      { name: 'bot', serviceAccount: 'bot', command: 'node', args: [], upstreams: [] },
    ],
  });
  assert.deepEqual(r.skipped, ['web']);
  assert.deepEqual(r.served, [
    { authority: 'api.shop.workload:8080', name: 'api', workload: 'api', serviceAccount: 'api', inbound: { host: '127.0.0.1', port: 14143 }, identity: 'api.shop.serviceaccount.identity.weft.cluster.local', appPort: 8080, protocolHint: 'h2' },
  ]);
});

test('weft destination serves a topology file and follows its changes', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'weft-destination-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const file = join(dir, 'topology.yaml');
  const topo = (inbound: number) => `namespace: shop\nworkloads:\n  - name: api\n    command: [node, api.js]\n    inboundPort: ${inbound}\n    ports: [{ port: 8080 }]\n`;
  await writeFile(file, topo(14143));
  const main = fileURLToPath(new URL('../../../mesh/cli/main.ts', import.meta.url));
  const child = spawn(process.execPath, ['--import', 'tsx', main, 'destination', '-f', file, '--listen', '127.0.0.1:0'], { stdio: ['ignore', 'ignore', 'pipe'] });
  t.after(() => child.kill('SIGKILL'));
  let stderr = '';
  const port = await new Promise<number>((resolve, reject) => {
    child.stderr.setEncoding('utf8').on('data', (c: string) => {
      stderr += c;
      const m = /listening on 127\.0\.0\.1:(\d+)/.exec(stderr);
      if (m) resolve(Number(m[1]));
    });
    child.once('exit', (code) => reject(new Error(`exited ${code}: ${stderr}`)));
  });
  const client = new DestinationClient({ addr: `127.0.0.1:${port}` });
  t.after(() => client.close());
  const updates: DestinationUpdate[] = [];
  let notify = (): void => undefined;
  client.watch('api.shop:8080', { update: (u) => (updates.push(u), notify()), notFound: () => undefined, error: () => undefined });
  const next = (n: number) =>
    new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no update ${n}; stderr: ${stderr}`)), 8_000);
      notify = () => updates.length >= n && (clearTimeout(timer), resolve());
      notify();
    });
  await next(1);
  assert.deepEqual(updates[0]!.endpoints.map((e) => [e.addr.port, e.targetPort, e.identity]), [[14143, 8080, 'api.shop.serviceaccount.identity.weft.cluster.local']]);
  await writeFile(file, topo(14200));
  await next(2);
  assert.equal(updates[1]!.endpoints[0]!.addr.port, 14200);
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  child.kill('SIGTERM');
  assert.equal(await exited, 0);
});
