import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { startMetricsApi, type MetricsApi } from '../../../../mesh/control/metrics-api/server';
import type { EdgesResponse, ErrorResponse, StatResponse } from '../../../../mesh/control/metrics-api/api-query';
import type { ScrapeTarget } from '../../../../mesh/control/metrics-api/aggregate';

/** A fake proxy admin server whose /metrics shows `ok`/`fail` inbound responses, changed by the test. */
async function fakeProxy(): Promise<{ admin: string; set(ok: number, fail: number): void; close(): Promise<void> }> {
  let ok = 0;
  let fail = 0;
  const server = http.createServer((req, res) => {
    if (req.url !== '/metrics') return void res.writeHead(404).end();
    const l = 'direction="inbound",authority="web.demo:8080",target_addr="127.0.0.1:1",tls="true",client_id="bot.demo.serviceaccount.identity.weft.cluster.local"';
    res.end(
      `# TYPE response_total counter\nresponse_total{${l},status_code="200",classification="success"} ${ok}\n` +
        `response_total{${l},status_code="500",classification="failure"} ${fail}\n` +
        `response_latency_ms_bucket{${l},status_code="200",le="10"} ${ok + fail}\nresponse_latency_ms_bucket{${l},status_code="200",le="+Inf"} ${ok + fail}\n` +
        `tcp_open_connections{direction="inbound",authority="0.0.0.0:4143",target_addr="0.0.0.0:4143",tls="true"} 2\n`,
    );
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    admin: `127.0.0.1:${(server.address() as AddressInfo).port}`,
    set: (o, f) => {
      ok = o;
      fail = f;
    },
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

async function get<T>(api: MetricsApi, path: string): Promise<{ status: number; body: T }> {
  const res = await fetch(`${api.url}${path}`);
  return { status: res.status, body: (await res.json()) as T };
}

test('metrics API on loopback: stats over the window from a proxy whose metrics change; errors as JSON', async (t) => {
  const proxy = await fakeProxy();
  t.after(() => proxy.close());
  let clock = 1_000_000;
  const targets: ScrapeTarget[] = [
    { namespace: 'demo', workload: 'web', pod: 'web-1', admin: proxy.admin, services: ['web'] },
    { namespace: 'demo', workload: 'web', pod: 'web-2', admin: '127.0.0.1:1', services: ['web'] }, // nothing listens
  ];
  const api = await startMetricsApi({ port: 0, targets: () => targets, autoScrape: false, now: () => clock, scrapeTimeoutMs: 500 });
  t.after(() => api.close());

  assert.deepEqual(await get(api, '/healthz'), { status: 200, body: { ok: true } });

  proxy.set(100, 0);
  await api.scrapeNow();
  clock += 20_000;
  proxy.set(130, 10);
  await api.scrapeNow();
  clock += 20_000;
  proxy.set(190, 30);
  await api.scrapeNow();

  const full = await get<StatResponse>(api, '/api/v1/stat?namespace=demo&kind=workload&window=1m');
  assert.equal(full.status, 200);
  const [web] = full.body.rows;
  assert.deepEqual([web!.name, web!.meshedPods, web!.totalPods, web!.responses, web!.rps, web!.successRate, web!.p99Ms, web!.tcpConnections], ['web', 2, 2, 120, 3, 0.75, 9.9, 2]);
  assert.equal(full.body.windowMs, 60_000);
  assert.deepEqual(full.body.scrapeErrors.map((e) => e.pod), ['demo/web-2']);
  assert.match(full.body.scrapeErrors[0]!.error, /127\.0\.0\.1:1/);

  // A 20 s window holds only the last two scrapes.
  const recent = await get<StatResponse>(api, '/api/v1/stat?kind=deploy&window=20s');
  assert.deepEqual([recent.body.rows[0]!.responses, recent.body.rows[0]!.rps, recent.body.rows[0]!.successRate], [80, 4, 60 / 80]);

  const edges = await get<EdgesResponse>(api, '/api/v1/edges?namespace=demo');
  assert.equal(edges.status, 200);
  assert.deepEqual(edges.body.edges, [], 'inbound traffic from an unscraped client makes no outbound edge');

  for (const [path, status, pattern] of [
    ['/api/v1/stat?window=5s', 400, /at least 15s/],
    ['/api/v1/stat?window=soon', 400, /not a duration/],
    ['/api/v1/stat?kind=pods', 400, /unknown resource kind/],
    ['/api/v1/nothing', 404, /no such endpoint/],
  ] as const) {
    const r = await get<ErrorResponse>(api, path);
    assert.equal(r.status, status, path);
    assert.match(r.body.error, pattern);
  }
  const post = await fetch(`${api.url}/api/v1/stat`, { method: 'POST' });
  assert.equal(post.status, 405);
  assert.match(((await post.json()) as ErrorResponse).error, /use GET/);
});

test('metrics API scrapes by itself every interval', async (t) => {
  const proxy = await fakeProxy();
  t.after(() => proxy.close());
  proxy.set(1, 0);
  let scrapes = 0;
  const api = await startMetricsApi({
    port: 0,
    scrapeIntervalMs: 20,
    targets: () => {
      scrapes++;
      return [{ namespace: 'demo', workload: 'web', pod: 'web-1', admin: proxy.admin }];
    },
  });
  t.after(() => api.close());
  const deadline = Date.now() + 5_000;
  while (scrapes < 3 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  assert.ok(scrapes >= 3, `scraped ${scrapes} times`);
});
