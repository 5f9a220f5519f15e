import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Cancel } from '../../../mesh/proxy/http/cancel';

test('Cancel: listeners run once in order, removed ones never, late ones at once; the first reason wins', () => {
  const c = new Cancel();
  const calls: string[] = [];
  c.onAbort(() => calls.push('a'));
  const off = c.onAbort(() => calls.push('removed'));
  c.onAbort(() => calls.push('b'));
  off();
  assert.equal(c.aborted, false);
  assert.equal(c.reason, undefined);
  c.abort('timeout');
  c.abort('second');
  assert.deepEqual(calls, ['a', 'b']);
  assert.equal(c.reason, 'timeout');
  c.onAbort(() => calls.push('late'));
  assert.deepEqual(calls, ['a', 'b', 'late']);
  const d = new Cancel();
  d.abort();
  assert.equal(d.reason, 'cancelled');
});
