/**
 * The extension's composition root: it wires features and decides nothing itself. Activation is
 * lazy (a YAML file opened) and does no I/O beyond registering providers.
 */
import type * as vscode from 'vscode';
import { registerManifestDiagnostics } from './diagnostics/manifest-diagnostics';
import { registerExplorer } from './explorer/register-explorer';
import { registerMetrics } from './metrics/register-metrics';

export function activate(context: vscode.ExtensionContext): void {
  registerManifestDiagnostics(context);
  registerExplorer(context);
  registerMetrics(context);
}

export function deactivate(): void {
  // Every registration is owned by context.subscriptions and disposed by VS Code.
}
