import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chooseBackend } from '../../../../mesh/proxy/outbound/outbound-http';

/** A deterministic uniform sequence (LCG) so the test is repeatable. */
function lcg(seed: number): () => number {
  let x = seed >>> 0;
  return () => ((x = (Math.imul(x, 1664525) + 1013904223) >>> 0) / 2 ** 32);
}

test('a 90/10 split sends traffic within ±5 % of its weights over 2,000 requests', () => {
  const backends = [
    { authority: 'voting.demo:8080', weight: 90 },
    { authority: 'voting-canary.demo:8080', weight: 10 },
  ];
  const random = lcg(42);
  const counts = new Map<string, number>();
  for (let i = 0; i < 2000; i++) {
    const b = chooseBackend(backends, random)!;
    counts.set(b.authority, (counts.get(b.authority) ?? 0) + 1);
  }
  const canary = (counts.get('voting-canary.demo:8080') ?? 0) / 2000;
  assert.ok(Math.abs(canary - 0.1) <= 0.05, `canary share ${canary}`);
  assert.ok(Math.abs((counts.get('voting.demo:8080') ?? 0) / 2000 - 0.9) <= 0.05);
});

test('the boundaries of the random range map to the right backend', () => {
  const backends = [
    { authority: 'a', weight: 1 },
    { authority: 'b', weight: 3 },
  ];
  assert.equal(chooseBackend(backends, () => 0)!.authority, 'a');
  assert.equal(chooseBackend(backends, () => 0.2499)!.authority, 'a');
  assert.equal(chooseBackend(backends, () => 0.25)!.authority, 'b');
  assert.equal(chooseBackend(backends, () => 0.9999)!.authority, 'b');
});

test('zero and negative weights never receive traffic; all zero means no backend', () => {
  const backends = [
    { authority: 'off', weight: 0 },
    { authority: 'neg', weight: -5 },
    { authority: 'on', weight: 2 },
  ];
  for (const r of [0, 0.3, 0.7, 0.999]) assert.equal(chooseBackend(backends, () => r)!.authority, 'on');
  assert.equal(chooseBackend([{ authority: 'x', weight: 0 }], () => 0.5), undefined);
  assert.equal(chooseBackend([], () => 0.5), undefined);
});
