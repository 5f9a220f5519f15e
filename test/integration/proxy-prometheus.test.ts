/**
 * A real Prometheus (Debian's) scrapes the admin ports of a client and a server proxy while traffic
 * with a known failure share flows through them (the app answers 500 to one request in ten, after
 * 250 ms); Linkerd's success-rate and p99 PromQL give the numbers that traffic implies, on both sides.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import http from 'node:http';
import { after, before, test } from 'node:test';
import { formatAddr } from '../../mesh/proxy/discovery/discovery';
import { closeServer, listenLocal, startMesh, type Mesh } from '../helpers/mesh';
import { eventually, PROMETHEUS_BIN, startPrometheus, type PrometheusInstance } from '../helpers/prometheus';

const skip = existsSync(PROMETHEUS_BIN) ? false : `${PROMETHEUS_BIN} is not installed`;
const FAILURE_DELAY_MS = 250;

let n = 0;
const app = http.createServer((_req, res) => {
  if (++n % 10 === 0) {
    setTimeout(() => {
      res.statusCode = 500;
      res.end('boom\n');
    }, FAILURE_DELAY_MS);
  } else res.end('ok\n');
});
let mesh: Mesh | undefined;
let prometheus: PrometheusInstance | undefined;

async function traffic(m: Mesh, count: number): Promise<void> {
  const urls = Array.from({ length: count }, (_v, i) => m.url(`/r${i}`));
  // Ten at a time, so each batch holds exactly one failure.
  for (let i = 0; i < urls.length; i += 10) {
    await Promise.all(urls.slice(i, i + 10).map(async (u) => (await fetch(u)).arrayBuffer()));
  }
}

const scalar = async (p: PrometheusInstance, q: string): Promise<number | undefined> => {
  const v = await p.query(q);
  return v.length === 1 ? v[0]!.value : undefined;
};

before(async () => {
  if (skip) return;
  mesh = await startMesh({ servers: [{ appPort: await listenLocal(app) }] });
  prometheus = await startPrometheus({ targets: [formatAddr(mesh.client.admin), formatAddr(mesh.servers[0]!.proxy.admin)], scrapeIntervalMs: 1000 });
  await prometheus.waitForTargetsUp();
  // rate() needs the series to exist in an earlier scrape: a first batch creates them, then the rest follows.
  await traffic(mesh, 10);
  const seen = (total: number) => async () => ((await scalar(prometheus!, 'sum(response_total{direction="outbound"})')) === total &&
    (await scalar(prometheus!, 'sum(response_total{direction="inbound"})')) === total ? true : undefined);
  await eventually(seen(10), 15_000, 'first batch scraped');
  await traffic(mesh, 90);
  await eventually(seen(100), 15_000, 'all traffic scraped');
});

after(async () => {
  await prometheus?.stop();
  await mesh?.close();
  await closeServer(app);
});

// rate() extrapolates each series from its own first sample, and the failure series may first be
// scraped one interval after the success series: the ratio is 0.9 within a fraction of a percent.
test("Linkerd's success rate is 0.9 on the client (by dst_service) and on the server side", { skip }, async () => {
  const p = prometheus!;
  const out = await p.query(
    'sum(rate(response_total{classification="success", direction="outbound"}[1m])) by (dst_service)' +
      ' / sum(rate(response_total{direction="outbound"}[1m])) by (dst_service)',
  );
  assert.equal(out.length, 1);
  assert.equal(out[0]!.metric.dst_service, 'web');
  assert.ok(Math.abs(out[0]!.value - 0.9) < 0.01, `outbound success rate ${out[0]!.value}`);
  const inbound = await scalar(
    p,
    'sum(rate(response_total{classification="success", direction="inbound", tls="true"}[1m])) / sum(rate(response_total{direction="inbound", tls="true"}[1m]))',
  );
  assert.ok(inbound !== undefined && Math.abs(inbound - 0.9) < 0.01, `inbound success rate ${inbound}`);
});

test("Linkerd's p99 lands in the bucket of the slow failures; p50 well below", { skip }, async () => {
  const p = prometheus!;
  const q = (quantile: number, direction: string) =>
    scalar(p, `histogram_quantile(${quantile}, sum(rate(response_latency_ms_bucket{direction="${direction}"}[1m])) by (le))`);
  for (const direction of ['outbound', 'inbound']) {
    const p99 = await q(0.99, direction);
    const p50 = await q(0.5, direction);
    // The failures take ≥ 250 ms (bucket 200–300 ms, or a later one on a loaded machine).
    assert.ok(p99 !== undefined && p99 > 200 && p99 <= 1000, `${direction} p99 ${p99}`);
    // The fast nine in ten sit below the failures' bucket (usually far below; a loaded machine adds tens of ms).
    assert.ok(p50 !== undefined && p50 <= 200, `${direction} p50 ${p50}`);
  }
});
