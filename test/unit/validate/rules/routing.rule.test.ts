import { test } from 'node:test';
import assert from 'node:assert/strict';
import { check, codes } from '../validate-harness';

const svc = (name: string, ann = '') => `apiVersion: v1\nkind: Service\nmetadata:\n  name: ${name}\n${ann ? `  annotations:\n    ${ann}\n` : ''}spec:\n  ports: [{port: 80}]\n`;
const route = (rules: string, parent = '') => `
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: r}
spec:
  parentRefs:
${parent || '  - {name: web, kind: Service, group: core, port: 80}\n'}  rules:
${rules}`;
const files = (r: string) => ({ 'r.yaml': r, 'web.yaml': svc('web'), 'v2.yaml': svc('web-v2') });

test('WEFT4001: backendRef to a Service not in the workspace; negative when it exists', () => {
  assert.deepEqual(codes(check(files(route('  - backendRefs: [{name: web-v3, port: 80}]\n')))), ['WEFT4001']);
  assert.deepEqual(codes(check(files(route('  - backendRefs: [{name: web-v2, port: 80}]\n')))), []);
});

test('WEFT4002: all weights zero; negative when one is positive', () => {
  assert.deepEqual(codes(check(files(route('  - backendRefs: [{name: web, port: 80, weight: 0}, {name: web-v2, port: 80, weight: 0}]\n')))), ['WEFT4002']);
  assert.deepEqual(codes(check(files(route('  - backendRefs: [{name: web, port: 80, weight: 0}, {name: web-v2, port: 80, weight: 1}]\n')))), []);
});

test('WEFT4003/4004: parentRef Service port missing, or the Service missing', () => {
  assert.deepEqual(codes(check(files(route('  - backendRefs: [{name: web, port: 80}]\n', '  - {name: web, kind: Service, group: core, port: 8080}\n')))), ['WEFT4003']);
  assert.deepEqual(codes(check(files(route('  - backendRefs: [{name: web, port: 80}]\n', '  - {name: nope, kind: Service, group: core}\n')))), ['WEFT4004']);
  assert.deepEqual(codes(check(files(route('  - backendRefs: [{name: web, port: 80}]\n', '  - {name: my-gateway}\n')))), [], 'Gateway parents are not checked');
});

test('WEFT4007: backendRef port missing on the Service', () => {
  assert.deepEqual(codes(check(files(route('  - backendRefs: [{name: web, port: 8080}]\n')))), ['WEFT4007']);
});

test('WEFT4005/4006: invalid retry and timeout annotations; valid ones pass', () => {
  assert.deepEqual(codes(check(svc('a', 'retry.weft.dev/http: "5xx,4O4"'))), ['WEFT4005']);
  assert.deepEqual(codes(check(svc('a', 'retry.linkerd.io/limit: "-1"'))), ['WEFT4005']);
  assert.deepEqual(codes(check(svc('a', 'timeout.weft.dev/request: "2 seconds"'))), ['WEFT4006']);
  assert.deepEqual(codes(check(svc('a', 'timeout.linkerd.io/response: 0s'))), ['WEFT4006']);
  assert.deepEqual(codes(check(svc('a', 'retry.weft.dev/http: "5xx,429,500-504"\n    retry.weft.dev/limit: "3"\n    timeout.weft.dev/request: 1m30s'))), []);
});
