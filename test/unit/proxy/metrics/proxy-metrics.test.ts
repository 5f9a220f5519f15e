import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as prom from 'prom-client';
import { LATENCY_BUCKETS_MS } from '../../../../mesh/proxy/metrics/metric-names';
import { ProxyMetrics, type TrafficLabels } from '../../../../mesh/proxy/metrics/proxy-metrics';
import { findSamples, parsePromText } from '../../../helpers/prometheus';

function fixture(opts: { maxCachedTargets?: number } = {}) {
  const clock = { t: 1000 };
  const m = new ProxyMetrics(undefined, { now: () => clock.t, processMetrics: false, ...opts });
  return { m, clock, scrape: async () => parsePromText(await m.metricsText()) };
}

const outbound: TrafficLabels = {
  direction: 'outbound',
  authority: 'web.demo.svc.cluster.local:8080',
  target_addr: '10.0.0.7:8080',
  tls: 'true',
  server_id: 'web.demo.serviceaccount.identity.weft.cluster.local',
  dst: { service: 'web', namespace: 'demo', pod: 'web-abc', deployment: 'web' },
};

const inbound: TrafficLabels = {
  direction: 'inbound',
  authority: 'web.demo.svc.cluster.local:8080',
  target_addr: '127.0.0.1:8080',
  tls: 'no_identity',
  no_tls_reason: 'no_tls_from_remote',
};

test("Linkerd's buckets: 1..50000 ms, 25 bounds", () => {
  assert.deepEqual(
    [...LATENCY_BUCKETS_MS],
    [1, 2, 3, 4, 5, 10, 20, 30, 40, 50, 100, 200, 300, 400, 500, 1000, 2000, 3000, 4000, 5000, 10000, 20000, 30000, 40000, 50000],
  );
});

test('request_total counts at stream start; response_total at end with status and classification', async () => {
  const { m, scrape } = fixture();
  const s = m.httpStream(outbound);
  let samples = await scrape();
  assert.equal(findSamples(samples, 'request_total')[0]!.value, 1);
  assert.equal(findSamples(samples, 'response_total').length, 0);
  s.responseHeaders(200);
  s.end({});
  samples = await scrape();
  const [r] = findSamples(samples, 'response_total');
  assert.deepEqual(r!.labels, {
    direction: 'outbound',
    authority: 'web.demo.svc.cluster.local:8080',
    target_addr: '10.0.0.7:8080',
    tls: 'true',
    server_id: 'web.demo.serviceaccount.identity.weft.cluster.local',
    dst_deployment: 'web',
    dst_namespace: 'demo',
    dst_pod: 'web-abc',
    dst_service: 'web',
    status_code: '200',
    classification: 'success',
  });
  assert.equal(r!.value, 1);
});

test('response_latency_ms observes the time from httpStream() to responseHeaders(), by status_code', async () => {
  const { m, clock, scrape } = fixture();
  const s = m.httpStream(inbound);
  clock.t += 7;
  s.responseHeaders(503);
  clock.t += 500; // body time does not count
  s.end({});
  const samples = await scrape();
  const buckets = findSamples(samples, 'response_latency_ms_bucket', { status_code: '503' });
  assert.equal(buckets.length, LATENCY_BUCKETS_MS.length + 1);
  const le = (b: string) => buckets.find((x) => x.labels.le === b)!.value;
  assert.equal(le('5'), 0);
  assert.equal(le('10'), 1);
  assert.equal(le('+Inf'), 1);
  assert.equal(findSamples(samples, 'response_latency_ms_sum')[0]!.value, 7);
  assert.equal(findSamples(samples, 'response_latency_ms_count')[0]!.labels.no_tls_reason, 'no_tls_from_remote');
  assert.equal(findSamples(samples, 'response_total', { classification: 'failure', status_code: '503' })[0]!.value, 1);
});

test('gRPC: grpc_status_code (and grpc_status) from trailers; non-zero is a failure even with 200', async () => {
  const { m, scrape } = fixture();
  for (const g of [0, 0, 14]) {
    const s = m.httpStream(outbound);
    s.responseHeaders(200);
    s.end({ grpcStatus: g });
  }
  const samples = await scrape();
  const ok = findSamples(samples, 'response_total', { grpc_status_code: '0' });
  const bad = findSamples(samples, 'response_total', { grpc_status_code: '14' });
  assert.equal(ok[0]!.value, 2);
  assert.equal(ok[0]!.labels.classification, 'success');
  assert.equal(ok[0]!.labels.grpc_status, '0');
  assert.equal(bad[0]!.value, 1);
  assert.equal(bad[0]!.labels.classification, 'failure');
});

test('a stream that errors is a failure; one that errors before headers has no status_code', async () => {
  const { m, scrape } = fixture();
  const a = m.httpStream(outbound);
  a.responseHeaders(200);
  a.end({ error: true });
  const b = m.httpStream(outbound);
  b.end({ error: true });
  const samples = await scrape();
  const failures = findSamples(samples, 'response_total', { classification: 'failure' });
  assert.equal(failures.length, 2);
  assert.equal(failures.find((f) => f.labels.status_code === '200')!.value, 1);
  assert.equal(failures.find((f) => f.labels.status_code === undefined)!.value, 1);
  assert.equal(findSamples(samples, 'request_total')[0]!.value, 2);
  assert.equal(findSamples(samples, 'response_latency_ms_count').reduce((n, s) => n + s.value, 0), 1);
});

test('responseHeaders and end count once per stream', async () => {
  const { m, clock, scrape } = fixture();
  const s = m.httpStream(outbound);
  clock.t += 3;
  s.responseHeaders(200);
  clock.t += 100;
  s.responseHeaders(500);
  s.end({});
  s.end({ error: true });
  const samples = await scrape();
  assert.equal(findSamples(samples, 'response_total').length, 1);
  assert.equal(findSamples(samples, 'response_total')[0]!.labels.classification, 'success');
  assert.equal(findSamples(samples, 'response_latency_ms_sum')[0]!.value, 3);
});

test('TCP: open, gauge, bytes, close with errno="" when clean and the errno when not', async () => {
  const { m, clock, scrape } = fixture();
  const l: TrafficLabels = { ...outbound, peer: 'dst' };
  const a = m.tcpConnection(l);
  const b = m.tcpConnection(l);
  a.read(100);
  a.wrote(40);
  b.read(1);
  let samples = await scrape();
  assert.equal(findSamples(samples, 'tcp_open_total')[0]!.value, 2);
  assert.equal(findSamples(samples, 'tcp_open_connections')[0]!.value, 2);
  assert.equal(findSamples(samples, 'tcp_read_bytes_total')[0]!.value, 101);
  assert.equal(findSamples(samples, 'tcp_write_bytes_total')[0]!.value, 40);
  assert.equal(findSamples(samples, 'tcp_open_total')[0]!.labels.peer, 'dst');
  clock.t += 42;
  a.close();
  b.close('ECONNRESET');
  b.close('EPIPE'); // a second close is ignored
  samples = await scrape();
  assert.equal(findSamples(samples, 'tcp_open_connections')[0]!.value, 0);
  assert.equal(findSamples(samples, 'tcp_close_total', { errno: '' })[0]!.value, 1);
  assert.equal(findSamples(samples, 'tcp_close_total', { errno: 'ECONNRESET' })[0]!.value, 1);
  assert.equal(findSamples(samples, 'tcp_close_total', { errno: 'EPIPE' }).length, 0);
  assert.equal(findSamples(samples, 'tcp_connection_duration_ms_sum', { errno: '' })[0]!.value, 42);
  // A TCP-only label set exports no HTTP series.
  assert.equal(findSamples(samples, 'request_total').length, 0);
});

test('label cache: the same labels (even in another object) resolve to the same series', async () => {
  const { m, scrape } = fixture();
  m.httpStream(outbound);
  m.httpStream(outbound);
  m.httpStream({ ...outbound, dst: { ...outbound.dst } });
  const samples = await scrape();
  assert.equal(findSamples(samples, 'request_total').length, 1);
  assert.equal(findSamples(samples, 'request_total')[0]!.value, 3);
  assert.equal(m.cachedTargets, 1);
});

test('label cache: different labels make different series', async () => {
  const { m, scrape } = fixture();
  m.httpStream(outbound);
  m.httpStream({ ...outbound, dst: { ...outbound.dst, pod: 'web-def' } });
  m.httpStream(inbound);
  const samples = await scrape();
  const pods = findSamples(samples, 'request_total').map((s) => s.labels.dst_pod ?? '-').sort();
  assert.deepEqual(pods, ['-', 'web-abc', 'web-def']);
  assert.equal(m.cachedTargets, 3);
});

test('label cache is bounded, and evicted label sets keep counting into their series', async () => {
  const { m, scrape } = fixture({ maxCachedTargets: 2 });
  const sets = [0, 1, 2, 3].map((i) => ({ ...inbound, authority: `svc-${i}:80` }));
  for (const l of sets) m.httpStream({ ...l });
  assert.equal(m.cachedTargets, 2);
  m.httpStream({ ...sets[0]! }); // evicted earlier; resolves again
  const samples = await scrape();
  assert.equal(findSamples(samples, 'request_total', { authority: 'svc-0:80' })[0]!.value, 2);
  assert.equal(findSamples(samples, 'request_total').length, 4);
  assert.equal(m.cachedTargets, 2);
});

test('process metrics are exported by default, into the registry given', async () => {
  const registry = new prom.Registry();
  const m = new ProxyMetrics(registry);
  assert.equal(m.registry, registry);
  assert.equal(m.contentType, prom.Registry.PROMETHEUS_CONTENT_TYPE);
  const text = await m.metricsText();
  assert.match(text, /^process_cpu_seconds_total \d/m);
  assert.match(text, /^process_resident_memory_bytes \d/m);
  assert.match(text, /# TYPE response_latency_ms histogram/);
  assert.match(text, /# TYPE tcp_open_connections gauge/);
});
