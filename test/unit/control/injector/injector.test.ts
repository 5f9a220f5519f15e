import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';
import jsonpatch, { type Operation } from 'fast-json-patch';
import { Ajv } from 'ajv';
import { inject, inheritedAnnotations } from '../../../../mesh/control/injector/injector';
import type { JsonPatchOp } from '../../../../mesh/control/injector/json-patch';
import { escapePointerToken, pointer } from '../../../../mesh/control/injector/json-patch';
import type { Container, NamespaceLike, PodLike } from '../../../../mesh/control/injector/kube-types';
import type { MeshConfig } from '../../../../mesh/control/injector/mesh-config';
import { ANNOTATIONS } from '../../../../mesh/config/annotations';
import { IDENTITY_TOKEN_AUDIENCE } from '../../../../mesh/config/identity';
import { DEFAULT_OPAQUE_PORTS, INIT_CONTAINER, PROXY_CONTAINER, PROXY_IDENTITY_DIR } from '../../../../mesh/config/names';
import { PROXY_ADMIN_PORT, PROXY_UID } from '../../../../mesh/config/ports';
import { parseRedirectArgs } from '../../../../mesh/proxy/redirect-rules';
import { TRUST_ANCHORS_ANNOTATION, TRUST_ANCHORS_VOLUME } from '../../../../mesh/config/control-plane';
import { parseProxyConfig } from '../../../../mesh/proxy/config';
import type { EnvVar } from '../../../../mesh/control/injector/kube-types';

const MESH: MeshConfig = { proxyImage: 'ghcr.io/weft/mesh:0.1.0', proxyVersion: '0.1.0', initImage: 'ghcr.io/weft/mesh-init:0.1.0' };
const ENABLED_NS: NamespaceLike = { metadata: { name: 'shop', annotations: { [ANNOTATIONS.inject]: 'enabled' } } };

/** RFC 6902 application by a maintained library; validateOperation makes a bad path throw. */
function applyJsonPatch<T>(doc: T, patch: JsonPatchOp[]): T {
  return jsonpatch.applyPatch(structuredClone(doc), patch as Operation[], true, true).newDocument;
}

// --- Pod schema: see test/fixtures/k8s-schema/README.md ----------------------------------------
const schemaPath = fileURLToPath(new URL('../../../fixtures/k8s-schema/pod.schema.json', import.meta.url));
const podSchema = JSON.parse(readFileSync(schemaPath, 'utf8')) as Record<string, unknown>;
const ajv = new Ajv({ allErrors: true, strict: false });
ajv.addFormat('int32', { type: 'number', validate: (n: number) => Number.isInteger(n) && n >= -(2 ** 31) && n < 2 ** 31 });
ajv.addFormat('int64', { type: 'number', validate: (n: number) => Number.isInteger(n) });
const validatePod = ajv.compile(podSchema);
function assertValidPod(pod: unknown): void {
  const ok = validatePod(pod);
  assert.ok(ok, ajv.errorsText(validatePod.errors, { separator: '\n' }));
}

function appPod(extra: Partial<PodLike> = {}): PodLike {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'web-7d9f', namespace: 'shop', labels: { app: 'web' } },
    spec: { serviceAccountName: 'web', containers: [{ name: 'web', image: 'web:1', ports: [{ containerPort: 8080 }] }] },
    ...extra,
  };
}
const asPod = (template: PodLike): PodLike => ({ apiVersion: 'v1', kind: 'Pod', metadata: template.metadata, spec: template.spec });
const initOf = (p: PodLike): Container[] => p.spec?.initContainers ?? [];
const proxyOf = (p: PodLike): Container => initOf(p).find((c) => c.name === PROXY_CONTAINER)!;
const envOf = (c: Container): Record<string, string | undefined> => Object.fromEntries((c.env ?? []).map((e) => [e.name, e.value]));

test('a pod with no volumes, initContainers or annotations: arrays and objects are created first', () => {
  const pod = appPod();
  const { patch, events } = inject(pod, ENABLED_NS, MESH);
  assert.deepEqual(patch.map((p) => `${p.op} ${p.path}`), ['add /metadata/annotations', 'add /spec/initContainers', 'add /spec/volumes']);
  const out = applyJsonPatch(pod, patch);
  assert.deepEqual(initOf(out).map((c) => c.name), [INIT_CONTAINER, PROXY_CONTAINER]);
  assert.deepEqual(out.spec!.containers, pod.spec!.containers, 'app containers untouched');
  assert.equal(out.metadata!.annotations![ANNOTATIONS.proxyVersion], '0.1.0');
  assert.equal(out.metadata!.annotations![ANNOTATIONS.opaquePorts], DEFAULT_OPAQUE_PORTS.join(','));
  assert.match(events[0]!, /^Injected weft-proxy 0\.1\.0 \(namespace shop's weft\.dev\/inject annotation is enabled\)\.$/);
  assertValidPod(out);
});

test('weft-proxy is a native sidecar: restartPolicy Always, after weft-init, before the app\'s init containers', () => {
  const pod = appPod();
  pod.spec!.initContainers = [{ name: 'migrate', image: 'migrate:1' }, { name: 'seed', image: 'seed:1' }];
  pod.spec!.volumes = [{ name: 'data', emptyDir: {} }];
  pod.metadata!.annotations = { 'example.com/owner': 'team-a' };
  const { patch } = inject(pod, ENABLED_NS, MESH);
  assert.ok(patch.some((p) => p.path === '/spec/initContainers/0') && patch.some((p) => p.path === '/spec/initContainers/1'));
  assert.ok(patch.filter((p) => p.path === '/spec/volumes/-').length === 4);
  const out = applyJsonPatch(pod, patch);
  assert.deepEqual(initOf(out).map((c) => c.name), [INIT_CONTAINER, PROXY_CONTAINER, 'migrate', 'seed']);
  assert.equal(proxyOf(out).restartPolicy, 'Always');
  assert.equal(initOf(out)[0]!.restartPolicy, undefined, 'weft-init runs once');
  assert.deepEqual(out.spec!.volumes!.map((v) => v.name), ['data', 'weft-identity-end-entity', 'weft-identity-token', 'weft-init-xtables-lock', TRUST_ANCHORS_VOLUME]);
  assert.equal(out.metadata!.annotations!['example.com/owner'], 'team-a');
  assertValidPod(out);
});

test('annotation keys with "/" are escaped as ~1 (and ~ as ~0) when annotations exist', () => {
  assert.equal(escapePointerToken('config.weft.dev/opaque-ports'), 'config.weft.dev~1opaque-ports');
  assert.equal(escapePointerToken('a~b/c'), 'a~0b~1c');
  assert.equal(pointer('metadata', 'annotations', 'weft.dev/proxy-version'), '/metadata/annotations/weft.dev~1proxy-version');
  const pod = appPod();
  pod.metadata!.annotations = { [ANNOTATIONS.inject]: 'enabled' };
  const { patch } = inject(pod, { metadata: { name: 'shop' } }, MESH);
  assert.ok(patch.some((p) => p.path === '/metadata/annotations/weft.dev~1proxy-version'));
  assert.ok(patch.some((p) => p.path === '/metadata/annotations/config.weft.dev~1opaque-ports'));
  const out = applyJsonPatch(pod, patch);
  assert.equal(out.metadata!.annotations!['weft.dev/proxy-version'], '0.1.0');
  assert.equal(out.metadata!.annotations!['config.weft.dev/opaque-ports'], DEFAULT_OPAQUE_PORTS.join(','));
  assert.equal(out.metadata!.annotations![ANNOTATIONS.inject], 'enabled');
});

test('weft-init: image, redirect args from skip ports, NET_ADMIN + NET_RAW, root only there', () => {
  const pod = appPod();
  pod.metadata!.annotations = { [ANNOTATIONS.skipInboundPorts]: '9000', [ANNOTATIONS.skipOutboundPorts]: '3306, 5000-5010' };
  const out = applyJsonPatch(pod, inject(pod, ENABLED_NS, MESH).patch);
  const init = initOf(out)[0]!;
  assert.equal(init.image, 'ghcr.io/weft/mesh-init:0.1.0');
  const parsed = parseRedirectArgs(init.args!);
  assert.deepEqual(parsed, { ok: true, options: { skipInboundPorts: [{ from: 9000, to: 9000 }], skipOutboundPorts: [{ from: 3306, to: 3306 }, { from: 5000, to: 5010 }] } });
  assert.deepEqual(init.securityContext!.capabilities!.add, ['NET_ADMIN', 'NET_RAW']);
  assert.equal(init.securityContext!.runAsUser, 0);
  assert.equal(init.securityContext!.runAsNonRoot, false);
  assert.equal(init.securityContext!.allowPrivilegeEscalation, false);
  const proxy = proxyOf(out);
  assert.equal(proxy.securityContext!.runAsNonRoot, true, 'only weft-init may run as root');
  assertValidPod(out);
});

test('weft-proxy: env per docs/proxy.md, probes on the admin port, locked-down securityContext, volumes', () => {
  const pod = appPod();
  pod.metadata!.annotations = { [ANNOTATIONS.opaquePorts]: '5432,7000-7002', [ANNOTATIONS.proxyLogLevel]: 'debug' };
  const out = applyJsonPatch(pod, inject(pod, ENABLED_NS, MESH).patch);
  const proxy = proxyOf(out);
  assert.equal(proxy.image, MESH.proxyImage);
  const env = envOf(proxy);
  assert.deepEqual(Object.keys(env).sort(), [
    'MALLOC_ARENA_MAX', 'NODE_OPTIONS', 'WEFT_PROXY_ADMIN_ADDR', 'WEFT_PROXY_DESTINATION_ADDR', 'WEFT_PROXY_IDENTITY_ADDR', 'WEFT_PROXY_IDENTITY_DIR',
    'WEFT_PROXY_IDENTITY_NAME', 'WEFT_PROXY_IDENTITY_TOKEN_FILE', 'WEFT_PROXY_INBOUND_ADDR', 'WEFT_PROXY_INBOUND_OPAQUE_PORTS',
    'WEFT_PROXY_LOG', 'WEFT_PROXY_OUTBOUND_ADDR', 'WEFT_PROXY_POLICY_ADDR', 'WEFT_PROXY_POLICY_PORTS', 'WEFT_PROXY_POLICY_WORKLOAD',
    'WEFT_PROXY_TRUST_ANCHORS', 'WEFT_PROXY_WORKLOAD_LABELS', '_pod_name', '_pod_ns', '_pod_sa',
  ]);
  // Both families, each on its own socket (the outbound one on loopback only).
  assert.equal(env.WEFT_PROXY_INBOUND_ADDR, '0.0.0.0:4143,[::]:4143');
  assert.equal(env.WEFT_PROXY_OUTBOUND_ADDR, '127.0.0.1:4140,[::1]:4140');
  assert.equal(env.WEFT_PROXY_ADMIN_ADDR, '0.0.0.0:4191,[::]:4191');
  assert.equal(env.WEFT_PROXY_IDENTITY_DIR, PROXY_IDENTITY_DIR);
  assert.equal(env.WEFT_PROXY_INBOUND_OPAQUE_PORTS, '5432,7000-7002');
  assert.equal(env.WEFT_PROXY_LOG, 'debug');
  assert.equal(env.WEFT_PROXY_WORKLOAD_LABELS, 'namespace=shop,serviceaccount=web');
  assert.deepEqual(proxy.readinessProbe!.httpGet, { path: '/ready', port: PROXY_ADMIN_PORT, scheme: 'HTTP' });
  assert.deepEqual(proxy.livenessProbe!.httpGet, { path: '/live', port: PROXY_ADMIN_PORT, scheme: 'HTTP' });
  assert.equal(proxy.startupProbe!.httpGet!.path, '/ready');
  assert.deepEqual(proxy.securityContext, {
    runAsUser: PROXY_UID, runAsGroup: PROXY_UID, runAsNonRoot: true, readOnlyRootFilesystem: true,
    allowPrivilegeEscalation: false, privileged: false, capabilities: { drop: ['ALL'] }, seccompProfile: { type: 'RuntimeDefault' },
  });
  assert.deepEqual(proxy.resources, { requests: { cpu: '100m', memory: '64Mi' }, limits: { memory: '256Mi' } });
  const vols = Object.fromEntries(out.spec!.volumes!.map((v) => [v.name, v]));
  assert.deepEqual(vols['weft-identity-end-entity']!.emptyDir, { medium: 'Memory' });
  assert.deepEqual(vols['weft-identity-token']!.projected, {
    sources: [{ serviceAccountToken: { audience: IDENTITY_TOKEN_AUDIENCE, expirationSeconds: 86400, path: 'weft-identity-token' } }],
  });
  const mounts = Object.fromEntries(proxy.volumeMounts!.map((m) => [m.name, m]));
  assert.equal(mounts['weft-identity-end-entity']!.mountPath, PROXY_IDENTITY_DIR);
  assert.equal(mounts['weft-identity-token']!.readOnly, true);
  assertValidPod(out);
});

test('meshConfig resources, pull policy and log level are used; a bad annotation is ignored with a warning', () => {
  const pod = appPod();
  pod.metadata!.annotations = { [ANNOTATIONS.proxyLogLevel]: 'loud', [ANNOTATIONS.skipOutboundPorts]: 'mysql' };
  const cfg: MeshConfig = {
    ...MESH, imagePullPolicy: 'Always', proxyLogLevel: 'warn',
    proxyResources: { requests: { cpu: '50m', memory: '32Mi' }, limits: { cpu: '1', memory: '128Mi' } },
  };
  const { patch, events } = inject(pod, ENABLED_NS, cfg);
  const out = applyJsonPatch(pod, patch);
  const proxy = proxyOf(out);
  assert.deepEqual(proxy.resources, cfg.proxyResources);
  assert.equal(proxy.imagePullPolicy, 'Always');
  assert.equal(envOf(proxy).WEFT_PROXY_LOG, 'warn');
  assert.ok(events.some((e) => e.startsWith('Warning: ignored config.weft.dev/proxy-log-level') && e.includes('"loud"')), events.join('\n'));
  assert.ok(events.some((e) => e.startsWith('Warning: ignored config.weft.dev/skip-outbound-ports') && e.includes('"mysql"')));
  assert.deepEqual(initOf(out)[0]!.args, []);
  assertValidPod(out);
});

test('namespace config.weft.dev/* annotations are inherited; the pod\'s own value wins; others are not', () => {
  const ns: NamespaceLike = {
    metadata: {
      name: 'shop',
      annotations: {
        [ANNOTATIONS.inject]: 'enabled',
        [ANNOTATIONS.opaquePorts]: '3306',
        [ANNOTATIONS.skipOutboundPorts]: '6379',
        [ANNOTATIONS.defaultInboundPolicy]: 'all-authenticated',
        'example.com/team': 'a',
      },
    },
  };
  const pod = appPod();
  pod.metadata!.annotations = { [ANNOTATIONS.skipOutboundPorts]: '25' };
  assert.deepEqual(inheritedAnnotations(pod, ns), { [ANNOTATIONS.opaquePorts]: '3306', [ANNOTATIONS.defaultInboundPolicy]: 'all-authenticated' });
  const { patch, events } = inject(pod, ns, MESH);
  const out = applyJsonPatch(pod, patch);
  const a = out.metadata!.annotations!;
  assert.equal(a[ANNOTATIONS.opaquePorts], '3306');
  assert.equal(a[ANNOTATIONS.skipOutboundPorts], '25', 'pod wins');
  assert.equal(a[ANNOTATIONS.defaultInboundPolicy], 'all-authenticated');
  assert.equal(a['example.com/team'], undefined);
  assert.equal(a[ANNOTATIONS.inject], undefined, 'the inject annotation itself is not copied');
  assert.equal(envOf(proxyOf(out)).WEFT_PROXY_INBOUND_OPAQUE_PORTS, '3306');
  assert.deepEqual(parseRedirectArgs(initOf(out)[0]!.args!), { ok: true, options: { skipOutboundPorts: [{ from: 25, to: 25 }] } });
  assert.ok(events.some((e) => e.startsWith('Inherited ') && e.includes(ANNOTATIONS.opaquePorts) && e.includes('namespace shop')));
});

test('opaque ports default to DEFAULT_OPAQUE_PORTS only when neither pod nor namespace sets them', () => {
  const pod = appPod();
  const out = applyJsonPatch(pod, inject(pod, ENABLED_NS, MESH).patch);
  assert.equal(envOf(proxyOf(out)).WEFT_PROXY_INBOUND_OPAQUE_PORTS, DEFAULT_OPAQUE_PORTS.join(','));
  pod.metadata!.annotations = { [ANNOTATIONS.opaquePorts]: '' };
  const out2 = applyJsonPatch(pod, inject(pod, ENABLED_NS, MESH).patch);
  assert.equal(out2.metadata!.annotations![ANNOTATIONS.opaquePorts], '', 'an explicit empty list is respected');
});

test('skipped pods get an empty patch and the reason as their only event', () => {
  const { patch, events } = inject(appPod(), { metadata: { name: 'shop' } }, MESH);
  assert.deepEqual(patch, []);
  assert.equal(events.length, 1);
  assert.match(events[0]!, /^Not injected: neither the pod nor its namespace/);
  const hostNet = appPod();
  hostNet.spec!.hostNetwork = true;
  assert.match(inject(hostNet, ENABLED_NS, MESH).events[0]!, /hostNetwork/);
  const injectedOnce = applyJsonPatch(appPod(), inject(appPod(), ENABLED_NS, MESH).patch);
  const again = inject(injectedOnce, ENABLED_NS, MESH);
  assert.deepEqual(again.patch, []);
  assert.match(again.events[0]!, /already has a weft-proxy/);
  assert.deepEqual(inject(appPod(), { metadata: { name: 'weft', annotations: { [ANNOTATIONS.inject]: 'enabled' } } }, MESH).patch, []);
});

test('ingress is injected like enabled, with a note', () => {
  const pod = appPod();
  pod.metadata!.annotations = { [ANNOTATIONS.inject]: 'ingress' };
  const { patch, events } = inject(pod, undefined, MESH);
  assert.ok(patch.length > 0);
  assert.match(events[0]!, /the pod's weft\.dev\/inject annotation is ingress/);
  assert.ok(events.some((e) => e.includes('no separate ingress mode')));
});

// --- Realistic workloads: the emojivoto fixture and a Job, patched at /spec/template ---------------
const emojivoto = parseAllDocuments(readFileSync(fileURLToPath(new URL('../../../fixtures/manifests/emojivoto.yaml', import.meta.url)), 'utf8'))
  .map((d) => d.toJS() as { kind?: string; metadata?: { name?: string }; spec?: { template?: PodLike } })
  .filter((d) => d && typeof d === 'object');

test('emojivoto Deployments: the template patch applies to the Deployment and yields valid Pods', () => {
  const nsDoc = emojivoto.find((d) => d.kind === 'Namespace') as NamespaceLike;
  const deployments = emojivoto.filter((d) => d.kind === 'Deployment');
  assert.ok(deployments.length >= 3, 'fixture has the emoji, voting and web Deployments');
  for (const dep of deployments) {
    const forced: NamespaceLike = { metadata: { ...nsDoc.metadata, annotations: { ...nsDoc.metadata?.annotations, [ANNOTATIONS.inject]: 'enabled' } } };
    const { patch } = inject(dep.spec!.template!, forced, MESH, { basePath: '/spec/template' });
    assert.ok(patch.every((p) => p.path.startsWith('/spec/template/')), dep.metadata?.name);
    const out = applyJsonPatch(dep, patch);
    const template = out.spec!.template!;
    assert.deepEqual(initOf(template).map((c) => c.name).slice(0, 2), [INIT_CONTAINER, PROXY_CONTAINER]);
    assertValidPod(asPod(template));
  }
});

test('a Job (restartPolicy Never, app init container) is injected and stays a valid Pod', () => {
  const job = {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: { name: 'report', namespace: 'shop' },
    spec: {
      backoffLimit: 2,
      template: {
        metadata: { annotations: { [ANNOTATIONS.inject]: 'enabled', 'example.com/run': 'nightly' } },
        spec: {
          restartPolicy: 'Never',
          initContainers: [{ name: 'wait-db', image: 'busybox:1.36', command: ['sh', '-c', 'until nc -z db 5432; do sleep 1; done'] }],
          containers: [{ name: 'report', image: 'report:2', args: ['--once'], volumeMounts: [{ name: 'out', mountPath: '/out' }] }],
          volumes: [{ name: 'out', emptyDir: {} }],
        },
      } as PodLike,
    },
  };
  const { patch } = inject(job.spec.template, undefined, MESH, { basePath: '/spec/template' });
  const out = applyJsonPatch(job, patch);
  const t = out.spec.template;
  assert.deepEqual(initOf(t).map((c) => c.name), [INIT_CONTAINER, PROXY_CONTAINER, 'wait-db']);
  // the native sidecar is what lets the Job finish: it does not count towards completion
  assert.equal(proxyOf(t).restartPolicy, 'Always');
  assert.equal(t.metadata!.annotations!['example.com/run'], 'nightly');
  assertValidPod(asPod(t));
});

test('the schema check can fail: a misspelt or mistyped field is caught', () => {
  const pod = applyJsonPatch(appPod(), inject(appPod(), ENABLED_NS, MESH).patch);
  const typo = structuredClone(pod);
  (proxyOf(typo).securityContext as Record<string, unknown>).readOnlyRootFileSystem = true;
  assert.equal(validatePod(typo), false);
  const badType = structuredClone(pod);
  (proxyOf(badType).securityContext as Record<string, unknown>).runAsUser = '2102';
  assert.equal(validatePod(badType), false);
  const badVolume = structuredClone(pod);
  (badVolume.spec!.volumes![0] as Record<string, unknown>).emptyDir = { medium: 'Memory', sizeLimit: {} };
  assert.equal(validatePod(badVolume), false);
});

// --- the proxy's way to the control plane ---------------------------------------------------------

const ANCHORS = '-----BEGIN CERTIFICATE-----\nMIIBfake\n-----END CERTIFICATE-----\n';

/** What the kubelet does with env: fieldRefs resolved from the pod, then $(VAR) expanded in order. */
function kubeletEnv(env: readonly EnvVar[], pod: PodLike): Record<string, string> {
  const out: Record<string, string> = {};
  for (const e of env) {
    let v = e.value ?? '';
    const path = e.valueFrom?.fieldRef?.fieldPath;
    if (path === 'metadata.namespace') v = pod.metadata!.namespace!;
    else if (path === 'metadata.name') v = pod.metadata!.name!;
    else if (path === 'spec.serviceAccountName') v = pod.spec!.serviceAccountName ?? 'default';
    else if (path) throw new Error(`unexpected fieldRef ${path}`);
    out[e.name] = v.replace(/\$\(([A-Za-z_][A-Za-z0-9_]*)\)/g, (m, name: string) => out[name] ?? m);
  }
  return out;
}

test('proxy env: identity, destination and policy services of the control plane, resolved per pod', () => {
  const pod = appPod();
  const app = pod.spec?.containers?.[0];
  assert.ok(app, 'the fixture pod has an app container');
  app.ports = [{ name: 'http', containerPort: 8080 }, { containerPort: 9090 }];
  app.readinessProbe = { httpGet: { path: '/ready', port: 'http' } };
  app.livenessProbe = { httpGet: { path: '/live?x=1', port: 9090 } };
  const { patch, events } = inject(pod, { metadata: { name: 'shop', annotations: { [ANNOTATIONS.inject]: 'enabled', [ANNOTATIONS.defaultInboundPolicy]: 'all-authenticated' } } }, { ...MESH, trustAnchorsPem: ANCHORS });
  const out = applyJsonPatch(pod, patch);
  assert.ok(!events.some((e) => /trust anchors/.test(e)), events.join('\n'));
  const proxy = proxyOf(out);
  const env = kubeletEnv(proxy.env!, out);
  assert.equal(env.WEFT_PROXY_IDENTITY_ADDR, 'weft-identity.weft.svc.cluster.local:8080');
  assert.equal(env.WEFT_PROXY_IDENTITY_NAME, 'web.shop.serviceaccount.identity.weft.cluster.local');
  assert.equal(env.WEFT_PROXY_DESTINATION_ADDR, 'weft-destination.weft.svc.cluster.local:8086');
  assert.equal(env.WEFT_PROXY_POLICY_ADDR, 'weft-policy.weft.svc.cluster.local:8090');
  assert.equal(env.WEFT_PROXY_POLICY_WORKLOAD, 'shop/web-7d9f');
  assert.equal(env.WEFT_PROXY_POLICY_PORTS, 'http=8080,9090');
  assert.equal(env.WEFT_PROXY_POLICY_PROBES, '8080:/ready,9090:/live');
  assert.equal(env.WEFT_PROXY_DEFAULT_INBOUND_POLICY, 'all-authenticated');
  // The token file is the projected token's mount; the anchors file is the downward-API volume of the annotation.
  const mounts = Object.fromEntries(proxy.volumeMounts!.map((m) => [m.name, m.mountPath]));
  const tokenVol = out.spec!.volumes!.find((v) => v.name === 'weft-identity-token')!;
  const tokenPath = (tokenVol.projected as { sources: { serviceAccountToken: { path: string; audience: string } }[] }).sources[0]!.serviceAccountToken;
  assert.equal(env.WEFT_PROXY_IDENTITY_TOKEN_FILE, `${mounts['weft-identity-token']}/${tokenPath.path}`);
  assert.equal(tokenPath.audience, IDENTITY_TOKEN_AUDIENCE);
  const anchorsVol = out.spec!.volumes!.find((v) => v.name === TRUST_ANCHORS_VOLUME)!;
  const item = (anchorsVol.downwardAPI as { items: { path: string; fieldRef: { fieldPath: string } }[] }).items[0]!;
  assert.equal(env.WEFT_PROXY_TRUST_ANCHORS, `${mounts[TRUST_ANCHORS_VOLUME]}/${item.path}`);
  assert.equal(item.fieldRef.fieldPath, `metadata.annotations['${TRUST_ANCHORS_ANNOTATION}']`);
  assert.equal(out.metadata!.annotations![TRUST_ANCHORS_ANNOTATION], ANCHORS);
  // The proxy's own parser takes the result as it is (identity service, destination service, policy service).
  const parsed = parseProxyConfig(env);
  assert.deepEqual(parsed.ok ? [] : parsed.errors, []);
  assert.ok(parsed.ok);
  assert.equal(parsed.config.identityService?.name, 'web.shop.serviceaccount.identity.weft.cluster.local');
  assert.equal(parsed.config.identityService?.trustAnchorsFile, env.WEFT_PROXY_TRUST_ANCHORS);
  assert.equal(parsed.config.destinationAddr?.port, 8086);
  assert.equal(parsed.config.policy?.kind, 'service');
  assert.deepEqual(parsed.config.policy?.kind === 'service' && parsed.config.policy.workload, {
    namespace: 'shop', name: 'web-7d9f', ports: [{ name: 'http', port: 8080 }, { port: 9090 }],
    probes: [{ port: 8080, path: '/ready' }, { port: 9090, path: '/live' }], annotations: { [ANNOTATIONS.defaultInboundPolicy]: 'all-authenticated' },
  });
  assertValidPod(out);
});

test('without trust anchors in the mesh config the injection says the proxy cannot get a certificate', () => {
  const { events } = inject(appPod(), ENABLED_NS, MESH);
  assert.ok(events.some((e) => /^Warning: the injector knows no trust anchors/.test(e)), events.join('\n'));
});
