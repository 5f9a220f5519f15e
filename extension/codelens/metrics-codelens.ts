/**
 * CodeLens with live golden metrics over Service and workload manifests ("✔ 98.2% success ·
 * 12.4 rps"), for resources the connected cluster or local mode runs. The numbers are refreshed every
 * few seconds while such a manifest is visible and not at all otherwise; no data, no lens (no noise).
 * Decisions are in metrics-codelens-model.ts.
 */
import * as vscode from 'vscode';
import type { StatRow } from '../../mesh/control/metrics-api/aggregate';
import { lensText, lensTooltip, manifestResources, rowFor, type ManifestResource } from './metrics-codelens-model';
import { LIVE_WINDOW, type MetricsSource } from '../metrics/metrics-source';

export const CODELENS_REFRESH_MS = 4_000;
const MAX_TEXT = 512 * 1024;
export const CODELENS_SETTING = 'weft.metrics.codeLens';

export class MetricsCodeLensProvider implements vscode.CodeLensProvider, vscode.Disposable {
  private readonly changed = new vscode.EventEmitter<void>();
  readonly onDidChangeCodeLenses = this.changed.event;
  private rows: StatRow[] = [];
  private source = '';
  private lastTexts = '';
  private timer: ReturnType<typeof setTimeout> | undefined;
  private readonly disposables: vscode.Disposable[] = [];

  constructor(private readonly metrics: MetricsSource) {
    this.disposables.push(
      vscode.window.onDidChangeVisibleTextEditors(() => this.schedule(0)),
      vscode.workspace.onDidChangeConfiguration((e) => {
        if (e.affectsConfiguration(CODELENS_SETTING)) {
          this.changed.fire();
          this.schedule(0);
        }
      }),
    );
    this.schedule(0);
  }

  private enabled(): boolean {
    return vscode.workspace.getConfiguration('weft.metrics').get<boolean>('codeLens', true);
  }

  private resourcesOf(doc: vscode.TextDocument): ManifestResource[] {
    if (doc.languageId !== 'yaml' || doc.getText().length > MAX_TEXT) return [];
    return manifestResources(doc.getText());
  }

  /** True while a visible editor shows a manifest with a Service or a workload. */
  private wanted(): boolean {
    return this.enabled() && vscode.window.visibleTextEditors.some((e) => this.resourcesOf(e.document).length > 0);
  }

  private schedule(ms: number): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.refresh(), ms);
  }

  private busy = false;

  private async refresh(): Promise<void> {
    this.timer = undefined;
    if (this.busy || !this.wanted()) return; // resumes on the next change of visible editors
    this.busy = true;
    try {
      await this.fetch();
    } finally {
      this.busy = false;
    }
    this.schedule(CODELENS_REFRESH_MS);
  }

  private async fetch(): Promise<void> {
    const [workloads, services] = await Promise.all([this.metrics.stat('workload'), this.metrics.stat('service')]);
    this.rows = workloads.ok && services.ok ? [...workloads.value, ...services.value] : [];
    this.source = workloads.ok ? workloads.endpoint.label : '';
    // Re-render only when what a lens says changed.
    const texts = JSON.stringify(this.rows.map((r) => [r.kind, r.namespace, r.name, lensText(r)]));
    if (texts !== this.lastTexts) {
      this.lastTexts = texts;
      this.changed.fire();
    }
  }

  provideCodeLenses(doc: vscode.TextDocument): vscode.CodeLens[] {
    if (!this.enabled()) return [];
    const resources = this.resourcesOf(doc);
    if (resources.length > 0 && !this.timer && !this.busy) this.schedule(0);
    const lenses: vscode.CodeLens[] = [];
    for (const r of resources) {
      const row = rowFor(r, this.rows);
      const title = lensText(row);
      if (!row || !title) continue;
      lenses.push(
        new vscode.CodeLens(new vscode.Range(r.line, 0, r.line, 0), {
          title,
          tooltip: lensTooltip(row, this.source, LIVE_WINDOW),
          command: 'weft.showServiceMetrics',
          arguments: [{ kind: row.kind, namespace: row.namespace, name: row.name }],
        }),
      );
    }
    return lenses;
  }

  dispose(): void {
    if (this.timer) clearTimeout(this.timer);
    this.changed.dispose();
    for (const d of this.disposables) d.dispose();
  }
}
