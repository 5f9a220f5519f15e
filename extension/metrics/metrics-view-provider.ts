/**
 * The sidebar metrics view (`weft.metrics`): polls the metrics API every 2 s while visible, stops
 * when hidden, and on showing again sends a fresh snapshot at once. History lives in the shared
 * MetricsSource, so sparklines survive hide/show; the sort and the namespace are remembered in the
 * workspace state. Decisions are in metrics-table-model.ts; this file wires.
 */
import * as vscode from 'vscode';
import type { StatRow } from '../../mesh/control/metrics-api/aggregate';
import { CONTROL_PLANE_NAMESPACE } from '../../mesh/config/names';
import { parseWebviewMessage, type SnapshotMessage, type SortState, type ViewStatus } from '../../webviews/messages/metrics-messages';
import { chooseNamespace, clock, DEFAULT_SORT, nextSort, tableSection } from './metrics-table-model';
import { LIVE_WINDOW, POLL_MS, type Log, type MetricsSource } from './metrics-source';
import { webviewHtml, webviewRoots } from './webview-html';

const SORT_KEY = 'weft.metrics.sort';
const NAMESPACE_KEY = 'weft.metrics.namespace';

export class MetricsViewProvider implements vscode.WebviewViewProvider, vscode.Disposable {
  private view: vscode.WebviewView | undefined;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private running = false;
  private last: { workloads: StatRow[]; services: StatRow[]; source: string } = { workloads: [], services: [], source: '' };
  private status: ViewStatus = { level: 'waiting', message: 'Looking for the metrics API…' };
  private readonly disposables: vscode.Disposable[] = [];

  constructor(
    private readonly context: vscode.ExtensionContext,
    private readonly source: MetricsSource,
    private readonly log: Log,
  ) {}

  private get sort(): SortState {
    return this.context.workspaceState.get<SortState>(SORT_KEY) ?? DEFAULT_SORT;
  }

  private get namespace(): string | undefined {
    return this.context.workspaceState.get<string>(NAMESPACE_KEY);
  }

  resolveWebviewView(view: vscode.WebviewView): void {
    this.view = view;
    view.webview.options = { enableScripts: true, localResourceRoots: webviewRoots(this.context.extensionUri) };
    view.webview.html = webviewHtml(view.webview, this.context.extensionUri, 'metrics', 'Service Metrics');
    this.disposables.push(
      view.webview.onDidReceiveMessage((raw: unknown) => this.onMessage(raw)),
      view.onDidChangeVisibility(() => (view.visible ? this.start() : this.stop())),
      view.onDidDispose(() => {
        this.stop();
        this.view = undefined;
      }),
    );
    if (view.visible) this.start();
  }

  private onMessage(raw: unknown): void {
    const parsed = parseWebviewMessage(raw);
    if (!parsed.ok) {
      this.log.warn(`metrics view: ignored a message (${parsed.reason})`);
      return;
    }
    const m = parsed.message;
    switch (m.type) {
      case 'ready':
        this.post(); // the webview (re)loaded: give it what we have, then fresh numbers
        void this.tick();
        break;
      case 'sort':
        void this.context.workspaceState.update(SORT_KEY, nextSort(this.sort, m.column)).then(() => this.post());
        break;
      case 'selectNamespace':
        void this.context.workspaceState.update(NAMESPACE_KEY, m.namespace).then(() => this.post());
        break;
      case 'open':
        void vscode.commands.executeCommand('weft.showServiceMetrics', { kind: m.kind, namespace: m.namespace, name: m.name });
        break;
    }
  }

  /** Polls while visible: one request pair at a time, the next 2 s after the last answer. */
  private start(): void {
    if (this.running) return;
    this.running = true;
    void this.tick();
  }

  private stop(): void {
    this.running = false;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }

  private inflight = false;

  private async tick(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    if (!this.running || this.inflight) return;
    this.inflight = true;
    try {
      const [workloads, services] = await Promise.all([this.source.stat('workload'), this.source.stat('service')]);
      if (workloads.ok && services.ok) {
        this.last = { workloads: workloads.value, services: services.value, source: workloads.endpoint.label };
        this.status = { level: 'ok' };
      } else {
        this.status = !workloads.ok ? workloads.status : !services.ok ? services.status : { level: 'ok' };
      }
      this.post();
    } finally {
      this.inflight = false;
      if (this.running) this.timer = setTimeout(() => void this.tick(), POLL_MS);
    }
  }

  private post(): void {
    if (!this.view) return;
    const now = Date.now();
    const { namespaces, selected } = chooseNamespace([...this.last.workloads, ...this.last.services], this.namespace, CONTROL_PLANE_NAMESPACE);
    const inNs = (rows: StatRow[]): StatRow[] => rows.filter((r) => r.namespace === selected);
    const sort = this.sort;
    const message: SnapshotMessage = {
      type: 'snapshot',
      namespace: selected,
      namespaces,
      sort,
      sections: [tableSection('service', inNs(this.last.services), sort, this.source.history, now), tableSection('workload', inNs(this.last.workloads), sort, this.source.history, now)],
      status: this.status,
      source: this.last.source,
      window: LIVE_WINDOW,
      updatedAt: clock(now),
    };
    void this.view.webview.postMessage(message);
  }

  dispose(): void {
    this.stop();
    for (const d of this.disposables) d.dispose();
  }
}
