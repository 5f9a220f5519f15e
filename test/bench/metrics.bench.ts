/**
 * Cost of the metrics hot path: ns per httpStream() + responseHeaders() + end(), against the same
 * three updates done through prom-client's own cached `.labels()` children, in the same run.
 * Run: node --import tsx test/bench/metrics.bench.ts
 */
import * as prom from 'prom-client';
import { LATENCY_BUCKETS_MS } from '../../mesh/proxy/metrics/metric-names';
import { ProxyMetrics, type TrafficLabels } from '../../mesh/proxy/metrics/proxy-metrics';
import { labelKey, toPromLabels } from '../../mesh/proxy/metrics/traffic-labels';

const N = 1_000_000;
const ROUNDS = 7;

const labels: TrafficLabels[] = ['web', 'api', 'db', 'auth'].map((svc) => ({
  direction: 'outbound',
  authority: `${svc}.demo.svc.cluster.local:8080`,
  target_addr: '10.0.0.7:8080',
  tls: 'true',
  server_id: `${svc}.demo.serviceaccount.identity.weft.cluster.local`,
  dst: { service: svc, namespace: 'demo', pod: `${svc}-5f7d-abcde`, deployment: svc, serviceaccount: svc },
}));

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

function measure(name: string, fn: (i: number) => void): number {
  for (let i = 0; i < N / 10; i++) fn(i); // warm-up
  const runs: number[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < N; i++) fn(i);
    runs.push(Number(process.hrtime.bigint() - t0) / N);
  }
  const m = median(runs);
  console.log(`${name.padEnd(58)} ${m.toFixed(1).padStart(7)} ns/op  (min ${Math.min(...runs).toFixed(1)}, max ${Math.max(...runs).toFixed(1)})`);
  return m;
}

const metrics = new ProxyMetrics(undefined, { processMetrics: false });
const weft = measure('weft: httpStream + responseHeaders + end', (i) => {
  const s = metrics.httpStream(labels[i & 3]!);
  s.responseHeaders(i % 50 === 0 ? 503 : 200);
  s.end({});
});

const weftGrpc = measure('weft: same, gRPC (grpcStatus 0)', (i) => {
  const s = metrics.httpStream(labels[i & 3]!);
  s.responseHeaders(200);
  s.end({ grpcStatus: 0 });
});

const weftTcp = measure('weft: tcpConnection + read + wrote + close', (i) => {
  const c = metrics.tcpConnection(labels[i & 3]!);
  c.read(512);
  c.wrote(1024);
  c.close();
});

// Baseline: prom-client metrics with every child resolved once and cached, as the brief's
// "cache prom-client .labels()" design would do.
const reg = new prom.Registry();
const base = Object.keys(toPromLabels(labels[0]!));
const req = new prom.Counter({ name: 'request_total', help: 'h', labelNames: base, registers: [reg] });
const lat = new prom.Histogram({
  name: 'response_latency_ms', help: 'h', labelNames: [...base, 'status_code'], buckets: [...LATENCY_BUCKETS_MS], registers: [reg],
});
const rsp = new prom.Counter({
  name: 'response_total', help: 'h', labelNames: [...base, 'status_code', 'classification'], registers: [reg],
});
const children = labels.map((l) => {
  const p = toPromLabels(l);
  return {
    req: req.labels(p),
    lat: lat.labels({ ...p, status_code: '200' }),
    rsp: rsp.labels({ ...p, status_code: '200', classification: 'success' }),
  };
});
const promClient = measure('prom-client cached children: inc + observe + inc', (i) => {
  const c = children[i & 3]!;
  c.req.inc();
  const t = performance.now();
  c.lat.observe(performance.now() - t);
  c.rsp.inc();
});

const resolve = measure('(cold path) toPromLabels + labelKey per label set', (i) => {
  labelKey(toPromLabels(labels[i & 3]!));
});

console.log(`\nprom-client children / weft: ${(promClient / weft).toFixed(1)}x  (weft HTTP ${weft.toFixed(0)} ns, gRPC ${weftGrpc.toFixed(0)} ns, TCP ${weftTcp.toFixed(0)} ns, resolve ${resolve.toFixed(0)} ns)`);
console.log(`loadavg ${(await import('node:os')).loadavg().map((x) => x.toFixed(2)).join(' ')}`);
