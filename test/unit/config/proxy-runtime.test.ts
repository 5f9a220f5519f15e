/**
 * The proxy's runtime settings (mesh/config/proxy-runtime.ts) reach every launch path: the injector's
 * weft-proxy container (webhook and `weft inject --manual`) and the mesh image's ENV. spawnProxy is
 * checked on a real process by test/integration/proxy-start-modules.test.ts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { ANNOTATIONS } from '../../../mesh/config/annotations';
import { PROXY_CONTAINER } from '../../../mesh/config/names';
import { PROXY_MALLOC_ARENA_MAX, PROXY_NODE_OPTIONS, PROXY_RUNTIME_ENV } from '../../../mesh/config/proxy-runtime';
import { inject } from '../../../mesh/control/injector/injector';
import { injectManifest } from '../../../mesh/control/injector/manifest-inject';
import type { Container, PodLike } from '../../../mesh/control/injector/kube-types';
import type { MeshConfig } from '../../../mesh/control/injector/mesh-config';

const MESH: MeshConfig = { proxyImage: 'ghcr.io/weft/mesh:0.1.0', proxyVersion: '0.1.0', initImage: 'ghcr.io/weft/mesh-init:0.1.0' };
const pod: PodLike = {
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name: 'web-1', namespace: 'shop', annotations: { [ANNOTATIONS.inject]: 'enabled' } },
  spec: { serviceAccountName: 'web', containers: [{ name: 'web', image: 'web:1' }] },
};

function assertRuntimeEnv(c: Container | undefined, where: string): void {
  assert.ok(c, `${where}: no ${PROXY_CONTAINER} container`);
  const env = new Map((c.env ?? []).map((e) => [e.name, e.value]));
  for (const [k, v] of Object.entries(PROXY_RUNTIME_ENV)) assert.equal(env.get(k), v, `${where}: ${k}`);
}

test('the runtime env is NODE_OPTIONS with the flags, and MALLOC_ARENA_MAX', () => {
  assert.deepEqual(Object.keys(PROXY_RUNTIME_ENV).sort(), ['MALLOC_ARENA_MAX', 'NODE_OPTIONS']);
  assert.equal(PROXY_RUNTIME_ENV['NODE_OPTIONS'], PROXY_NODE_OPTIONS.join(' '));
  assert.equal(PROXY_RUNTIME_ENV['MALLOC_ARENA_MAX'], String(PROXY_MALLOC_ARENA_MAX));
  assert.ok(PROXY_NODE_OPTIONS.every((f) => /^--[a-z0-9-]+(=\S+)?$/.test(f)), 'one flag per entry, no spaces');
});

test('the injector (admission webhook) gives weft-proxy the runtime env', () => {
  const patch = inject(pod, undefined, MESH).patch;
  const containers = patch.flatMap((op) => ('value' in op && op.path.endsWith('/initContainers') ? (op.value as Container[]) : []));
  assertRuntimeEnv(containers.find((c) => c.name === PROXY_CONTAINER), 'webhook');
});

test('`weft inject --manual` gives weft-proxy the runtime env', () => {
  const r = injectManifest(JSON.stringify(pod), MESH);
  assert.ok(r.ok, r.ok ? '' : r.error);
  const out = parse(r.text) as PodLike;
  assertRuntimeEnv(out.spec?.initContainers?.find((c) => c.name === PROXY_CONTAINER), 'manual');
});

test('the mesh image sets the runtime env (dev-cluster/image/Dockerfile, runtime stage)', () => {
  const dockerfile = readFileSync(new URL('../../../dev-cluster/image/Dockerfile', import.meta.url), 'utf8');
  const runtime = dockerfile.slice(dockerfile.lastIndexOf('\nFROM '));
  const env = new Map<string, string>();
  for (const line of runtime.split('\n').filter((l) => l.startsWith('ENV '))) {
    // ENV k=v k2="v 2" …
    for (const m of line.slice(4).matchAll(/([A-Za-z_][A-Za-z0-9_]*)=("([^"]*)"|\S+)/g)) env.set(m[1]!, m[3] ?? m[2]!);
  }
  for (const [k, v] of Object.entries(PROXY_RUNTIME_ENV)) assert.equal(env.get(k), v, `Dockerfile ENV ${k}`);
});
