/**
 * The metrics API's inventory in Kubernetes: the pods of the cluster as scrape targets, from a Pods
 * informer (mesh/control/metrics-api/server.ts asks `targets()` at every scrape and request).
 *
 * `scrapeTargetsFromPods(pods)` is the pure mapping (tested alone); `KubePodInventory` is the thin
 * shell around one KubeInformer.
 *
 * What a pod becomes:
 * - left out: pods without an IP yet (Pending: nothing to scrape, no traffic) and finished pods
 *   (Succeeded, Failed).
 * - `workload`: the controller owner's name, a ReplicaSet's Deployment found by trimming the
 *   `-<pod-template-hash>` suffix off the ReplicaSet's name (as Linkerd does); StatefulSet,
 *   DaemonSet, Job and any other owner by their own name; a bare pod by its own name.
 * - meshed (it has the `weft-proxy` container, plain or native sidecar): `admin` is
 *   `podIP:<the weft-proxy container's weft-admin port>` (4191 when the container does not declare
 *   it, as injected pods always do), and `identity` that of its ServiceAccount. Unmeshed pods have
 *   no `admin`: they count in a workload's total pods, not its meshed pods.
 */
import type { KubeConfig, V1Pod } from '@kubernetes/client-node';
import { identityName } from '../config/identity';
import { DEFAULT_TRUST_DOMAIN, PROXY_CONTAINER } from '../config/names';
import { PROXY_ADMIN_PORT, PROXY_ADMIN_PORT_NAME } from '../config/ports';
import type { ScrapeTarget } from '../control/metrics-api/aggregate';
import { formatAddr } from '../proxy/discovery/discovery';
import { isMeshed } from './kube-destination-source';
import { informerKit } from './informed-model';
import type { KubeInformer } from './kube-informer';

export const POD_TEMPLATE_HASH_LABEL = 'pod-template-hash';

/** The workload a pod belongs to: its Deployment (through its ReplicaSet), other controller, or itself. */
export function podWorkload(pod: V1Pod): string {
  const refs = pod.metadata?.ownerReferences ?? [];
  const owner = refs.find((o) => o.controller) ?? refs[0];
  const name = pod.metadata?.name ?? '';
  if (!owner) return name;
  const hash = pod.metadata?.labels?.[POD_TEMPLATE_HASH_LABEL];
  if (owner.kind === 'ReplicaSet' && hash && owner.name.endsWith(`-${hash}`)) return owner.name.slice(0, -hash.length - 1);
  return owner.name;
}

/** The port of the pod's proxy admin server (/metrics): the weft-proxy container's weft-admin port, else 4191. */
export function proxyAdminPort(pod: V1Pod): number {
  const c = [...(pod.spec?.initContainers ?? []), ...(pod.spec?.containers ?? [])].find((x) => x.name === PROXY_CONTAINER);
  return c?.ports?.find((p) => p.name === PROXY_ADMIN_PORT_NAME)?.containerPort ?? PROXY_ADMIN_PORT;
}

export interface PodInventoryOptions {
  /** Trust domain of the pods' identities (default cluster.local). */
  trustDomain?: string;
}

/** Pure: the scrape targets of a cluster's pods, sorted by namespace/pod. */
export function scrapeTargetsFromPods(pods: readonly V1Pod[], o: PodInventoryOptions = {}): ScrapeTarget[] {
  const out: ScrapeTarget[] = [];
  for (const pod of pods) {
    const namespace = pod.metadata?.namespace;
    const name = pod.metadata?.name;
    const ip = pod.status?.podIP;
    const phase = pod.status?.phase;
    if (!namespace || !name || !ip || phase === 'Succeeded' || phase === 'Failed') continue;
    const t: ScrapeTarget = { namespace, workload: podWorkload(pod), pod: name };
    if (isMeshed(pod)) {
      t.admin = formatAddr({ host: ip, port: proxyAdminPort(pod) });
      t.identity = identityName({ serviceAccount: pod.spec?.serviceAccountName || 'default', namespace, trustDomain: o.trustDomain ?? DEFAULT_TRUST_DOMAIN });
    }
    out.push(t);
  }
  return out.sort((a, b) => a.namespace.localeCompare(b.namespace) || a.pod.localeCompare(b.pod));
}

export interface KubePodInventoryOptions extends PodInventoryOptions {
  kubeConfig: KubeConfig;
  initialBackoffMs?: number;
  maxBackoffMs?: number;
  log?: (level: 'info' | 'warn', msg: string) => void;
}

/** The cluster's pods as scrape targets, kept current by a Pods informer. */
export class KubePodInventory {
  readonly informer: KubeInformer<V1Pod>;
  /** Resolves once the pods have been listed. */
  readonly synced: Promise<void>;
  private cached: ScrapeTarget[] | undefined;

  constructor(private readonly o: KubePodInventoryOptions) {
    this.informer = informerKit(o).pods();
    // Recomputed on the first ask after a change, not on every event of a burst.
    this.informer.on(() => (this.cached = undefined));
    this.synced = this.informer.synced;
  }

  start(): void {
    this.informer.start();
  }

  stop(): Promise<void> {
    return this.informer.stop();
  }

  /** The current targets (what the informer holds; the last-known pods while the API is away). */
  targets(): readonly ScrapeTarget[] {
    this.cached ??= scrapeTargetsFromPods(this.informer.list(), this.o);
    return this.cached;
  }
}
