import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FailureAccrual } from '../../../../mesh/proxy/reliability/failure-accrual';
import { PROXY_DEFAULTS } from '../../../../mesh/config/proxy-defaults';
import { fakeClock } from '../balance/fakes';

function fail(b: FailureAccrual, n: number): void {
  for (let i = 0; i < n; i++) b.record(false);
}

test('opens after the default number of consecutive failures (7), not before', () => {
  const clock = fakeClock();
  const b = new FailureAccrual({ now: clock.now, random: () => 0 });
  fail(b, PROXY_DEFAULTS.failureAccrualConsecutive - 1);
  assert.equal(b.state, 'closed');
  assert.equal(b.tryAcquire(), true);
  b.record(false);
  assert.equal(b.state, 'open');
  assert.equal(b.tryAcquire(), false);
});

test('a success resets the count of consecutive failures', () => {
  const b = new FailureAccrual({ consecutiveFailures: 3, now: fakeClock().now });
  fail(b, 2);
  b.record(true);
  fail(b, 2);
  assert.equal(b.state, 'closed');
  b.record(false);
  assert.equal(b.state, 'open');
});

test('half-open lets exactly one probe through; success closes', () => {
  const clock = fakeClock();
  const b = new FailureAccrual({ consecutiveFailures: 1, minBackoffMs: 1_000, jitter: 0, now: clock.now });
  b.record(false);
  clock.advance(999);
  assert.equal(b.state, 'open');
  assert.equal(b.available(), false);
  assert.equal(b.tryAcquire(), false);
  clock.advance(1);
  assert.equal(b.state, 'half-open');
  assert.equal(b.available(), true);
  assert.equal(b.tryAcquire(), true);
  assert.equal(b.available(), false);
  assert.equal(b.tryAcquire(), false);
  assert.equal(b.tryAcquire(), false);
  b.record(true);
  assert.equal(b.state, 'closed');
  for (let i = 0; i < 5; i++) assert.equal(b.tryAcquire(), true);
});

test('back-off doubles from min to max on each failed probe, and resets after closing', () => {
  const clock = fakeClock();
  const b = new FailureAccrual({ consecutiveFailures: 1, minBackoffMs: 1_000, maxBackoffMs: 60_000, jitter: 0, now: clock.now });
  b.record(false);
  const delays: number[] = [];
  for (let i = 0; i < 8; i++) {
    delays.push(b.retryAt - clock.now());
    clock.set(b.retryAt);
    assert.equal(b.tryAcquire(), true);
    b.record(false);
  }
  assert.deepEqual(delays, [1_000, 2_000, 4_000, 8_000, 16_000, 32_000, 60_000, 60_000]);
  clock.set(b.retryAt);
  b.tryAcquire();
  b.record(true);
  b.record(false);
  assert.equal(b.retryAt - clock.now(), 1_000);
});

test('jitter adds up to jitter × base, and never goes past the maximum', () => {
  const clock = fakeClock();
  let r = 0.5;
  const b = new FailureAccrual({ consecutiveFailures: 1, minBackoffMs: 1_000, maxBackoffMs: 3_000, jitter: 0.5, now: clock.now, random: () => r });
  b.record(false);
  assert.equal(b.retryAt - clock.now(), 1_250);
  r = 0.999;
  clock.set(b.retryAt);
  b.tryAcquire();
  b.record(false);
  assert.ok(Math.abs(b.retryAt - clock.now() - 2_999) < 1e-6);
  clock.set(b.retryAt);
  b.tryAcquire();
  b.record(false); // base 3 000 (capped), + jitter, capped again
  assert.equal(b.retryAt - clock.now(), 3_000);
});

test('defaults come from PROXY_DEFAULTS (1 s min back-off, jitter 0.5)', () => {
  const clock = fakeClock();
  const b = new FailureAccrual({ consecutiveFailures: 1, now: clock.now, random: () => 1 });
  b.record(false);
  assert.equal(b.retryAt, PROXY_DEFAULTS.failureAccrualMinBackoffMs * (1 + PROXY_DEFAULTS.failureAccrualJitter));
});

test('results that arrive while open are ignored', () => {
  const clock = fakeClock();
  const b = new FailureAccrual({ consecutiveFailures: 1, minBackoffMs: 1_000, jitter: 0, now: clock.now });
  b.record(false);
  b.record(true);
  assert.equal(b.state, 'open');
  b.record(false);
  assert.equal(b.retryAt, 1_000, 'a late failure does not extend the back-off');
});
