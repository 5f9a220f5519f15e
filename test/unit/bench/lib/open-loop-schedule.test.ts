import { test } from 'node:test';
import assert from 'node:assert/strict';
import { OpenLoopSchedule, nextWake } from '../../../bench/lib/open-loop-schedule';

test('requests are due at fixed intervals from the start, whatever the clock did in between', () => {
  const s = new OpenLoopSchedule(1_000, 1000, 5); // 1 ms apart
  assert.deepEqual(s.takeDue(999), []);
  assert.deepEqual(s.takeDue(1_000), [1_000]);
  // A late wake-up hands out every request that fell due meanwhile, each with its own intended start.
  assert.deepEqual(s.takeDue(3_500_000), [1_001_000, 2_001_000, 3_001_000]);
  assert.equal(s.nextDueNs(), 4_001_000);
  assert.deepEqual(s.takeDue(1e12), [4_001_000]);
  assert.equal(s.issued, 5);
  assert.equal(s.nextDueNs(), undefined);
  assert.deepEqual(s.takeDue(2e12), []);
});

test('the schedule refuses a rate or count that makes no sense', () => {
  assert.throws(() => new OpenLoopSchedule(0, 0, 10));
  assert.throws(() => new OpenLoopSchedule(0, 100, -1));
  assert.throws(() => new OpenLoopSchedule(0, 100, 1.5));
});

test('wake: a timer while far from the next start, a spin when close, done when nothing is left', () => {
  assert.deepEqual(nextWake(10_000_000, 0, 1_200_000), { kind: 'timer', ms: 8 });
  assert.deepEqual(nextWake(1_000_000, 0, 1_200_000), { kind: 'spin' });
  assert.deepEqual(nextWake(-5, 0, 1_200_000), { kind: 'spin' });
  assert.deepEqual(nextWake(undefined, 0, 1_200_000), { kind: 'done' });
});

test('wake without spinning: always a timer, never negative', () => {
  assert.deepEqual(nextWake(1_000_000, 0, 0), { kind: 'timer', ms: 1 });
  assert.deepEqual(nextWake(0, 5_000_000, 0), { kind: 'timer', ms: 0 });
});
