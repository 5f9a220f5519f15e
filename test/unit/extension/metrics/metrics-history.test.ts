import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { MetricsHistory, rowKey } from '../../../../extension/metrics/metrics-history';
import { statRow } from './fixtures';

describe('metrics history', () => {
  test('records each row of a snapshot under its kind, namespace and name', () => {
    const h = new MetricsHistory(60_000);
    h.record([statRow({ name: 'web', rps: 3 }), statRow({ name: 'web', kind: 'service', rps: 4 })], 1_000);
    h.record([statRow({ name: 'web', rps: 5, podsWithData: 0 })], 3_000);
    assert.deepEqual(h.series('workload/demo/web', 3_000).map((s) => [s.t, s.rps, s.hasData]), [[1_000, 3, true], [3_000, 5, false]]);
    assert.deepEqual(h.series('service/demo/web', 3_000).map((s) => s.rps), [4]);
    assert.equal(rowKey({ kind: 'service', namespace: 'a', name: 'b' }), 'service/a/b');
  });

  test('drops samples older than its span, and keeps the newest of two close ones', () => {
    const h = new MetricsHistory(10_000);
    h.record([statRow({ name: 'a', rps: 1 })], 0);
    h.record([statRow({ name: 'a', rps: 2 })], 5_000);
    h.record([statRow({ name: 'a', rps: 3 })], 5_400); // 400 ms later: replaces
    h.record([statRow({ name: 'a', rps: 4 })], 12_000);
    assert.deepEqual(h.series('workload/demo/a', 12_000).map((s) => s.rps), [3, 4]);
    assert.deepEqual(h.series('workload/demo/a', 12_000, 1_000).map((s) => s.rps), [4]);
  });

  test('an answer older than the last sample is ignored', () => {
    const h = new MetricsHistory();
    h.record([statRow({ name: 'a', rps: 2 })], 10_000);
    h.record([statRow({ name: 'a', rps: 1 })], 8_000);
    assert.deepEqual(h.series('workload/demo/a', 10_000).map((s) => s.rps), [2]);
  });
});
