import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseDemoArgs } from '../../../mesh/cli/demo.command';

test('defaults: any free port, 20 RPS, 5 % failures, 2 s refresh, until Ctrl-C, TTY auto', () => {
  const r = parseDemoArgs([]);
  assert.ok(r.ok);
  assert.deepEqual(r.options, { durationMs: undefined, tty: undefined, port: 0, rps: 20, failureRate: 0.05, intervalMs: 2_000, app: undefined, help: false });
});

test('every flag, in both "--flag value" and "--flag=value" forms', () => {
  const r = parseDemoArgs(['--duration', '8s', '--no-tty', '--port=8080', '--rps', '50', '--failure-rate=0.2', '--interval', '500ms', '--app', 'web']);
  assert.ok(r.ok);
  assert.deepEqual(r.options, { durationMs: 8_000, tty: false, port: 8080, rps: 50, failureRate: 0.2, intervalMs: 500, app: 'web', help: false });
});

test('every problem is reported at once', () => {
  const r = parseDemoArgs(['--duration', '8', '--port', '70000', '--rps', '0', '--failure-rate', '2', '--interval', '10ms', '--bogus', '--app']);
  assert.ok(!r.ok);
  assert.equal(r.errors.length, 7);
  assert.match(r.errors[0]!, /--duration: duration "8" has no unit/);
  assert.match(r.errors[1]!, /--port: expected a port/);
  assert.match(r.errors[2]!, /--rps: expected a rate/);
  assert.match(r.errors[3]!, /--failure-rate: expected a share/);
  assert.match(r.errors[4]!, /--interval: at least 100 ms/);
  assert.equal(r.errors[5], 'unknown option --bogus');
  assert.equal(r.errors[6], '--app needs a value');
});
