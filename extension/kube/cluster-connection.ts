/**
 * The explorer's link to a cluster: loads the kubeconfig (mesh/platform/kube-client, which turns
 * every failure into a message and a next step), then keeps three client-node informers
 * (namespaces, deployments, pods; all namespaces) and reports their contents as one snapshot.
 * No polling: changes arrive by watch. When a watch fails (API server gone, kubeconfig gone bad)
 * the connection reconnects with backoff and reports `failed` with the cause until it succeeds.
 * No `vscode` here: the tree view adapter listens to onChange.
 */
import {
  PatchStrategy,
  makeInformer,
  setHeaderOptions,
  type Informer,
  type KubernetesObject,
  type ObjectCache,
  type V1Deployment,
  type V1Namespace,
  type V1Pod,
} from '@kubernetes/client-node';
import { describeProbeFailure, loadKubeClient, type KubeClient, type LoadKubeClientOptions } from '../../mesh/platform/kube-client';
import type { ClusterInput } from '../explorer/explorer-model';

type Watched<T extends KubernetesObject> = Informer<T> & ObjectCache<T>;

export interface ClusterConnectionOptions {
  /** A context other than the kubeconfig's current one. */
  context?: string;
  env?: Record<string, string | undefined>;
  /** First retry delay after a failure (doubles up to maxRetryMs). */
  retryMs?: number;
  maxRetryMs?: number;
  /** How long the reachability probe may take. */
  probeTimeoutMs?: number;
  log?: (line: string) => void;
}

export const MERGE_PATCH = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);

export class ClusterConnection {
  private current: ClusterInput = { state: 'connecting', synced: false, namespaces: [], deployments: [], pods: [] };
  private kube: KubeClient | undefined;
  private informers: Watched<KubernetesObject>[] = [];
  private listeners = new Set<(s: ClusterInput) => void>();
  private retryTimer: ReturnType<typeof setTimeout> | undefined;
  private notifyTimer: ReturnType<typeof setTimeout> | undefined;
  private retryDelay: number;
  private generation = 0;
  private disposed = false;
  private paused = false;

  constructor(private readonly opts: ClusterConnectionOptions = {}) {
    this.retryDelay = opts.retryMs ?? 2_000;
    this.current.context = opts.context;
  }

  get snapshot(): ClusterInput {
    return this.current;
  }

  get client(): KubeClient | undefined {
    return this.kube;
  }

  get context(): string | undefined {
    return this.current.context;
  }

  onChange(fn: (s: ClusterInput) => void): { dispose(): void } {
    this.listeners.add(fn);
    return { dispose: () => this.listeners.delete(fn) };
  }

  /** (Re)connects now: drops the watches, reloads the kubeconfig, probes the server, watches again. */
  async connect(): Promise<void> {
    const gen = ++this.generation;
    clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    await this.stopInformers();
    if (gen !== this.generation || this.disposed) return;
    this.set({ ...this.current, state: 'connecting', error: undefined });
    const loaded = await loadKubeClient(this.loadOptions());
    if (gen !== this.generation || this.disposed) return;
    if (!loaded.ok) {
      this.kube = undefined;
      this.set({ state: 'failed', context: this.opts.context ?? this.current.context, error: loaded.error, synced: false, namespaces: [], deployments: [], pods: [] });
      this.scheduleRetry(gen);
      return;
    }
    const k = loaded.client;
    this.kube = k;
    const kc = k.kubeConfig;
    const ns = makeInformer<V1Namespace>(kc, '/api/v1/namespaces', () => k.core.listNamespace());
    const deps = makeInformer<V1Deployment>(kc, '/apis/apps/v1/deployments', () => k.apps.listDeploymentForAllNamespaces());
    const pods = makeInformer<V1Pod>(kc, '/api/v1/pods', () => k.core.listPodForAllNamespaces());
    const all = [ns, deps, pods] as unknown as Watched<KubernetesObject>[]; // one list for start/stop; the element types differ only in T
    this.informers = all;
    const changed = (): void => {
      if (gen !== this.generation) return;
      this.scheduleNotify(() => ({ ...this.current, namespaces: ns.list(), deployments: deps.list(), pods: pods.list() }));
    };
    for (const inf of all) {
      for (const verb of ['add', 'update', 'delete'] as const) inf.on(verb, changed);
      inf.on('error', (err?: unknown) => {
        if (gen !== this.generation || this.disposed) return;
        this.opts.log?.(`watch failed: ${(err as Error | undefined)?.message ?? String(err)}`);
        // Keep what was seen until the reconnect tells more; the probe decides between "unreachable" and "bad kubeconfig".
        this.scheduleRetry(gen, true);
      });
    }
    this.set({ state: 'connected', context: k.context, server: k.server, serverVersion: k.serverVersion, synced: false, namespaces: [], deployments: [], pods: [] });
    try {
      await Promise.all(all.map((i) => i.start()));
    } catch (err) {
      if (gen !== this.generation || this.disposed) return;
      this.set({ state: 'failed', context: k.context, server: k.server, error: describeProbeFailure(err, k.server, k.context), synced: false, namespaces: [], deployments: [], pods: [] });
      await this.stopInformers();
      this.scheduleRetry(gen);
      return;
    }
    if (gen !== this.generation || this.disposed) return;
    this.retryDelay = this.opts.retryMs ?? 2_000;
    this.set({ ...this.current, synced: true, namespaces: ns.list(), deployments: deps.list(), pods: pods.list() });
  }

  /** Uses another context from now on (Switch Context). */
  async switchContext(context: string): Promise<void> {
    this.opts.context = context;
    this.current = { ...this.current, context };
    await this.connect();
  }

  /** While paused (view hidden) failures are not retried; resume() reconnects when needed. */
  pause(): void {
    this.paused = true;
  }

  resume(): void {
    this.paused = false;
    if (this.current.state === 'failed' && this.retryTimer === undefined) void this.connect();
  }

  async dispose(): Promise<void> {
    this.disposed = true;
    this.generation++;
    clearTimeout(this.retryTimer);
    clearTimeout(this.notifyTimer);
    this.listeners.clear();
    await this.stopInformers();
  }

  private loadOptions(): LoadKubeClientOptions {
    const o: LoadKubeClientOptions = { checkReachable: true, timeoutMs: this.opts.probeTimeoutMs ?? 4_000 };
    if (this.opts.context) o.context = this.opts.context;
    if (this.opts.env) o.env = this.opts.env;
    return o;
  }

  private scheduleRetry(gen: number, soon = false): void {
    if (this.disposed || gen !== this.generation || this.retryTimer !== undefined) return;
    if (this.paused && !soon) return;
    const delay = soon ? Math.min(this.retryDelay, 1_000) : this.retryDelay;
    this.retryDelay = Math.min(this.retryDelay * 2, this.opts.maxRetryMs ?? 30_000);
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      if (!this.disposed && gen === this.generation) void this.connect();
    }, delay);
    this.retryTimer.unref?.();
  }

  /** Watch events come in bursts (a relist, a rollout): one change notice per 100 ms. */
  private scheduleNotify(next: () => ClusterInput): void {
    if (this.notifyTimer !== undefined) return;
    this.notifyTimer = setTimeout(() => {
      this.notifyTimer = undefined;
      if (!this.disposed && this.current.state === 'connected') this.set(next());
    }, 100);
  }

  private set(s: ClusterInput): void {
    this.current = s;
    for (const fn of this.listeners) fn(s);
  }

  private async stopInformers(): Promise<void> {
    const old = this.informers;
    this.informers = [];
    await Promise.all(old.map((i) => i.stop().catch(() => undefined)));
  }
}
