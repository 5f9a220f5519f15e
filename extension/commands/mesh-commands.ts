/**
 * Mesh: Install Mesh, Check Mesh, Start Dev Cluster, Stop Dev Cluster — thin adapters over
 * installManifests()+applyObjects(), runChecks(), clusterUp()/clusterDown(). Progress shows each
 * step; the long ones can be cancelled; failures come back with their cause and next step.
 */
import * as vscode from 'vscode';
import type { Explorer } from '../explorer/explorer';
import { checkMode, checkSummary, formatCheckResult } from './command-model';
import { showFailure } from './namespace-commands';

async function connectedClient(ex: Explorer) {
  const snap = await ex.connected();
  const client = ex.connection.client;
  if (snap.state === 'connected' && client) return { snap, client };
  await showFailure(snap.error ?? { message: 'the cluster is still connecting', hint: 'wait a moment and try again' }, 'Start Dev Cluster', 'Switch Context');
  return undefined;
}

export async function installMesh(ex: Explorer): Promise<void> {
  const c = await connectedClient(ex);
  if (!c) return;
  const answer = await vscode.window.showInformationMessage(`Install the Weft control plane into cluster "${c.client.context}" (${c.client.server})?`, { modal: true }, 'Install');
  if (answer !== 'Install') return;
  const [{ installManifests }, { applyObjects }] = await Promise.all([import('../../mesh/control/install/install-manifests'), import('../../mesh/platform/kube-apply')]);
  const result = await vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title: 'Installing Weft', cancellable: false }, async (progress) => {
    progress.report({ message: 'generating manifests and trust anchors' });
    const objects = await installManifests();
    return applyObjects(c.client.kubeConfig, objects, {
      onProgress: (p) => {
        progress.report({ message: `${p.index + 1}/${p.total} ${p.object} ${p.action}`, increment: 100 / p.total });
        ex.output.appendLine(`install: ${p.object} ${p.action}`);
      },
    });
  });
  if (!result.ok) {
    await showFailure({ message: `install stopped at ${result.error.object}: ${result.error.message}`, hint: result.error.hint }, 'Show Output');
    return;
  }
  const choice = await vscode.window.showInformationMessage(`Weft installed (${result.applied.length} objects). Check the control plane once its pods run.`, 'Check Mesh');
  if (choice === 'Check Mesh') await checkMesh(ex);
}

export async function checkMesh(ex: Explorer): Promise<void> {
  const c = await connectedClient(ex);
  if (!c) return;
  const [{ runChecks }, { kubeCheckClient }] = await Promise.all([import('../../mesh/control/check/checks'), import('../../mesh/control/check/kube-check-client')]);
  const modes = checkMode(c.snap.namespaces);
  const client = kubeCheckClient(c.client.kubeConfig);
  const results: { ok: boolean }[] = [];
  ex.output.show(true);
  ex.output.appendLine(`\nweft check — context ${c.client.context} (${c.client.server})`);
  let cancelled = false;
  await vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title: 'Checking the mesh', cancellable: true }, async (progress, token) => {
    for (const mode of modes) {
      ex.output.appendLine(`\n${mode}`);
      for await (const r of runChecks(client, { mode })) {
        results.push(r);
        ex.output.appendLine(formatCheckResult(r));
        progress.report({ message: r.name });
        if (token.isCancellationRequested) {
          cancelled = true;
          return;
        }
      }
    }
  });
  const summary = checkSummary(results, cancelled);
  ex.output.appendLine(`\n${summary}`);
  if (results.every((r) => r.ok) && !cancelled) void vscode.window.showInformationMessage(summary);
  else void vscode.window.showWarningMessage(summary, 'Show Output').then((p) => p && ex.output.show());
}

/** The Weft checkout clusterUp builds the image from: the workspace folder, else the extension's own folder. */
async function repoRoot(ex: Explorer): Promise<string | undefined> {
  const { findRepoRoot } = await import('../../dev-cluster/cluster');
  for (const from of [ex.workspaceFolder, ex.context.extensionUri.fsPath]) {
    const root = from ? findRepoRoot(from) : undefined;
    if (root) return root;
  }
  return undefined;
}

export async function startDevCluster(ex: Explorer): Promise<void> {
  const { clusterUp, DEFAULT_CLUSTER_NAME } = await import('../../dev-cluster/cluster');
  const root = await repoRoot(ex);
  const deps = root ? { repoRoot: root } : {};
  const abort = new AbortController();
  try {
    const up = await vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title: `Starting dev cluster "${DEFAULT_CLUSTER_NAME}"`, cancellable: true }, (progress, token) => {
      token.onCancellationRequested(() => abort.abort());
      return clusterUp({ signal: abort.signal, onStep: (e) => {
        progress.report({ message: `${e.step}: ${e.message}` });
        ex.output.appendLine(`dev cluster ${e.step}: ${e.message}`);
      } }, deps);
    });
    await ex.switchContext(`kind-${up.name}`);
    void vscode.window.showInformationMessage(`Dev cluster "${up.name}" is up with the mesh and the demo (namespace demo).`);
  } catch (err) {
    const e = err as Error & { hint?: string };
    if (abort.signal.aborted) void vscode.window.showWarningMessage('Start Dev Cluster cancelled; what was created has been removed.');
    else await showFailure({ message: e.message, hint: e.hint ?? 'read the Weft output channel' }, 'Start Local Demo', 'Show Output');
  }
}

export async function stopDevCluster(ex: Explorer): Promise<void> {
  const { clusterDown, DEFAULT_CLUSTER_NAME } = await import('../../dev-cluster/cluster');
  const answer = await vscode.window.showWarningMessage(`Delete the kind cluster "${DEFAULT_CLUSTER_NAME}" and everything in it?`, { modal: true }, 'Delete');
  if (answer !== 'Delete') return;
  const abort = new AbortController();
  try {
    const r = await vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title: `Stopping dev cluster "${DEFAULT_CLUSTER_NAME}"`, cancellable: true }, (progress, token) => {
      token.onCancellationRequested(() => abort.abort());
      return clusterDown({ signal: abort.signal, onStep: (e) => progress.report({ message: e.message }) });
    });
    void vscode.window.showInformationMessage(r.removed ? `Dev cluster "${DEFAULT_CLUSTER_NAME}" deleted.` : `No dev cluster "${DEFAULT_CLUSTER_NAME}" to delete.`);
    await ex.refresh();
  } catch (err) {
    const e = err as Error & { hint?: string };
    await showFailure({ message: e.message, hint: e.hint ?? 'read the Weft output channel' });
  }
}
