// `weft install` output applied with applyObjects to the fake API server, then `weft check` run as a
// CLI process with KUBECONFIG: it reports what is missing (no kubelet: no pods), and all green once
// pod statuses are seeded. Bad kubeconfig, unreachable API and refused credentials give clear errors.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';
import jsonpatch, { type Operation } from 'fast-json-patch';
import { KubeConfig } from '@kubernetes/client-node';
import { startFakeKubeApi, writeKubeconfig, findResourceType, RESOURCE_TYPES, type FakeKubeApi } from '../fixtures/kube-api';
import { applyObjects, type ApplyProgress } from '../../mesh/platform/kube-apply';
import type { KubeObject } from '../../mesh/control/install/install-manifests';
import { inject } from '../../mesh/control/injector/injector';
import { CONFIG_MAP_KEYS, CONTROL_PLANE_COMPONENTS, CONTROL_PLANE_COMPONENT_LABEL, CONTROL_PLANE_OBJECTS } from '../../mesh/config/control-plane';
import { ANNOTATIONS } from '../../mesh/config/annotations';
import { CONTROL_PLANE_NAMESPACE, PROXY_CONTAINER } from '../../mesh/config/names';

const MAIN = fileURLToPath(new URL('../../mesh/cli/main.ts', import.meta.url));
const tmp = mkdtempSync(join(tmpdir(), 'weft-install-check-'));
const servers: FakeKubeApi[] = [];
after(async () => {
  await Promise.all(servers.map((s) => s.close()));
  rmSync(tmp, { recursive: true, force: true });
});

function weft(args: string[], env: Record<string, string> = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', MAIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

async function fakeApi(opts: Parameters<typeof startFakeKubeApi>[0] = {}): Promise<{ api: FakeKubeApi; kubeconfig: string; kc: KubeConfig }> {
  const api = await startFakeKubeApi(opts);
  servers.push(api);
  const dir = mkdtempSync(join(tmp, 'kc-'));
  const kubeconfig = writeKubeconfig(dir, { server: api.url, ...(opts.authToken ? { token: opts.authToken } : {}) });
  const kc = new KubeConfig();
  kc.loadFromFile(kubeconfig);
  return { api, kubeconfig, kc };
}

interface JsonReport {
  ok: boolean;
  results: { category: string; name: string; ok: boolean; message: string; hint?: string }[];
  error?: { message: string; hint: string };
}

describe('weft install → applyObjects → weft check', () => {
  let objects: KubeObject[];
  let api: FakeKubeApi;
  let kc: KubeConfig;
  let kubeconfig: string;

  before(async () => {
    const out = await weft(['install']);
    assert.equal(out.code, 0, out.stderr);
    objects = parseAllDocuments(out.stdout).map((d) => d.toJS() as KubeObject);
    ({ api, kc, kubeconfig } = await fakeApi());
  });

  it('applies every object (create, then unchanged on a second run), with progress', async () => {
    const progress: ApplyProgress[] = [];
    const first = await applyObjects(kc, objects, { onProgress: (p) => progress.push(p) });
    assert.ok(first.ok, first.ok ? '' : `${first.error.message}`);
    assert.equal(progress.length, objects.length);
    assert.ok(progress.every((p, i) => p.index === i && p.total === objects.length && p.action === 'created'));
    assert.equal(progress[0]!.object, `Namespace ${CONTROL_PLANE_NAMESPACE}`);
    for (const o of objects) {
      const type = RESOURCE_TYPES.find((t) => t.kind === o.kind && (t.group ? `${t.group}/${t.version}` : t.version) === o.apiVersion);
      assert.ok(type, `fake API type for ${o.kind}`);
      assert.equal(api.store.get(type, o.metadata.namespace ?? '', o.metadata.name).metadata.name, o.metadata.name);
    }
    const second = await applyObjects(kc, objects);
    assert.ok(second.ok);
    assert.deepEqual([...new Set(second.applied.map((p) => p.action))], ['unchanged']);
  });

  it('weft check (CLI, KUBECONFIG) reports the missing pods with hints and exits 1', async () => {
    const out = await weft(['check'], { KUBECONFIG: kubeconfig });
    assert.equal(out.code, 1, out.stderr);
    assert.match(out.stdout, /✔ can reach the Kubernetes API/);
    assert.match(out.stdout, /✔ policy CRDs are installed/);
    assert.match(out.stdout, /✔ issuer is valid for at least 60 more days and chains to a trust anchor/);
    assert.match(out.stdout, /✔ webhook certificate is valid and matches the MutatingWebhookConfiguration/);
    for (const { name } of Object.values(CONTROL_PLANE_COMPONENTS)) {
      assert.match(out.stdout, new RegExp(`✖ ${name} pods are ready\\n    no pod found\\n    hint: check the Deployment`));
    }
    assert.match(out.stdout, /Status check results are ✖ \(5 failed\)/);
  });

  it('once pods are seeded (running, ready, a meshed one with its Service), weft check --proxy is all green', async () => {
    const pods = findResourceType('', 'v1', 'pods')!;
    for (const [component, { name }] of Object.entries(CONTROL_PLANE_COMPONENTS)) {
      api.store.create(pods, CONTROL_PLANE_NAMESPACE, {
        metadata: { name: `${name}-7c9d8-x1`, labels: { [CONTROL_PLANE_COMPONENT_LABEL]: component } },
        spec: { containers: [{ name: component, image: 'x' }] },
        status: { phase: 'Running', conditions: [{ type: 'Ready', status: 'True' }] },
      });
    }
    // A meshed pod as the injector would make it, with the anchors read back from the cluster.
    const cm = api.store.get(findResourceType('', 'v1', 'configmaps')!, CONTROL_PLANE_NAMESPACE, CONTROL_PLANE_OBJECTS.configMap);
    const anchors = String((cm.data as Record<string, string>)[CONFIG_MAP_KEYS.trustAnchors]);
    api.store.create(findResourceType('', 'v1', 'namespaces')!, '', { metadata: { name: 'shop', annotations: { [ANNOTATIONS.inject]: 'enabled' } } });
    const pod = { metadata: { name: 'web-1', namespace: 'shop', labels: { app: 'web' } }, spec: { serviceAccountName: 'web', containers: [{ name: 'web', image: 'web', ports: [{ containerPort: 8080 }] }] } };
    const { patch } = inject(pod, api.store.get(findResourceType('', 'v1', 'namespaces')!, '', 'shop'), { proxyImage: 'img', proxyVersion: '0.1.0', trustAnchorsPem: anchors });
    const meshed = jsonpatch.applyPatch(structuredClone(pod), patch as Operation[], true, false).newDocument as Record<string, unknown>;
    api.store.create(pods, 'shop', { ...meshed, status: { phase: 'Running', conditions: [{ type: 'Ready', status: 'True' }], initContainerStatuses: [{ name: PROXY_CONTAINER, ready: true }] } } as never);
    api.store.create(findResourceType('', 'v1', 'services')!, 'shop', { metadata: { name: 'web' }, spec: { selector: { app: 'web' }, ports: [{ port: 80, targetPort: 8080 }] } });

    const out = await weft(['check', '--proxy', '--output', 'json'], { KUBECONFIG: kubeconfig });
    const report = JSON.parse(out.stdout) as JsonReport;
    assert.deepEqual(report.results.filter((r) => !r.ok), []);
    assert.equal(report.ok, true);
    assert.equal(out.code, 0, out.stderr);
    assert.ok(report.results.some((r) => r.category === 'data-plane' && /trust the current trust anchors/.test(r.name) && /1 pod/.test(r.message)));
  });

  it('re-installing with the identity read back from the cluster keeps the anchors and issuer, renews the webhook, stays green', async () => {
    const cmType = findResourceType('', 'v1', 'configmaps')!;
    const secretType = findResourceType('', 'v1', 'secrets')!;
    const anchors = String((api.store.get(cmType, CONTROL_PLANE_NAMESPACE, CONTROL_PLANE_OBJECTS.configMap).data as Record<string, string>)[CONFIG_MAP_KEYS.trustAnchors]);
    const issuer = api.store.get(secretType, CONTROL_PLANE_NAMESPACE, CONTROL_PLANE_OBJECTS.issuerSecret).data as Record<string, string>;
    const webhookBefore = (api.store.get(secretType, CONTROL_PLANE_NAMESPACE, CONTROL_PLANE_OBJECTS.webhookSecret).data as Record<string, string>)['tls.crt'];
    const dir = mkdtempSync(join(tmp, 'identity-'));
    writeFileSync(join(dir, 'ca.crt'), anchors);
    writeFileSync(join(dir, 'issuer.crt'), Buffer.from(issuer['tls.crt']!, 'base64'));
    writeFileSync(join(dir, 'issuer.key'), Buffer.from(issuer['tls.key']!, 'base64'));
    const out = await weft(['install', '--identity-trust-anchors-file', join(dir, 'ca.crt'), '--identity-issuer-certificate-file', join(dir, 'issuer.crt'), '--identity-issuer-key-file', join(dir, 'issuer.key')]);
    assert.equal(out.code, 0, out.stderr);
    const again = await applyObjects(kc, parseAllDocuments(out.stdout).map((d) => d.toJS() as KubeObject));
    assert.ok(again.ok);
    const changed = again.applied.filter((p) => p.action === 'configured').map((p) => p.object).sort();
    assert.deepEqual(changed, [`MutatingWebhookConfiguration weft-proxy-injector-webhook-config`, `Secret weft/${CONTROL_PLANE_OBJECTS.webhookSecret}`]);
    assert.notEqual((api.store.get(secretType, CONTROL_PLANE_NAMESPACE, CONTROL_PLANE_OBJECTS.webhookSecret).data as Record<string, string>)['tls.crt'], webhookBefore);
    const check = await weft(['check', '--proxy', '--output', 'json'], { KUBECONFIG: kubeconfig });
    assert.deepEqual((JSON.parse(check.stdout) as JsonReport).results.filter((r) => !r.ok), []);
  });

  it('weft check --pre names what a restricted, old, skewed cluster lacks', async () => {
    const f = await fakeApi({
      version: { major: '1', minor: '28', gitVersion: 'v1.28.7' },
      clockSkewMs: 20 * 60_000,
      accessReview: (a) => (a.resource === 'mutatingwebhookconfigurations' ? { allowed: false, reason: 'no RBAC policy matched' } : true),
    });
    const out = await weft(['check', '--pre', '--output=json'], { KUBECONFIG: f.kubeconfig });
    assert.equal(out.code, 1, out.stderr);
    const report = JSON.parse(out.stdout) as JsonReport;
    assert.deepEqual(report.results.filter((r) => !r.ok).map((r) => r.name), [
      'Kubernetes version is at least 1.29',
      'clock skew with the API server is small',
      'can create mutatingwebhookconfigurations.admissionregistration.k8s.io',
    ]);
    assert.ok(report.results.filter((r) => !r.ok).every((r) => r.hint && r.hint.length > 10));
    assert.ok(f.api.accessReviews.length >= 10);
  });

  it('a bad kubeconfig and an unreachable API give a clear error (exit 1)', async () => {
    const bad = join(tmp, 'bad-kubeconfig');
    writeFileSync(bad, 'clusters: [unclosed\n');
    const b = await weft(['check'], { KUBECONFIG: bad });
    assert.equal(b.code, 1);
    assert.match(b.stderr, new RegExp(`${bad} is not valid YAML`));
    assert.match(b.stderr, /next step: fix or regenerate/);

    const port = await new Promise<number>((resolve) => {
      const s = createServer().listen(0, '127.0.0.1', () => {
        const p = (s.address() as { port: number }).port;
        s.close(() => resolve(p));
      });
    });
    const dir = mkdtempSync(join(tmp, 'down-'));
    const down = writeKubeconfig(dir, { server: `http://127.0.0.1:${port}` });
    const u = await weft(['check'], { KUBECONFIG: down });
    assert.equal(u.code, 1);
    assert.match(u.stdout, new RegExp(`✖ can reach the Kubernetes API\\n    cannot reach http://127.0.0.1:${port}: ECONNREFUSED`));
    assert.match(u.stdout, /hint: check that the cluster is running/);
    assert.doesNotMatch(u.stdout, /pods are ready/, 'nothing else is tried');

    const downKc = new KubeConfig();
    downKc.loadFromFile(down);
    const applied = await applyObjects(downKc, objects.slice(0, 2));
    assert.equal(applied.ok, false);
    assert.match(applied.ok ? '' : applied.error.message, new RegExp(`Namespace weft: cannot reach the Kubernetes API server at http://127.0.0.1:${port}`));
  });

  it('applyObjects: refused credentials stop at the first object with a hint', async () => {
    const f = await fakeApi({ authToken: 'right' });
    const wrong = new KubeConfig();
    wrong.loadFromFile(writeKubeconfig(mkdtempSync(join(tmp, 'wrong-')), { server: f.api.url, token: 'wrong' }));
    const r = await applyObjects(wrong, objects);
    assert.equal(r.ok, false);
    assert.equal(r.applied.length, 0);
    assert.match(r.ok ? '' : r.error.message, /^Namespace weft: the API server refused the credentials \(HTTP 401\)/);
    assert.match(r.ok ? '' : r.error.hint, /refresh the kubeconfig credentials/);
  });
});
