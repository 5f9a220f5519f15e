import { test } from 'node:test';
import assert from 'node:assert/strict';
import { check, codes } from './validate-harness';

const deployment = 'apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: a\n  annotations:\n    weft.dev/inject: enabled\nspec:\n  template:\n    spec: {}\n';

test('invalid YAML is a finding and the other documents are still checked', () => {
  const f = check(`apiVersion: v1\nkind: Service\nmetadata: {name: [\n---\n${deployment}`);
  assert.deepEqual(codes(f).sort(), ['WEFT3001', 'WEFT9001']);
  assert.equal(f.find((x) => x.code === 'WEFT3001')!.range.start.line, 9, 'positions are file lines (the inject key)');
});

test('duplicate keys are reported (and the document is still checked)', () => {
  const f = check(deployment.replace('  name: a\n', '  name: a\n  name: b\n'));
  assert.deepEqual(codes(f).sort(), ['WEFT3001', 'WEFT9002']);
  assert.equal(f.find((x) => x.code === 'WEFT9002')!.range.start.line, 4);
});

test('binary files are skipped with one information finding', () => {
  const f = check('apiVersion: v1\nkind: Secret\n\u0000\u0001\u0002\u00ff'.repeat(100));
  assert.deepEqual(codes(f), ['WEFT9004']);
  assert.equal(f[0]!.severity, 'info');
});

test('a 10 MB file is skipped quickly with one information finding', () => {
  const doc = deployment + '---\n';
  const big = doc.repeat(Math.ceil((10 * 1024 * 1024) / doc.length));
  const t0 = performance.now();
  const f = check(big);
  assert.ok(performance.now() - t0 < 1000);
  assert.deepEqual(codes(f), ['WEFT9005']);
  assert.match(f[0]!.message, /10\.0 MB/);
});

test('Helm templates are recognised and skipped with one finding, not a flood of parse errors', () => {
  const helm = 'apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: {{ include "x.fullname" . }}\nspec:\n  replicas: {{ .Values.replicas }}\n';
  const f = check(helm);
  assert.deepEqual(codes(f), ['WEFT9003']);
  assert.equal(f[0]!.range.start.line, 3);
  // Prometheus/Alertmanager templates in ConfigMaps are not Helm.
  const prom = 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: rules}\ndata:\n  summary: "{{ $labels.instance }} down for {{ $value }}"\n';
  assert.deepEqual(codes(check(prom)), []);
});

test('anchors and aliases are expanded; an alias bomb is refused without hanging', () => {
  const aliased = 'apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: a\n  annotations: &ann\n    weft.dev/inject: enabled\nspec:\n  template:\n    metadata:\n      annotations: *ann\n    spec: {}\n';
  assert.deepEqual(codes(check(aliased)), ['WEFT3001']);
  let bomb = 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: lol}\ndata:\n  a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n';
  for (const [p, q] of [['b', 'a'], ['c', 'b'], ['d', 'c'], ['e', 'd'], ['f', 'e'], ['g', 'f'], ['h', 'g'], ['i', 'h']]) bomb += `  ${p}: &${p} [${Array(9).fill(`*${q}`).join(',')}]\n`;
  const t0 = performance.now();
  assert.deepEqual(codes(check(bomb)), ['WEFT9006']);
  assert.ok(performance.now() - t0 < 2000);
});

test('files that are not Kubernetes manifests are left alone, even when broken', () => {
  assert.deepEqual(codes(check('name: CI\non: [push\njobs: {}\n')), []);
  assert.deepEqual(codes(check('')), []);
});
