/**
 * The Kubernetes connection of the control-plane commands' `--kube` mode: `--kubeconfig FILE` when
 * given, the in-cluster ServiceAccount (KUBERNETES_SERVICE_HOST) inside a pod, else kubectl's
 * default ($KUBECONFIG, ~/.kube/config). No reachability check: the services start and their
 * informers retry until the API server answers.
 */
import { KubeConfig } from '@kubernetes/client-node';
import { formatKubeClientError, loadKubeClient } from '../platform/kube-client';

export type KubeConfigResult = { ok: true; kubeConfig: KubeConfig; where: string } | { ok: false; message: string };

export async function controlPlaneKubeConfig(kubeconfigPath: string | undefined, env: Record<string, string | undefined> = process.env): Promise<KubeConfigResult> {
  if (!kubeconfigPath && env.KUBERNETES_SERVICE_HOST) {
    const kc = new KubeConfig();
    try {
      kc.loadFromCluster();
    } catch (e) {
      return { ok: false, message: `cannot load the in-cluster configuration: ${(e as Error).message}\n  next step: check the pod's ServiceAccount token mount, or pass --kubeconfig FILE` };
    }
    return { ok: true, kubeConfig: kc, where: `in-cluster (${kc.getCurrentCluster()?.server ?? '?'})` };
  }
  const r = await loadKubeClient({ kubeconfigPath, checkReachable: false, env });
  if (!r.ok) return { ok: false, message: formatKubeClientError(r.error) };
  return { ok: true, kubeConfig: r.client.kubeConfig, where: `${r.client.paths.join(', ')} context ${r.client.context} (${r.client.server})` };
}

/** `namespace/name` → parts; undefined when malformed. */
export function parseObjectRef(v: string): { namespace: string; name: string } | undefined {
  const m = /^([a-z0-9][-a-z0-9]*)\/([a-z0-9][-a-z0-9.]*)$/.exec(v);
  return m ? { namespace: m[1]!, name: m[2]! } : undefined;
}
