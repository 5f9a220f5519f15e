/**
 * The metrics API with a real Prometheus (Debian's) as its source: Prometheus scrapes two real
 * proxies, the API asks it with increase()-over-window PromQL, and the stats match the traffic.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import http from 'node:http';
import { formatAddr } from '../../mesh/proxy/discovery/discovery';
import { startMetricsApi } from '../../mesh/control/metrics-api/server';
import { fetchEdges, fetchStat } from '../../mesh/control/metrics-api/client';
import type { ScrapeTarget } from '../../mesh/control/metrics-api/aggregate';
import { CLIENT_IDENTITY, SERVER_IDENTITY, closeServer, listenLocal, startMesh } from '../helpers/mesh';
import { eventually, PROMETHEUS_BIN, startPrometheus } from '../helpers/prometheus';

const skip = existsSync(PROMETHEUS_BIN) ? false : `${PROMETHEUS_BIN} is not installed`;

test('stat and edges from Prometheus agree with the traffic sent', { skip }, async (t) => {
  const app = http.createServer((req, res) => {
    res.statusCode = req.url === '/fail' ? 500 : 200;
    res.end('ok');
  });
  const appPort = await listenLocal(app);
  t.after(() => closeServer(app));
  const mesh = await startMesh({ servers: [{ appPort }] });
  t.after(() => mesh.close());
  const client = formatAddr(mesh.client.admin);
  const server = formatAddr(mesh.servers[0]!.proxy.admin);
  const prometheus = await startPrometheus({ targets: [client, server], scrapeIntervalMs: 1000 });
  t.after(() => prometheus.stop());
  await prometheus.waitForTargetsUp();

  const targets: ScrapeTarget[] = [
    { namespace: 'demo', workload: 'client', pod: 'client-0', admin: client },
    { namespace: 'demo', workload: 'web', pod: 'web-0', admin: server, services: ['web'] },
  ];
  const api = await startMetricsApi({ port: 0, targets: () => targets, prometheusUrl: prometheus.url });
  t.after(() => api.close());

  const seen = (total: number) => async (): Promise<true | undefined> => {
    const v = await prometheus.query('sum(response_total)');
    return v[0]?.value === total ? true : undefined;
  };
  // increase() cannot see the first count of a series it has never seen before (as in Linkerd):
  // one success and one failure first, so both series exist before the measured traffic.
  await (await fetch(mesh.url('/'))).text();
  await (await fetch(mesh.url('/fail'))).text();
  await eventually(seen(4), 15_000, 'Prometheus to scrape the first responses');
  await new Promise((r) => setTimeout(r, 1_100));
  for (let i = 0; i < 45; i++) await (await fetch(mesh.url('/'))).text();
  for (let i = 0; i < 5; i++) await (await fetch(mesh.url('/fail'))).text();
  await eventually(seen(104), 15_000, 'Prometheus to scrape 52 responses on each proxy');
  await new Promise((r) => setTimeout(r, 1_100)); // one more scrape after the last change

  const r = await fetchStat(api.url, { kind: 'workload', namespace: 'demo', window: '1m' });
  assert.ok(r.ok, r.ok ? '' : r.error);
  const web = r.body.rows.find((x) => x.name === 'web')!;
  // increase() extrapolates, so counts are approximate; the success rate of 45/50 (+1/+1) is ~0.9 still.
  assert.ok(Math.abs(web.successRate! - 0.9) < 0.02, `success rate ${web.successRate}`);
  assert.ok(web.responses >= 50 && web.responses < 80, `responses ${web.responses}`);
  assert.ok(web.p50Ms! > 0);
  const svc = await fetchStat(api.url, { kind: 'service', name: 'web' });
  assert.ok(svc.ok && Math.abs(svc.body.rows[0]!.successRate! - 0.9) < 0.02);
  const e = await fetchEdges(api.url, {});
  assert.ok(e.ok);
  assert.deepEqual(e.body.edges.map((x) => [x.srcWorkload, x.dstService, x.clientId, x.serverIds, x.mtls]), [['client', 'web', CLIENT_IDENTITY, [SERVER_IDENTITY], 'yes']]);
});

test('an unreachable Prometheus is a JSON error (502), not a crash', async (t) => {
  const holder = http.createServer();
  const port = await listenLocal(holder);
  await closeServer(holder);
  const api = await startMetricsApi({ port: 0, targets: () => [], prometheusUrl: `http://127.0.0.1:${port}` });
  t.after(() => api.close());
  const res = await fetch(`${api.url}/api/v1/stat`);
  assert.equal(res.status, 502);
  assert.match(((await res.json()) as { error: string }).error, /Prometheus at http:\/\/127\.0\.0\.1:\d+ did not answer/);
});
