import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RetryBudget } from '../../../../mesh/proxy/reliability/retry-budget';
import { PROXY_DEFAULTS } from '../../../../mesh/config/proxy-defaults';
import { fakeClock } from '../balance/fakes';

function drain(b: RetryBudget): number {
  let n = 0;
  while (b.tryWithdraw()) if (++n > 1e6) throw new Error('budget never ends');
  return n;
}

test('defaults: with no traffic, the floor minPerSecond × ttl is available', () => {
  const clock = fakeClock(5_000);
  const b = new RetryBudget({ now: clock.now });
  const floor = PROXY_DEFAULTS.retryBudgetMinPerSecond * (PROXY_DEFAULTS.retryBudgetTtlMs / 1000);
  assert.equal(b.balance(), floor);
  assert.equal(drain(b), floor);
  assert.equal(b.tryWithdraw(), false);
});

test('retries may add ratio × requests plus the floor, and no more', () => {
  const clock = fakeClock();
  const b = new RetryBudget({ now: clock.now, ratio: 0.2, minPerSecond: 1, ttlMs: 10_000 });
  for (let i = 0; i < 100; i++) b.deposit();
  assert.equal(drain(b), 20 + 10);
  b.deposit();
  b.deposit();
  b.deposit();
  b.deposit();
  assert.equal(b.tryWithdraw(), false, '0.8 of a retry is not a retry');
  b.deposit();
  assert.equal(b.tryWithdraw(), true);
  assert.equal(b.tryWithdraw(), false);
});

test('without a floor, no requests means no retries', () => {
  const b = new RetryBudget({ now: fakeClock().now, ratio: 0.5, minPerSecond: 0, ttlMs: 1_000 });
  assert.equal(b.tryWithdraw(), false);
  b.deposit();
  b.deposit();
  assert.equal(b.tryWithdraw(), true);
  assert.equal(b.tryWithdraw(), false);
});

test('withdrawals expire after ttl: the budget refills', () => {
  const clock = fakeClock();
  const b = new RetryBudget({ now: clock.now, ratio: 0.2, minPerSecond: 1, ttlMs: 10_000 });
  assert.equal(drain(b), 10);
  clock.advance(5_000);
  assert.equal(b.tryWithdraw(), false);
  clock.advance(5_000);
  assert.equal(drain(b), 10);
});

test('deposits expire after ttl too; later ones stay', () => {
  const clock = fakeClock();
  const b = new RetryBudget({ now: clock.now, ratio: 0.2, minPerSecond: 0, ttlMs: 10_000 });
  for (let i = 0; i < 50; i++) b.deposit(); // t = 0: 10 retries
  clock.advance(5_000);
  for (let i = 0; i < 25; i++) b.deposit(); // t = 5 s: 5 retries
  assert.equal(b.balance(), 15);
  clock.advance(5_000); // t = 10 s: the first batch is gone
  assert.equal(b.balance(), 5);
  clock.advance(5_000);
  assert.equal(b.balance(), 0);
});

test('a long idle gap clears the whole window at once', () => {
  const clock = fakeClock();
  const b = new RetryBudget({ now: clock.now, ratio: 1, minPerSecond: 0, ttlMs: 1_000 });
  for (let i = 0; i < 3; i++) b.deposit();
  clock.advance(1e9);
  assert.equal(b.balance(), 0);
  b.deposit();
  assert.equal(b.balance(), 1);
});

test('bad options are refused', () => {
  assert.throws(() => new RetryBudget({ ttlMs: 0 }), RangeError);
  assert.throws(() => new RetryBudget({ ratio: -1 }), RangeError);
  assert.throws(() => new RetryBudget({ minPerSecond: Number.NaN }), RangeError);
});
