/**
 * The dev cluster on kind (docs/dev-cluster.md): `clusterUp` checks Docker and kind, builds the mesh
 * image, creates the cluster (dev-cluster/kind-config.yaml), loads the image, installs the mesh
 * (installManifests + applyObjects), waits for the control plane, deploys the demo, injects its
 * namespace, restarts it and waits until its traffic shows in the metrics API (what `weft stat`
 * reads). `clusterDown` removes the cluster. The VS Code extension's "Start Dev Cluster" calls both.
 *
 * Failures are ClusterErrors with a message and a next-step hint. Nothing is left half-created: the
 * image is built before the cluster exists, and once it exists any later failure (or an abort)
 * deletes it again. Kubernetes steps go through the `ClusterDeps.kube` seam so tests can stand in.
 */
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { DEFAULT_MESH_IMAGE } from '../mesh/config/injector';
import { ANNOTATIONS } from '../mesh/config/annotations';
import { Kind, KindError, type KindOptions } from './kind';

export const DEFAULT_CLUSTER_NAME = 'weft-dev';
export const DEMO_NAMESPACE = 'demo';
/** The demo apps' UID: anything but the proxy's 2102, whose traffic the redirect rules skip. */
export const DEMO_APP_UID = 1000;

export type ClusterStep = 'preflight' | 'image' | 'create' | 'load' | 'install' | 'control-plane' | 'demo' | 'inject' | 'traffic' | 'delete';

export interface StepEvent {
  step: ClusterStep;
  message: string;
}

export class ClusterError extends Error {
  constructor(
    message: string,
    readonly hint: string,
    readonly step: ClusterStep,
  ) {
    super(message);
    this.name = 'ClusterError';
  }
}

/** What clusterUp needs from Kubernetes, given the new cluster's kubeconfig (YAML). */
export interface KubeSteps {
  installMesh(kubeconfig: string, image: string, progress: (m: string) => void, signal?: AbortSignal): Promise<void>;
  waitControlPlane(kubeconfig: string, progress: (m: string) => void, signal?: AbortSignal): Promise<void>;
  deployDemo(kubeconfig: string, image: string, progress: (m: string) => void, signal?: AbortSignal): Promise<void>;
  injectAndRestart(kubeconfig: string, image: string, progress: (m: string) => void, signal?: AbortSignal): Promise<void>;
  waitTraffic(kubeconfig: string, progress: (m: string) => void, signal?: AbortSignal): Promise<void>;
}

export interface ClusterDeps {
  kindOptions?: KindOptions;
  kube?: KubeSteps;
  /** The repository root holding dev-cluster/image/Dockerfile (default: found from this module). */
  repoRoot?: string;
}

export interface ClusterUpOptions {
  name?: string;
  image?: string;
  onStep?: (e: StepEvent) => void;
  signal?: AbortSignal;
}

/**
 * The directory holding dev-cluster/image/Dockerfile, looked for above: this module's directory in a
 * CommonJS bundle (the extension's dist/), the running script (bin/weft.js, dist/weft.js), and the
 * current directory. No import.meta: the extension bundles this module as CommonJS.
 */
export function findRepoRoot(starts: string | string[] = defaultStarts()): string | undefined {
  for (const from of typeof starts === 'string' ? [starts] : starts) {
    for (let dir = from, i = 0; i < 6; i++, dir = dirname(dir)) if (existsSync(join(dir, 'dev-cluster', 'image', 'Dockerfile'))) return dir;
  }
  return undefined;
}

function defaultStarts(): string[] {
  const starts: string[] = [];
  if (typeof __dirname === 'string') starts.push(__dirname);
  if (process.argv[1]) starts.push(dirname(process.argv[1]));
  starts.push(process.cwd());
  return starts;
}

const NAME = /^[a-z0-9]([-a-z0-9]{0,30}[a-z0-9])?$/;

function asClusterError(e: unknown, step: ClusterStep): ClusterError {
  if (e instanceof ClusterError) return e;
  if (e instanceof KindError) return new ClusterError(e.message, e.hint, step);
  const err = e as Error & { hint?: string };
  return new ClusterError(err.message ?? String(e), err.hint ?? 'see the message above; `weft cluster down` removes what is left', step);
}

export async function clusterUp(o: ClusterUpOptions = {}, deps: ClusterDeps = {}): Promise<{ name: string; kubeconfig: string }> {
  const name = o.name ?? DEFAULT_CLUSTER_NAME;
  const image = o.image ?? DEFAULT_MESH_IMAGE;
  const say = (step: ClusterStep, message: string): void => o.onStep?.({ step, message });
  if (!NAME.test(name)) throw new ClusterError(`cluster name "${name}": expected lower-case letters, digits and dashes (at most 32)`, `try --name ${DEFAULT_CLUSTER_NAME}`, 'preflight');
  const kind = new Kind({ ...deps.kindOptions, ...(o.signal ? { signal: o.signal } : {}) });
  const kube = deps.kube ?? (await import('./cluster-kube')).realKubeSteps;

  say('preflight', 'checking Docker and kind');
  let step: ClusterStep = 'preflight';
  try {
    const pre = await kind.preflight();
    say('preflight', `Docker ${pre.dockerServerVersion}, kind v${pre.kindVersion}`);
    if ((await kind.listClusters()).includes(name)) {
      throw new ClusterError(`a kind cluster named "${name}" already exists`, `remove it with \`weft cluster down --name ${name}\`, or choose another name with --name`, 'preflight');
    }
    const root = deps.repoRoot ?? findRepoRoot();
    if (!root) throw new ClusterError('dev-cluster/image/Dockerfile not found: the dev cluster is built from a Weft source checkout', 'run it from the Weft repository (npm run cluster:up)', 'image');

    step = 'image';
    say('image', `building ${image} (dev-cluster/image/Dockerfile)`);
    const built = await kind.run(deps.kindOptions?.docker ?? 'docker', ['build', '-f', join(root, 'dev-cluster', 'image', 'Dockerfile'), '-t', image, root], { timeoutMs: 20 * 60_000 });
    if (built.code !== 0) {
      const tail = `${built.stderr}\n${built.stdout}`.trim().split('\n').slice(-4).join(' | ');
      throw new ClusterError(`building the mesh image failed (exit ${built.code}): ${tail || 'no output'}`, 'fix the build (run `docker build -f dev-cluster/image/Dockerfile .` to see all of it); no cluster was created', 'image');
    }
  } catch (e) {
    throw asClusterError(e, step);
  }

  step = 'create';
  let created = false;
  try {
    say('create', `creating kind cluster "${name}" (dev-cluster/kind-config.yaml)`);
    const config = join(deps.repoRoot ?? findRepoRoot()!, 'dev-cluster', 'kind-config.yaml');
    created = true; // from here on, a failure deletes whatever kind made
    await kind.createCluster({ name, config, waitSeconds: 180 });
    step = 'load';
    say('load', `loading ${image} into the cluster`);
    await kind.loadDockerImage(name, image);
    const kubeconfig = await kind.kubeconfig(name);
    step = 'install';
    await kube.installMesh(kubeconfig, image, (m) => say('install', m), o.signal);
    step = 'control-plane';
    await kube.waitControlPlane(kubeconfig, (m) => say('control-plane', m), o.signal);
    step = 'demo';
    await kube.deployDemo(kubeconfig, image, (m) => say('demo', m), o.signal);
    step = 'inject';
    await kube.injectAndRestart(kubeconfig, image, (m) => say('inject', m), o.signal);
    step = 'traffic';
    await kube.waitTraffic(kubeconfig, (m) => say('traffic', m), o.signal);
    say('traffic', `ready: kubectl --context kind-${name} get pods -n ${DEMO_NAMESPACE}; weft stat -n ${DEMO_NAMESPACE}`);
    return { name, kubeconfig };
  } catch (e) {
    const err = asClusterError(e, step);
    // An existing cluster of that name is not ours to delete.
    if (created && !(e instanceof KindError && e.failure === 'exists')) {
      say('delete', `removing the half-created cluster "${name}"`);
      await new Kind(deps.kindOptions).deleteCluster(name).catch(() => undefined);
    }
    throw err;
  }
}

export async function clusterDown(o: { name?: string; signal?: AbortSignal; onStep?: (e: StepEvent) => void } = {}, deps: ClusterDeps = {}): Promise<{ removed: boolean }> {
  const name = o.name ?? DEFAULT_CLUSTER_NAME;
  const kind = new Kind({ ...deps.kindOptions, ...(o.signal ? { signal: o.signal } : {}) });
  try {
    await kind.preflight();
    if (!(await kind.listClusters()).includes(name)) {
      o.onStep?.({ step: 'delete', message: `no kind cluster named "${name}": nothing to remove` });
      return { removed: false };
    }
    o.onStep?.({ step: 'delete', message: `deleting kind cluster "${name}"` });
    await kind.deleteCluster(name);
    return { removed: true };
  } catch (e) {
    throw asClusterError(e, 'delete');
  }
}

/** The demo (emojivoto-like, dev-cluster/demo) as Kubernetes objects, run from the mesh image. Pure. */
export function demoManifests(image: string, restartedAt?: string): Record<string, unknown>[] {
  const ns = DEMO_NAMESPACE;
  const svcUrl = (svc: string, port: number): Record<string, string> => ({
    [`UPSTREAM_${svc.toUpperCase()}_URL`]: `http://${svc}.${ns}.svc.cluster.local:${port}`,
    [`UPSTREAM_${svc.toUpperCase()}_AUTHORITY`]: `${svc}.${ns}.svc.cluster.local:${port}`,
  });
  const apps: { name: string; app: string; sa: string; port?: number; env: Record<string, string> }[] = [
    { name: 'emoji', app: 'emoji', sa: 'emoji', port: 8080, env: {} },
    { name: 'voting', app: 'voting', sa: 'voting', port: 8080, env: { VERSION: 'v1' } },
    { name: 'voting-canary', app: 'voting', sa: 'voting', port: 8080, env: { VERSION: 'v2-canary' } },
    { name: 'web', app: 'web', sa: 'web', port: 8080, env: { ...svcUrl('emoji', 8080), ...svcUrl('voting', 8080) } },
    { name: 'vote-bot', app: 'vote-bot', sa: 'vote-bot', env: { RPS: '5', ...svcUrl('web', 80) } },
  ];
  const objects: Record<string, unknown>[] = [{ apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns, labels: { 'app.kubernetes.io/part-of': 'weft-demo' } } }];
  for (const sa of new Set(apps.map((a) => a.sa))) objects.push({ apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: sa, namespace: ns } });
  for (const a of apps) {
    const labels = { app: a.app, 'app.kubernetes.io/name': a.name };
    objects.push({
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: a.name, namespace: ns, labels },
      spec: {
        replicas: 1,
        selector: { matchLabels: { 'app.kubernetes.io/name': a.name } },
        template: {
          metadata: { labels, ...(restartedAt ? { annotations: { 'weft.dev/restarted-at': restartedAt } } : {}) },
          spec: {
            serviceAccountName: a.sa,
            containers: [
              {
                name: a.name,
                image,
                imagePullPolicy: 'IfNotPresent',
                args: ['demo', '--app', a.app],
                // The demo apps stop when stdin closes (their local runner died): keep it open.
                stdin: true,
                env: Object.entries({ ...a.env, ...(a.port ? { PORT: String(a.port), HOST: '0.0.0.0' } : {}) }).map(([k, v]) => ({ name: k, value: v })),
                ...(a.port ? { ports: [{ containerPort: a.port, name: a.app === 'web' ? 'http' : 'grpc' }] } : {}),
                securityContext: { runAsUser: DEMO_APP_UID, runAsNonRoot: true, allowPrivilegeEscalation: false },
                resources: { requests: { cpu: '10m', memory: '48Mi' }, limits: { memory: '160Mi' } },
              },
            ],
          },
        },
      },
    });
  }
  const service = (name: string, port: number, target: number, appProtocol: string): Record<string, unknown> => ({
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name, namespace: ns },
    spec: { selector: { app: name }, ports: [{ name: appProtocol === 'http' ? 'http' : 'grpc', port, targetPort: target, appProtocol }] },
  });
  objects.push(service('emoji', 8080, 8080, 'kubernetes.io/h2c'), service('voting', 8080, 8080, 'kubernetes.io/h2c'), service('web', 80, 8080, 'http'));
  return objects;
}

/** The namespace object with injection on (merged into the existing one). */
export function injectedNamespace(): Record<string, unknown> {
  return { apiVersion: 'v1', kind: 'Namespace', metadata: { name: DEMO_NAMESPACE, annotations: { [ANNOTATIONS.inject]: 'enabled' } } };
}
