import { test } from 'node:test';
import assert from 'node:assert/strict';
import { counterIncrease, goldenRows, histogramQuantile, type Buckets } from '../../../mesh/metrics-view/golden-metrics';
import { LATENCY_BUCKETS_MS } from '../../../mesh/proxy/metrics/metric-names';
import { parsePromText, type Sample } from '../../../mesh/metrics-view/prom-text';

const b = (pairs: [number, number][]): Buckets => new Map(pairs);

test('histogramQuantile interpolates inside the bucket, as PromQL does', () => {
  // 100 observations: 50 in (0,10], 40 in (10,20], 10 in (20,50].
  const h = b([[10, 50], [20, 90], [50, 100], [Infinity, 100]]);
  assert.equal(histogramQuantile(0.5, h), 10);
  assert.equal(histogramQuantile(0.25, h), 5);
  assert.equal(histogramQuantile(0.7, h), 15);
  assert.equal(histogramQuantile(0.95, h), 35);
  assert.equal(histogramQuantile(1, h), 50);
});

test('histogramQuantile: empty is undefined; a rank in +Inf answers the highest finite bound', () => {
  assert.equal(histogramQuantile(0.5, b([])), undefined);
  assert.equal(histogramQuantile(0.5, b([[10, 0], [Infinity, 0]])), undefined);
  assert.equal(histogramQuantile(0.99, b([[10, 1], [20, 1], [Infinity, 10]])), 20);
});

test('counterIncrease: difference, first scrape, reset', () => {
  assert.equal(counterIncrease(10, 25), 15);
  assert.equal(counterIncrease(undefined, 7), 7);
  assert.equal(counterIncrease(100, 3), 3);
});

/** Builds a proxy exposition: per (direction, authority, tls): responses by class, latency observations. */
function exposition(series: { direction: string; authority: string; tls?: string; ok: number; fail: number; latencies: number[] }[], tcp: { direction: string; authority?: string; open: number }[] = []): Sample[] {
  let text = '';
  for (const s of series) {
    const tls = s.tls ?? 'true';
    const l = `direction="${s.direction}",authority="${s.authority}",target_addr="127.0.0.1:1",tls="${tls}"`;
    text += `request_total{${l}} ${s.ok + s.fail}\n`;
    text += `response_total{${l},status_code="200",classification="success"} ${s.ok}\n`;
    text += `response_total{${l},status_code="500",classification="failure"} ${s.fail}\n`;
    for (const le of [...LATENCY_BUCKETS_MS, Infinity]) {
      const n = s.latencies.filter((x) => x <= le).length;
      text += `response_latency_ms_bucket{${l},le="${le === Infinity ? '+Inf' : le}"} ${n}\n`;
    }
    text += `response_latency_ms_count{${l}} ${s.latencies.length}\n`;
  }
  for (const t of tcp) text += `tcp_open_connections{direction="${t.direction}",authority="${t.authority ?? ''}",peer="src",tls="true"} ${t.open}\n`;
  const r = parsePromText(text);
  assert.deepEqual(r.errors, []);
  return r.samples;
}

test('rates, success rate and percentiles come from the increase between two scrapes', () => {
  const prev = exposition([{ direction: 'inbound', authority: 'api.demo:80', ok: 1000, fail: 0, latencies: Array(1000).fill(500) }]);
  // Over 2 s: 38 successes + 2 failures; every new request took 3 ms (the old 500 ms ones must not count).
  const curr = exposition([{ direction: 'inbound', authority: 'api.demo:80', ok: 1038, fail: 2, latencies: [...Array(1000).fill(500), ...Array(40).fill(3)] }]);
  const [row, ...rest] = goldenRows('api', prev, curr, 2);
  assert.equal(rest.length, 0);
  assert.equal(row!.workload, 'api');
  assert.equal(row!.direction, 'inbound');
  assert.equal(row!.authority, 'api.demo:80');
  assert.equal(row!.responses, 40);
  assert.equal(row!.rps, 20);
  assert.equal(row!.successRate, 0.95);
  assert.ok(row!.p50Ms! > 2 && row!.p50Ms! <= 3, `p50 ${row!.p50Ms}`);
  assert.ok(row!.p99Ms! <= 3, `p99 ${row!.p99Ms}`);
  assert.equal(row!.mtls, 'yes');
});

test('first scrape counts from the proxy start; an idle interval has no rate, no percentiles', () => {
  const s = exposition([{ direction: 'outbound', authority: 'web.demo:80', ok: 10, fail: 0, latencies: Array(10).fill(7) }]);
  const first = goldenRows('traffic', undefined, s, 2)[0]!;
  assert.equal(first.responses, 10);
  assert.equal(first.successRate, 1);
  const idle = goldenRows('traffic', s, s, 2)[0]!;
  assert.equal(idle.rps, 0);
  assert.equal(idle.successRate, undefined);
  assert.equal(idle.p50Ms, undefined);
  assert.equal(idle.mtls, 'yes', 'idle: from the series seen');
});

test('rows per direction and authority; series over other labels are summed; inbound first', () => {
  const curr = exposition([
    { direction: 'outbound', authority: 'api.demo:80', ok: 5, fail: 5, latencies: Array(10).fill(2) },
    { direction: 'inbound', authority: 'web.demo:80', tls: 'true', ok: 6, fail: 0, latencies: Array(6).fill(2) },
    { direction: 'inbound', authority: 'web.demo:80', tls: 'no_identity', ok: 4, fail: 0, latencies: Array(4).fill(2) },
  ]);
  const rows = goldenRows('web', undefined, curr, 1);
  assert.deepEqual(rows.map((r) => [r.direction, r.authority, r.responses]), [['inbound', 'web.demo:80', 10], ['outbound', 'api.demo:80', 10]]);
  assert.equal(rows[0]!.mtls, 'mixed');
  assert.equal(rows[1]!.successRate, 0.5);
});

test('mTLS: plaintext-only traffic is "no"', () => {
  const rows = goldenRows('web', undefined, exposition([{ direction: 'inbound', authority: 'x:1', tls: 'no_identity', ok: 1, fail: 0, latencies: [1] }]), 1);
  assert.equal(rows[0]!.mtls, 'no');
});

test('TCP connections: own authority, else the only HTTP row of the direction, else a row of their own', () => {
  const curr = exposition(
    [
      { direction: 'inbound', authority: 'web.demo:80', ok: 1, fail: 0, latencies: [1] },
      { direction: 'outbound', authority: 'api.demo:80', ok: 1, fail: 0, latencies: [1] },
      { direction: 'outbound', authority: 'other.demo:80', ok: 1, fail: 0, latencies: [1] },
    ],
    [
      { direction: 'inbound', open: 2 },
      { direction: 'inbound', authority: '', open: 1 },
      { direction: 'outbound', authority: 'api.demo:80', open: 1 },
      { direction: 'outbound', authority: 'db.demo:5432', open: 3 },
    ],
  );
  const rows = goldenRows('web', undefined, curr, 1);
  const tcp = Object.fromEntries(rows.map((r) => [`${r.direction} ${r.authority}`, r.tcpOpen]));
  assert.deepEqual(tcp, { 'inbound web.demo:80': 3, 'outbound api.demo:80': 1, 'outbound other.demo:80': undefined, 'outbound db.demo:5432': 3 });
  assert.equal(goldenRows('web', undefined, exposition([{ direction: 'inbound', authority: 'x:1', ok: 1, fail: 0, latencies: [1] }]), 1)[0]!.tcpOpen, undefined, 'no TCP series: unknown, not 0');
  const db = rows.find((r) => r.authority === 'db.demo:5432')!;
  assert.equal(db.successRate, undefined);
  assert.equal(db.mtls, undefined);
});
