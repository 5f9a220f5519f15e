import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseStatArgs } from '../../../mesh/cli/stat.command';
import { DEFAULT_METRICS_API_URL, METRICS_API_URL_ENV } from '../../../mesh/config/metrics-api';

test('weft stat: target kinds and names, namespace, window, json, api', () => {
  const r = parseStatArgs(['svc/web', '-n', 'demo', '--window=30s', '--json', '--api', 'http://127.0.0.1:9'], {});
  assert.deepEqual(r, { ok: true, args: { kind: 'service', name: 'web', namespace: 'demo', window: '30s', json: true, api: 'http://127.0.0.1:9', help: false } });
  const d = parseStatArgs(['deploy'], {});
  assert.ok(d.ok);
  assert.deepEqual([d.args.kind, d.args.name, d.args.api, d.args.window], ['workload', undefined, DEFAULT_METRICS_API_URL, undefined]);
  const e = parseStatArgs([], { [METRICS_API_URL_ENV]: 'http://127.0.0.1:7' });
  assert.ok(e.ok);
  assert.equal(e.args.api, 'http://127.0.0.1:7');
});

test('weft stat: every mistake reported; edges takes no target', () => {
  const r = parseStatArgs(['pods', '--window', '5s', '--bogus', '-n'], {});
  assert.ok(!r.ok);
  assert.equal(r.errors.length, 4);
  assert.match(r.errors.join('\n'), /at least 15s/);
  assert.match(r.errors.join('\n'), /unknown option --bogus/);
  assert.match(r.errors.join('\n'), /-n needs a value/);
  assert.match(r.errors.join('\n'), /unknown resource kind "pods"/);
  const e = parseStatArgs(['deploy'], {}, false);
  assert.ok(!e.ok);
  assert.match(e.errors[0]!, /unexpected argument "deploy"/);
});

test('a running local mesh supplies the metrics API unless the environment or --api names one', () => {
  const local = 'http://127.0.0.1:40123';
  const d = parseStatArgs([], {}, true, local);
  assert.ok(d.ok && d.args.api === local);
  const e = parseStatArgs([], { [METRICS_API_URL_ENV]: 'http://127.0.0.1:7' }, true, local);
  assert.ok(e.ok && e.args.api === 'http://127.0.0.1:7');
  const f = parseStatArgs(['--api', 'http://127.0.0.1:9'], {}, true, local);
  assert.ok(f.ok && f.args.api === 'http://127.0.0.1:9');
});
