import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { adminRoute, startAdminServer, type AdminServer } from '../../../../mesh/proxy/admin/admin-server';
import { ProxyMetrics } from '../../../../mesh/proxy/metrics/proxy-metrics';

test('adminRoute: paths, query strings, methods', () => {
  const extra = new Set(['/debug']);
  assert.equal(adminRoute('GET', '/metrics', extra), 'metrics');
  assert.equal(adminRoute('GET', '/metrics?x=1', extra), 'metrics');
  assert.equal(adminRoute('HEAD', '/ready', extra), 'ready');
  assert.equal(adminRoute('GET', '/live', extra), 'live');
  assert.equal(adminRoute('POST', '/metrics', extra), 'method-not-allowed');
  assert.equal(adminRoute('POST', '/debug', extra), 'extra');
  assert.equal(adminRoute('GET', '/shutdown', extra), 'not-found');
  assert.equal(adminRoute('GET', '/metrics/', extra), 'not-found');
  assert.equal(adminRoute('GET', '/toString', extra), 'not-found');
  assert.equal(adminRoute('GET', undefined, extra), 'not-found');
});

let server: AdminServer;
let base: string;
let ready = false;
const metrics = new ProxyMetrics(undefined, { processMetrics: false });

before(async () => {
  server = await startAdminServer({
    host: '127.0.0.1',
    port: 0,
    metrics,
    ready: () => ready,
    extraRoutes: {
      '/debug': (_req, res) => res.end('debug\n'),
      '/metrics': (_req, res) => res.end('shadowed\n'),
      '/boom': () => {
        throw new Error('boom');
      },
    },
  });
  base = `http://${server.address.host}:${server.address.port}`;
});

after(() => server.close());

test('listens on the loopback port it was given (0 = free port)', () => {
  assert.equal(server.address.host, '127.0.0.1');
  assert.ok(server.address.port > 0);
});

test('GET /metrics serves the Prometheus text of the ProxyMetrics', async () => {
  const s = metrics.httpStream({ direction: 'inbound', authority: 'a:1', target_addr: '127.0.0.1:1', tls: 'no_identity' });
  s.responseHeaders(200);
  s.end({});
  const res = await fetch(`${base}/metrics`);
  assert.equal(res.status, 200);
  assert.equal(res.headers.get('content-type'), metrics.contentType);
  const body = await res.text();
  assert.match(body, /^request_total\{direction="inbound",authority="a:1",target_addr="127.0.0.1:1",tls="no_identity"\} 1$/m);
  assert.match(body, /^response_total\{.*classification="success"\} 1$/m);
});

test('/ready follows the ready() callback', async () => {
  ready = false;
  let res = await fetch(`${base}/ready`);
  assert.equal(res.status, 503);
  assert.equal(await res.text(), 'not ready\n');
  ready = true;
  res = await fetch(`${base}/ready`);
  assert.equal(res.status, 200);
  assert.equal(await res.text(), 'ready\n');
});

test('/live is 200 "live\\n"', async () => {
  const res = await fetch(`${base}/live`);
  assert.equal(res.status, 200);
  assert.equal(await res.text(), 'live\n');
});

test('unknown paths are 404, wrong methods 405; /shutdown does not exist', async () => {
  assert.equal((await fetch(`${base}/nope`)).status, 404);
  assert.equal((await fetch(`${base}/shutdown`, { method: 'POST' })).status, 404);
  const res = await fetch(`${base}/metrics`, { method: 'POST' });
  assert.equal(res.status, 405);
  assert.equal(res.headers.get('allow'), 'GET, HEAD');
});

test('extra routes are served; built-ins win; a throwing handler is a 500', async () => {
  assert.equal(await (await fetch(`${base}/debug`)).text(), 'debug\n');
  assert.doesNotMatch(await (await fetch(`${base}/metrics`)).text(), /shadowed/);
  const res = await fetch(`${base}/boom`);
  assert.equal(res.status, 500);
  assert.equal(await res.text(), 'boom\n');
});

test('close() frees the port even with a keep-alive connection open', async () => {
  const s = await startAdminServer({ host: '127.0.0.1', port: 0, metrics, ready: () => true });
  const url = `http://127.0.0.1:${s.address.port}/live`;
  assert.equal((await fetch(url)).status, 200); // leaves a pooled keep-alive socket
  await s.close();
  await assert.rejects(fetch(url));
});
