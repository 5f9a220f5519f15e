import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fmt, formatTarget, linearSlope, median, ratio, soakVerdict, table, target } from '../../../bench/lib/bench-report';

test('median of odd and even counts; NaN when empty', () => {
  assert.equal(median([5, 1, 3]), 3);
  assert.equal(median([4, 1, 3, 2]), 2.5);
  assert.ok(Number.isNaN(median([])));
});

test('a ratio over a denominator at or below the noise floor is n/a, not a huge number', () => {
  assert.equal(ratio(60, 20), 3);
  assert.ok(Number.isNaN(ratio(60, 0.5, 1)));
  assert.ok(Number.isNaN(ratio(60, -10)));
  assert.equal(fmt(ratio(60, -10), 2), 'n/a');
});

test('least-squares slope', () => {
  assert.equal(linearSlope([{ x: 0, y: 1 }, { x: 1, y: 3 }, { x: 2, y: 5 }]), 2);
  assert.ok(Number.isNaN(linearSlope([{ x: 1, y: 1 }])));
  assert.ok(Number.isNaN(linearSlope([{ x: 1, y: 1 }, { x: 1, y: 2 }])));
});

test('soak: a GC sawtooth around a flat level does not count as growth; a steady climb does', () => {
  const flat = Array.from({ length: 61 }, (_, i) => ({ tSec: i * 10, rssMb: 60 + (i % 3 === 0 ? 4 : 0) }));
  const v = soakVerdict(flat, 60);
  assert.equal(v.grows, false);
  const climbing = Array.from({ length: 61 }, (_, i) => ({ tSec: i * 10, rssMb: 60 + i * 0.2 })); // 1.2 MB/min
  const w = soakVerdict(climbing, 60);
  assert.equal(w.grows, true);
  assert.ok(Math.abs(w.slopeMbPerMin - 1.2) < 1e-9);
  // The warm-up climb is ignored.
  const settles = [{ tSec: 0, rssMb: 40 }, { tSec: 30, rssMb: 60 }, ...flat.slice(7)];
  assert.equal(soakVerdict(settles, 60).grows, false);
  assert.equal(soakVerdict([], 60).grows, true, 'no samples is not a pass');
});

test('targets: both directions, and an unmeasured value fails', () => {
  assert.equal(target('a', 3, '<=', 3).pass, true);
  assert.equal(target('a', 3.01, '<=', 3).pass, false);
  assert.equal(target('b', 0.35, '>=', 0.35).pass, true);
  assert.equal(target('b', 0.2, '>=', 0.35).pass, false);
  assert.equal(target('c', Number.NaN, '<=', 3).pass, false);
  assert.equal(formatTarget(target('ratio', 1.234, '<=', 3, '×')), 'PASS  ratio: 1.23× (target <= 3.00×)');
});

test('table aligns columns', () => {
  assert.equal(table(['path', 'p50'], [['direct', '12'], ['weft', '1,234']]), 'path      p50\n------  -----\ndirect     12\nweft    1,234');
});
