import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';
import { Ajv } from 'ajv';
import { annotateManifest, injectManifest, POD_TEMPLATE_PATHS } from '../../../../mesh/control/injector/manifest-inject';
import { ANNOTATIONS } from '../../../../mesh/config/annotations';
import { INIT_CONTAINER, PROXY_CONTAINER } from '../../../../mesh/config/names';
import type { PodLike } from '../../../../mesh/control/injector/kube-types';

const fixture = (name: string) => readFileSync(fileURLToPath(new URL(`../../../fixtures/manifests/${name}`, import.meta.url)), 'utf8');
const MESH = { proxyImage: 'ghcr.io/weft-dev/weft:0.1.0', proxyVersion: '0.1.0' };

const ajv = new Ajv({ allErrors: true, strict: false });
ajv.addFormat('int32', { type: 'number', validate: (n: number) => Number.isInteger(n) && n >= -(2 ** 31) && n < 2 ** 31 });
ajv.addFormat('int64', { type: 'number', validate: (n: number) => Number.isInteger(n) });
const validatePod = ajv.compile(JSON.parse(readFileSync(fileURLToPath(new URL('../../../fixtures/k8s-schema/pod.schema.json', import.meta.url)), 'utf8')) as Record<string, unknown>);

function objects(text: string): Record<string, unknown>[] {
  const js = (d: ReturnType<typeof parseAllDocuments>[number]): unknown => {
    try {
      return d.toJS();
    } catch {
      return null; // a "billion laughs" document (anchors.yaml)
    }
  };
  return parseAllDocuments(text).map(js).filter((o): o is Record<string, unknown> => !!o && typeof o === 'object');
}
function templateOf(o: Record<string, unknown>): PodLike {
  let node: unknown = o;
  for (const k of POD_TEMPLATE_PATHS[o.kind as string]!) node = (node as Record<string, unknown>)[k];
  return node as PodLike;
}
/** Lines of `after` that are not in `before`, in order (before must be a subsequence of after). */
function addedLines(before: string, after: string): string[] {
  const b = before.split('\n');
  const a = after.split('\n');
  const added: string[] = [];
  let i = 0;
  for (const line of a) {
    if (i < b.length && line === b[i]) i++;
    else added.push(line);
  }
  assert.equal(i, b.length, 'every original line is kept, in order');
  return added;
}

test('emojivoto: each Deployment template annotated, every original byte kept (comments included)', () => {
  const src = fixture('emojivoto.yaml');
  const r = annotateManifest(src);
  assert.ok(r.ok, r.ok ? '' : r.error);
  assert.deepEqual(r.resources.map((x) => `${x.kind}/${x.name} ${x.action}`), ['Deployment/emoji annotated', 'Deployment/voting annotated', 'Deployment/web annotated', 'Deployment/vote-bot annotated']);
  assert.deepEqual(addedLines(src, r.text), Array(4).fill(['      annotations:', `        ${ANNOTATIONS.inject}: enabled`]).flat());
  assert.ok(r.text.includes('# Emojivoto-style demo app') && r.text.includes('"three"   # should be an integer'));
  const workloads = objects(r.text).filter((o) => o.kind === 'Deployment');
  assert.equal(workloads.length, 4);
  for (const w of workloads) assert.equal(templateOf(w).metadata?.annotations?.[ANNOTATIONS.inject], 'enabled');
});

test('every place the annotation can go: existing annotations, replaced value, no metadata, flow style, CronJob, Pod', () => {
  const src = `# top comment
apiVersion: v1
kind: Pod
metadata:
  name: solo   # trailing comment
spec:
  containers: [{name: a, image: a}]
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: has-annotations}
spec:
  template:
    metadata:
      annotations:
        example.com/owner: team-a
    spec: {containers: [{name: a, image: a}]}
---
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: disabled}
spec:
  template:
    metadata:
      annotations:
        weft.dev/inject: "disabled"  # was off
    spec: {containers: [{name: a, image: a}]}
---
apiVersion: apps/v1
kind: DaemonSet
metadata: {name: no-metadata}
spec:
  template:
    spec: {containers: [{name: a, image: a}]}
---
apiVersion: batch/v1
kind: CronJob
metadata: {name: nightly}
spec:
  schedule: "0 3 * * *"
  jobTemplate:
    spec:
      template:
        metadata: {labels: {app: nightly}}
        spec: {restartPolicy: Never, containers: [{name: a, image: a}]}
---
apiVersion: batch/v1
kind: Job
metadata: {name: flow-annotations}
spec: {template: {metadata: {annotations: {}}, spec: {containers: [{name: a, image: a}]}}}
---
apiVersion: v1
kind: Service
metadata: {name: not-a-workload}
spec: {ports: [{port: 80}]}
`;
  const r = annotateManifest(src);
  assert.ok(r.ok, r.ok ? '' : r.error);
  assert.deepEqual(r.resources.map((x) => `${x.kind}/${x.name} ${x.action}`), [
    'Pod/solo annotated',
    'Deployment/has-annotations annotated',
    'StatefulSet/disabled annotated',
    'DaemonSet/no-metadata annotated',
    'CronJob/nightly annotated',
    'Job/flow-annotations annotated',
  ]);
  const objs = objects(r.text);
  assert.equal(objs.length, 7);
  for (const o of objs.filter((x) => x.kind !== 'Service')) assert.equal(templateOf(o).metadata?.annotations?.[ANNOTATIONS.inject], 'enabled', String(o.kind));
  assert.equal(templateOf(objs[1]!).metadata!.annotations!['example.com/owner'], 'team-a');
  assert.deepEqual(templateOf(objs[4]!).metadata!.labels, { app: 'nightly' });
  assert.ok(r.text.includes('weft.dev/inject: enabled  # was off'), 'the comment after a replaced value stays');
  assert.ok(r.text.startsWith('# top comment\n') && r.text.includes('name: solo   # trailing comment'));
  assert.deepEqual(objs[6], objects(src)[6], 'the Service is untouched');
  // Idempotent: a second run changes nothing.
  const again = annotateManifest(r.text);
  assert.ok(again.ok);
  assert.equal(again.text, r.text);
  assert.ok(again.resources.every((x) => x.action === 'unchanged'));
});

test('CRLF input gets CRLF insertions; same-named workloads in two namespaces are told apart', () => {
  const src = 'apiVersion: apps/v1\r\nkind: Deployment\r\nmetadata: {name: web, namespace: a}\r\nspec:\r\n  template:\r\n    metadata: oops\r\n    spec: {containers: [{name: a, image: a}]}\r\n---\r\napiVersion: apps/v1\r\nkind: Deployment\r\nmetadata: {name: web, namespace: b}\r\nspec:\r\n  template: !!map\r\n    spec: {containers: [{name: a, image: a}]}\r\n';
  const r = annotateManifest(src);
  assert.ok(r.ok, r.ok ? '' : r.error);
  assert.ok(!/[^\r]\n/.test(r.text), 'no bare LF added');
  assert.deepEqual(r.resources.map((x) => x.action), ['skipped', 'annotated']);
  assert.equal(objects(r.text).filter((o) => templateOf(o).metadata?.annotations?.[ANNOTATIONS.inject] === 'enabled').length, 1);
  const m = injectManifest(src, MESH);
  assert.ok(m.ok, m.ok ? '' : m.error);
  assert.deepEqual(m.resources.map((x) => x.action), ['skipped', 'injected']);
  assert.match(m.resources[0]!.detail!, /^not injected: its metadata is not a mapping/);
});

test('bad YAML is an error value naming the line; an empty input is fine', () => {
  const r = annotateManifest('apiVersion: v1\nkind: Pod\nmetadata:\n  name: [unclosed\n');
  assert.ok(!r.ok);
  assert.match(r.error, /^invalid YAML at line \d+, column \d+: /);
  const broken = annotateManifest(fixture('broken.yaml'));
  assert.ok(!broken.ok);
  const empty = annotateManifest('');
  assert.ok(empty.ok);
  assert.equal(empty.text, '');
  assert.deepEqual(empty.resources, []);
});

test('--manual on emojivoto: weft-init and weft-proxy added, schema-valid pods, namespace config inherited, comments kept', () => {
  const src = fixture('emojivoto.yaml');
  const r = injectManifest(src, MESH);
  assert.ok(r.ok, r.ok ? '' : r.error);
  assert.deepEqual(r.resources.map((x) => x.action), ['injected', 'injected', 'injected', 'injected']);
  assert.ok(r.text.includes('# Emojivoto-style demo app') && r.text.includes('# should be an integer'));
  const objs = objects(r.text);
  assert.equal(objs.length, objects(src).length);
  for (const o of objs.filter((x) => x.kind === 'Deployment')) {
    const t = templateOf(o);
    assert.deepEqual(t.spec!.initContainers!.map((c) => c.name).slice(0, 2), [INIT_CONTAINER, PROXY_CONTAINER]);
    assert.equal(t.metadata!.annotations![ANNOTATIONS.inject], 'enabled');
    // Inherited from the Namespace document of the same file.
    assert.equal(t.metadata!.annotations![ANNOTATIONS.defaultInboundPolicy], 'all-authenticated');
    const pod = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p', ...t.metadata }, spec: t.spec };
    assert.ok(validatePod(pod), ajv.errorsText(validatePod.errors, { separator: '\n' }));
  }
  // Documents without a workload are kept byte for byte.
  assert.ok(r.text.includes(src.slice(src.indexOf('apiVersion: v1\nkind: Service'), src.indexOf('apiVersion: v1\nkind: Service') + 200)));
});

test('--manual skips what the injector skips (hostNetwork, kube-system, already injected) and says why', () => {
  const src = `apiVersion: apps/v1
kind: DaemonSet
metadata: {name: node-agent}
spec:
  template:
    spec: {hostNetwork: true, containers: [{name: a, image: a}]}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: dns, namespace: kube-system}
spec:
  template:
    spec: {containers: [{name: a, image: a}]}
`;
  const r = injectManifest(src, MESH);
  assert.ok(r.ok);
  assert.equal(r.resources[0]!.action, 'skipped');
  assert.match(r.resources[0]!.detail!, /hostNetwork/);
  assert.match(r.resources[1]!.detail!, /kube-system/);
  assert.ok(!r.text.includes(PROXY_CONTAINER));
  const once = injectManifest(fixture('emojivoto.yaml'), MESH);
  assert.ok(once.ok);
  const twice = injectManifest(once.text, MESH);
  assert.ok(twice.ok);
  assert.equal(twice.text, once.text, 'injecting an injected file changes nothing');
  assert.ok(twice.resources.every((x) => x.action === 'skipped' && /already has a weft-proxy/.test(x.detail!)));
});

test('every fixture manifest that parses: --manual output parses, keeps its document count, and each injected pod is schema-valid', () => {
  const dir = fileURLToPath(new URL('../../../fixtures/manifests/', import.meta.url));
  const files = readdirSync(dir).filter((f) => f.endsWith('.yaml'));
  assert.ok(files.length >= 8);
  let injected = 0;
  for (const f of files) {
    const src = readFileSync(join(dir, f), 'utf8');
    const r = injectManifest(src, MESH);
    if (!r.ok) {
      assert.match(r.error, /^invalid YAML at line \d+/, f);
      continue;
    }
    const docs = parseAllDocuments(r.text);
    assert.ok(docs.every((d) => d.errors.length === 0), f);
    assert.equal(docs.length, parseAllDocuments(src).length, f);
    const byOrder = objects(r.text).filter((o) => typeof o.kind === 'string' && o.kind in POD_TEMPLATE_PATHS);
    r.resources.forEach((res, i) => {
      if (res.action !== 'injected') return;
      injected++;
      const t = templateOf(byOrder[i]!);
      const pod = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p', ...t.metadata }, spec: t.spec };
      assert.ok(validatePod(pod), `${f} ${res.kind}/${res.name}: ${ajv.errorsText(validatePod.errors)}`);
    });
  }
  assert.ok(injected >= 15, `injected ${injected}`);
});
