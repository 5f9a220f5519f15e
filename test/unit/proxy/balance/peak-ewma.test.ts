import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PeakEwma } from '../../../../mesh/proxy/balance/peak-ewma';
import { PROXY_DEFAULTS } from '../../../../mesh/config/proxy-defaults';
import { fakeClock } from './fakes';

const close = (actual: number, expected: number, eps = 1e-9) =>
  assert.ok(Math.abs(actual - expected) <= eps, `${actual} is not ${expected} ± ${eps}`);

test('a new estimate starts at the default RTT from PROXY_DEFAULTS', () => {
  const clock = fakeClock(1_000);
  assert.equal(new PeakEwma({ now: clock.now }).estimate(), PROXY_DEFAULTS.ewmaDefaultRttMs);
  assert.equal(new PeakEwma({ now: clock.now, defaultRttMs: 7 }).estimate(), 7);
});

test('a sample above the estimate replaces it at once (peak)', () => {
  const clock = fakeClock();
  const e = new PeakEwma({ now: clock.now, defaultRttMs: 10, decayMs: 1_000 });
  e.observe(250);
  assert.equal(e.estimate(), 250);
  clock.advance(1);
  e.observe(900);
  assert.equal(e.estimate(), 900);
});

test('a lower sample is blended in with weight 1 - exp(-dt/decay)', () => {
  const clock = fakeClock();
  const tau = 10_000;
  const e = new PeakEwma({ now: clock.now, defaultRttMs: 100, decayMs: tau });
  clock.advance(tau);
  e.observe(10);
  close(e.estimate(), 100 * Math.exp(-1) + 10 * (1 - Math.exp(-1)));

  const f = new PeakEwma({ now: clock.now, defaultRttMs: 100, decayMs: tau });
  clock.advance(2 * tau);
  f.observe(10);
  close(f.estimate(), 100 * Math.exp(-2) + 10 * (1 - Math.exp(-2)));
});

test('a lower sample at the same instant does not move the estimate', () => {
  const clock = fakeClock();
  const e = new PeakEwma({ now: clock.now, defaultRttMs: 10, decayMs: 1_000 });
  e.observe(100);
  e.observe(1);
  assert.equal(e.estimate(), 100);
});

test('without samples the estimate decays toward 0 with the time constant (tower/Finagle)', () => {
  const clock = fakeClock();
  const e = new PeakEwma({ now: clock.now, defaultRttMs: 30, decayMs: 10_000 });
  clock.advance(10_000);
  close(e.estimate(), 30 / Math.E);
  // reading twice at the same instant changes nothing; decay composes over reads
  close(e.estimate(), 30 / Math.E);
  clock.advance(10_000);
  close(e.estimate(), 30 * Math.exp(-2));
});

test('under steady lower samples the estimate settles at the sample, from above', () => {
  const clock = fakeClock();
  const e = new PeakEwma({ now: clock.now, defaultRttMs: 30, decayMs: 1_000 });
  e.observe(200);
  for (let i = 0; i < 100; i++) {
    clock.advance(100);
    e.estimate();
    e.observe(10);
  }
  const est = e.estimate();
  assert.ok(est >= 10 * Math.exp(-0.1) - 1e-9 && est <= 10.5, `estimate ${est}`);
});

test('garbage samples are ignored', () => {
  const clock = fakeClock();
  const e = new PeakEwma({ now: clock.now, defaultRttMs: 10, decayMs: 1_000 });
  e.observe(Number.NaN);
  e.observe(-5);
  e.observe(Infinity);
  assert.equal(e.estimate(), 10);
  assert.throws(() => new PeakEwma({ decayMs: 0 }), RangeError);
});

test('observeAt/estimateAt take the time from the caller; an older time counts as Δt = 0', () => {
  const clock = fakeClock();
  const e = new PeakEwma({ now: clock.now, defaultRttMs: 100, decayMs: 1_000 });
  e.observeAt(10, 1_000);
  close(e.estimateAt(1_000), 100 / Math.E + 10 * (1 - 1 / Math.E));
  const before = e.estimateAt(1_000);
  e.observeAt(1, 500); // dated before the last update: no blend weight, and time does not go back
  assert.equal(e.estimateAt(1_000), before);
  close(e.estimateAt(2_000), before / Math.E);
});
