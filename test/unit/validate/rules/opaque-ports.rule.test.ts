import { test } from 'node:test';
import assert from 'node:assert/strict';
import { check, codes, yamlDocs } from '../validate-harness';

const ns = (ann = 'weft.dev/inject: enabled') => `
apiVersion: v1
kind: Namespace
metadata:
  name: db
  annotations:
    ${ann}
`;
const deploy = (port: number, name: string, ann = '') => `
apiVersion: apps/v1
kind: Deployment
metadata: {name: store, namespace: db}
spec:
  template:
    metadata:
      labels: {app: store}
${ann ? `      annotations:\n        ${ann}\n` : ''}    spec:
      containers:
      - name: c
        ports:
        - containerPort: ${port}
          name: ${name}
`;
const svc = (port: number, target: number | string, ann = '') => `
apiVersion: v1
kind: Service
metadata:
  name: store
  namespace: db
${ann ? `  annotations:\n    ${ann}\n` : ''}spec:
  selector: {app: store}
  ports:
  - port: ${port}
    targetPort: ${target}
`;

test('WEFT1001: a meshed workload with a server-speaks-first port outside the defaults', () => {
  assert.deepEqual(codes(check({ 'd.yaml': deploy(4222, 'nats'), 'n.yaml': ns() })), ['WEFT1001']);
  assert.deepEqual(codes(check({ 'd.yaml': deploy(15432, 'postgres'), 'n.yaml': ns() })), ['WEFT1001'], 'by name');
});

test('WEFT1001 negative: default-opaque ports, opaque annotation, unmeshed workloads, HTTP ports', () => {
  assert.deepEqual(codes(check({ 'd.yaml': deploy(5432, 'tcp-postgresql'), 'n.yaml': ns() })), []);
  assert.deepEqual(codes(check({ 'd.yaml': deploy(4222, 'nats', 'config.weft.dev/opaque-ports: "4222,5432"'), 'n.yaml': ns() })), []);
  assert.deepEqual(codes(check({ 'd.yaml': deploy(4222, 'nats'), 'n.yaml': ns('weft.dev/inject: disabled') })), []);
  assert.deepEqual(codes(check({ 'd.yaml': deploy(8080, 'http'), 'n.yaml': ns() })), []);
  assert.deepEqual(codes(check({ 'd.yaml': deploy(4222, 'nats', 'config.weft.dev/skip-inbound-ports: "4222"'), 'n.yaml': ns() })), [], 'skipped ports never reach the proxy');
});

test('WEFT1001 in Linkerd vocabulary: the fix uses config.linkerd.io/opaque-ports', () => {
  const f = check({ 'd.yaml': deploy(4222, 'nats'), 'n.yaml': ns('linkerd.io/inject: enabled') });
  assert.deepEqual(codes(f), ['WEFT1001']);
  assert.match(f[0]!.fixes[0]!.edits[0]!.newText, /config\.linkerd\.io\/opaque-ports: "25,587,3306,4444,5432,6379,9300,11211,4222"/);
});

test('WEFT1002: a Service in front of meshed pods exposes a server-speaks-first port; negative when opaque', () => {
  assert.deepEqual(codes(check({ 's.yaml': svc(4222, 4222), 'd.yaml': deploy(4222, 'nats', 'config.weft.dev/skip-inbound-ports: "4222"'), 'n.yaml': ns() })), ['WEFT1002']);
  assert.deepEqual(codes(check({ 's.yaml': svc(4222, 4222, 'config.weft.dev/opaque-ports: "4222"'), 'd.yaml': deploy(4222, 'nats', 'config.weft.dev/opaque-ports: "4222"'), 'n.yaml': ns() })), []);
  assert.deepEqual(codes(check({ 's.yaml': svc(4222, 4222), 'd.yaml': deploy(4222, 'nats'), 'n.yaml': ns('weft.dev/inject: disabled') })), [], 'no mesh, no finding');
});

test('WEFT1003: pods mark a port opaque that the selecting Service does not; negative when both do', () => {
  const files = { 's.yaml': svc(80, 'data'), 'd.yaml': deploy(9000, 'data', 'config.weft.dev/opaque-ports: "9000,5432"'), 'n.yaml': ns() };
  const f = check(files);
  assert.deepEqual(codes(f), ['WEFT1003']);
  assert.match(f[0]!.message, /port 80/);
  assert.deepEqual(codes(check({ ...files, 's.yaml': svc(80, 'data', 'config.weft.dev/opaque-ports: "80"') })), []);
});

test('WEFT1004: the Service marks a port opaque that the pods do not; negative when the pods do', () => {
  const files = { 'd.yaml': deploy(9000, 'data'), 's.yaml': svc(80, 9000, 'config.weft.dev/opaque-ports: "80"'), 'n.yaml': ns() };
  assert.deepEqual(codes(check(files)), ['WEFT1004']);
  assert.deepEqual(codes(check({ ...files, 'd.yaml': deploy(9000, 'data', 'config.weft.dev/opaque-ports: "9000"') })), []);
});

test('WEFT1005: an annotation that replaces the defaults drops a port the workload uses', () => {
  assert.deepEqual(codes(check({ 'd.yaml': deploy(6379, 'redis', 'config.weft.dev/opaque-ports: "26379"'), 'n.yaml': ns() })), ['WEFT1005']);
  assert.deepEqual(codes(check({ 'd.yaml': deploy(6379, 'redis', 'config.weft.dev/opaque-ports: "26379,6379"'), 'n.yaml': ns() })), []);
});

test('WEFT1006: a port both skipped and opaque', () => {
  const both = deploy(4222, 'nats', 'config.weft.dev/opaque-ports: "4222"\n        config.weft.dev/skip-inbound-ports: "4222"');
  assert.deepEqual(codes(check({ 'd.yaml': both, 'n.yaml': ns() })), ['WEFT1006']);
  const one = deploy(4222, 'nats', 'config.weft.dev/opaque-ports: "4222"\n        config.weft.dev/skip-inbound-ports: "9999"');
  assert.deepEqual(codes(check({ 'd.yaml': one, 'n.yaml': ns() })), []);
});

test('WEFT1007 / WEFT1008: names matching nothing and malformed entries', () => {
  assert.deepEqual(codes(check({ 'd.yaml': deploy(4222, 'nats', 'config.weft.dev/opaque-ports: "natz,4222"'), 'n.yaml': ns() })), ['WEFT1007']);
  assert.deepEqual(codes(check({ 'd.yaml': deploy(4222, 'nats', 'config.weft.dev/opaque-ports: "nats"'), 'n.yaml': ns() })), [], 'a name that matches is fine');
  assert.deepEqual(codes(check({ 'd.yaml': deploy(4222, 'nats', 'config.weft.dev/opaque-ports: "4222,70000,5-1"'), 'n.yaml': ns() })), ['WEFT1008']);
});

test('a namespace-wide opaque list is honoured', () => {
  assert.deepEqual(codes(check(yamlDocs(deploy(4222, 'nats'), ns('weft.dev/inject: enabled\n    config.weft.dev/opaque-ports: "4222"')))), []);
});
