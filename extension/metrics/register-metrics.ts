/**
 * Registers the live-metrics features: the sidebar view `weft.metrics`, the command
 * `weft.showServiceMetrics` (service panel) and the CodeLens on manifests. No I/O here: polling
 * starts when a view is visible or a manifest editor is shown.
 */
import * as vscode from 'vscode';
import { MetricsCodeLensProvider } from '../codelens/metrics-codelens';
import { MetricsSource, type Log } from './metrics-source';
import { MetricsViewProvider } from './metrics-view-provider';
import { ServicePanels } from './service-panel';
import { disposeSharedMetricsEndpoints, listHttpRoutes, sharedMetricsEndpoints } from './shared-endpoints';

export function registerMetrics(context: vscode.ExtensionContext): void {
  let channel: vscode.LogOutputChannel | undefined;
  const out = (): vscode.LogOutputChannel => (channel ??= vscode.window.createOutputChannel('Weft Metrics', { log: true }));
  const log: Log = { info: (m) => out().info(m), warn: (m) => out().warn(m) };
  const source = new MetricsSource(sharedMetricsEndpoints(), log, Date.now, listHttpRoutes);
  const view = new MetricsViewProvider(context, source, log);
  const panels = new ServicePanels(context.extensionUri, source, log);
  const lenses = new MetricsCodeLensProvider(source);
  context.subscriptions.push(
    vscode.window.registerWebviewViewProvider('weft.metrics', view),
    vscode.commands.registerCommand('weft.showServiceMetrics', (arg: unknown) => panels.show(arg)),
    vscode.languages.registerCodeLensProvider({ language: 'yaml' }, lenses),
    view,
    panels,
    lenses,
    { dispose: () => channel?.dispose() },
    { dispose: disposeSharedMetricsEndpoints },
  );
}
