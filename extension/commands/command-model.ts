/**
 * The decisions behind the Mesh commands, without VS Code or I/O: which namespaces the quick pick
 * offers and how it marks them, the patches that inject, uninject and restart, what a failed
 * Kubernetes call means for the user (cause + next step), and how the bundled CLI is run.
 */
import type { V1Deployment, V1Namespace } from '@kubernetes/client-node';
import { ANNOTATIONS } from '../../mesh/config/annotations';
import { CONTROL_PLANE_NAMESPACE } from '../../mesh/config/names';
import { namespaceInjectState } from '../explorer/explorer-model';

/** kubectl's own key (`kubectl rollout restart`): a change of the pod template rolls the pods. */
export const RESTARTED_AT_ANNOTATION = 'kubectl.kubernetes.io/restartedAt';

/** Namespaces where injecting makes no sense (the mesh's own, Kubernetes' own). */
const SYSTEM_NAMESPACES = new Set([CONTROL_PLANE_NAMESPACE, 'kube-system', 'kube-public', 'kube-node-lease', 'local-path-storage']);

export interface NamespacePickItem {
  label: string;
  description: string;
  /** The namespace the item stands for. */
  namespace: string;
  meshed: boolean;
}

/**
 * The quick pick of "Mesh: Inject Namespace" / "Remove Namespace Injection": every namespace,
 * marked meshed or not; the ones the action can change come first (then alphabetical), system
 * namespaces last. For `inject`, meshed namespaces stay listed (marked) so the user sees them.
 */
export function namespacePickItems(namespaces: readonly V1Namespace[], action: 'inject' | 'uninject' | 'restart'): NamespacePickItem[] {
  const items = namespaces.map((ns): NamespacePickItem => {
    const name = ns.metadata?.name ?? '';
    const state = namespaceInjectState(ns);
    const meshed = state === 'enabled';
    const marks = [meshed ? '$(shield) meshed' : state === 'disabled' ? 'injection disabled' : 'not meshed'];
    if (SYSTEM_NAMESPACES.has(name)) marks.push(name === CONTROL_PLANE_NAMESPACE ? 'Weft control plane' : 'system');
    return { label: name, description: marks.join(' · '), namespace: name, meshed };
  });
  const rank = (i: NamespacePickItem): number => {
    const actionable = action === 'inject' ? !i.meshed : action === 'uninject' ? i.meshed : true;
    return (SYSTEM_NAMESPACES.has(i.namespace) ? 2 : 0) + (actionable ? 0 : 1);
  };
  return items.sort((a, b) => rank(a) - rank(b) || a.label.localeCompare(b.label));
}

/** Merge patch (RFC 7386) that sets or removes the namespace's inject annotation. */
export function injectPatch(enabled: boolean): { metadata: { annotations: Record<string, string | null> } } {
  return { metadata: { annotations: { [ANNOTATIONS.inject]: enabled ? 'enabled' : null } } };
}

/** Merge patch that rolls a workload's pods, as `kubectl rollout restart` does. */
export function restartPatch(now: Date): { spec: { template: { metadata: { annotations: Record<string, string> } } } } {
  return { spec: { template: { metadata: { annotations: { [RESTARTED_AT_ANNOTATION]: now.toISOString() } } } } };
}

/** Which deployments a namespace restart rolls: all of them, or the named ones. */
export function deploymentsToRestart(deployments: readonly V1Deployment[], namespace: string, names?: readonly string[]): string[] {
  return deployments
    .filter((d) => d.metadata?.namespace === namespace && (names === undefined || names.includes(d.metadata?.name ?? '')))
    .map((d) => d.metadata?.name ?? '')
    .filter((n) => n !== '')
    .sort();
}

export interface Failure {
  message: string;
  hint: string;
}

/** A failed Kubernetes call, as the user should read it: what happened, and the next step. */
export function describeKubeFailure(err: unknown, what: string, server?: string): Failure {
  const e = err as { code?: number | string; body?: unknown; message?: string; cause?: { code?: string; message?: string } };
  const status = typeof e.code === 'number' ? e.code : undefined;
  const bodyMessage = typeof e.body === 'string' ? safeStatusMessage(e.body) : undefined;
  if (status === 404) return { message: `${what}: not found${bodyMessage ? ` (${bodyMessage})` : ''}`, hint: 'it may have been deleted; refresh the explorer (Mesh: Refresh)' };
  if (status === 401 || status === 403) return { message: `${what}: the API server refused the credentials (HTTP ${status})`, hint: 'refresh the kubeconfig credentials or switch context (Mesh: Switch Cluster Context)' };
  if (status === 409) return { message: `${what}: conflict with a concurrent change`, hint: 'try again' };
  if (status !== undefined) return { message: `${what}: HTTP ${status}${bodyMessage ? ` (${bodyMessage})` : ''}`, hint: 'check the cluster (`kubectl get events`) and try again' };
  const code = (typeof e.code === 'string' ? e.code : undefined) ?? e.cause?.code;
  if (code && /ECONNREFUSED|ENOTFOUND|EHOSTUNREACH|ETIMEDOUT|ECONNRESET|EAI_AGAIN/.test(code)) {
    return { message: `${what}: cannot reach the Kubernetes API server${server ? ` at ${server}` : ''} (${code})`, hint: 'check that the cluster is running (Mesh: Start Dev Cluster) or switch context (Mesh: Switch Cluster Context)' };
  }
  return { message: `${what}: ${e.message ?? String(err)}`, hint: 'check the cluster and the Weft output channel, then try again' };
}

function safeStatusMessage(body: string): string | undefined {
  try {
    const parsed = JSON.parse(body) as { message?: unknown };
    return typeof parsed.message === 'string' ? parsed.message : undefined;
  } catch {
    return undefined;
  }
}

/** How the extension runs its bundled CLI: the extension host's own Node (Electron as Node). */
export function cliInvocation(execPath: string, cliPath: string, args: readonly string[], env: NodeJS.ProcessEnv): { command: string; args: string[]; env: NodeJS.ProcessEnv } {
  return { command: execPath, args: [cliPath, ...args], env: { ...env, ELECTRON_RUN_AS_NODE: '1' } };
}

/** The local mesh and the cluster's metrics come from the workspace; with no folder open there is nowhere to run. */
export function workspaceFolderFailure(): Failure {
  return { message: 'no folder is open', hint: 'open a folder (File › Open Folder…): the local demo keeps its state in .weft/local under it' };
}

/** Which `weft check` modes fit the cluster: pre-flight before the mesh is there, else control plane and proxies. */
export function checkMode(namespaces: readonly V1Namespace[]): ('pre' | 'control-plane' | 'proxy')[] {
  return namespaces.some((n) => n.metadata?.name === CONTROL_PLANE_NAMESPACE) ? ['control-plane', 'proxy'] : ['pre'];
}

/** One check result as a line of the output channel: ✔/✖, the name, and on failure the cause and next step. */
export function formatCheckResult(r: { ok: boolean; name: string; message: string; hint?: string }): string {
  if (r.ok) return `  ✔ ${r.name}`;
  return `  ✖ ${r.name}\n      ${r.message}${r.hint ? `\n      next step: ${r.hint}` : ''}`;
}

export function checkSummary(results: readonly { ok: boolean }[], cancelled: boolean): string {
  const failed = results.filter((r) => !r.ok).length;
  const head = cancelled ? `Check Mesh cancelled after ${results.length} checks` : `Check Mesh: ${results.length} checks`;
  return failed === 0 ? `${head}, all passed ✔` : `${head}, ${failed} failed ✖ (see the Weft output channel)`;
}
