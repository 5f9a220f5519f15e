import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatBytesPerSecond, renderEdgesTable, renderStatTable } from '../../../mesh/metrics-view/stat-table';
import type { StatRow } from '../../../mesh/control/metrics-api/aggregate';

const row = (o: Partial<StatRow>): StatRow => ({
  kind: 'workload', namespace: 'demo', name: 'web', meshedPods: 1, totalPods: 1, responses: 0, successRate: undefined, rps: 0,
  p50Ms: undefined, p95Ms: undefined, p99Ms: undefined, tcpConnections: undefined, readBytesPerSecond: 0, writeBytesPerSecond: 0, podsWithData: 0, ...o,
});

test('stat table: Linkerd columns, aligned; dashes where there is no data', () => {
  const text = renderStatTable(
    [row({ name: 'web', meshedPods: 2, totalPods: 3, responses: 90, successRate: 0.9, rps: 1.5, p50Ms: 4, p95Ms: 35, p99Ms: 1500, tcpConnections: 4, readBytesPerSecond: 2048, writeBytesPerSecond: 10, podsWithData: 2 }), row({ name: 'vote-bot' })],
    false,
  );
  assert.equal(
    text,
    'NAME      MESHED  SUCCESS     RPS  LATENCY_P50  LATENCY_P95  LATENCY_P99  TCP_CONN  READ_BYTES/SEC  WRITE_BYTES/SEC\n' +
      'web          2/3   90.00%  1.5rps        4.0ms         35ms        1.50s         4         2.0kB/s            10B/s\n' +
      'vote-bot     1/1        -       -            -            -            -         -               -                -\n',
  );
  assert.match(renderStatTable([row({ namespace: 'shop' })], true), /^NAMESPACE\s+NAME\s+MESHED/);
});

test('edges table and byte rates', () => {
  const text = renderEdgesTable([{ srcNamespace: 'demo', srcWorkload: 'client', dstNamespace: 'demo', dstService: 'web', clientId: 'c.demo', serverIds: ['w.demo'], mtls: 'yes', requests: 40 }, { srcNamespace: 'x', srcWorkload: 'bot', dstNamespace: 'demo', dstService: 'web', clientId: undefined, serverIds: [], mtls: 'no', requests: 3 }]);
  assert.match(text, /^client\s+web\s+demo\s+demo\s+√\s+c\.demo\s+w\.demo\s+40$/m);
  assert.match(text, /^bot\s+web\s+x\s+demo\s+no\s+-\s+-\s+3$/m);
  assert.deepEqual([formatBytesPerSecond(999), formatBytesPerSecond(1500), formatBytesPerSecond(2_500_000)], ['999B/s', '1.5kB/s', '2.5MB/s']);
});
