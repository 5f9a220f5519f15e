import { test } from 'node:test';
import assert from 'node:assert/strict';
import { check, codes } from '../validate-harness';

const ns = (name: string, ann: string) => `
apiVersion: v1
kind: Namespace
metadata:
  name: ${name}
  annotations:
    ${ann}
`;
const app = `
apiVersion: apps/v1
kind: Deployment
metadata: {name: api, namespace: shop}
spec:
  template:
    metadata:
      labels: {app: api}
    spec:
      containers: [{name: api, ports: [{containerPort: 8080}]}]
`;
const np = (spec: string, namespace = 'shop') => `
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: p, namespace: ${namespace}}
spec:
  podSelector: {matchLabels: {app: api}}
${spec}`;
const meshed = { 'n.yaml': ns('shop', 'weft.dev/inject: enabled'), 'a.yaml': app };
const run = (spec: string, extra: Record<string, string> = meshed, namespace?: string) => codes(check({ 'p.yaml': np(spec, namespace), ...extra }));

test('WEFT2001: ingress restricted to app ports on meshed pods; negative when 4143 is allowed or nothing is meshed', () => {
  const spec = '  ingress:\n  - ports: [{port: 8080}]\n';
  assert.deepEqual(run(spec), ['WEFT2001']);
  assert.deepEqual(run('  ingress:\n  - ports: [{port: 4000, endPort: 4200}]\n'), [], 'a range covering 4143');
  assert.deepEqual(run('  ingress:\n  - from: [{podSelector: {}}]\n'), [], 'no ports means all ports');
  assert.deepEqual(run(spec, { 'n.yaml': ns('shop', 'weft.dev/inject: disabled'), 'a.yaml': app }), []);
  assert.deepEqual(run('  policyTypes: [Ingress]\n'), [], 'deny-all ingress is intended to deny the mesh too');
});

test('WEFT2002/2003/2004: egress restricted without 4143, the control plane and DNS', () => {
  assert.deepEqual(run('  policyTypes: [Egress]\n  egress:\n  - ports: [{port: 5432}]\n').sort(), ['WEFT2002', 'WEFT2003', 'WEFT2004']);
  assert.deepEqual(run('  policyTypes: [Egress]\n').sort(), ['WEFT2003', 'WEFT2004'], 'deny-all egress still starves the proxy');
  const ok = '  policyTypes: [Egress]\n  egress:\n  - ports: [{port: 4143}, {port: 8080}, {port: 8086}, {port: 8090}, {port: 53, protocol: UDP}, {port: 53}]\n';
  assert.deepEqual(run(ok), []);
  assert.deepEqual(run('  policyTypes: [Egress]\n  egress:\n  - {}\n'), [], 'allow-all egress');
});

test('WEFT2005: ingress of the control plane restricted; negative when its ports are allowed', () => {
  const spec = '  ingress:\n  - ports: [{port: 443}]\n';
  assert.deepEqual(run(spec, {}, 'weft'), ['WEFT2005']);
  assert.deepEqual(run(spec, {}, 'linkerd'), ['WEFT2005']);
  assert.deepEqual(run('  ingress:\n  - ports: [{port: 8443}, {port: 8080}, {port: 8086}, {port: 8090}]\n', {}, 'weft'), []);
});

test('WEFT2006: app-port rules between meshed pods are bypassed; negative for unmeshed peers', () => {
  const fromApi = '  ingress:\n  - from: [{podSelector: {matchLabels: {app: api}}}]\n    ports: [{port: 8080}, {port: 4143}]\n';
  assert.deepEqual(run(fromApi), ['WEFT2006']);
  const fromIp = '  ingress:\n  - from: [{ipBlock: {cidr: 10.0.0.0/8}}]\n    ports: [{port: 8080}]\n  - ports: [{port: 4143}]\n';
  assert.deepEqual(run(fromIp), []);
});

test('WEFT2007: meshed namespace with a strict inbound policy and no NetworkPolicy (info)', () => {
  const strict = ns('shop', 'weft.dev/inject: enabled\n    config.weft.dev/default-inbound-policy: cluster-authenticated');
  const f = check({ 'n.yaml': strict });
  assert.deepEqual(codes(f), ['WEFT2007']);
  assert.equal(f[0]!.severity, 'info');
  assert.deepEqual(codes(check({ 'n.yaml': strict, 'p.yaml': np('  ingress:\n  - {}\n') })), []);
  assert.deepEqual(codes(check({ 'n.yaml': ns('shop', 'weft.dev/inject: enabled\n    config.weft.dev/default-inbound-policy: all-unauthenticated') })), []);
});

test('live namespace annotations supplied by the caller make pods meshed', () => {
  const spec = '  ingress:\n  - ports: [{port: 8080}]\n';
  assert.deepEqual(codes(check({ 'p.yaml': np(spec), 'a.yaml': app })), []);
  const live = new Map([['shop', { 'linkerd.io/inject': 'enabled' }]]);
  assert.deepEqual(codes(check({ 'p.yaml': np(spec), 'a.yaml': app }, { liveNamespaces: live })), ['WEFT2001']);
});
