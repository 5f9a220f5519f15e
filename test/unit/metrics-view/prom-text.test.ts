import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parsePromText } from '../../../mesh/metrics-view/prom-text';

test('samples with and without labels; HELP/TYPE and blank lines skipped', () => {
  const r = parsePromText(
    '# HELP request_total Total count of HTTP requests.\n# TYPE request_total counter\n' +
      'request_total{direction="inbound",authority="web.demo:80",tls="true"} 42\n\nprocess_start_time_seconds 1712.5\n',
  );
  assert.deepEqual(r.errors, []);
  assert.deepEqual(r.samples, [
    { name: 'request_total', labels: { direction: 'inbound', authority: 'web.demo:80', tls: 'true' }, value: 42 },
    { name: 'process_start_time_seconds', labels: {}, value: 1712.5 },
  ]);
});

test('label values: escapes, commas, braces and spaces inside quotes; trailing comma', () => {
  const r = parsePromText('m{a="x,y}",b="say \\"hi\\"",c="back\\\\slash",d="two\\nlines",} 1\n');
  assert.deepEqual(r.errors, []);
  assert.deepEqual(r.samples[0]!.labels, { a: 'x,y}', b: 'say "hi"', c: 'back\\slash', d: 'two\nlines' });
});

test('special values, exponents and an ignored timestamp', () => {
  const r = parsePromText('a{le="+Inf"} +Inf\nb -Inf\nc NaN\nd 1.5e3 1712000000000\ne -2\n');
  assert.deepEqual(r.errors, []);
  const v = r.samples.map((s) => s.value);
  assert.equal(v[0], Infinity);
  assert.equal(v[1], -Infinity);
  assert.ok(Number.isNaN(v[2]));
  assert.equal(v[3], 1500);
  assert.equal(v[4], -2);
  assert.equal(r.samples[0]!.labels['le'], '+Inf');
});

test('bad lines are reported with their line number and do not stop the rest', () => {
  const r = parsePromText('good 1\n{nolabel="x"} 2\nbad{a="unterminated} 3\nnovalue{a="b"}\nworse abc\nalso_good 4\n');
  assert.deepEqual(r.samples.map((s) => s.name), ['good', 'also_good']);
  assert.deepEqual(r.errors.map((e) => e.line), [2, 3, 4, 5]);
  assert.match(r.errors[1]!.reason, /unterminated/);
});
