import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parsePromText } from '../../../../mesh/metrics-view/prom-text';
import { ScrapeRing, type WindowIncrease } from '../../../../mesh/control/metrics-api/scrape-window';
import { edges, podKey, serviceFromAuthority, statRows, type ScrapeTarget } from '../../../../mesh/control/metrics-api/aggregate';
import { identityName } from '../../../../mesh/config/identity';

const fixture = (name: string): ReturnType<typeof parsePromText>['samples'] => {
  const { samples, errors } = parsePromText(readFileSync(join(import.meta.dirname, '../../../fixtures/metrics-api', name), 'utf8'));
  assert.deepEqual(errors, []);
  return samples;
};

const CLIENT_ID = identityName({ serviceAccount: 'client', namespace: 'demo' });
const WEB_ID = identityName({ serviceAccount: 'web', namespace: 'demo' });

// Recorded from two real proxies (test/fixtures/metrics-api): 5 OK + 1 failure before t0,
// then 18 OK + 2 failures (500) between t0 and t1, client → web.demo:8080 over mTLS.
const inventory: ScrapeTarget[] = [
  { namespace: 'demo', workload: 'client', pod: 'client-1', admin: '127.0.0.1:1' },
  { namespace: 'demo', workload: 'web', pod: 'web-1', admin: '127.0.0.1:2', services: ['web'] },
  { namespace: 'demo', workload: 'web', pod: 'web-2', services: ['web'] }, // not meshed
];

function recordedWindows(): Map<string, WindowIncrease | undefined> {
  const ring = new ScrapeRing(600_000);
  ring.record('demo/client-1', { at: 1_000_000, samples: fixture('client-t0.prom') });
  ring.record('demo/client-1', { at: 1_010_000, samples: fixture('client-t1.prom') });
  ring.record('demo/web-1', { at: 1_000_000, samples: fixture('server-t0.prom') });
  ring.record('demo/web-1', { at: 1_010_000, samples: fixture('server-t1.prom') });
  return new Map(inventory.map((t) => [podKey(t), ring.window(podKey(t), 1_010_000, 60_000)]));
}

test('recorded scrapes: workload stats from inbound metrics, meshed/total from the inventory', () => {
  const rows = statRows(inventory, recordedWindows(), { kind: 'workload' });
  assert.deepEqual(rows.map((r) => [r.name, r.meshedPods, r.totalPods]), [['client', 1, 1], ['web', 1, 2]]);
  const client = rows[0]!;
  assert.equal(client.responses, 0, 'the client answered nothing inbound');
  assert.equal(client.successRate, undefined);
  assert.equal(client.p50Ms, undefined);
  const web = rows[1]!;
  assert.equal(web.responses, 20);
  assert.equal(web.successRate, 0.9);
  assert.equal(web.rps, 2);
  assert.equal(web.tcpConnections, 1);
  assert.equal(web.podsWithData, 1);
  assert.ok(web.p50Ms! > 0 && web.p50Ms! <= web.p95Ms! && web.p95Ms! <= web.p99Ms!);
});

test('recorded scrapes: service stats from the clients\' outbound metrics (dst_service)', () => {
  const rows = statRows(inventory, recordedWindows(), { kind: 'service', namespace: 'demo' });
  assert.equal(rows.length, 1);
  const web = rows[0]!;
  assert.deepEqual([web.namespace, web.name, web.meshedPods, web.totalPods], ['demo', 'web', 1, 2]);
  assert.equal(web.responses, 20);
  assert.equal(web.successRate, 0.9);
  assert.equal(web.rps, 2);
  assert.equal(web.tcpConnections, 2, "the client's two app connections to web.demo:8080");
  assert.deepEqual(statRows(inventory, recordedWindows(), { kind: 'service', namespace: 'other' }), []);
});

test('recorded scrapes: one edge client → web with both identities and mTLS', () => {
  assert.deepEqual(edges(inventory, recordedWindows()), [
    { srcNamespace: 'demo', srcWorkload: 'client', dstNamespace: 'demo', dstService: 'web', clientId: CLIENT_ID, serverIds: [WEB_ID], mtls: 'yes', requests: 20 },
  ]);
  assert.deepEqual(edges(inventory, recordedWindows(), 'elsewhere'), []);
});

/** A proxy exposition: inbound responses, latency observations and TCP, all labels fixed. */
function text(o: { ok: number; fail: number; latencies: Record<string, number>; open: number; read: number; write: number; authority?: string; tls?: string; dst?: string }): string {
  const tls = o.tls ?? 'true';
  const dir = o.authority ? 'outbound' : 'inbound';
  const l = `direction="${dir}",authority="${o.authority ?? 'web.demo:8080'}",tls="${tls}"${o.dst ?? ''}`;
  let t = `request_total{${l}} ${o.ok + o.fail}\n`;
  t += `response_total{${l},status_code="200",classification="success"} ${o.ok}\n`;
  t += `response_total{${l},status_code="500",classification="failure"} ${o.fail}\n`;
  for (const [le, n] of Object.entries(o.latencies)) t += `response_latency_ms_bucket{${l},status_code="200",le="${le}"} ${n}\n`;
  t += `tcp_open_connections{${l}} ${o.open}\ntcp_read_bytes_total{${l}} ${o.read}\ntcp_write_bytes_total{${l}} ${o.write}\n`;
  return t;
}
const samples = (t: string): ReturnType<typeof parsePromText>['samples'] => parsePromText(t).samples;

test('window: exact percentiles, bytes per second, latest gauge; scrapes before the window are left out', () => {
  const ring = new ScrapeRing(600_000);
  const key = 'demo/web-1';
  // Before the window: would add 1000 responses if counted.
  ring.record(key, { at: 0, samples: samples(text({ ok: 0, fail: 0, latencies: { 10: 0, 20: 0, 50: 0, '+Inf': 0 }, open: 9, read: 0, write: 0 })) });
  ring.record(key, { at: 40_000, samples: samples(text({ ok: 1000, fail: 0, latencies: { 10: 1000, 20: 1000, 50: 1000, '+Inf': 1000 }, open: 9, read: 0, write: 0 })) });
  ring.record(key, { at: 70_000, samples: samples(text({ ok: 1040, fail: 10, latencies: { 10: 1025, 20: 1065, 50: 1075, '+Inf': 1075 }, open: 5, read: 10_000, write: 2_000 })) });
  ring.record(key, { at: 100_000, samples: samples(text({ ok: 1080, fail: 20, latencies: { 10: 1050, 20: 1090, 50: 1100, '+Inf': 1100 }, open: 3, read: 30_000, write: 8_000 })) });
  const w = ring.window(key, 100_000, 60_000);
  assert.equal(w?.seconds, 60);
  const [row] = statRows([{ namespace: 'demo', workload: 'web', pod: 'web-1', admin: 'x' }], new Map([[key, w]]), { kind: 'workload' });
  assert.equal(row!.responses, 100);
  assert.equal(row!.successRate, 0.8);
  assert.equal(row!.rps, 100 / 60);
  // 100 observations: 50 ≤ 10 ms, 40 in (10, 20], 10 in (20, 50] (as in golden-metrics' test).
  assert.equal(row!.p50Ms, 10);
  assert.equal(row!.p95Ms, 35);
  assert.equal(row!.p99Ms, 47);
  assert.equal(row!.tcpConnections, 3);
  assert.equal(row!.readBytesPerSecond, 30_000 / 60);
  assert.equal(row!.writeBytesPerSecond, 8_000 / 60);
});

test('window: a counter reset (proxy restart) counts from zero; a series born mid-window counts in full', () => {
  const ring = new ScrapeRing(600_000);
  const key = 'demo/web-1';
  const lat = { '+Inf': 0 };
  ring.record(key, { at: 0, samples: samples(text({ ok: 500, fail: 0, latencies: lat, open: 0, read: 0, write: 0 })) });
  ring.record(key, { at: 10_000, samples: samples(text({ ok: 520, fail: 0, latencies: lat, open: 0, read: 0, write: 0 })) });
  ring.record(key, { at: 20_000, samples: samples(text({ ok: 7, fail: 3, latencies: lat, open: 0, read: 0, write: 0 })) }); // restarted
  const rows = statRows([{ namespace: 'demo', workload: 'web', pod: 'web-1', admin: 'x' }], new Map([[key, ring.window(key, 20_000, 60_000)]]), { kind: 'workload' });
  assert.equal(rows[0]!.responses, 30);
  assert.equal(rows[0]!.successRate, 27 / 30);
  assert.equal(rows[0]!.rps, 1.5);
});

test('window: fewer than two scrapes in the window give no numbers, not zeros from a guess', () => {
  const ring = new ScrapeRing(600_000);
  ring.record('demo/web-1', { at: 0, samples: samples(text({ ok: 5, fail: 0, latencies: {}, open: 1, read: 0, write: 0 })) });
  ring.record('demo/web-1', { at: 100_000, samples: samples(text({ ok: 9, fail: 0, latencies: {}, open: 1, read: 0, write: 0 })) });
  assert.equal(ring.window('demo/web-1', 100_000, 60_000), undefined);
  const [row] = statRows([{ namespace: 'demo', workload: 'web', pod: 'web-1', admin: 'x' }], new Map(), { kind: 'workload' });
  assert.deepEqual([row!.responses, row!.successRate, row!.rps, row!.podsWithData, row!.tcpConnections], [0, undefined, 0, 0, undefined]);
});

test('ring keeps scrapes for the retention and forgets pods no longer listed', () => {
  const ring = new ScrapeRing(30_000);
  for (let at = 0; at <= 100_000; at += 10_000) ring.record('a', { at, samples: [] });
  assert.deepEqual(ring.scrapes('a').map((s) => s.at), [70_000, 80_000, 90_000, 100_000]);
  ring.record('a', { at: 50_000, samples: [] });
  assert.equal(ring.scrapes('a').length, 4, 'an out-of-order scrape is ignored');
  ring.record('b', { at: 0, samples: [] });
  ring.retain(new Set(['b']));
  assert.deepEqual([ring.scrapes('a').length, ring.scrapes('b').length], [0, 1]);
});

test('services across namespaces and pods: sums rates per pod, names services from dst labels or authority', () => {
  const lat = { '+Inf': 0 };
  const w = (s: string): WindowIncrease => ({ samples: samples(s), seconds: 10, at: 0 });
  const targets: ScrapeTarget[] = [
    { namespace: 'a', workload: 'bot', pod: 'bot-1', admin: 'x' },
    { namespace: 'b', workload: 'bot', pod: 'bot-2', admin: 'y', identity: 'bot.b.serviceaccount.identity.weft.cluster.local' },
    { namespace: 'shop', workload: 'api', pod: 'api-1', services: ['api'] },
  ];
  const windows = new Map<string, WindowIncrease | undefined>([
    ['a/bot-1', w(text({ ok: 10, fail: 0, latencies: lat, open: 1, read: 0, write: 0, authority: 'api.shop.svc.cluster.local:80', tls: 'no_identity' }))],
    ['b/bot-2', w(text({ ok: 20, fail: 10, latencies: lat, open: 2, read: 0, write: 0, authority: '10.0.0.1:80', dst: ',server_id="api.shop.serviceaccount.identity.weft.cluster.local",dst_service="api",dst_namespace="shop"' }))],
  ]);
  const [api] = statRows(targets, windows, { kind: 'service', name: 'api' });
  assert.deepEqual([api!.namespace, api!.meshedPods, api!.totalPods, api!.responses, api!.rps, api!.successRate, api!.tcpConnections], ['shop', 0, 1, 40, 4, 0.75, 3]);
  const e = edges(targets, windows, 'shop');
  assert.deepEqual(e.map((x) => [x.srcNamespace, x.dstService, x.mtls, x.clientId, x.serverIds.length, x.requests]), [
    ['a', 'api', 'no', undefined, 0, 10],
    ['b', 'api', 'yes', 'bot.b.serviceaccount.identity.weft.cluster.local', 1, 30],
  ]);
});

test('serviceFromAuthority: Kubernetes names only', () => {
  assert.deepEqual(serviceFromAuthority('web.demo:8080'), { name: 'web', namespace: 'demo' });
  assert.deepEqual(serviceFromAuthority('web.demo.svc.cluster.local:80'), { name: 'web', namespace: 'demo' });
  assert.equal(serviceFromAuthority('127.0.0.1:80'), undefined);
  assert.equal(serviceFromAuthority('0.0.0.0:4143'), undefined);
  assert.equal(serviceFromAuthority('example.com.evil:80'), undefined);
});
