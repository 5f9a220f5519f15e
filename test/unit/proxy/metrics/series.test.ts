import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as prom from 'prom-client';
import { CounterFamily, GaugeFamily, HistogramFamily } from '../../../../mesh/proxy/metrics/series';
import { parsePromText } from '../../../helpers/prometheus';

test('families render through a prom-client registry with escaped labels', async () => {
  const r = new prom.Registry();
  const c = new CounterFamily('c_total', 'a counter').registerIn(r);
  const g = new GaugeFamily('g', 'a gauge').registerIn(r);
  c.child('k', { x: 'quote"and\\back' }).inc(3);
  g.child('k', { x: 'y' }).inc();
  g.child('k', { x: 'y' }).dec(3);
  const text = await r.metrics();
  assert.match(text, /# TYPE c_total counter/);
  assert.match(text, /# TYPE g gauge/);
  const samples = parsePromText(text);
  assert.deepEqual(samples, [
    { name: 'c_total', labels: { x: 'quote"and\\back' }, value: 3 },
    { name: 'g', labels: { x: 'y' }, value: -2 },
  ]);
});

test('child() returns the same series for the same key', () => {
  const c = new CounterFamily('c_total', 'h');
  assert.equal(c.child('k', { a: '1' }), c.child('k', { a: '1' }));
  assert.notEqual(c.child('k', { a: '1' }), c.child('k2', { a: '2' }));
  assert.equal(c.size, 2);
});

test('histogram buckets are inclusive upper bounds, cumulative, with +Inf, sum and count', async () => {
  const r = new prom.Registry();
  const h = new HistogramFamily('h_ms', 'h', [1, 5, 10]).registerIn(r);
  const s = h.child('k', { a: 'b' });
  for (const v of [0.5, 1, 1.01, 5, 7, 10, 11, 1e9]) s.observe(v);
  const samples = parsePromText(await r.metrics());
  const buckets = samples.filter((x) => x.name === 'h_ms_bucket').map((x) => [x.labels.le, x.value]);
  assert.deepEqual(buckets, [['1', 2], ['5', 4], ['10', 6], ['+Inf', 8]]);
  assert.equal(samples.find((x) => x.name === 'h_ms_count')!.value, 8);
  assert.equal(samples.find((x) => x.name === 'h_ms_sum')!.value, 0.5 + 1 + 1.01 + 5 + 7 + 10 + 11 + 1e9);
  assert.equal(samples.find((x) => x.name === 'h_ms_sum')!.labels.le, undefined);
});

test('histogram refuses bounds that do not increase', () => {
  assert.throws(() => new HistogramFamily('h', 'h', [1, 1, 2]), /must increase/);
});
