import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isDemoTopologyFile, parseDemoArgs, renderDemoEdges } from '../../../mesh/cli/demo.command';

const DEFAULTS = { durationMs: undefined, tty: undefined, port: 0, rps: 10, intervalMs: 5_000, window: '30s', detach: false, stop: false, printTopology: false, app: undefined, help: false };

test('defaults: any free port, 10 votes/s, 5 s refresh over a 30 s window, until Ctrl-C, TTY auto', () => {
  const r = parseDemoArgs([]);
  assert.ok(r.ok);
  assert.deepEqual(r.options, DEFAULTS);
});

test('every flag, in both "--flag value" and "--flag=value" forms', () => {
  const r = parseDemoArgs(['--duration', '8s', '--no-tty', '--port=8080', '--rps', '50', '--interval', '1s', '--window=1m', '--app', 'web']);
  assert.ok(r.ok);
  assert.deepEqual(r.options, { ...DEFAULTS, durationMs: 8_000, tty: false, port: 8080, rps: 50, intervalMs: 1_000, window: '1m', app: 'web' });
  const d = parseDemoArgs(['--detach', '--tty']);
  assert.ok(d.ok);
  assert.equal(d.options.detach, true);
  assert.equal(d.options.tty, true);
  const s = parseDemoArgs(['--stop']);
  assert.ok(s.ok && s.options.stop);
  const p = parseDemoArgs(['--print-topology', '-h']);
  assert.ok(p.ok && p.options.printTopology && p.options.help);
});

test('every value problem is reported at once, each naming its option', () => {
  const r = parseDemoArgs(['--duration', '8', '--port', '70000', '--rps', '0', '--interval', '10ms', '--window', '5s']);
  assert.ok(!r.ok);
  assert.deepEqual(r.errors.length, 5, r.errors.join('\n'));
  assert.match(r.errors[0]!, /--port: expected a port 0\.\.65535, got "70000"/);
  assert.match(r.errors[1]!, /--rps: expected a rate/);
  assert.match(r.errors[2]!, /--duration: duration "8" has no unit/);
  assert.match(r.errors[3]!, /--interval: at least 500 ms, got "10ms"/);
  assert.match(r.errors[4]!, /--window: at least 15s, got 5s/);
});

test('unknown options, missing values and contradictions are errors', () => {
  const unknown = parseDemoArgs(['--bogus']);
  assert.ok(!unknown.ok);
  assert.match(unknown.errors[0]!, /Unknown option '--bogus'/);
  assert.doesNotMatch(unknown.errors[0]!, /positional/);
  const missing = parseDemoArgs(['--app']);
  assert.ok(!missing.ok);
  assert.match(missing.errors[0]!, /--app/);
  const positional = parseDemoArgs(['web']);
  assert.ok(!positional.ok);
  assert.match(positional.errors[0]!, /unexpected argument 'web'/i);
  const both = parseDemoArgs(['--detach', '--stop', '--duration', '5s', '--tty', '--no-tty']);
  assert.ok(!both.ok);
  assert.deepEqual(both.errors, ['--tty and --no-tty contradict each other', '--detach and --stop contradict each other', '--duration applies to a foreground demo, not to --detach']);
});

test('isDemoTopologyFile: only the file weft demo writes in its own temp folder', () => {
  assert.equal(isDemoTopologyFile('/tmp/weft-demo-Ab12/demo-topology.yaml'), true);
  assert.equal(isDemoTopologyFile('/home/me/shop/demo-topology.yaml'), false);
  assert.equal(isDemoTopologyFile('/tmp/weft-demo-Ab12/topology.yaml'), false);
});

test('renderDemoEdges: source, destination, mTLS or not, requests', () => {
  const edge = { srcNamespace: 'demo', dstNamespace: 'demo', clientId: 'a', serverIds: ['b'] };
  const text = renderDemoEdges([
    { ...edge, srcWorkload: 'web', dstService: 'voting', mtls: 'yes', requests: 181 },
    { ...edge, srcWorkload: 'vote-bot', dstService: 'web', mtls: 'no', requests: 7 },
    { ...edge, srcWorkload: 'web', dstService: 'emoji', mtls: 'mixed', requests: 12 },
  ]);
  assert.equal(text, ['SRC       DST     SECURED  REQUESTS', 'web       voting  √ mTLS        181', 'vote-bot  web     no              7', 'web       emoji   partly         12', ''].join('\n'));
});
