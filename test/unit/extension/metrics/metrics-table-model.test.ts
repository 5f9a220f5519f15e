import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { MetricsHistory } from '../../../../extension/metrics/metrics-history';
import { adaptiveSpan, chooseNamespace, DEFAULT_SORT, healthOf, nextSort, sortRows, tableRow, tableSection } from '../../../../extension/metrics/metrics-table-model';
import { statRow } from './fixtures';

describe('rows of the sidebar metrics view', () => {
  test('a row shows the stat answer formatted, with its sparkline from the history', () => {
    const h = new MetricsHistory();
    const row = statRow({ name: 'web', successRate: 0.9821, rps: 12.44, p50Ms: 2.94, p95Ms: 48.2, p99Ms: 1230, tcpConnections: 3, meshedPods: 2, totalPods: 3 });
    h.record([statRow({ name: 'web', rps: 10 })], 100_000);
    h.record([row], 102_000);
    const r = tableRow(row, h, 102_000);
    assert.deepEqual(
      { key: r.key, meshed: r.meshed, success: r.success, rps: r.rps, p50: r.p50, p95: r.p95, p99: r.p99, tcp: r.tcp, health: r.health },
      { key: 'workload/demo/web', meshed: '2/3', success: '98.21%', rps: '12.4', p50: '2.9ms', p95: '48ms', p99: '1.23s', tcp: '3', health: 'failing' },
    );
    assert.equal(r.spark.lines.length, 1);
    assert.equal(r.spark.lines[0]!.split(' ').length, 2);
    assert.match(r.title, /web is failing: 98\.21% success/);
    // Two seconds of history span the sparkline's minimum (6 s), not its full 2 minutes.
    assert.deepEqual(r.spark.lines[0]!.split(' ').map((p) => Number(p.split(',')[0])), [48, 72]);
  });

  test('a row without data shows dashes, is idle, and its sparkline has a gap', () => {
    const h = new MetricsHistory();
    const row = statRow({ name: 'idle', podsWithData: 0, responses: 0, successRate: undefined, rps: 0, p50Ms: undefined, p95Ms: undefined, p99Ms: undefined, tcpConnections: undefined });
    h.record([row], 5_000);
    const r = tableRow(row, h, 5_000);
    assert.deepEqual([r.success, r.rps, r.p50, r.p99, r.tcp, r.health], ['–', '–', '–', '–', '–', 'idle']);
    assert.deepEqual(r.spark.lines, []);
  });

  test('failing below 99 %, degraded below 99.9 %, idle without responses', () => {
    assert.equal(healthOf(statRow({ name: 'a', successRate: 0.9899 })), 'failing');
    assert.equal(healthOf(statRow({ name: 'a', successRate: 0.99 })), 'degraded');
    assert.equal(healthOf(statRow({ name: 'a', successRate: 0.9989 })), 'degraded');
    assert.equal(healthOf(statRow({ name: 'a', successRate: 0.999 })), 'ok');
    assert.equal(healthOf(statRow({ name: 'a', successRate: 1 })), 'ok');
    assert.equal(healthOf(statRow({ name: 'a', successRate: 0, responses: 0 })), 'idle');
    assert.equal(healthOf(statRow({ name: 'a', successRate: 0.5, podsWithData: 0 })), 'idle');
  });
});

describe('adaptive spans', () => {
  test('from the first sample to now, between the minimum and the maximum, rounded up', () => {
    assert.equal(adaptiveSpan([], 100_000, 20_000, 120_000), 20_000);
    assert.equal(adaptiveSpan([{ t: 50_000 }], 100_000, 20_000, 120_000), 50_000);
    assert.equal(adaptiveSpan([{ t: 0 }], 1_000_000, 20_000, 120_000), 120_000);
    assert.equal(adaptiveSpan([{ t: 10_000 }], 100_000, 60_000, 300_000, 60_000), 120_000);
  });

  test('a sample without success rate (a pure client) shows a dash', () => {
    const r = tableRow(statRow({ name: 'bot', successRate: undefined, responses: 0, rps: 0 }), new MetricsHistory(), 0);
    assert.equal(r.success, '–');
    assert.equal(r.health, 'idle');
  });
});

describe('sorting', () => {
  const rows = [
    statRow({ name: 'web', successRate: 0.9, rps: 5, p99Ms: 30 }),
    statRow({ name: 'api', successRate: 1, rps: 20, p99Ms: undefined }),
    statRow({ name: 'db', successRate: 0.99, rps: 20, p99Ms: 10 }),
    statRow({ name: 'new', successRate: undefined, rps: 0, podsWithData: 0, p99Ms: undefined }),
  ];
  const names = (sorted: { name: string }[]) => sorted.map((r) => r.name);

  test('by name, and by numbers both ways with ties by name and missing values last', () => {
    assert.deepEqual(names(sortRows(rows, DEFAULT_SORT)), ['api', 'db', 'new', 'web']);
    assert.deepEqual(names(sortRows(rows, { column: 'rps', descending: true })), ['api', 'db', 'web', 'new']);
    assert.deepEqual(names(sortRows(rows, { column: 'rps', descending: false })), ['web', 'api', 'db', 'new']);
    assert.deepEqual(names(sortRows(rows, { column: 'success', descending: false })), ['web', 'db', 'api', 'new']);
    assert.deepEqual(names(sortRows(rows, { column: 'p99', descending: true })), ['web', 'db', 'api', 'new']);
  });

  test('a header click flips the same column, a new one starts in its natural order', () => {
    assert.deepEqual(nextSort(DEFAULT_SORT, 'name'), { column: 'name', descending: true });
    assert.deepEqual(nextSort(DEFAULT_SORT, 'rps'), { column: 'rps', descending: true });
    assert.deepEqual(nextSort(DEFAULT_SORT, 'success'), { column: 'success', descending: false }, 'worst first');
    assert.deepEqual(nextSort({ column: 'rps', descending: true }, 'rps'), { column: 'rps', descending: false });
  });

  test('a section lists meshed workloads sorted; unmeshed workloads are left out', () => {
    const s = tableSection('workload', [...rows, statRow({ name: 'legacy', meshedPods: 0 })], { column: 'rps', descending: true }, new MetricsHistory(), 0);
    assert.equal(s.title, 'Workloads');
    assert.deepEqual(s.rows.map((r) => r.name), ['api', 'db', 'web', 'new']);
    assert.equal(s.rows.find((r) => r.name === 'web')?.health, 'failing');
    assert.equal(s.rows.find((r) => r.name === 'db')?.health, 'degraded');
  });
});

describe('namespace choice', () => {
  const rows = [{ namespace: 'weft' }, { namespace: 'emojivoto' }, { namespace: 'shop' }, { namespace: 'emojivoto' }];
  test('the remembered namespace while it exists, else the first that is not the control plane', () => {
    assert.deepEqual(chooseNamespace(rows, 'shop'), { namespaces: ['emojivoto', 'shop', 'weft'], selected: 'shop' });
    assert.deepEqual(chooseNamespace(rows, 'gone'), { namespaces: ['emojivoto', 'shop', 'weft'], selected: 'emojivoto' });
    assert.deepEqual(chooseNamespace([{ namespace: 'weft' }], undefined), { namespaces: ['weft'], selected: 'weft' });
    assert.deepEqual(chooseNamespace([], 'shop'), { namespaces: [], selected: 'shop' }, 'no answer yet: keep the choice');
  });
});
