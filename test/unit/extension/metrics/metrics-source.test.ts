import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { after, describe, test } from 'node:test';
import type { MetricsEndpointResult } from '../../../../extension/metrics/metrics-endpoint';
import { MetricsSource, NOT_ANSWERING } from '../../../../extension/metrics/metrics-source';
import { statRow } from './fixtures';

/** A metrics API on loopback that answers stat with one row, on a port that stays the same across restarts. */
async function startApi(port = 0): Promise<Server> {
  const server = createServer((req, res) => {
    const kind = new URL(req.url ?? '/', 'http://x').searchParams.get('kind') ?? 'workload';
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ kind, namespace: null, windowMs: 30_000, rows: [statRow({ name: 'web', kind: kind as 'workload' })], scrapeErrors: [] }));
  });
  await new Promise<void>((ok) => server.listen(port, '127.0.0.1', ok));
  return server;
}

describe('the metrics source of the views', () => {
  let api: Server | undefined;
  after(() => api?.close());

  test('records answers in the history; an API that stops answering is one quiet status and one log line, and recovers', async () => {
    api = await startApi();
    const port = (api.address() as { port: number }).port;
    const url = `http://127.0.0.1:${port}`;
    let resets = 0;
    const endpoints = { resolve: async (): Promise<MetricsEndpointResult> => ({ ok: true, endpoint: { url, mode: 'local', label: 'test' } }), reset: () => void resets++ };
    const lines: string[] = [];
    let now = 1_000_000;
    const source = new MetricsSource(endpoints, { info: (m) => lines.push(`info ${m}`), warn: (m) => lines.push(`warn ${m}`) }, () => now);

    const first = await source.stat('workload');
    assert.ok(first.ok);
    assert.equal(first.value[0]?.name, 'web');
    assert.equal(source.history.series('workload/demo/web', now).length, 1);

    await new Promise<void>((ok) => api!.close(() => ok()));
    for (let i = 0; i < 4; i++) {
      now += 2_000;
      const r = await source.stat('workload');
      assert.equal(r.ok, false);
      assert.deepEqual(r.ok ? undefined : r.status, { level: 'error', message: NOT_ANSWERING });
    }
    assert.equal(resets, 4, 'the endpoint is looked up again on every failure');
    assert.equal(lines.filter((l) => l.startsWith('warn')).length, 1, lines.join('\n'));

    api = await startApi(port);
    now += 2_000;
    const back = await source.stat('workload');
    assert.ok(back.ok);
    assert.equal(source.history.series('workload/demo/web', now).length, 2);
    assert.deepEqual(lines.map((l) => l.split(':')[0]), ['info metrics API answering at http', `warn ${NOT_ANSWERING}`, 'info metrics API answering at http']);
  });

  test('the same rows asked twice within a second share one request', async () => {
    let requests = 0;
    const server = createServer((_req, res) => {
      requests++;
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ kind: 'workload', namespace: null, windowMs: 30_000, rows: [statRow({ name: 'web' })], scrapeErrors: [] }));
    });
    await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
    try {
      const url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
      let now = 0;
      const source = new MetricsSource({ resolve: async () => ({ ok: true, endpoint: { url, mode: 'local', label: 't' } }), reset: () => undefined }, { info: () => undefined, warn: () => undefined }, () => now);
      await Promise.all([source.stat('workload'), source.stat('workload')]);
      now = 900;
      await source.stat('workload');
      assert.equal(requests, 1);
      await source.stat('workload', 'demo');
      assert.equal(requests, 2, 'another namespace is another request');
      now = 1_000;
      await source.stat('workload');
      assert.equal(requests, 3, 'a second later: asked again');
    } finally {
      server.close();
    }
  });

  test('no endpoint at all: a waiting status with the reason and the next step, logged once', async () => {
    const lines: string[] = [];
    const source = new MetricsSource({ resolve: async () => ({ ok: false, reason: 'no local mesh is running', hint: 'run Mesh: Start Local Demo' }), reset: () => undefined }, { info: (m) => lines.push(m), warn: (m) => lines.push(m) });
    for (let i = 0; i < 3; i++) {
      const r = await source.stat('service');
      assert.deepEqual(r.ok ? undefined : r.status, { level: 'waiting', message: 'No metrics API: no local mesh is running. Next: run Mesh: Start Local Demo.' });
    }
    assert.equal(lines.length, 1);
  });
});
