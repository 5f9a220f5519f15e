import { test } from 'node:test';
import assert from 'node:assert/strict';
import { P2cBalancer, type Lease } from '../../../../mesh/proxy/balance/p2c';
import { seededRandom } from '../../../helpers/seeded-random';
import { fakeClock } from './fakes';

interface Ep {
  name: string;
  rev?: number;
}
const key = (e: Ep) => e.name;

function balancer(seed = 1, accrual = { consecutiveFailures: 3, minBackoffMs: 1_000, maxBackoffMs: 60_000, jitter: 0 }) {
  const clock = fakeClock(0);
  const lb = new P2cBalancer<Ep>(key, { now: clock.now, random: seededRandom(seed), accrual, ewma: { defaultRttMs: 30, decayMs: 10_000 } });
  return { clock, lb };
}

function pickName(lb: P2cBalancer<Ep>): string | undefined {
  const l = lb.pick();
  if (!l) return undefined;
  l.release({ ok: true, rttMs: 1 });
  return l.endpoint.name;
}

test('no endpoint: pick() is undefined', () => {
  const { lb } = balancer();
  assert.equal(lb.pick(), undefined);
  assert.equal(lb.size, 0);
  assert.equal(lb.availableCount, 0);
});

test('the faster endpoint gets far more picks over 1,000 requests', () => {
  const { clock, lb } = balancer(7);
  lb.setEndpoints([{ name: 'fast-1' }, { name: 'fast-2' }, { name: 'slow' }]);
  const rtt: Record<string, number> = { 'fast-1': 5, 'fast-2': 5, slow: 80 };
  const counts: Record<string, number> = { 'fast-1': 0, 'fast-2': 0, slow: 0 };
  for (let i = 0; i < 1_000; i++) {
    const l = lb.pick()!;
    counts[l.endpoint.name]!++;
    clock.advance(rtt[l.endpoint.name]!);
    l.release({ ok: true });
  }
  assert.ok(counts.slow! < 50, `slow got ${counts.slow}`);
  assert.ok(counts['fast-1']! > 300 && counts['fast-2']! > 300, JSON.stringify(counts));
});

test('with equal latency the less loaded endpoint is picked', () => {
  const { lb } = balancer(3);
  lb.setEndpoints([{ name: 'a' }, { name: 'b' }]);
  const held: Lease<Ep>[] = [];
  for (let i = 0; i < 10; i++) held.push(lb.pick()!);
  const byName = (n: string) => held.filter((l) => l.endpoint.name === n).length;
  assert.equal(byName('a'), 5);
  assert.equal(byName('b'), 5);
  assert.deepEqual(
    lb.loads().map((l) => l.pending),
    [5, 5],
  );

  // three more on `a` only (release b's): the next picks go to b
  for (const l of held) if (l.endpoint.name === 'b') l.release({ ok: true, rttMs: 30 });
  for (let i = 0; i < 3; i++) assert.equal(lb.pick()!.endpoint.name, 'b');
});

test('cost is estimate × (pending + 1): a slower idle endpoint beats a loaded fast one', () => {
  const { clock, lb } = balancer(5);
  lb.setEndpoints([{ name: 'fast' }, { name: 'slow' }]);
  clock.advance(100_000); // 10 time constants idle: the default estimate has decayed to ~0
  // fast: 10 ms, slow: 25 ms
  const f = lb.pick()!;
  const s = lb.pick()!;
  assert.notEqual(f.endpoint.name, s.endpoint.name);
  const [fastLease, slowLease] = f.endpoint.name === 'fast' ? [f, s] : [s, f];
  fastLease.release({ ok: true, rttMs: 10 });
  slowLease.release({ ok: true, rttMs: 25 });
  clock.advance(25);
  const est = Object.fromEntries(lb.loads().map((l) => [l.key, l.estimateMs]));
  assert.ok(Math.abs(est.fast! - 10) < 0.05 && Math.abs(est.slow! - 25) < 0.05, JSON.stringify(est));
  // fast with 2 pending costs 10 × 3 = 30 > 25 × 1
  assert.equal(lb.pick()!.endpoint.name, 'fast'); // 10 × 1 < 25
  assert.equal(lb.pick()!.endpoint.name, 'fast'); // 10 × 2 < 25
  assert.equal(lb.pick()!.endpoint.name, 'slow'); // 10 × 3 > 25 × 1
});

test('release() counts once and measures the RTT from the clock when not given', () => {
  const { clock, lb } = balancer();
  lb.setEndpoints([{ name: 'a' }]);
  const l = lb.pick()!;
  clock.advance(400);
  l.release({ ok: true });
  l.release({ ok: true });
  const [load] = lb.loads();
  assert.equal(load!.pending, 0);
  assert.equal(load!.estimateMs, 400);
});

test('a failure never lowers the estimate (fast failures do not attract traffic)', () => {
  const { lb } = balancer();
  lb.setEndpoints([{ name: 'a' }]);
  lb.pick()!.release({ ok: false, rttMs: 1 });
  const after = lb.loads()[0]!.estimateMs;
  assert.ok(after > 29.99 && after <= 30, `estimate ${after}`);
  lb.pick()!.release({ ok: false, rttMs: 500 });
  assert.equal(lb.loads()[0]!.estimateMs, 500);
});

test('setEndpoints keeps state for surviving keys, drops removed ones, refreshes the endpoint value', () => {
  const { lb } = balancer(11);
  lb.setEndpoints([{ name: 'a' }]);
  lb.pick()!.release({ ok: true, rttMs: 300 });
  const held = lb.pick()!; // pending 1 on a
  lb.pick()!.release({ ok: false }); // one failure counted on a
  lb.setEndpoints([{ name: 'b' }, { name: 'a', rev: 2 }, { name: 'a', rev: 3 }]);
  assert.equal(lb.size, 2);
  const loads = Object.fromEntries(lb.loads().map((l) => [l.key, l]));
  assert.equal(loads.a!.pending, 1);
  assert.equal(loads.a!.estimateMs, 300);
  assert.equal(loads.b!.pending, 0);
  assert.equal(loads.b!.estimateMs, 30);
  assert.equal(held.endpoint.rev, 2, 'the lease sees the refreshed endpoint (first duplicate wins)');

  // the failure count survived: two more failures (threshold 3) eject `a`
  lb.setEndpoints([{ name: 'a' }]);
  lb.pick()!.release({ ok: false });
  lb.pick()!.release({ ok: false });
  assert.equal(lb.loads()[0]!.state, 'open');

  // removing and re-adding a key starts from scratch
  held.release({ ok: true, rttMs: 1 }); // a late release on a removed endpoint is harmless
  lb.setEndpoints([{ name: 'b' }]);
  lb.setEndpoints([{ name: 'a' }, { name: 'b' }]);
  const a = lb.loads().find((l) => l.key === 'a')!;
  assert.deepEqual(a, { key: 'a', estimateMs: 30, pending: 0, state: 'closed' });
});

test('an ejected endpoint is not picked, then comes back after the back-off with exactly one probe', () => {
  const { clock, lb } = balancer(13);
  lb.setEndpoints([{ name: 'bad' }]);
  for (let i = 0; i < 3; i++) lb.pick()!.release({ ok: false, rttMs: 5 });
  assert.equal(lb.pick(), undefined, 'all ejected: fail fast');
  assert.equal(lb.availableCount, 0);

  lb.setEndpoints([{ name: 'bad' }, { name: 'good' }]);
  assert.equal(lb.availableCount, 1);
  for (let i = 0; i < 200; i++) {
    const l = lb.pick()!;
    assert.equal(l.endpoint.name, 'good');
    l.release({ ok: true, rttMs: 50 });
  }

  clock.advance(1_000); // min back-off, no jitter
  assert.equal(lb.availableCount, 2);
  const picks: Lease<Ep>[] = [];
  for (let i = 0; i < 50; i++) picks.push(lb.pick()!);
  const probes = picks.filter((l) => l.endpoint.name === 'bad');
  assert.equal(probes.length, 1, 'one probe while it is in flight');
  assert.equal(lb.availableCount, 1);
  for (const l of picks) if (l.endpoint.name === 'good') l.release({ ok: true, rttMs: 50 });

  probes[0]!.release({ ok: true, rttMs: 5 });
  assert.equal(lb.availableCount, 2);
  const names = new Set<string | undefined>();
  for (let i = 0; i < 20; i++) names.add(pickName(lb));
  assert.ok(names.has('bad'), 'closed again: picked normally');
});

test('a failed probe re-opens with the next (doubled) back-off', () => {
  const { clock, lb } = balancer(17);
  lb.setEndpoints([{ name: 'a' }]);
  for (let i = 0; i < 3; i++) lb.pick()!.release({ ok: false });
  clock.advance(1_000);
  const probe = lb.pick()!;
  assert.equal(lb.pick(), undefined);
  probe.release({ ok: false });
  clock.advance(1_999);
  assert.equal(lb.pick(), undefined);
  clock.advance(1);
  assert.ok(lb.pick());
});

test('every endpoint ejected: undefined', () => {
  const { lb } = balancer(19);
  lb.setEndpoints([{ name: 'a' }, { name: 'b' }, { name: 'c' }]);
  for (let i = 0; i < 9; i++) lb.pick()!.release({ ok: false });
  assert.equal(lb.availableCount, 0);
  assert.equal(lb.pick(), undefined);
  assert.equal(lb.size, 3);
});

test('when the random draws keep landing on ejected endpoints, a scan still finds the live one', () => {
  const clock = fakeClock(0);
  let fixed = false;
  const seeded = seededRandom(23);
  const lb = new P2cBalancer<Ep>(key, {
    now: clock.now,
    random: () => (fixed ? 0 : seeded()),
    accrual: { consecutiveFailures: 1, jitter: 0 },
  });
  const eps = Array.from({ length: 10 }, (_, i) => ({ name: `e${i}` }));
  lb.setEndpoints(eps.slice(0, 9));
  for (let i = 0; i < 9; i++) lb.pick()!.release({ ok: false });
  assert.equal(lb.availableCount, 0);
  lb.setEndpoints(eps);
  fixed = true; // draws are always e0 and e1, both ejected
  for (let i = 0; i < 5; i++) assert.equal(pickName(lb), 'e9');
});

test('pick(avoid) never returns the avoided endpoint while another is available, and falls back to it alone', () => {
  const b = new P2cBalancer<{ id: string }>((e) => e.id, { random: () => 0.999 });
  const a = { id: 'a' };
  const c = { id: 'c' };
  b.setEndpoints([a, c]);
  for (let i = 0; i < 50; i++) {
    const l = b.pick(a)!;
    assert.equal(l.endpoint, c);
    l.release({ ok: true, rttMs: 1 });
  }
  b.setEndpoints([a]);
  const only = b.pick(a)!;
  assert.equal(only.endpoint, a, 'the only endpoint is still used');
  only.release({ ok: true, rttMs: 1 });
});
