/**
 * clusterUp / clusterDown against stand-in kind and docker (recorded argv, real outputs played back)
 * and stand-in Kubernetes steps: the order of the work, every bad input as a message with a next
 * step, and nothing half-created left (a cluster made before a failure is deleted again).
 */
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { after, test } from 'node:test';
import { clusterDown, clusterUp, ClusterError, demoManifests, injectedNamespace, type KubeSteps } from '../../../dev-cluster/cluster';
import { parseClusterArgs } from '../../../mesh/cli/cluster.command';
import { DEFAULT_MESH_IMAGE } from '../../../mesh/config/injector';
import { PROXY_UID } from '../../../mesh/config/ports';
import { DOCKER_OUTPUT, KIND_OUTPUT } from '../../fixtures/stand-ins/kind-outputs';
import { standIns, type Rule } from '../../fixtures/stand-ins/stand-ins';

const REPO = fileURLToPath(new URL('../../../', import.meta.url)).replace(/\/$/, '');
const s = standIns(['kind', 'docker']);
after(() => s.cleanup());

const dockerOk: Rule[] = [
  { args: 'version --format {{.Client.Version}}', stdout: DOCKER_OUTPUT.clientVersion },
  { args: 'version --format {{.Server.Version}}', stdout: DOCKER_OUTPUT.serverVersion },
  { args: 'build', stdout: 'Successfully tagged\n' },
];
const kindOk: Rule[] = [
  { args: 'version', stdout: KIND_OUTPUT.versionOk },
  { args: 'get clusters', stderr: KIND_OUTPUT.noClusters },
  { args: 'create cluster', stderr: KIND_OUTPUT.created },
  { args: 'load docker-image', stderr: KIND_OUTPUT.loaded },
  { args: 'get kubeconfig', stdout: 'apiVersion: v1\nkind: Config\nclusters: []\n' },
  { args: 'delete cluster', stderr: KIND_OUTPUT.deleted },
];

function fakeKube(fail?: keyof KubeSteps, onCall?: (step: string) => void): { kube: KubeSteps; calls: string[] } {
  const calls: string[] = [];
  const step = (name: keyof KubeSteps) => async (kubeconfig: string): Promise<void> => {
    calls.push(`${name}:${kubeconfig.includes('kind: Config') ? 'kubeconfig' : '?'}`);
    onCall?.(name);
    if (name === fail) throw new ClusterError(`${name} broke`, 'fix it', 'install');
  };
  return { calls, kube: { installMesh: step('installMesh'), waitControlPlane: step('waitControlPlane'), deployDemo: step('deployDemo'), injectAndRestart: step('injectAndRestart'), waitTraffic: step('waitTraffic') } };
}

const deps = (kube: KubeSteps) => ({ kindOptions: { env: s.env }, kube, repoRoot: REPO });
const callsSince = (n: number): string[] => s.calls().slice(n).map((c) => `${c.tool} ${c.args.join(' ')}`);

async function upFails(rules: Record<string, Rule[]>, message: RegExp, hint: RegExp, kube = fakeKube().kube): Promise<string[]> {
  s.scenario(rules);
  const n = s.calls().length;
  await assert.rejects(clusterUp({}, deps(kube)), (e: unknown) => {
    assert.ok(e instanceof ClusterError, String(e));
    assert.match(e.message, message);
    assert.match(e.hint, hint);
    return true;
  });
  return callsSince(n);
}

test('up: pre-flight, image build before the cluster, create, load, then the Kubernetes steps in order', async () => {
  s.scenario({ docker: dockerOk, kind: kindOk });
  const n = s.calls().length;
  const { kube, calls } = fakeKube();
  const steps: string[] = [];
  const r = await clusterUp({ onStep: (e) => steps.push(e.step) }, deps(kube));
  assert.equal(r.name, 'weft-dev');
  assert.deepEqual(callsSince(n), [
    'docker version --format {{.Client.Version}}',
    'docker version --format {{.Server.Version}}',
    'kind version',
    'kind get clusters',
    `docker build -f ${REPO}/dev-cluster/image/Dockerfile -t ${DEFAULT_MESH_IMAGE} ${REPO}`,
    `kind create cluster --name weft-dev --config ${REPO}/dev-cluster/kind-config.yaml --wait 180s`,
    `kind load docker-image ${DEFAULT_MESH_IMAGE} --name weft-dev`,
    'kind get kubeconfig --name weft-dev',
  ]);
  assert.deepEqual(calls, ['installMesh:kubeconfig', 'waitControlPlane:kubeconfig', 'deployDemo:kubeconfig', 'injectAndRestart:kubeconfig', 'waitTraffic:kubeconfig']);
  assert.deepEqual([...new Set(steps)], ['preflight', 'image', 'create', 'load', 'traffic']);
});

test('bad input before anything exists: clear message, nothing created', async () => {
  const noCreate = (calls: string[]): void => assert.ok(!calls.some((c) => c.startsWith('kind create') || c.startsWith('kind delete')), calls.join('\n'));
  noCreate(await upFails({ docker: [dockerOk[0]!, { args: 'version', stderr: DOCKER_OUTPUT.daemonDown, code: 1 }], kind: kindOk }, /Docker daemon is not running/, /start Docker/));
  noCreate(await upFails({ docker: dockerOk, kind: [{ args: 'version', stdout: KIND_OUTPUT.versionTooOld }, ...kindOk] }, /kind v0\.23\.0 is too old/, /upgrade kind/));
  noCreate(await upFails({ docker: dockerOk, kind: [{ args: 'get clusters', stdout: 'weft-dev\n' }, ...kindOk] }, /a kind cluster named "weft-dev" already exists/, /weft cluster down --name weft-dev/));
  const build = await upFails({ docker: [dockerOk[0]!, dockerOk[1]!, { args: 'build', stderr: 'ERROR: failed to solve: process "/bin/sh -c npm ci" did not complete successfully: exit code: 1\n', code: 1 }], kind: kindOk }, /building the mesh image failed \(exit 1\): .*npm ci/, /no cluster was created/);
  noCreate(build);
  assert.ok(build.some((c) => c.startsWith('docker build')));
});

test('docker missing altogether (not on PATH)', async () => {
  s.scenario({ kind: kindOk });
  await assert.rejects(clusterUp({}, { kindOptions: { env: s.env, docker: 'no-such-docker' }, kube: fakeKube().kube, repoRoot: REPO }), (e: unknown) => {
    assert.ok(e instanceof ClusterError);
    assert.match(e.message, /docker is not installed/);
    assert.equal(e.step, 'preflight');
    return true;
  });
});

test('a failure after the cluster exists deletes it again (install, control plane, traffic, load)', async () => {
  for (const step of ['installMesh', 'waitControlPlane', 'waitTraffic'] as const) {
    const calls = await upFails({ docker: dockerOk, kind: kindOk }, new RegExp(`${step} broke`), /fix it/, fakeKube(step).kube);
    assert.equal(calls.at(-1), 'kind delete cluster --name weft-dev', `${step}: the cluster is removed`);
  }
  const load = await upFails({ docker: dockerOk, kind: [{ args: 'load docker-image', stderr: KIND_OUTPUT.imageNotPresent, code: 1 }, ...kindOk] }, /is not in the local Docker/, /build it first/);
  assert.equal(load.at(-1), 'kind delete cluster --name weft-dev');
  const port = await upFails({ docker: dockerOk, kind: [{ args: 'create cluster', stderr: KIND_OUTPUT.portInUse, code: 1 }, ...kindOk] }, /host port 80 is already in use/, /port 80/);
  assert.equal(port.at(-1), 'kind delete cluster --name weft-dev', 'whatever kind left is removed');
});

test('Ctrl-C (abort) during a Kubernetes step removes the cluster', async () => {
  s.scenario({ docker: dockerOk, kind: kindOk });
  const ac = new AbortController();
  const n = s.calls().length;
  const { kube } = fakeKube('deployDemo', (step) => step === 'deployDemo' && ac.abort());
  await assert.rejects(clusterUp({ signal: ac.signal }, deps(kube)));
  assert.equal(callsSince(n).at(-1), 'kind delete cluster --name weft-dev');
});

test('a bad name is refused before anything runs', async () => {
  const n = s.calls().length;
  await assert.rejects(clusterUp({ name: 'Bad_Name' }, deps(fakeKube().kube)), /cluster name "Bad_Name"/);
  assert.deepEqual(callsSince(n), []);
});

test('down: deletes an existing cluster, and says so when there is none', async () => {
  s.scenario({ docker: dockerOk, kind: [{ args: 'get clusters', stdout: 'weft-dev\n' }, ...kindOk] });
  assert.deepEqual(await clusterDown({}, { kindOptions: { env: s.env } }), { removed: true });
  assert.equal(s.calls().at(-1)!.args.join(' '), 'delete cluster --name weft-dev');
  s.scenario({ docker: dockerOk, kind: kindOk });
  const msgs: string[] = [];
  assert.deepEqual(await clusterDown({ name: 'other', onStep: (e) => msgs.push(e.message) }, { kindOptions: { env: s.env } }), { removed: false });
  assert.match(msgs[0]!, /no kind cluster named "other"/);
});

test('the demo manifests: apps from the mesh image, not as the proxy UID, stdin kept open; injection annotation', () => {
  const objs = demoManifests('img:1', '2026-01-01T00:00:00Z') as { kind: string; metadata: { name: string }; spec?: { template?: { metadata: { annotations?: Record<string, string> }; spec: { containers: { image: string; args: string[]; stdin: boolean; securityContext: { runAsUser: number }; env: { name: string; value: string }[] }[] } } } }[];
  const deployments = objs.filter((o) => o.kind === 'Deployment');
  assert.deepEqual(deployments.map((d) => d.metadata.name), ['emoji', 'voting', 'voting-canary', 'web', 'vote-bot']);
  for (const d of deployments) {
    const c = d.spec!.template!.spec.containers[0]!;
    assert.equal(c.image, 'img:1');
    assert.deepEqual(c.args.slice(0, 2), ['demo', '--app']);
    assert.equal(c.stdin, true);
    assert.notEqual(c.securityContext.runAsUser, PROXY_UID, 'the proxy UID would bypass the mesh');
    assert.equal(d.spec!.template!.metadata.annotations?.['weft.dev/restarted-at'], '2026-01-01T00:00:00Z');
    // Servers listen on the pod's address (the redirect brings meshed traffic to the proxy, which
    // calls the app on localhost); 127.0.0.1 alone would leave them unreachable before injection.
    const env = Object.fromEntries(c.env.map((e) => [e.name, e.value]));
    if (d.metadata.name !== 'vote-bot') assert.equal(env.HOST, '0.0.0.0', d.metadata.name);
  }
  assert.deepEqual(objs.filter((o) => o.kind === 'Service').map((o) => o.metadata.name), ['emoji', 'voting', 'web']);
  assert.deepEqual((injectedNamespace() as { metadata: { annotations: Record<string, string> } }).metadata.annotations, { 'weft.dev/inject': 'enabled' });
});

test('weft cluster arguments', () => {
  assert.deepEqual(parseClusterArgs(['up', '--name', 'x']), { ok: true, command: 'up', name: 'x' });
  assert.deepEqual(parseClusterArgs(['down']), { ok: true, command: 'down' });
  assert.deepEqual(parseClusterArgs(['sideways']), { ok: false, error: "unknown command 'sideways'" });
  assert.deepEqual(parseClusterArgs(['up', '--bogus']), { ok: false, error: 'unknown option --bogus' });
});

test('findRepoRoot walks up to the checkout holding dev-cluster/image/Dockerfile (one start or several)', async () => {
  const { findRepoRoot } = await import('../../../dev-cluster/cluster');
  assert.equal(findRepoRoot(`${REPO}/dist/chunks`), REPO);
  assert.equal(findRepoRoot(['/', `${REPO}/mesh/cli`]), REPO);
  assert.equal(findRepoRoot('/'), undefined);
  assert.equal(findRepoRoot(), REPO, 'from the current directory when run from the checkout');
});
