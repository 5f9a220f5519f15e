import { test } from 'node:test';
import assert from 'node:assert/strict';
import { check, codes } from '../validate-harness';

const deploy = (opts: { kind?: string; meta?: string; tpl?: string; spec?: string; namespace?: string } = {}) => `
apiVersion: apps/v1
kind: ${opts.kind ?? 'Deployment'}
metadata:
  name: w
  namespace: ${opts.namespace ?? 'default'}
${opts.meta ?? ''}spec:
  template:
    metadata:
      labels: {app: w}
${opts.tpl ?? ''}    spec:
${opts.spec ?? ''}      containers: [{name: c}]
`;
const ns = (name: string, ann: string) => `apiVersion: v1\nkind: Namespace\nmetadata:\n  name: ${name}\n  annotations:\n    ${ann}\n`;

test('WEFT3001: inject annotation on the workload metadata; negative on the pod template', () => {
  assert.deepEqual(codes(check(deploy({ meta: '  annotations:\n    weft.dev/inject: enabled\n' }))), ['WEFT3001']);
  assert.deepEqual(codes(check(deploy({ tpl: '      annotations:\n        weft.dev/inject: enabled\n' }))), []);
});

test('WEFT3002: inject key used as a label', () => {
  assert.deepEqual(codes(check(deploy({ tpl: '      annotations: {}\n' }).replace('labels: {app: w}', 'labels: {app: w, linkerd.io/inject: enabled}'))), ['WEFT3002']);
  assert.deepEqual(codes(check(ns('x', 'a: b').replace('  annotations:', '  labels:\n    weft.dev/inject: enabled\n  annotations:'))), ['WEFT3002']);
});

test('WEFT3003: invalid values; enabled/disabled/ingress are fine', () => {
  for (const bad of ['"true"', 'yes', 'Enabled', 'on']) {
    assert.deepEqual(codes(check(deploy({ tpl: `      annotations:\n        weft.dev/inject: ${bad}\n` }))), ['WEFT3003'], bad);
  }
  for (const good of ['enabled', 'disabled', 'ingress']) {
    assert.deepEqual(codes(check(deploy({ tpl: `      annotations:\n        weft.dev/inject: ${good}\n` }))), [], good);
  }
});

test('WEFT3004: hostNetwork pods in an injected namespace; negative when opted out', () => {
  const files = (tpl = '') => ({ 'd.yaml': deploy({ kind: 'DaemonSet', namespace: 'mon', spec: '      hostNetwork: true\n', tpl }), 'n.yaml': ns('mon', 'weft.dev/inject: enabled') });
  assert.deepEqual(codes(check(files())), ['WEFT3004']);
  assert.deepEqual(codes(check(files('      annotations:\n        weft.dev/inject: disabled\n'))), []);
});

test('WEFT3005: injection enabled for kube-system or the control plane namespace', () => {
  assert.deepEqual(codes(check(ns('kube-system', 'weft.dev/inject: enabled'))), ['WEFT3005']);
  assert.deepEqual(codes(check(ns('weft', 'linkerd.io/inject: enabled'))), ['WEFT3005']);
  assert.deepEqual(codes(check(deploy({ namespace: 'kube-system', tpl: '      annotations:\n        weft.dev/inject: enabled\n' }))), ['WEFT3005']);
  assert.deepEqual(codes(check(ns('shop', 'weft.dev/inject: enabled'))), []);
});

test('WEFT3006: Jobs and CronJobs injected without native sidecars', () => {
  const job = (tpl: string) => `apiVersion: batch/v1\nkind: Job\nmetadata: {name: j}\nspec:\n  template:\n    metadata:\n      annotations:\n${tpl}    spec:\n      containers: [{name: c}]\n`;
  assert.deepEqual(codes(check(job('        weft.dev/inject: enabled\n'))), ['WEFT3006']);
  assert.deepEqual(codes(check(job('        weft.dev/inject: enabled\n        config.weft.dev/proxy-enable-native-sidecar: "true"\n'))), []);
  assert.deepEqual(codes(check(job('        weft.dev/inject: disabled\n'))), []);
});
