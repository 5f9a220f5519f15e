// loadKubeClient against the fake API server and against kubeconfigs that are missing, broken,
// lack the context asked for, or point at nothing: each failure is a value with a next step.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { formatKubeClientError, loadKubeClient, resolveKubeconfigPaths, type LoadKubeClientResult } from '../../../mesh/platform/kube-client';
import { createDevCa } from '../../../mesh/control/identity/ca';
import { kubeconfigYaml, startFakeKubeApi, writeKubeconfig, type FakeKubeApi } from '../../fixtures/kube-api';

function failure(r: LoadKubeClientResult) {
  assert.equal(r.ok, false, 'expected an error value');
  if (r.ok) throw new Error('unreachable');
  assert.ok(r.error.hint.length > 10, 'every error carries a next step');
  return r.error;
}

describe('loadKubeClient', () => {
  let api: FakeKubeApi;
  let dir: string;
  const noEnv = {};

  before(async () => {
    api = await startFakeKubeApi({ authToken: 'good' });
    dir = mkdtempSync(join(tmpdir(), 'weft-kube-client-'));
  });
  after(async () => {
    await api.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('loads a client from a kubeconfig and proves the API server answers', async () => {
    const path = writeKubeconfig(mkdtempSync(join(dir, 'ok-')), { server: api.url, token: 'good', namespace: 'shop' });
    const r = await loadKubeClient({ kubeconfigPath: path, env: noEnv });
    assert.ok(r.ok, r.ok ? '' : formatKubeClientError(r.error));
    assert.equal(r.client.serverVersion, 'v1.30.0-weft-fake');
    assert.equal(r.client.context, 'weft-fake');
    assert.equal(r.client.namespace, 'shop');
    assert.equal(r.client.server, api.url);
    const ns = await r.client.core.listNamespace();
    assert.ok(ns.items.some((n) => n.metadata?.name === 'default'));
  });

  it('reads $KUBECONFIG (a path list, merged) and ~/.kube/config when no path is given', async () => {
    const a = join(dir, 'a.yaml');
    const b = join(dir, 'b.yaml');
    writeFileSync(a, kubeconfigYaml({ server: 'http://127.0.0.1:1', contextName: 'elsewhere' }));
    writeFileSync(b, kubeconfigYaml({ server: api.url, token: 'good', contextName: 'fake-b' }));
    const r = await loadKubeClient({ context: 'fake-b', env: { KUBECONFIG: [join(dir, 'missing.yaml'), a, b].join(delimiter) } });
    assert.ok(r.ok, r.ok ? '' : formatKubeClientError(r.error));
    assert.equal(r.client.server, api.url);
    assert.deepEqual(r.client.paths, [a, b]);
    const home = mkdtempSync(join(dir, 'home-'));
    mkdirSync(join(home, '.kube'));
    writeFileSync(join(home, '.kube', 'config'), kubeconfigYaml({ server: api.url, token: 'good' }));
    const fromHome = await loadKubeClient({ env: noEnv, homeDir: home });
    assert.ok(fromHome.ok);
    assert.deepEqual(resolveKubeconfigPaths(undefined, {}, '/h'), { paths: ['/h/.kube/config'], source: '/h/.kube/config' });
  });

  it('no kubeconfig: says where it looked and how to get one', async () => {
    const e = failure(await loadKubeClient({ env: noEnv, homeDir: mkdtempSync(join(dir, 'empty-home-')) }));
    assert.equal(e.kind, 'no-kubeconfig');
    assert.match(e.message, /\.kube\/config/);
    assert.match(e.hint, /kind create cluster|KUBECONFIG|--kubeconfig/);
    const explicit = failure(await loadKubeClient({ kubeconfigPath: join(dir, 'nope.yaml'), env: noEnv }));
    assert.equal(explicit.kind, 'no-kubeconfig');
    assert.match(explicit.message, /nope\.yaml/);
  });

  it('bad kubeconfig YAML, a non-mapping, and a context naming a missing cluster', async () => {
    const broken = join(dir, 'broken.yaml');
    writeFileSync(broken, 'apiVersion: v1\nclusters:\n  - name: x\n   cluster: {server: "http://x"\n');
    const e = failure(await loadKubeClient({ kubeconfigPath: broken, env: noEnv }));
    assert.equal(e.kind, 'bad-kubeconfig');
    assert.match(e.message, /broken\.yaml is not valid YAML/);
    const scalar = join(dir, 'scalar.yaml');
    writeFileSync(scalar, 'just a string\n');
    assert.equal(failure(await loadKubeClient({ kubeconfigPath: scalar, env: noEnv })).kind, 'bad-kubeconfig');
    const dangling = join(dir, 'dangling.yaml');
    writeFileSync(dangling, 'apiVersion: v1\nkind: Config\nclusters: []\nusers: []\ncontexts:\n  - name: c\n    context: {cluster: ghost, user: u}\ncurrent-context: c\n');
    const d = failure(await loadKubeClient({ kubeconfigPath: dangling, env: noEnv }));
    assert.equal(d.kind, 'bad-kubeconfig');
    assert.match(d.message, /ghost/);
  });

  it('context not found: lists the contexts there are', async () => {
    const path = writeKubeconfig(mkdtempSync(join(dir, 'ctx-')), { server: api.url, token: 'good', contextName: 'kind-weft' });
    const e = failure(await loadKubeClient({ kubeconfigPath: path, context: 'prod', env: noEnv }));
    assert.equal(e.kind, 'context-not-found');
    assert.match(e.message, /context "prod" not found .*available: kind-weft/);
    const noCurrent = join(dir, 'nocurrent.yaml');
    writeFileSync(noCurrent, kubeconfigYaml({ server: api.url, contextName: 'kind-weft' }).replace(/current-context: .*\n/, ''));
    const n = failure(await loadKubeClient({ kubeconfigPath: noCurrent, env: noEnv }));
    assert.equal(n.kind, 'context-not-found');
    assert.match(n.hint, /use-context/);
  });

  it('API unreachable or credentials refused', async () => {
    const dead = await startFakeKubeApi();
    const deadUrl = dead.url;
    await dead.close();
    const path = writeKubeconfig(mkdtempSync(join(dir, 'dead-')), { server: deadUrl });
    const e = failure(await loadKubeClient({ kubeconfigPath: path, env: noEnv, timeoutMs: 2000 }));
    assert.equal(e.kind, 'unreachable');
    assert.match(e.message, new RegExp(`cannot reach the Kubernetes API server at ${deadUrl.replace(/\./g, '\\.')}`));
    assert.match(e.message, /ECONNREFUSED/);
    assert.match(e.hint, /cluster is running/);
    const skipped = await loadKubeClient({ kubeconfigPath: path, env: noEnv, checkReachable: false });
    assert.ok(skipped.ok, 'the check can be skipped');
    const wrongToken = writeKubeconfig(mkdtempSync(join(dir, 'tok-')), { server: api.url, token: 'bad' });
    const u = failure(await loadKubeClient({ kubeconfigPath: wrongToken, env: noEnv }));
    assert.equal(u.kind, 'unauthorized');
    assert.match(formatKubeClientError(u), /next step: /);
  });

  it('verifies an https API server against the kubeconfig CA; a foreign CA is a clear TLS failure', async () => {
    const ca = await createDevCa();
    const serverName = 'kube-apiserver.kube-system.serviceaccount.identity.weft.cluster.local';
    const leaf = await ca.issue(serverName);
    const secure = await startFakeKubeApi({ tls: leaf });
    try {
      assert.match(secure.url, /^https:/);
      const path = writeKubeconfig(mkdtempSync(join(dir, 'tls-')), { server: secure.url, caPem: ca.anchor.certPem, tlsServerName: serverName });
      const r = await loadKubeClient({ kubeconfigPath: path, env: noEnv });
      assert.ok(r.ok, r.ok ? '' : formatKubeClientError(r.error));
      assert.equal((await r.client.core.listNamespace()).items.length, 3);
      const other = await createDevCa();
      const foreign = writeKubeconfig(mkdtempSync(join(dir, 'tls-foreign-')), { server: secure.url, caPem: other.anchor.certPem, tlsServerName: serverName });
      const e = failure(await loadKubeClient({ kubeconfigPath: foreign, env: noEnv }));
      assert.equal(e.kind, 'unreachable');
      assert.match(e.message, /certificate|verify|signature/i);
      assert.match(e.hint, /certificate-authority-data/);
    } finally {
      await secure.close();
    }
  });
});
