/**
 * A real Prometheus scrapes a Weft admin server, and Linkerd's own PromQL (success rate and p99
 * as `linkerd viz stat` computes them) gives the numbers the synthetic traffic implies.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { after, before, test } from 'node:test';
import { startAdminServer, type AdminServer } from '../../mesh/proxy/admin/admin-server';
import { ProxyMetrics, type TrafficLabels } from '../../mesh/proxy/metrics/proxy-metrics';
import { eventually, PROMETHEUS_BIN, startPrometheus, type PrometheusInstance } from '../helpers/prometheus';

const skip = existsSync(PROMETHEUS_BIN) ? false : `${PROMETHEUS_BIN} is not installed`;

const clock = { t: 0 };
const metrics = new ProxyMetrics(undefined, { now: () => clock.t });
let admin: AdminServer | undefined;
let prometheus: PrometheusInstance | undefined;

function labels(service: string, pod: string): TrafficLabels {
  return {
    direction: 'outbound',
    authority: `${service}.demo.svc.cluster.local:8080`,
    target_addr: `10.0.0.${service.length}:8080`,
    tls: 'true',
    server_id: `${service}.demo.serviceaccount.identity.weft.cluster.local`,
    dst: { service, namespace: 'demo', deployment: service, pod },
  };
}
const web = labels('web', 'web-5f7d-abcde');
const api = labels('api', 'api-6c9b-fghij');

/** `n` requests of `latencyMs` each, answered with `status`. */
function traffic(l: TrafficLabels, n: number, latencyMs: number, status: number): void {
  for (let i = 0; i < n; i++) {
    const s = metrics.httpStream(l);
    clock.t += latencyMs;
    s.responseHeaders(status);
    s.end({});
  }
}

/** One round: web 90% success at 7 ms, failures at 250 ms; api all success at 3 ms. */
function round(scale: number): void {
  traffic(web, 9 * scale, 7, 200);
  traffic(web, 1 * scale, 250, 503);
  traffic(api, 5 * scale, 3, 200);
}

const one = async (p: PrometheusInstance, q: string): Promise<number | undefined> => {
  const v = await p.query(q);
  return v.length === 1 ? v[0]!.value : undefined;
};

before(async () => {
  if (skip) return;
  admin = await startAdminServer({ host: '127.0.0.1', port: 0, metrics, ready: () => true });
  prometheus = await startPrometheus({ targets: [`127.0.0.1:${admin.address.port}`], scrapeIntervalMs: 1000 });
  await prometheus.waitForTargetsUp();
  // rate() needs a counter to rise between scrapes: a first round creates the series and is
  // scraped, then nine times as much traffic follows in the same proportions.
  round(1);
  await eventually(async () => ((await one(prometheus!, 'sum(response_total)')) === 15 ? true : undefined), 10_000, 'round 1 scraped');
  round(9);
  await eventually(async () => ((await one(prometheus!, 'sum(response_total)')) === 150 ? true : undefined), 10_000, 'round 2 scraped');
});

after(async () => {
  await prometheus?.stop();
  await admin?.close();
});

test('the target is up and Prometheus sees process and golden metrics', { skip }, async () => {
  const p = prometheus!;
  assert.equal(await one(p, 'up'), 1);
  assert.ok((await one(p, 'process_resident_memory_bytes'))! > 0);
  assert.equal(await one(p, 'sum(request_total{direction="outbound"})'), 150);
});

test("Linkerd's success-rate query gives 0.9 for web and 1 for api", { skip }, async () => {
  const v = await prometheus!.query(
    'sum(rate(response_total{classification="success", direction="outbound"}[30s])) by (dst_service)' +
      ' / sum(rate(response_total{direction="outbound"}[30s])) by (dst_service)',
  );
  const byService = Object.fromEntries(v.map((s) => [s.metric.dst_service, s.value]));
  assert.deepEqual(Object.keys(byService).sort(), ['api', 'web']);
  assert.ok(Math.abs(byService.web! - 0.9) < 1e-9, `web success rate ${byService.web}`);
  assert.equal(byService.api, 1);
});

test("Linkerd's latency quantiles land in the buckets the latencies fall in", { skip }, async () => {
  const q = (quantile: number) =>
    prometheus!.query(
      `histogram_quantile(${quantile}, sum(rate(response_latency_ms_bucket{direction="outbound"}[30s])) by (le, dst_service))`,
    );
  const p99 = Object.fromEntries((await q(0.99)).map((s) => [s.metric.dst_service, s.value]));
  const p50 = Object.fromEntries((await q(0.5)).map((s) => [s.metric.dst_service, s.value]));
  // web: 10% at 250 ms (bucket 200–300], 90% at 7 ms (bucket 5–10]; api: all at 3 ms (bucket 2–3].
  assert.ok(p99.web! > 200 && p99.web! <= 300, `web p99 ${p99.web}`);
  assert.ok(p50.web! > 5 && p50.web! <= 10, `web p50 ${p50.web}`);
  assert.ok(p99.api! > 2 && p99.api! <= 3, `api p99 ${p99.api}`);
});

test('TLS and dst labels survive the scrape as Linkerd names them', { skip }, async () => {
  const v = await prometheus!.query('sum(response_total{tls="true", dst_namespace="demo", dst_deployment="web"}) by (server_id, dst_pod)');
  assert.equal(v.length, 1);
  assert.deepEqual(v[0]!.metric, { server_id: 'web.demo.serviceaccount.identity.weft.cluster.local', dst_pod: 'web-5f7d-abcde' });
  assert.equal(v[0]!.value, 100);
});
