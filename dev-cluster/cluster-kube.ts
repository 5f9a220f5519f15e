/**
 * clusterUp's Kubernetes steps on a real cluster (@kubernetes/client-node; loaded only when a
 * cluster exists): the mesh from installManifests() through applyObjects(), the control plane's
 * Deployments awaited, the demo applied, its namespace injected and its Deployments restarted, and
 * its traffic awaited in the metrics API (through the API server's service proxy, as `weft stat`
 * would read it).
 */
import { AppsV1Api, CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { CONTROL_PLANE_COMPONENTS } from '../mesh/config/control-plane';
import { CONTROL_PLANE_NAMESPACE } from '../mesh/config/names';
import { METRICS_API_PATHS } from '../mesh/config/metrics-api';
import { installManifests, type KubeObject } from '../mesh/control/install/install-manifests';
import { applyObjects } from '../mesh/platform/kube-apply';
import { ClusterError, DEMO_NAMESPACE, demoManifests, injectedNamespace, type KubeSteps } from './cluster';

const CONTROL_PLANE_TIMEOUT_MS = 5 * 60_000;
const DEMO_TIMEOUT_MS = 5 * 60_000;
const TRAFFIC_TIMEOUT_MS = 3 * 60_000;

function config(kubeconfig: string): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromString(kubeconfig);
  return kc;
}

async function apply(kubeconfig: string, objects: Record<string, unknown>[], progress: (m: string) => void, step: 'install' | 'demo' | 'inject'): Promise<void> {
  const r = await applyObjects(config(kubeconfig), objects as unknown as KubeObject[], { onProgress: (p) => progress(`${p.index + 1}/${p.total} ${p.object} ${p.action}`) });
  if (!r.ok) throw new ClusterError(r.error.message, r.error.hint, step);
}

async function poll(what: string, timeoutMs: number, signal: AbortSignal | undefined, check: () => Promise<string | true>, progress: (m: string) => void, step: 'control-plane' | 'demo' | 'traffic', hint: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  for (;;) {
    if (signal?.aborted) throw new ClusterError(`${what}: cancelled`, 'nothing to do: it was stopped on request', step);
    const r = await check().catch((e: Error) => `not yet (${e.message})`);
    if (r === true) return;
    if (r !== last) progress(r);
    last = r;
    if (Date.now() > deadline) throw new ClusterError(`${what}: not done after ${Math.round(timeoutMs / 1000)} s (${last})`, hint, step);
    await new Promise((res) => setTimeout(res, 2_000));
  }
}

async function deploymentsReady(kubeconfig: string, namespace: string, expect?: (name: string) => boolean): Promise<string | true> {
  const apps = config(kubeconfig).makeApiClient(AppsV1Api);
  const list = await apps.listNamespacedDeployment({ namespace });
  const items = list.items.filter((d) => !expect || expect(d.metadata?.name ?? ''));
  const ready = items.filter((d) => (d.status?.updatedReplicas ?? 0) >= (d.spec?.replicas ?? 1) && (d.status?.availableReplicas ?? 0) >= (d.spec?.replicas ?? 1) && (d.status?.replicas ?? 0) === (d.spec?.replicas ?? 1));
  if (items.length > 0 && ready.length === items.length) return true;
  const waiting = items.filter((d) => !ready.includes(d)).map((d) => d.metadata?.name);
  return `${ready.length}/${items.length} Deployments ready in ${namespace}${waiting.length ? ` (waiting for ${waiting.join(', ')})` : ''}`;
}

export const realKubeSteps: KubeSteps = {
  async installMesh(kubeconfig, image, progress) {
    progress(`weft install (image ${image})`);
    await apply(kubeconfig, (await installManifests({ image, imagePullPolicy: 'IfNotPresent' })) as unknown as Record<string, unknown>[], progress, 'install');
  },
  async waitControlPlane(kubeconfig, progress, signal) {
    const names = new Set(Object.values(CONTROL_PLANE_COMPONENTS).map((c) => c.name));
    await poll('the control plane', CONTROL_PLANE_TIMEOUT_MS, signal, () => deploymentsReady(kubeconfig, CONTROL_PLANE_NAMESPACE, (n) => names.has(n)), progress, 'control-plane', `look at \`kubectl -n ${CONTROL_PLANE_NAMESPACE} get pods\` and \`weft check\``);
  },
  async deployDemo(kubeconfig, image, progress, signal) {
    await apply(kubeconfig, demoManifests(image), progress, 'demo');
    await poll('the demo', DEMO_TIMEOUT_MS, signal, () => deploymentsReady(kubeconfig, DEMO_NAMESPACE), progress, 'demo', `look at \`kubectl -n ${DEMO_NAMESPACE} get pods\``);
  },
  async injectAndRestart(kubeconfig, image, progress, signal) {
    progress(`annotating namespace ${DEMO_NAMESPACE} for injection, restarting its Deployments`);
    await apply(kubeconfig, [injectedNamespace(), ...demoManifests(image, new Date().toISOString()).filter((o) => o['kind'] === 'Deployment')], progress, 'inject');
    // Ready again, each pod now with its proxy (two containers).
    const core = config(kubeconfig).makeApiClient(CoreV1Api);
    await poll('the injected demo', DEMO_TIMEOUT_MS, signal, async () => {
      const ready = await deploymentsReady(kubeconfig, DEMO_NAMESPACE);
      if (ready !== true) return ready;
      const pods = (await core.listNamespacedPod({ namespace: DEMO_NAMESPACE })).items.filter((p) => !p.metadata?.deletionTimestamp);
      const unmeshed = pods.filter((p) => !(p.spec?.initContainers ?? []).some((c) => c.name.includes('proxy')) && !(p.spec?.containers ?? []).some((c) => c.name.includes('proxy')));
      return unmeshed.length === 0 ? true : `${pods.length - unmeshed.length}/${pods.length} demo pods have a proxy`;
    }, progress, 'demo', 'is the injector running? `weft check --proxy`');
  },
  async waitTraffic(kubeconfig, progress, signal) {
    const core = config(kubeconfig).makeApiClient(CoreV1Api);
    const api = CONTROL_PLANE_COMPONENTS['metrics-api'];
    await poll('demo traffic in weft stat', TRAFFIC_TIMEOUT_MS, signal, async () => {
      const body = await core.connectGetNamespacedServiceProxyWithPath({ name: `${api.name}:${api.port}`, namespace: CONTROL_PLANE_NAMESPACE, path: METRICS_API_PATHS.stat.replace(/^\//, '') });
      const stat = (typeof body === 'string' ? JSON.parse(body) : body) as { rows?: { namespace: string; name: string; responses: number }[] };
      const rows = (stat.rows ?? []).filter((r) => r.namespace === DEMO_NAMESPACE && r.responses > 0);
      return rows.length > 0 ? true : 'no demo responses in the metrics API yet';
    }, progress, 'traffic', `\`weft stat -n ${DEMO_NAMESPACE}\` and \`kubectl -n ${DEMO_NAMESPACE} logs deploy/vote-bot\``);
  },
};
