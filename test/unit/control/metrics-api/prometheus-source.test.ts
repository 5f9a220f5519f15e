import { test } from 'node:test';
import assert from 'node:assert/strict';
import { promQl, windowsFromVectors, type PromVectorEntry } from '../../../../mesh/control/metrics-api/prometheus-source';
import { statRows, type ScrapeTarget } from '../../../../mesh/control/metrics-api/aggregate';

test('PromQL: increase() over the window for counters, gauges as they are', () => {
  assert.equal(promQl('response_total', 60), 'increase(response_total[60s])');
  assert.equal(promQl('response_latency_ms_bucket', 15), 'increase(response_latency_ms_bucket[15s])');
  assert.equal(promQl('tcp_open_connections', 60), 'tcp_open_connections');
});

test('Prometheus vectors become per-pod windows: by namespace/pod labels, else by instance; Prometheus labels dropped', () => {
  const targets: ScrapeTarget[] = [
    { namespace: 'demo', workload: 'web', pod: 'web-1', admin: '127.0.0.1:4191' },
    { namespace: 'demo', workload: 'web', pod: 'web-2', admin: '10.0.0.2:4191' },
  ];
  const inbound = { direction: 'inbound', authority: 'web.demo:8080', tls: 'true' };
  const v = (metric: Record<string, string>, value: number): PromVectorEntry => ({ metric, value: [0, String(value)] });
  const vectors = new Map<string, PromVectorEntry[]>([
    ['response_total', [
      v({ ...inbound, classification: 'success', instance: '127.0.0.1:4191', job: 'proxies' }, 54),
      v({ ...inbound, classification: 'failure', instance: '127.0.0.1:4191', job: 'proxies' }, 6),
      v({ ...inbound, classification: 'success', namespace: 'demo', pod: 'web-2', instance: 'elsewhere:1' }, 60),
      v({ ...inbound, classification: 'success', instance: 'unknown:1' }, 1000),
    ]],
    ['tcp_open_connections', [v({ ...inbound, instance: '127.0.0.1:4191' }, 3)]],
  ]);
  const windows = windowsFromVectors(targets, vectors, 60, 0);
  assert.deepEqual(windows.get('demo/web-1')!.samples[0]!.labels, { ...inbound, classification: 'success' });
  const [row] = statRows(targets, windows, { kind: 'workload' });
  assert.deepEqual([row!.responses, row!.successRate, row!.rps, row!.tcpConnections, row!.podsWithData], [120, 0.95, 2, 3, 2]);
});
