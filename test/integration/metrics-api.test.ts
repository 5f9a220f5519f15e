/**
 * `weft stat` / `weft edges` against real proxies: the test sends a known number of requests (a
 * known share failing) through a client proxy to a server proxy, the metrics API scrapes both
 * proxies' /metrics, and the CLI (a real `weft` process) must print the same numbers.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import http from 'node:http';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { formatAddr } from '../../mesh/proxy/discovery/discovery';
import { startMetricsApi } from '../../mesh/control/metrics-api/server';
import type { EdgesResponse, StatResponse } from '../../mesh/control/metrics-api/api-query';
import type { ScrapeTarget } from '../../mesh/control/metrics-api/aggregate';
import { CLIENT_IDENTITY, SERVER_IDENTITY, closeServer, listenLocal, startMesh } from '../helpers/mesh';

const run = promisify(execFile);
const ROOT = join(import.meta.dirname, '../..');

async function weft(...args: string[]): Promise<string> {
  const { stdout } = await run(process.execPath, ['--import', 'tsx', join(ROOT, 'mesh/cli/main.ts'), ...args], { cwd: ROOT, timeout: 20_000 });
  return stdout;
}

test('weft stat and weft edges report what the test sent through two real proxies', async (t) => {
  const app = http.createServer((req, res) => {
    res.statusCode = req.url === '/fail' ? 500 : 200;
    res.end('ok');
  });
  const appPort = await listenLocal(app);
  t.after(() => closeServer(app));
  const mesh = await startMesh({ servers: [{ appPort }] });
  t.after(() => mesh.close());

  const targets: ScrapeTarget[] = [
    { namespace: 'demo', workload: 'client', pod: 'client-0', admin: formatAddr(mesh.client.admin) },
    { namespace: 'demo', workload: 'web', pod: 'web-0', admin: formatAddr(mesh.servers[0]!.proxy.admin), services: ['web'] },
  ];
  let clock = 5_000_000;
  const api = await startMetricsApi({ port: 0, targets: () => targets, autoScrape: false, now: () => clock });
  t.after(() => api.close());

  // Traffic before the window's first scrape must not count.
  for (let i = 0; i < 7; i++) assert.equal((await fetch(mesh.url('/'))).status, 200);
  await api.scrapeNow();
  const sent = { ok: 36, fail: 4 };
  for (let i = 0; i < sent.ok; i++) assert.equal((await (await fetch(mesh.url('/'))).text()), 'ok');
  for (let i = 0; i < sent.fail; i++) assert.equal((await fetch(mesh.url('/fail'))).status, 500);
  clock += 20_000;
  await api.scrapeNow();

  const workloads = JSON.parse(await weft('stat', 'deploy', '--json', '--api', api.url, '-n', 'demo')) as StatResponse;
  assert.deepEqual(workloads.scrapeErrors, []);
  const web = workloads.rows.find((r) => r.name === 'web')!;
  assert.deepEqual([web.meshedPods, web.totalPods, web.responses, web.successRate, web.rps], [1, 1, 40, 0.9, 2]);
  assert.ok(web.p50Ms! > 0 && web.p99Ms! >= web.p50Ms!);

  const services = JSON.parse(await weft('stat', 'svc/web', '--json', '--api', api.url, '--window', '30s')) as StatResponse;
  assert.deepEqual(services.rows.map((r) => [r.name, r.responses, r.successRate, r.rps]), [['web', 40, 0.9, 2]]);
  assert.equal(services.windowMs, 30_000);

  const table = await weft('stat', '--api', api.url);
  const webLine = table.split('\n').find((l) => l.startsWith('web '));
  assert.match(table, /^NAME\s+MESHED\s+SUCCESS\s+RPS/);
  assert.match(webLine ?? '', /^web\s+1\/1\s+90\.00%\s+2\.0rps/);

  const edges = JSON.parse(await weft('edges', '--json', '--api', api.url)) as EdgesResponse;
  assert.deepEqual(edges.edges, [
    { srcNamespace: 'demo', srcWorkload: 'client', dstNamespace: 'demo', dstService: 'web', clientId: CLIENT_IDENTITY, serverIds: [SERVER_IDENTITY], mtls: 'yes', requests: 40 },
  ]);
});

test('weft stat without a reachable API says what to do, with exit code 1', async () => {
  const server = http.createServer();
  const port = await listenLocal(server);
  await closeServer(server); // a port nothing listens on
  await assert.rejects(weft('stat', '--api', `http://127.0.0.1:${port}`), (err: { code: number; stderr: string }) => {
    assert.equal(err.code, 1);
    assert.match(err.stderr, /cannot reach the metrics API at http:\/\/127\.0\.0\.1:\d+ .*--api/);
    return true;
  });
  await assert.rejects(weft('stat', '--window', '3s'), (err: { code: number; stderr: string }) => {
    assert.equal(err.code, 2);
    assert.match(err.stderr, /at least 15s/);
    return true;
  });
});
