/**
 * `weft.showServiceMetrics` — a webview panel per workload or service: charts over the last
 * minutes (from the shared history, which the sidebar view and this panel both feed), inbound and
 * outbound edges with their identities, and the traffic split between backends. Polls every 2 s
 * while visible. Decisions are in service-panel-model.ts.
 */
import * as vscode from 'vscode';
import type { StatRow } from '../../mesh/control/metrics-api/aggregate';
import type { Edge } from '../../mesh/control/metrics-api/aggregate';
import { parseWebviewMessage, type ViewStatus } from '../../webviews/messages/metrics-messages';
import { rowKey } from './metrics-history';
import { clock } from './metrics-table-model';
import { POLL_MS, type Log, type MetricsSource } from './metrics-source';
import { panelMessage, PANEL_SPAN_MS, targetFromArgument, type Backend, type PanelTarget } from './service-panel-model';
import { webviewHtml, webviewRoots } from './webview-html';

export const SERVICE_PANEL_VIEW_TYPE = 'weft.serviceMetrics';

class ServicePanel {
  private timer: ReturnType<typeof setTimeout> | undefined;
  private inflight = false;
  private last: { row?: StatRow; rows: StatRow[]; edges: Edge[]; backends: Backend[]; source: string } = { rows: [], edges: [], backends: [], source: '' };
  private status: ViewStatus = { level: 'waiting', message: 'Looking for the metrics API…' };

  constructor(
    readonly panel: vscode.WebviewPanel,
    readonly target: PanelTarget,
    private readonly source: MetricsSource,
    private readonly log: Log,
    extensionUri: vscode.Uri,
    onDispose: () => void,
  ) {
    panel.webview.options = { enableScripts: true, localResourceRoots: webviewRoots(extensionUri) };
    panel.webview.html = webviewHtml(panel.webview, extensionUri, 'service', `${target.name} metrics`);
    panel.webview.onDidReceiveMessage((raw: unknown) => {
      const parsed = parseWebviewMessage(raw);
      if (!parsed.ok) return this.log.warn(`service panel: ignored a message (${parsed.reason})`);
      if (parsed.message.type === 'ready') {
        this.post();
        void this.tick();
      } else if (parsed.message.type === 'open') {
        void vscode.commands.executeCommand('weft.showServiceMetrics', { kind: parsed.message.kind, namespace: parsed.message.namespace, name: parsed.message.name });
      }
    });
    panel.onDidChangeViewState(() => (panel.visible ? void this.tick() : this.stop()));
    panel.onDidDispose(() => {
      this.stop();
      onDispose();
    });
  }

  private stop(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }

  async tick(): Promise<void> {
    this.stop();
    if (this.inflight) return;
    this.inflight = true;
    try {
      const t = this.target;
      // All workloads of the namespace: the target's row (when a workload) and the backends' RPS.
      const [stat, workloads, edges] = await Promise.all([
        t.kind === 'service' ? this.source.stat('service', t.namespace) : Promise.resolve(undefined),
        this.source.stat('workload', t.namespace),
        this.source.edges(t.namespace),
      ]);
      const failure = [stat, workloads, edges].find((r) => r !== undefined && !r.ok);
      if (failure && !failure.ok) this.status = failure.status;
      else if (workloads.ok && edges.ok) {
        const rows = [...(stat?.ok ? stat.value : []), ...workloads.value];
        this.last = {
          row: rows.find((r) => r.kind === t.kind && r.name === t.name && r.namespace === t.namespace),
          rows,
          edges: edges.value,
          backends: t.kind === 'service' ? await this.source.backends(workloads.endpoint, t.name, t.namespace) : [],
          source: workloads.endpoint.label,
        };
        this.status = this.last.row ? { level: 'ok' } : { level: 'waiting', message: `The metrics API has no ${t.kind} ${t.namespace}/${t.name} (yet).` };
      }
      this.post();
    } finally {
      this.inflight = false;
      if (this.panel.visible) this.timer = setTimeout(() => void this.tick(), POLL_MS);
    }
  }

  post(): void {
    const now = Date.now();
    void this.panel.webview.postMessage(
      panelMessage({
        target: this.target,
        row: this.last.row,
        samples: this.source.history.series(rowKey(this.target), now, PANEL_SPAN_MS),
        edges: this.last.edges,
        backends: this.last.backends,
        namespaceRows: this.last.rows,
        status: this.status,
        source: this.last.source,
        now,
        updatedAt: clock(now),
      }),
    );
  }
}

export class ServicePanels implements vscode.Disposable {
  private readonly open = new Map<string, ServicePanel>();

  constructor(
    private readonly extensionUri: vscode.Uri,
    private readonly source: MetricsSource,
    private readonly log: Log,
  ) {}

  async show(arg: unknown): Promise<void> {
    const target = targetFromArgument(arg) ?? (await this.pick());
    if (!target) return;
    const key = rowKey(target);
    const existing = this.open.get(key);
    if (existing) return existing.panel.reveal();
    const panel = vscode.window.createWebviewPanel(SERVICE_PANEL_VIEW_TYPE, `${target.name} · ${target.kind === 'service' ? 'svc' : 'workload'} metrics`, vscode.ViewColumn.Active, { enableScripts: true, localResourceRoots: webviewRoots(this.extensionUri) });
    panel.iconPath = vscode.Uri.joinPath(this.extensionUri, 'resources', 'weft.svg');
    this.open.set(key, new ServicePanel(panel, target, this.source, this.log, this.extensionUri, () => this.open.delete(key)));
  }

  /** A quick pick over every service and workload the metrics API knows. */
  private async pick(): Promise<PanelTarget | undefined> {
    const [services, workloads] = await Promise.all([this.source.stat('service'), this.source.stat('workload')]);
    if (!services.ok || !workloads.ok) {
      const status = !services.ok ? services.status : !workloads.ok ? workloads.status : undefined;
      void vscode.window.showWarningMessage(`Weft: ${status?.message ?? 'no metrics API'}`);
      return undefined;
    }
    const items = [...services.value, ...workloads.value].map((r) => ({
      label: r.name,
      description: `${r.kind} · ${r.namespace}`,
      detail: r.podsWithData > 0 && r.successRate !== undefined ? `${(r.successRate * 100).toFixed(1)}% success · ${r.rps.toFixed(1)} rps` : 'no traffic in the window',
      target: { kind: r.kind, namespace: r.namespace, name: r.name } satisfies PanelTarget,
    }));
    if (items.length === 0) {
      void vscode.window.showInformationMessage('Weft: the metrics API knows no service or workload yet.');
      return undefined;
    }
    return (await vscode.window.showQuickPick(items, { title: 'Show Service Metrics', placeHolder: 'service or workload' }))?.target;
  }

  dispose(): void {
    for (const p of this.open.values()) p.panel.dispose();
  }
}
