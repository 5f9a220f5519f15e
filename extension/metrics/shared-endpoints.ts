/**
 * The extension's one MetricsEndpoints (so the explorer, the metrics views and the CodeLens share a
 * single port-forward), with the workspace folders from VS Code.
 *
 * For the explorer: `sharedMetricsEndpoints().resolve()` → `{ ok, endpoint: { url, mode, label } }`
 * or `{ ok: false, reason, hint }`; then `fetchStat(endpoint.url, { kind: 'workload', namespace })`
 * from mesh/control/metrics-api/client.ts. When the user switches the connection, call
 * `setMetricsConnection({ prefer: 'cluster', context })` (or `{ prefer: 'local' }`): the next
 * resolve() looks again. The explorer's cluster stats: `clusterMetricsUrl(connection.context)`.
 */
import * as vscode from 'vscode';
import type { HttpRouteLike } from './local-backends';
import { MetricsEndpoints } from './metrics-endpoint';

let shared: MetricsEndpoints | undefined;
let connection: { prefer?: 'local' | 'cluster'; context?: string } = {};

export function sharedMetricsEndpoints(): MetricsEndpoints {
  shared ??= new MetricsEndpoints({
    workspaceFolders: () => vscode.workspace.workspaceFolders?.filter((f) => f.uri.scheme === 'file').map((f) => f.uri.fsPath) ?? [],
    prefer: () => connection.prefer,
    context: () => connection.context,
  });
  return shared;
}

export function setMetricsConnection(c: { prefer?: 'local' | 'cluster'; context?: string }): void {
  connection = { ...c };
  shared?.reset();
}

/** The HTTPRoutes of a namespace in the current cluster (gateway.networking.k8s.io/v1), for traffic splits. */
export async function listHttpRoutes(namespace: string): Promise<HttpRouteLike[]> {
  // The client is kept per context (the panel asks every 2 s).
  if (!routesClient || routesClient.context !== connection.context) {
    const { loadKubeClient } = await import('../../mesh/platform/kube-client');
    const loaded = await loadKubeClient({ context: connection.context, checkReachable: false });
    if (!loaded.ok) return [];
    routesClient = { context: connection.context, custom: loaded.client.custom };
  }
  const list = (await routesClient.custom.listNamespacedCustomObject({ group: 'gateway.networking.k8s.io', version: 'v1', namespace, plural: 'httproutes' })) as { items?: HttpRouteLike[] };
  return list.items ?? [];
}
let routesClient: { context: string | undefined; custom: import('@kubernetes/client-node').CustomObjectsApi } | undefined;

export function disposeSharedMetricsEndpoints(): void {
  shared?.dispose();
  shared = undefined;
}

/** The metrics API URL of a cluster (a port-forward kept open and shared), or undefined when there is none. */
export async function clusterMetricsUrl(context: string | undefined): Promise<string | undefined> {
  const r = await sharedMetricsEndpoints().cluster(context);
  return r.ok ? r.endpoint.url : undefined;
}
