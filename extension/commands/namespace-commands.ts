/**
 * Mesh: Inject Namespace, Remove Namespace Injection, Restart Workloads, Switch Cluster Context.
 * Thin: the choices and patches come from command-model.ts; the explorer's watches show the result.
 */
import * as vscode from 'vscode';
import type { V1Namespace } from '@kubernetes/client-node';
import { loadKubeClient } from '../../mesh/platform/kube-client';
import type { Explorer } from '../explorer/explorer';
import type { ClusterInput } from '../explorer/explorer-model';
import { MERGE_PATCH } from '../kube/cluster-connection';
import { deploymentsToRestart, describeKubeFailure, injectPatch, namespacePickItems, restartPatch, type Failure } from './command-model';

/** What a row of the explorer passes (the tree element), or nothing from the palette. */
export interface CommandTarget {
  namespace?: string;
  name?: string;
  kind?: string;
}

export async function showFailure(f: Failure, ...actions: string[]): Promise<void> {
  const picked = await vscode.window.showErrorMessage(`${f.message}. Next step: ${f.hint}`, ...actions);
  if (picked === 'Start Dev Cluster') await vscode.commands.executeCommand('weft.startDevCluster');
  if (picked === 'Start Local Demo') await vscode.commands.executeCommand('weft.startLocalDemo');
  if (picked === 'Switch Context') await vscode.commands.executeCommand('weft.switchContext');
  if (picked === 'Show Output') await vscode.commands.executeCommand('workbench.action.output.show');
}

/** The connected cluster, or undefined after telling the user why there is none. */
async function requireCluster(ex: Explorer): Promise<ClusterInput | undefined> {
  const snap = await ex.connected();
  if (snap.state === 'connected' && ex.connection.client) return snap;
  const error = snap.error ?? { message: 'the cluster is still connecting', hint: 'wait a moment and try again' };
  await showFailure(error, 'Start Dev Cluster', 'Switch Context');
  return undefined;
}

async function pickNamespace(namespaces: readonly V1Namespace[], action: 'inject' | 'uninject' | 'restart'): Promise<string | undefined> {
  const items = namespacePickItems(namespaces, action);
  if (items.length === 0) {
    void vscode.window.showInformationMessage('The cluster has no namespaces to choose from.');
    return undefined;
  }
  const title = action === 'inject' ? 'Mesh: Inject Namespace' : action === 'uninject' ? 'Mesh: Remove Namespace Injection' : 'Mesh: Restart Workloads';
  const placeHolder = action === 'inject' ? 'Namespace to mesh (its new pods get the Weft proxy)' : action === 'uninject' ? 'Namespace to stop meshing' : 'Namespace whose workloads to restart';
  const picked = await vscode.window.showQuickPick(items, { title, placeHolder, matchOnDescription: true });
  return picked?.namespace;
}

export async function setNamespaceInjection(ex: Explorer, enabled: boolean, target?: CommandTarget): Promise<void> {
  const snap = await requireCluster(ex);
  const client = ex.connection.client;
  if (!snap || !client) return;
  const namespace = target?.namespace ?? (await pickNamespace(snap.namespaces, enabled ? 'inject' : 'uninject'));
  if (!namespace) return;
  try {
    await client.core.patchNamespace({ name: namespace, body: injectPatch(enabled) }, MERGE_PATCH);
  } catch (err) {
    await showFailure(describeKubeFailure(err, `namespace "${namespace}"`, client.server));
    return;
  }
  ex.output.appendLine(`${enabled ? 'injection enabled' : 'injection removed'}: namespace ${namespace}`);
  const workloads = deploymentsToRestart(ex.connection.snapshot.deployments, namespace);
  if (workloads.length === 0) {
    void vscode.window.showInformationMessage(enabled ? `Namespace "${namespace}" is meshed: new pods get the Weft proxy.` : `Namespace "${namespace}" is no longer meshed.`);
    return;
  }
  const ask = enabled
    ? `Namespace "${namespace}" is meshed. Restart its ${workloads.length} workload${workloads.length === 1 ? '' : 's'} now so their pods get the proxy?`
    : `Namespace "${namespace}" is no longer meshed. Restart its ${workloads.length} workload${workloads.length === 1 ? '' : 's'} now so their pods drop the proxy?`;
  const answer = await vscode.window.showInformationMessage(ask, 'Restart', 'Later');
  if (answer === 'Restart') await restartWorkloads(ex, { namespace });
}

export async function restartWorkloads(ex: Explorer, target?: CommandTarget): Promise<void> {
  const snap = await requireCluster(ex);
  const client = ex.connection.client;
  if (!snap || !client) return;
  const namespace = target?.namespace ?? (await pickNamespace(snap.namespaces, 'restart'));
  if (!namespace) return;
  const names = deploymentsToRestart(ex.connection.snapshot.deployments, namespace, target?.name && target.kind === 'Deployment' ? [target.name] : undefined);
  if (names.length === 0) {
    void vscode.window.showInformationMessage(`Namespace "${namespace}" has no deployments to restart.`);
    return;
  }
  const done: string[] = [];
  await vscode.window.withProgress(
    { location: vscode.ProgressLocation.Notification, title: `Restarting workloads in ${namespace}`, cancellable: true },
    async (progress, token) => {
      const now = new Date();
      for (const [i, name] of names.entries()) {
        if (token.isCancellationRequested) break;
        progress.report({ message: `${name} (${i + 1}/${names.length})`, increment: 100 / names.length });
        try {
          await client.apps.patchNamespacedDeployment({ name, namespace, body: restartPatch(now) }, MERGE_PATCH);
          done.push(name);
        } catch (err) {
          await showFailure(describeKubeFailure(err, `restart of deployment ${namespace}/${name}`, client.server));
          return;
        }
      }
    },
  );
  ex.output.appendLine(`rolling restart in ${namespace}: ${done.join(', ') || 'none'}${done.length < names.length ? ` (stopped; not restarted: ${names.filter((n) => !done.includes(n)).join(', ')})` : ''}`);
  if (done.length === names.length) void vscode.window.showInformationMessage(`Rolling restart of ${done.length === 1 ? `${namespace}/${done[0]}` : `${done.length} workloads in ${namespace}`} started.`);
  else if (done.length < names.length) void vscode.window.showWarningMessage(`Restart cancelled: ${done.length}/${names.length} workloads of ${namespace} restarted.`);
}

export async function switchContext(ex: Explorer): Promise<void> {
  const loaded = await loadKubeClient({ checkReachable: false });
  if (!loaded.ok) {
    await showFailure(loaded.error, 'Start Dev Cluster');
    return;
  }
  const kc = loaded.client.kubeConfig;
  const current = ex.connection.context ?? loaded.client.context;
  const items = kc.getContexts().map((c) => ({
    label: c.name,
    description: [c.name === current ? '$(check) current' : '', kc.getCluster(c.cluster)?.server ?? ''].filter(Boolean).join(' · '),
  }));
  const picked = await vscode.window.showQuickPick(items, { title: 'Mesh: Switch Cluster Context', placeHolder: `Current: ${current}` });
  if (!picked) return;
  await ex.switchContext(picked.label);
}
