/**
 * The explorer's controller (loaded on first use, not at activation): owns the cluster connection
 * (watches), the local mesh reader (state.json, re-read when it changes) and the metrics poller
 * (workload success rate and RPS every few seconds while the view is visible), feeds them to the
 * pure explorer model and hands the resulting nodes to the tree view. Background failures are said
 * once per cause (NotifyOnce) and recover by themselves.
 */
import * as vscode from 'vscode';
import { fetchStat } from '../../mesh/control/metrics-api/client';
import { ClusterConnection } from '../kube/cluster-connection';
import { NotifyOnce } from '../notify/notify-once';
import { explorerDescription, explorerRoots, explorerState, type ClusterInput, type ExplorerInput, type ExplorerNode, type ExplorerState, type LocalInput, type WorkloadStats } from './explorer-model';
import { readLocalMesh } from './local-mesh-source';

/** Resolves the metrics API of the connected cluster (a port-forward), or undefined when there is none. */
export type ClusterMetricsEndpoint = (connection: ClusterConnection) => Promise<string | undefined>;

const STATS_INTERVAL_MS = 5_000;
const CLUSTER_METRICS_RETRY_MS = 30_000;
const CONTEXT_STATE_KEY = 'weft.context';

export interface ExplorerHost {
  treeView: vscode.TreeView<unknown>;
  /** Fires when roots() changed. */
  changed: vscode.EventEmitter<void>;
}

export class Explorer implements vscode.Disposable {
  readonly connection: ClusterConnection;
  readonly output: vscode.OutputChannel;
  readonly notifier = new NotifyOnce();
  private local: LocalInput | undefined;
  private clusterStats = new Map<string, WorkloadStats>();
  private localStats = new Map<string, WorkloadStats>();
  private currentRoots: ExplorerNode[] = [];
  private lastState: ExplorerState | undefined;
  private statsTimer: ReturnType<typeof setInterval> | undefined;
  private readonly disposables: vscode.Disposable[] = [];
  private started = false;
  private clusterMetricsRetryAt = 0;
  clusterMetrics: ClusterMetricsEndpoint | undefined;

  constructor(
    readonly context: vscode.ExtensionContext,
    private readonly host: ExplorerHost,
  ) {
    this.output = vscode.window.createOutputChannel('Weft');
    const saved = context.workspaceState.get<string>(CONTEXT_STATE_KEY);
    this.connection = new ClusterConnection({ ...(saved ? { context: saved } : {}), log: (l) => this.output.appendLine(l) });
    this.disposables.push(this.output, { dispose: () => void this.connection.dispose() });
    this.connection.onChange((s) => this.onCluster(s));
    // The cluster's metrics API through the port-forward the metrics views share (extension/metrics).
    this.clusterMetrics = async (conn) => (await import('../metrics/shared-endpoints')).clusterMetricsUrl(conn.context);
    this.disposables.push(
      host.treeView.onDidChangeVisibility((e) => {
        if (e.visible) {
          this.connection.resume();
          this.startStats();
        } else {
          this.connection.pause();
          this.stopStats();
        }
      }),
    );
  }

  /** Starts watching (first time the tree asks for its roots, or a command needs the cluster). */
  start(): void {
    if (this.started) return;
    this.started = true;
    const saved = this.connection.context;
    if (saved) void import('../metrics/shared-endpoints').then((m) => m.setMetricsConnection({ prefer: 'cluster', context: saved }));
    void this.connection.connect();
    void this.reloadLocal();
    this.watchLocalState();
    if (this.host.treeView.visible) this.startStats();
    this.render();
  }

  roots(): ExplorerNode[] {
    this.start();
    return this.currentRoots;
  }

  get workspaceFolder(): string | undefined {
    return vscode.workspace.workspaceFolders?.[0]?.uri.fsPath;
  }

  get localMesh(): LocalInput | undefined {
    return this.local;
  }

  /** Refresh: reconnect, re-read the local state, fetch stats now. */
  async refresh(): Promise<void> {
    this.start();
    this.clusterMetricsRetryAt = 0;
    await Promise.all([this.connection.connect(), this.reloadLocal()]);
    await this.pollStats();
  }

  async switchContext(name: string): Promise<void> {
    await this.context.workspaceState.update(CONTEXT_STATE_KEY, name);
    (await import('../metrics/shared-endpoints')).setMetricsConnection({ prefer: 'cluster', context: name });
    this.notifier.resolvePrefix('cluster:');
    this.clusterStats.clear();
    this.clusterMetricsRetryAt = 0;
    await this.connection.switchContext(name);
  }

  /** The cluster snapshot once connected (starting the connection if needed); waits up to timeoutMs. */
  async connected(timeoutMs = 10_000): Promise<ClusterInput> {
    this.start();
    const deadline = Date.now() + timeoutMs;
    while (this.connection.snapshot.state === 'connecting' || (this.connection.snapshot.state === 'connected' && !this.connection.snapshot.synced)) {
      if (Date.now() > deadline) break;
      await new Promise((ok) => setTimeout(ok, 100));
    }
    return this.connection.snapshot;
  }

  async reloadLocal(): Promise<void> {
    const next = await readLocalMesh(this.workspaceFolder);
    if (JSON.stringify(next) !== JSON.stringify(this.local)) {
      this.local = next;
      if (!next) this.localStats.clear();
      this.render();
    }
  }

  /** Opens the Weft output channel, where the current cluster failure was logged once (welcome view's "Show Details"). */
  showDetails(): void {
    this.output.show(true);
  }

  dispose(): void {
    this.stopStats();
    for (const d of this.disposables) d.dispose();
  }

  private onCluster(s: ClusterInput): void {
    if (s.state === 'failed' && s.error) {
      // Said once per cause; the tree (message + welcome view) keeps showing it meanwhile.
      const key = `cluster:${s.context ?? ''}:${s.error.kind}`;
      if (this.notifier.report(key, s.error.message)) {
        this.output.appendLine(`cluster ${s.context ?? ''}: ${s.error.message}\n  next step: ${s.error.hint}`);
        // A toast only when a working cluster goes away; at start the welcome view says it.
        if (this.lastState === 'connected') void vscode.window.showWarningMessage(`Weft lost the cluster: ${s.error.message}. Next step: ${s.error.hint}`);
      }
    }
    if (s.state === 'connected' && s.synced && this.notifier.resolvePrefix('cluster:') > 0) this.output.appendLine(`cluster ${s.context ?? ''}: connected again`);
    this.render();
  }

  private render(): void {
    const input: ExplorerInput = { cluster: this.started ? this.connection.snapshot : undefined, local: this.local, clusterStats: this.clusterStats, localStats: this.localStats };
    this.currentRoots = explorerRoots(input);
    this.host.treeView.description = explorerDescription(input);
    const state = explorerState(input);
    if (state !== this.lastState) {
      this.lastState = state;
      void vscode.commands.executeCommand('setContext', 'weft.explorer.state', state);
    }
    this.host.changed.fire();
  }

  private watchLocalState(): void {
    const folder = vscode.workspace.workspaceFolders?.[0];
    if (!folder) return;
    const watcher = vscode.workspace.createFileSystemWatcher(new vscode.RelativePattern(folder, '.weft/local/state.json'));
    const reload = (): void => void this.reloadLocal();
    watcher.onDidCreate(reload);
    watcher.onDidChange(reload);
    watcher.onDidDelete(reload);
    this.disposables.push(watcher);
  }

  private startStats(): void {
    if (!this.started || this.statsTimer !== undefined) return;
    void this.pollStats();
    this.statsTimer = setInterval(() => void this.pollStats(), STATS_INTERVAL_MS);
  }

  private stopStats(): void {
    clearInterval(this.statsTimer);
    this.statsTimer = undefined;
  }

  private async pollStats(): Promise<void> {
    await this.reloadLocal(); // liveness of local processes changes without the file changing
    const jobs: Promise<boolean>[] = [];
    if (this.local?.metricsApi) jobs.push(this.fetchInto(this.local.metricsApi, this.localStats, 'local'));
    // A cluster without a metrics API (mesh not installed) is asked again every 30 s, not every poll.
    if (this.connection.snapshot.state === 'connected' && this.clusterMetrics && Date.now() >= this.clusterMetricsRetryAt) {
      const url = await this.clusterMetrics(this.connection).catch(() => undefined);
      if (url) jobs.push(this.fetchInto(url, this.clusterStats, 'cluster'));
      else this.clusterMetricsRetryAt = Date.now() + CLUSTER_METRICS_RETRY_MS;
    }
    if ((await Promise.all(jobs)).some(Boolean)) this.render();
  }

  /** Fills `into` from the metrics API; true when something changed. */
  private async fetchInto(url: string, into: Map<string, WorkloadStats>, which: string): Promise<boolean> {
    const res = await fetchStat(url, { kind: 'workload' }, 3_000);
    const key = `metrics:${which}`;
    if (!res.ok) {
      if (this.notifier.report(key, res.error)) this.output.appendLine(`metrics (${which}): ${res.error}`);
      const had = into.size > 0;
      into.clear();
      return had;
    }
    this.notifier.resolve(key);
    const before = JSON.stringify([...into]);
    into.clear();
    for (const r of res.body.rows) into.set(`${r.namespace}/${r.name}`, { successRate: r.successRate, rps: r.rps, p99Ms: r.p99Ms });
    return JSON.stringify([...into]) !== before;
  }
}
