import { test } from 'node:test';
import assert from 'node:assert/strict';
import { check, codes } from '../validate-harness';

const server = (name: string, port: string | number = 8080) => `apiVersion: policy.linkerd.io/v1beta3\nkind: Server\nmetadata: {name: ${name}, namespace: app}\nspec:\n  podSelector: {matchLabels: {app: web}}\n  port: ${port}\n`;
const authz = (kind: string, name: string, authn = '') => `apiVersion: policy.linkerd.io/v1alpha1\nkind: AuthorizationPolicy\nmetadata: {name: a, namespace: app}\nspec:\n  targetRef: {group: policy.linkerd.io, kind: ${kind}, name: ${name}}\n  requiredAuthenticationRefs:\n${authn || '  - {name: any, kind: NetworkAuthentication, group: policy.linkerd.io}\n'}`;
const netAuthn = 'apiVersion: policy.linkerd.io/v1alpha1\nkind: NetworkAuthentication\nmetadata: {name: any, namespace: app}\nspec:\n  networks: [{cidr: 0.0.0.0/0}]\n';
const route = (server: string) => `apiVersion: policy.linkerd.io/v1beta3\nkind: HTTPRoute\nmetadata: {name: r, namespace: app}\nspec:\n  parentRefs: [{name: ${server}, kind: Server, group: policy.linkerd.io}]\n`;

test('WEFT5001: targetRef matches nothing; negative when the Server exists', () => {
  assert.deepEqual(codes(check({ 'a.yaml': authz('Server', 'web'), 'n.yaml': netAuthn })), ['WEFT5001']);
  assert.deepEqual(codes(check({ 'a.yaml': authz('Server', 'web'), 'n.yaml': netAuthn, 's.yaml': server('web') })), []);
  assert.deepEqual(codes(check({ 'a.yaml': authz('Namespace', 'other'), 'n.yaml': netAuthn })), ['WEFT5001']);
  assert.deepEqual(codes(check({ 'a.yaml': authz('Namespace', 'app'), 'n.yaml': netAuthn })), []);
});

test('WEFT5002: authentication refs that match nothing', () => {
  assert.deepEqual(codes(check({ 'a.yaml': authz('Server', 'web', '  - {name: bots, kind: MeshTLSAuthentication, group: policy.linkerd.io}\n'), 's.yaml': server('web') })), ['WEFT5002']);
  assert.deepEqual(codes(check({ 'a.yaml': authz('Server', 'web', '  - {name: bot, kind: ServiceAccount}\n'), 's.yaml': server('web'), 'sa.yaml': 'apiVersion: v1\nkind: ServiceAccount\nmetadata: {name: bot, namespace: app}\n' })), []);
});

test('WEFT5003: a Server nobody may call; negative with a policy on it or on a route to it', () => {
  assert.deepEqual(codes(check({ 's.yaml': server('web') })), ['WEFT5003']);
  assert.deepEqual(codes(check({ 's.yaml': server('web'), 'a.yaml': authz('Server', 'web'), 'n.yaml': netAuthn })), []);
  assert.deepEqual(codes(check({ 's.yaml': server('web'), 'r.yaml': route('web'), 'a.yaml': authz('HTTPRoute', 'r'), 'n.yaml': netAuthn })), []);
});

test('WEFT5004: probes denied under *-authenticated once routes exist on the probe port', () => {
  const web = (policy: string) => `apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web, namespace: app}\nspec:\n  template:\n    metadata:\n      labels: {app: web}\n      annotations:\n        weft.dev/inject: enabled\n        config.weft.dev/default-inbound-policy: ${policy}\n    spec:\n      containers:\n      - name: web\n        ports: [{containerPort: 8080, name: http}]\n        readinessProbe: {httpGet: {path: /ready, port: http}}\n`;
  const base = { 's.yaml': server('web', 'http'), 'a.yaml': authz('HTTPRoute', 'r'), 'n.yaml': netAuthn };
  assert.deepEqual(codes(check({ 'w.yaml': web('all-authenticated'), ...base, 'r.yaml': route('web') })), ['WEFT5004']);
  assert.deepEqual(codes(check({ 'w.yaml': web('all-authenticated'), ...base })), [], 'no route, probes stay authorized');
  assert.deepEqual(codes(check({ 'w.yaml': web('all-unauthenticated'), ...base, 'r.yaml': route('web') })), []);
});
