/**
 * The kind wrapper against stand-in `kind` and `docker` executables first on PATH, which record
 * their arguments and play back what real kind and docker versions print (fixtures/stand-ins).
 */
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { classifyFailure, Kind, KindError, MIN_KIND_VERSION, parseKindVersion, versionLess } from '../../../dev-cluster/kind';
import { DOCKER_OUTPUT, KIND_OUTPUT } from '../../fixtures/stand-ins/kind-outputs';
import { standIns, type Rule } from '../../fixtures/stand-ins/stand-ins';

const s = standIns(['kind', 'docker']);
after(() => s.cleanup());

const dockerOk: Rule[] = [
  { args: 'version --format {{.Client.Version}}', stdout: DOCKER_OUTPUT.clientVersion },
  { args: 'version --format {{.Server.Version}}', stdout: DOCKER_OUTPUT.serverVersion },
];

async function rejectsWith(p: Promise<unknown>, failure: string, message: RegExp, hint: RegExp): Promise<void> {
  await assert.rejects(p, (e: unknown) => {
    assert.ok(e instanceof KindError, String(e));
    assert.equal(e.failure, failure, e.message);
    assert.match(e.message, message);
    assert.match(e.hint, hint);
    return true;
  });
}

test('versions: parsed from `kind version`, compared numerically', () => {
  assert.equal(parseKindVersion(KIND_OUTPUT.versionTooOld), '0.23.0');
  assert.equal(parseKindVersion('kind v0.11.1 go1.16.4 linux/amd64'), '0.11.1');
  assert.equal(parseKindVersion('something else'), undefined);
  assert.ok(versionLess('0.23.0', MIN_KIND_VERSION));
  assert.ok(!versionLess('0.24.0', MIN_KIND_VERSION));
  assert.ok(!versionLess('0.100.0', '0.24.0'), 'numeric, not string, comparison');
  assert.ok(versionLess('0.9.9', '0.24.0'));
});

test('preflight finds docker (client and daemon) and kind, with versions', async () => {
  s.scenario({ docker: dockerOk, kind: [{ args: 'version', stdout: KIND_OUTPUT.versionOk }] });
  const p = await new Kind({ env: s.env }).preflight();
  assert.deepEqual(p, { kindVersion: '0.24.0', dockerClientVersion: '28.2.2', dockerServerVersion: '28.2.2' });
});

test('preflight: each failure is a message naming the cause, and a next step', async () => {
  const k = new Kind({ env: s.env });
  s.scenario({ docker: [{ args: 'version --format {{.Client.Version}}', stdout: DOCKER_OUTPUT.clientVersion }, { args: 'version', stdout: '28.2.2\n', stderr: DOCKER_OUTPUT.daemonDown, code: 1 }], kind: [] });
  await rejectsWith(k.preflight(), 'daemon-down', /Docker daemon is not running/, /start Docker/);
  s.scenario({ docker: [{ args: 'version --format {{.Client.Version}}', stdout: DOCKER_OUTPUT.clientVersion }, { args: 'version', stderr: DOCKER_OUTPUT.permission, code: 1 }], kind: [] });
  await rejectsWith(k.preflight(), 'docker-permission', /no permission to use Docker/, /docker group/);
  s.scenario({ docker: dockerOk, kind: [{ args: 'version', stdout: KIND_OUTPUT.versionTooOld }] });
  await rejectsWith(k.preflight(), 'too-old', /kind v0\.23\.0 is too old: .*v0\.24\.0 or newer/, /upgrade kind/);
  await rejectsWith(new Kind({ env: s.env, kind: 'kind-not-here' }).preflight(), 'not-installed', /kind is not installed/, /kind\.sigs\.k8s\.io/);
  await rejectsWith(new Kind({ env: s.env, docker: 'docker-not-here' }).preflight(), 'docker-missing', /docker is not installed/, /install Docker/);
});

test('create, list, kubeconfig, load and delete run the right argv (no shell)', async () => {
  s.scenario({
    kind: [
      { args: 'create cluster', stderr: KIND_OUTPUT.created },
      { args: 'get clusters', stdout: 'other\nweft-dev\n' },
      { args: 'get kubeconfig', stdout: 'apiVersion: v1\nkind: Config\n' },
      { args: 'load docker-image', stderr: KIND_OUTPUT.loaded },
      { args: 'delete cluster', stderr: KIND_OUTPUT.deleted },
    ],
  });
  const before = s.calls().length;
  const k = new Kind({ env: s.env });
  await k.createCluster({ name: 'weft-dev', config: '/x/kind config.yaml', waitSeconds: 120 });
  assert.deepEqual(await k.listClusters(), ['other', 'weft-dev']);
  assert.equal((await k.kubeconfig('weft-dev')).trim(), 'apiVersion: v1\nkind: Config');
  await k.loadDockerImage('weft-dev', 'ghcr.io/weft-dev/weft:0.1.0');
  await k.deleteCluster('weft-dev');
  assert.deepEqual(s.calls().slice(before).map((c) => c.args), [
    ['create', 'cluster', '--name', 'weft-dev', '--config', '/x/kind config.yaml', '--wait', '120s'],
    ['get', 'clusters'],
    ['get', 'kubeconfig', '--name', 'weft-dev'],
    ['load', 'docker-image', 'ghcr.io/weft-dev/weft:0.1.0', '--name', 'weft-dev'],
    ['delete', 'cluster', '--name', 'weft-dev'],
  ]);
});

test('"No kind clusters found." is an empty list, not an error', async () => {
  s.scenario({ kind: [{ args: 'get clusters', stderr: KIND_OUTPUT.noClusters }] });
  assert.deepEqual(await new Kind({ env: s.env }).listClusters(), []);
});

test('kind failures as real versions print them: exists, daemon down, port in use, no cluster, image missing', async () => {
  const k = new Kind({ env: s.env });
  const cases: [Rule, string, RegExp, RegExp, () => Promise<unknown>][] = [
    [{ args: 'create cluster', stderr: KIND_OUTPUT.exists, code: 1 }, 'exists', /a kind cluster named "weft-dev" already exists/, /weft cluster down --name weft-dev/, () => k.createCluster({ name: 'weft-dev' })],
    [{ args: 'create cluster', stderr: KIND_OUTPUT.daemonDown, code: 1 }, 'daemon-down', /Docker daemon is not running/, /start Docker/, () => k.createCluster({ name: 'weft-dev' })],
    [{ args: 'create cluster', stderr: KIND_OUTPUT.portInUse, code: 1 }, 'port-in-use', /host port 80 is already in use/, /port 80/, () => k.createCluster({ name: 'weft-dev' })],
    [{ args: 'create cluster', stderr: KIND_OUTPUT.portAllocated, code: 1 }, 'port-in-use', /host port 8443 is already in use/, /port 8443/, () => k.createCluster({ name: 'weft-dev' })],
    [{ args: 'get kubeconfig', stderr: KIND_OUTPUT.noControlPlane, code: 1 }, 'no-cluster', /no kind cluster named "weft-dev"/, /kind get clusters/, () => k.kubeconfig('weft-dev')],
    [{ args: 'load docker-image', stderr: KIND_OUTPUT.imageNotPresent, code: 1 }, 'image-missing', /ghcr\.io\/weft-dev\/weft:0\.1\.0 is not in the local Docker/, /build it first/, () => k.loadDockerImage('weft-dev', 'ghcr.io/weft-dev/weft:0.1.0')],
    [{ args: 'delete cluster', stderr: 'ERROR: something new\n', code: 2 }, 'failed', /kind delete cluster --name weft-dev failed \(exit 2\): ERROR: something new/, /by hand/, () => k.deleteCluster('weft-dev')],
  ];
  for (const [rule, failure, message, hint, call] of cases) {
    s.scenario({ kind: [rule] });
    await rejectsWith(call(), failure, message, hint);
  }
});

test('a command that hangs is stopped by the signal', async () => {
  s.scenario({ kind: [{ args: 'get clusters', stdout: '' }] });
  const ac = new AbortController();
  ac.abort();
  await assert.rejects(new Kind({ env: s.env, signal: ac.signal }).listClusters(), /cancelled/);
});

test('classifyFailure reports timeouts', () => {
  assert.equal(classifyFailure('kind create cluster', { code: 1, stdout: '', stderr: '', timedOut: true }).failure, 'timeout');
});

test('kind-config.yaml: a pinned node image with native sidecars (>= 1.29), kindnetd (policies) kept', async () => {
  const { readFileSync } = await import('node:fs');
  const { parse } = await import('yaml');
  const cfg = parse(readFileSync(new URL('../../../dev-cluster/kind-config.yaml', import.meta.url), 'utf8')) as {
    kind: string;
    apiVersion: string;
    nodes: { role: string; image: string }[];
    networking?: { disableDefaultCNI?: boolean };
  };
  assert.equal(cfg.kind, 'Cluster');
  assert.equal(cfg.apiVersion, 'kind.x-k8s.io/v1alpha4');
  assert.ok(cfg.nodes.some((n) => n.role === 'control-plane'));
  for (const n of cfg.nodes) {
    const m = /^kindest\/node:v1\.(\d+)\.\d+@sha256:[0-9a-f]{64}$/.exec(n.image);
    assert.ok(m, `${n.image}: pinned by digest`);
    assert.ok(Number(m[1]) >= 29, `${n.image}: Kubernetes 1.29+ for native sidecars`);
  }
  assert.notEqual(cfg.networking?.disableDefaultCNI, true, 'kindnetd enforces NetworkPolicy: keep it');
});
