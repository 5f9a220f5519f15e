/**
 * What the Weft explorer shows, decided without VS Code: from the cluster's objects (as the
 * watches hold them), the metrics API's workload rows and the local mesh's state file to a tree of
 * plain nodes (label, description, tooltip, icon, contextValue, children). The tree view adapter
 * only copies these into TreeItems. Everything here is pure and unit-tested.
 */
import type { V1Deployment, V1LabelSelector, V1Namespace, V1Pod } from '@kubernetes/client-node';
import { ANNOTATIONS } from '../../mesh/config/annotations';
import { identityName } from '../../mesh/config/identity';
import { CONTROL_PLANE_NAMESPACE, PROXY_CONTAINER } from '../../mesh/config/names';
import { successHealth } from '../../mesh/metrics-view/success-health';

/** The argument the explorer passes to commands run from a namespace or workload row. */
export interface NamespaceRef {
  namespace: string;
}
export interface WorkloadRef {
  namespace: string;
  name: string;
  kind: 'Deployment' | 'LocalWorkload';
}

export interface ClusterError {
  kind: string;
  message: string;
  hint: string;
}

export interface ClusterInput {
  state: 'connecting' | 'connected' | 'failed';
  context?: string;
  server?: string;
  serverVersion?: string;
  error?: ClusterError;
  /** The watches have listed everything once. */
  synced: boolean;
  namespaces: readonly V1Namespace[];
  deployments: readonly V1Deployment[];
  pods: readonly V1Pod[];
}

/** One workload row of the metrics API (a subset of its StatRow). */
export interface WorkloadStats {
  successRate: number | undefined;
  rps: number;
  p99Ms?: number | undefined;
}

export interface LocalWorkloadInput {
  /** Process name: `api`, or `api-0`, `api-1` for replicas. */
  name: string;
  workload: string;
  namespace: string;
  identity: string;
  appAlive: boolean;
  proxyAlive: boolean;
  proxyAdmin: string;
}

export interface LocalInput {
  status: 'starting' | 'running';
  startedAt: string;
  topologyFile: string;
  metricsApi?: string;
  workloads: readonly LocalWorkloadInput[];
}

export interface ExplorerInput {
  cluster: ClusterInput | undefined;
  local: LocalInput | undefined;
  /** Cluster workloads' stats by `namespace/name`. */
  clusterStats: ReadonlyMap<string, WorkloadStats>;
  /** Local workloads' stats by `namespace/name`. */
  localStats: ReadonlyMap<string, WorkloadStats>;
}

export interface NodeIcon {
  /** A codicon id (ThemeIcon). */
  id: string;
  /** A theme colour id (ThemeColor). */
  color?: string;
}

export interface ExplorerNode {
  /** Stable across refreshes, so VS Code keeps expansion and selection. */
  id: string;
  label: string;
  description?: string;
  /** Markdown. */
  tooltip?: string;
  icon?: NodeIcon;
  contextValue: string;
  collapsible: 'none' | 'collapsed' | 'expanded';
  children: ExplorerNode[];
  /** What commands from this row's context menu act on. */
  ref?: NamespaceRef | WorkloadRef;
}

export const CONTEXT_VALUES = {
  cluster: 'weft.cluster',
  clusterError: 'weft.clusterError',
  connecting: 'weft.connecting',
  namespaceMeshed: 'weft.namespace.meshed',
  namespaceUnmeshed: 'weft.namespace.unmeshed',
  workload: 'weft.workload',
  pod: 'weft.pod',
  local: 'weft.local',
  localWorkload: 'weft.localWorkload',
  localProcess: 'weft.localProcess',
  info: 'weft.info',
} as const;

const GREEN = 'charts.green';
const YELLOW = 'charts.yellow';
const RED = 'charts.red';

const byName = (a: { label: string }, b: { label: string }): number => a.label.localeCompare(b.label);

// ---------------------------------------------------------------------------------------------
// Facts about single objects

export type InjectState = 'enabled' | 'disabled' | 'unset';

export function namespaceInjectState(ns: V1Namespace): InjectState {
  const v = ns.metadata?.annotations?.[ANNOTATIONS.inject];
  return v === 'enabled' || v === 'disabled' ? v : 'unset';
}

/** A pod is meshed when it runs the proxy container (a sidecar, or a native sidecar among the init containers). */
export function podIsMeshed(pod: V1Pod): boolean {
  return [...(pod.spec?.containers ?? []), ...(pod.spec?.initContainers ?? [])].some((c) => c.name === PROXY_CONTAINER);
}

export function podProxyReady(pod: V1Pod): boolean {
  return [...(pod.status?.containerStatuses ?? []), ...(pod.status?.initContainerStatuses ?? [])].some((s) => s.name === PROXY_CONTAINER && s.ready === true);
}

export function podIdentity(pod: V1Pod): string {
  return identityName({ serviceAccount: pod.spec?.serviceAccountName || 'default', namespace: pod.metadata?.namespace ?? 'default' });
}

/** Label selector match (matchLabels and matchExpressions), as a Deployment selects its pods. */
export function selects(selector: V1LabelSelector | undefined, labels: Record<string, string> | undefined): boolean {
  if (!selector) return false;
  const l = labels ?? {};
  const ml = selector.matchLabels ?? {};
  const me = selector.matchExpressions ?? [];
  if (Object.keys(ml).length === 0 && me.length === 0) return false; // an empty selector selects nothing here (Deployments require one)
  for (const [k, v] of Object.entries(ml)) if (l[k] !== v) return false;
  for (const e of me) {
    const has = Object.prototype.hasOwnProperty.call(l, e.key);
    const values = e.values ?? [];
    if (e.operator === 'In' && !(has && values.includes(l[e.key]))) return false;
    if (e.operator === 'NotIn' && has && values.includes(l[e.key])) return false;
    if (e.operator === 'Exists' && !has) return false;
    if (e.operator === 'DoesNotExist' && has) return false;
  }
  return true;
}

export function podsOf(deployment: V1Deployment, pods: readonly V1Pod[]): V1Pod[] {
  const ns = deployment.metadata?.namespace;
  return pods.filter((p) => p.metadata?.namespace === ns && p.metadata?.deletionTimestamp === undefined && selects(deployment.spec?.selector, p.metadata?.labels));
}

// ---------------------------------------------------------------------------------------------
// Formatting

export function formatSuccessRate(rate: number | undefined): string {
  if (rate === undefined) return '–';
  const pct = rate * 100;
  return `${pct === 100 || pct === 0 ? pct.toFixed(0) : pct.toFixed(1)}%`;
}

export function formatRps(rps: number): string {
  if (rps === 0) return '0 rps';
  if (rps < 0.1) return '<0.1 rps';
  return `${rps < 10 ? rps.toFixed(1) : Math.round(rps).toString()} rps`;
}

function statsText(s: WorkloadStats | undefined): string[] {
  if (!s) return [];
  if (s.successRate === undefined && s.rps === 0) return ['no traffic'];
  return [formatSuccessRate(s.successRate), formatRps(s.rps)];
}

function statsIcon(s: WorkloadStats | undefined): NodeIcon | undefined {
  if (s?.successRate === undefined) return undefined;
  // The same thresholds as the metrics view (mesh/metrics-view/success-health.ts).
  switch (successHealth(s.successRate)) {
    case 'failing':
      return { id: 'error', color: RED };
    case 'degraded':
      return { id: 'warning', color: YELLOW };
    default:
      return undefined;
  }
}

function statsTooltip(s: WorkloadStats | undefined): string[] {
  if (!s) return ['Metrics: none yet (the metrics API has no data for it, or is not reachable)'];
  const out = [`Success rate: **${formatSuccessRate(s.successRate)}**`, `Requests: **${formatRps(s.rps)}**`];
  if (s.p99Ms !== undefined) out.push(`Latency p99: ${s.p99Ms.toFixed(1)} ms`);
  return out;
}

// ---------------------------------------------------------------------------------------------
// Nodes

export function podNode(pod: V1Pod): ExplorerNode {
  const ns = pod.metadata?.namespace ?? '';
  const name = pod.metadata?.name ?? '';
  const meshed = podIsMeshed(pod);
  const ready = meshed && podProxyReady(pod);
  const phase = pod.status?.phase ?? 'Pending';
  const description = [meshed ? (ready ? 'proxy ready' : 'proxy not ready') : 'no proxy', ...(phase === 'Running' ? [] : [phase.toLowerCase()])].join(' · ');
  const tooltip = [
    `**Pod** ${ns}/${name}`,
    `Phase: ${phase}`,
    meshed ? `Proxy: ${ready ? 'ready' : 'not ready'}` : 'Proxy: not injected (restart the workload after injecting its namespace)',
    ...(meshed ? [`Identity: \`${podIdentity(pod)}\``] : []),
    ...(pod.status?.podIP ? [`IP: ${pod.status.podIP}`] : []),
  ].join('\n\n');
  return {
    id: `pod:${ns}/${name}`,
    label: name,
    description,
    tooltip,
    icon: meshed ? (ready ? { id: 'pass-filled', color: GREEN } : { id: 'circle-large-outline', color: YELLOW }) : { id: 'circle-outline' },
    contextValue: CONTEXT_VALUES.pod,
    collapsible: 'none',
    children: [],
  };
}

export function workloadNode(dep: V1Deployment, pods: readonly V1Pod[], stats: WorkloadStats | undefined): ExplorerNode {
  const ns = dep.metadata?.namespace ?? '';
  const name = dep.metadata?.name ?? '';
  const mine = podsOf(dep, pods);
  const meshed = mine.filter(podIsMeshed).length;
  const desired = dep.spec?.replicas ?? 1;
  const ready = dep.status?.readyReplicas ?? 0;
  const description = [`${meshed}/${mine.length} meshed`, ...statsText(stats)].join(' · ');
  const icon = statsIcon(stats) ?? (mine.length > 0 && meshed === mine.length ? { id: 'pass', color: GREEN } : meshed > 0 ? { id: 'warning', color: YELLOW } : { id: 'circle-outline' });
  const tooltip = [
    `**Deployment** ${ns}/${name}`,
    `Replicas: ${ready}/${desired} ready`,
    `Meshed pods: ${meshed}/${mine.length}`,
    ...statsTooltip(stats),
  ].join('\n\n');
  const children = mine.map(podNode).sort(byName);
  return {
    id: `wl:${ns}/${name}`,
    label: name,
    description,
    tooltip,
    icon,
    contextValue: CONTEXT_VALUES.workload,
    collapsible: children.length > 0 ? 'collapsed' : 'none',
    children,
    ref: { namespace: ns, name, kind: 'Deployment' },
  };
}

export function namespaceNode(ns: V1Namespace, c: ClusterInput, stats: ReadonlyMap<string, WorkloadStats>): ExplorerNode {
  const name = ns.metadata?.name ?? '';
  const state = namespaceInjectState(ns);
  const deps = c.deployments.filter((d) => d.metadata?.namespace === name);
  const pods = c.pods.filter((p) => p.metadata?.namespace === name && p.metadata?.deletionTimestamp === undefined);
  const meshedPods = pods.filter(podIsMeshed).length;
  const controlPlane = name === CONTROL_PLANE_NAMESPACE;
  const parts: string[] = [];
  if (controlPlane) parts.push('control plane');
  if (state === 'enabled') parts.push('meshed');
  if (state === 'disabled') parts.push('injection disabled');
  // A namespace whose pods disagree with its annotation needs a rolling restart.
  if (state === 'enabled' && meshedPods < pods.length) parts.push(`${pods.length - meshedPods} pod${pods.length - meshedPods === 1 ? '' : 's'} to restart`);
  if (state !== 'enabled' && meshedPods > 0 && !controlPlane) parts.push(`${meshedPods} meshed pod${meshedPods === 1 ? '' : 's'}`);
  const tooltip = [
    `**Namespace** ${name}`,
    state === 'enabled' ? `Injection: enabled (\`${ANNOTATIONS.inject}: enabled\`)` : state === 'disabled' ? `Injection: disabled (\`${ANNOTATIONS.inject}: disabled\`)` : 'Injection: not enabled (run "Mesh: Inject Namespace")',
    `Workloads: ${deps.length} · pods: ${pods.length} (${meshedPods} meshed)`,
  ].join('\n\n');
  const children = deps.map((d) => workloadNode(d, pods, stats.get(`${name}/${d.metadata?.name ?? ''}`))).sort(byName);
  return {
    id: `ns:${name}`,
    label: name,
    description: parts.join(' · '),
    tooltip,
    icon: controlPlane ? { id: 'server-process' } : state === 'enabled' ? { id: 'shield', color: GREEN } : { id: 'symbol-namespace' },
    contextValue: state === 'enabled' ? CONTEXT_VALUES.namespaceMeshed : CONTEXT_VALUES.namespaceUnmeshed,
    collapsible: children.length > 0 ? 'collapsed' : 'none',
    children,
    ref: { namespace: name },
  };
}

export function clusterNode(c: ClusterInput, stats: ReadonlyMap<string, WorkloadStats>): ExplorerNode {
  const context = c.context ?? 'current context';
  if (c.state === 'connecting') {
    return { id: 'cluster-status', label: context, description: 'connecting…', icon: { id: 'loading~spin' }, contextValue: CONTEXT_VALUES.connecting, collapsible: 'none', children: [] };
  }
  if (c.state === 'failed') {
    const e = c.error ?? { kind: 'unreachable', message: 'the cluster cannot be reached', hint: 'check the cluster and refresh' };
    return {
      id: 'cluster-status',
      label: context,
      description: e.kind === 'unreachable' ? 'unreachable' : e.kind.replace(/-/g, ' '),
      tooltip: `${e.message}\n\n**Next step:** ${e.hint}`,
      icon: { id: 'error', color: RED },
      contextValue: CONTEXT_VALUES.clusterError,
      collapsible: 'none',
      children: [],
    };
  }
  const namespaces = c.namespaces.map((ns) => namespaceNode(ns, c, stats)).sort(byName);
  const meshed = c.namespaces.filter((ns) => namespaceInjectState(ns) === 'enabled').length;
  const controlPlane = c.namespaces.some((ns) => ns.metadata?.name === CONTROL_PLANE_NAMESPACE);
  return {
    // Its own id (not the connecting/failed row's): VS Code remembers a row's collapse state by id.
    id: `cluster:${context}`,
    label: context,
    description: c.synced ? `${meshed}/${c.namespaces.length} ns meshed${controlPlane ? '' : ' · mesh not installed'}` : 'loading…',
    tooltip: [`**Cluster** ${context}`, ...(c.server ? [`Server: ${c.server}`] : []), ...(c.serverVersion ? [`Version: ${c.serverVersion}`] : []), controlPlane ? `Control plane: namespace \`${CONTROL_PLANE_NAMESPACE}\`` : 'Control plane: not installed (run "Mesh: Install Mesh")'].join('\n\n'),
    icon: { id: 'cloud' },
    contextValue: CONTEXT_VALUES.cluster,
    collapsible: 'expanded',
    children: namespaces,
  };
}

export function localNode(l: LocalInput, stats: ReadonlyMap<string, WorkloadStats>): ExplorerNode {
  const groups = new Map<string, LocalWorkloadInput[]>();
  for (const w of l.workloads) {
    const key = `${w.namespace}/${w.workload}`;
    groups.set(key, [...(groups.get(key) ?? []), w]);
  }
  const workloads: ExplorerNode[] = [...groups.entries()].map(([key, procs]) => {
    const { namespace, workload } = procs[0];
    const up = procs.filter((p) => p.appAlive && p.proxyAlive).length;
    const s = stats.get(key);
    const processes = procs
      .map((p): ExplorerNode => ({
        id: `local-proc:${p.name}`,
        label: p.name,
        description: p.appAlive && p.proxyAlive ? 'running' : !p.appAlive ? 'app exited' : 'proxy exited',
        tooltip: [`**Process** ${p.name}`, `Identity: \`${p.identity}\``, `Proxy admin: ${p.proxyAdmin}`].join('\n\n'),
        icon: p.appAlive && p.proxyAlive ? { id: 'pass-filled', color: GREEN } : { id: 'error', color: RED },
        contextValue: CONTEXT_VALUES.localProcess,
        collapsible: 'none',
        children: [],
      }))
      .sort(byName);
    return {
      id: `local-wl:${key}`,
      label: workload,
      // "n/m up" only when some are down: the sidebar is narrow.
      description: [namespace, ...(up < procs.length ? [`${up}/${procs.length} up`] : []), ...statsText(s)].join(' · '),
      tooltip: [`**Local workload** ${key}`, `Identity: \`${procs[0].identity}\``, `Processes: ${up}/${procs.length} running with their proxy`, ...statsTooltip(s)].join('\n\n'),
      icon: statsIcon(s) ?? (up === procs.length ? { id: 'pass', color: GREEN } : { id: 'warning', color: YELLOW }),
      contextValue: CONTEXT_VALUES.localWorkload,
      collapsible: processes.length > 1 ? 'collapsed' : 'none',
      children: processes.length > 1 ? processes : [],
      ref: { namespace, name: workload, kind: 'LocalWorkload' },
    };
  });
  workloads.sort((a, b) => a.id.localeCompare(b.id));
  return {
    id: 'local',
    label: 'Local mesh',
    description: l.status === 'starting' ? 'starting…' : `${groups.size} workload${groups.size === 1 ? '' : 's'}`,
    tooltip: [`**Local mesh** (${l.status}) since ${l.startedAt}`, `Topology: ${l.topologyFile}`, l.metricsApi ? `Metrics API: ${l.metricsApi}` : 'Metrics API: none recorded'].join('\n\n'),
    icon: { id: 'vm-running', color: GREEN },
    contextValue: CONTEXT_VALUES.local,
    collapsible: 'expanded',
    children: workloads,
  };
}

/**
 * The explorer's roots. An empty list means "nothing to show": VS Code then shows the welcome
 * view (no cluster reachable, no local mesh) with its Start Dev Cluster / Start Local Demo buttons.
 */
export function explorerRoots(input: ExplorerInput): ExplorerNode[] {
  const roots: ExplorerNode[] = [];
  const c = input.cluster;
  const clusterShown = c !== undefined && (c.state !== 'failed' || input.local !== undefined);
  if (c && clusterShown && !(c.state === 'failed' && c.error?.kind === 'no-kubeconfig')) roots.push(clusterNode(c, input.clusterStats));
  if (input.local) roots.push(localNode(input.local, input.localStats));
  return roots;
}

export type ExplorerState = 'connecting' | 'connected' | 'local' | 'no-kubeconfig' | 'unreachable' | 'unauthorized' | 'bad-kubeconfig' | 'context-not-found';

/** What `when` clauses see (context key weft.explorer.state): picks the welcome view's text and buttons. */
export function explorerState(input: ExplorerInput): ExplorerState {
  if (input.cluster?.state === 'connected') return 'connected';
  if (input.local) return 'local';
  if (input.cluster?.state === 'failed') {
    const kind = input.cluster.error?.kind;
    return kind === 'no-kubeconfig' || kind === 'unauthorized' || kind === 'bad-kubeconfig' || kind === 'context-not-found' ? kind : 'unreachable';
  }
  return 'connecting';
}

/**
 * The view's header description while the cluster is failing: the welcome view's text is static,
 * and a TreeView message would hide the welcome view; beside the local mesh, the red cluster row's
 * tooltip has the cause and the next step.
 */
export function explorerDescription(input: ExplorerInput): string | undefined {
  const c = input.cluster;
  if (c?.state !== 'failed' || !c.error) return undefined;
  return `${c.context ?? 'cluster'}: ${c.error.kind.replace(/-/g, ' ')}`;
}

/** Finds a node by id anywhere in a forest (for reveal and for tests). */
export function findNode(nodes: readonly ExplorerNode[], id: string): ExplorerNode | undefined {
  for (const n of nodes) {
    if (n.id === id) return n;
    const inner = findNode(n.children, id);
    if (inner) return inner;
  }
  return undefined;
}
