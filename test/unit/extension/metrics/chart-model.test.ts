import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { lineChart, linearScale, niceStep, niceTicks, polylines, sparkline } from '../../../../extension/metrics/chart-model';

describe('chart scales', () => {
  test('a linear scale maps the domain onto a (reversed) range', () => {
    const y = linearScale([0, 10], [100, 0]);
    assert.equal(y(0), 100);
    assert.equal(y(10), 0);
    assert.equal(y(2.5), 75);
    assert.equal(linearScale([5, 5], [0, 20])(5), 10, 'an empty domain maps to the middle');
  });

  test('nice steps are 1, 2 or 5 times a power of ten', () => {
    assert.equal(niceStep(0.13), 0.2);
    assert.equal(niceStep(3), 5);
    assert.equal(niceStep(7), 10);
    assert.equal(niceStep(20), 20);
    assert.equal(niceStep(0), 1);
  });

  test('ticks cover the data from the minimum to a nice maximum', () => {
    assert.deepEqual(niceTicks(0, 13), [0, 5, 10, 15]);
    assert.deepEqual(niceTicks(0, 1), [0, 0.5, 1]);
    assert.deepEqual(niceTicks(0, 1, 5), [0, 0.2, 0.4, 0.6, 0.8, 1]);
    assert.deepEqual(niceTicks(0, 0), [0, 1]);
    assert.deepEqual(niceTicks(0, 0.37), [0, 0.1, 0.2, 0.3, 0.4]);
  });
});

describe('sparklines', () => {
  const now = 1_000_000;
  test('points run left to right over the span, the largest value near the top', () => {
    const s = sparkline([{ t: now - 120_000, v: 0 }, { t: now - 60_000, v: 10 }, { t: now, v: 5 }], now, 120_000, 72, 18);
    assert.equal(s.lines.length, 1);
    const pts = s.lines[0]!.split(' ').map((p) => p.split(',').map(Number));
    assert.deepEqual(pts.map((p) => p[0]), [0, 36, 72]);
    assert.equal(pts[0]![1], 16.5, 'zero sits on the bottom (height - pad)');
    assert.ok(pts[1]![1]! < pts[2]![1]!, 'the larger value is higher (smaller y)');
    assert.ok(pts[1]![1]! > 1.5, 'headroom above the maximum');
    assert.deepEqual(s.last, { x: 72, y: pts[2]![1] });
  });

  test('a sample without data breaks the line; samples older than the span are left out', () => {
    const s = sparkline([{ t: now - 200_000, v: 3 }, { t: now - 90_000, v: 1 }, { t: now - 60_000, v: undefined }, { t: now - 30_000, v: 2 }, { t: now, v: 2 }], now, 120_000);
    assert.equal(s.lines.length, 2);
    assert.equal(s.lines[0]!.split(' ').length, 1);
    assert.equal(s.lines[1]!.split(' ').length, 2);
  });

  test('all zeros draw a flat line at the bottom; no samples draw nothing', () => {
    const flat = sparkline([{ t: now - 10_000, v: 0 }, { t: now, v: 0 }], now, 120_000, 72, 18);
    assert.ok(flat.lines[0]!.split(' ').every((p) => p.endsWith(',16.5')));
    const none = sparkline([], now, 120_000);
    assert.deepEqual(none.lines, []);
    assert.equal(none.last, undefined);
  });

  test('values outside fixed bounds are clamped to the chart', () => {
    const [line] = polylines([{ t: now, v: 2 }], { now, spanMs: 1000, width: 10, height: 10, yMin: 0, yMax: 1, pad: 0 });
    assert.equal(line, '10,0');
  });
});

describe('line charts', () => {
  const now = 10_000_000;
  test('a success-rate chart keeps its fixed 0..100 % axis and time ticks down to now', () => {
    const c = lineChart([{ name: 'success', color: 'red', points: [{ t: now - 60_000, v: 0.9 }, { t: now, v: 0.8 }] }], { title: 'Success', now, spanMs: 5 * 60_000, yMin: 0, yMax: 1, ticks: 5, format: (v) => `${Math.round(v * 100)}%` });
    assert.deepEqual(c.yTicks.map((t) => t.label), ['0%', '20%', '40%', '60%', '80%', '100%']);
    assert.equal(c.yTicks[0]!.y, c.height);
    assert.equal(c.yTicks[5]!.y, 0);
    assert.deepEqual(c.xTicks.map((t) => t.label), ['-5m', '-4m', '-3m', '-2m', '-1m', 'now']);
    assert.equal(c.xTicks[5]!.x, c.width);
    assert.equal(c.series[0]!.latest, '80%');
    assert.equal(c.empty, false);
  });

  test('a free axis grows to a nice maximum above the data', () => {
    const c = lineChart([{ name: 'rps', color: 'blue', points: [{ t: now, v: 13.2 }] }], { title: 'RPS', now, spanMs: 60_000, format: (v) => v.toFixed(0) });
    assert.deepEqual(c.yTicks.map((t) => t.label), ['0', '5', '10', '15']);
  });

  test('no value in the span: an empty chart with a 0..1 axis', () => {
    const c = lineChart([{ name: 'rps', color: 'blue', points: [{ t: now, v: undefined }] }], { title: 'RPS', now, spanMs: 60_000, format: String });
    assert.equal(c.empty, true);
    assert.equal(c.series[0]!.latest, '–');
    assert.deepEqual(c.series[0]!.lines, []);
  });
});
