/**
 * The shell every Kubernetes source of the control plane shares: a set of informers, a pure
 * function that turns what they hold into a model, and the bookkeeping around it — the first
 * model once every informer has listed (`synced`), bursts of events coalesced into one rebuild,
 * each warning logged once while it lasts, subscribers told of every new model.
 */
import { CoreV1Api, CustomObjectsApi, type KubeConfig, type KubernetesListObject, type KubernetesObject, type V1Namespace, type V1Pod } from '@kubernetes/client-node';
import { KubeInformer, type KubeInformerOptions } from './kube-informer';

/** What every Kubernetes source takes besides its own facts. */
export interface InformedModelOptions {
  kubeConfig: KubeConfig;
  /** Events within this window are applied as one rebuild (default 10 ms). */
  coalesceMs?: number;
  initialBackoffMs?: number;
  maxBackoffMs?: number;
  log?: (level: 'info' | 'warn', msg: string) => void;
}

export class InformedModel<I extends object, M> {
  /** Resolves when every informer has listed once and the first model is built. */
  readonly synced: Promise<void>;
  /** Model rebuilds so far (a burst of events makes one). */
  rebuilds = 0;
  private model: M;
  private readonly listeners = new Set<(m: M) => void>();
  private timer: NodeJS.Timeout | undefined;
  private ready = false;
  private warned = new Set<string>();

  constructor(
    readonly informers: I,
    private readonly build: (informers: I) => { model: M; warnings: string[] },
    initial: M,
    private readonly opts: Pick<InformedModelOptions, 'coalesceMs' | 'log'>,
  ) {
    this.model = initial;
    for (const inf of this.all()) inf.on(() => this.schedule());
    this.synced = Promise.all(this.all().map((i) => i.synced)).then(() => {
      this.ready = true;
      clearTimeout(this.timer);
      this.timer = undefined;
      this.rebuild();
    });
    this.synced.catch(() => undefined);
  }

  private all(): KubeInformer<KubernetesObject>[] {
    return Object.values(this.informers) as KubeInformer<KubernetesObject>[];
  }

  start(): void {
    for (const inf of this.all()) inf.start();
  }

  async stop(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    await Promise.all(this.all().map((i) => i.stop()));
  }

  current(): M {
    return this.model;
  }

  subscribe(listener: (model: M) => void): () => void {
    this.listeners.add(listener);
    return () => void this.listeners.delete(listener);
  }

  private schedule(): void {
    if (!this.ready || this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.rebuild();
    }, this.opts.coalesceMs ?? 10);
  }

  private rebuild(): void {
    const { model, warnings } = this.build(this.informers);
    this.rebuilds++;
    const now = new Set(warnings);
    for (const w of now) if (!this.warned.has(w)) this.opts.log?.('warn', w);
    this.warned = now;
    this.model = model;
    for (const l of [...this.listeners]) l(model);
  }
}

/** Lists a Gateway API / CRD collection across namespaces; a missing CRD (404) is an empty list (the watch retries until it exists). */
export function customList<T extends KubernetesObject>(custom: CustomObjectsApi, group: string, version: string, plural: string): () => Promise<KubernetesListObject<T>> {
  return async () => {
    try {
      return (await custom.listClusterCustomObject({ group, version, plural })) as KubernetesListObject<T>;
    } catch (e) {
      if ((e as { code?: number }).code === 404) return { apiVersion: `${group}/${version}`, kind: 'List', metadata: { resourceVersion: '' }, items: [] };
      throw e;
    }
  };
}

/**
 * Informers built the way every source builds them: one set of API clients, the source's back-off
 * and log on each; Pods, Namespaces and custom collections (CRDs, Gateway API) ready-made.
 */
export function informerKit(o: InformedModelOptions): {
  /** The options every informer of the source shares (spread into KubeInformer's). */
  common: Pick<KubeInformerOptions<KubernetesObject>, 'kubeConfig' | 'initialBackoffMs' | 'maxBackoffMs' | 'log'>;
  core: CoreV1Api;
  pods(): KubeInformer<V1Pod>;
  namespaces(): KubeInformer<V1Namespace>;
  custom<T extends KubernetesObject>(group: string, version: string, plural: string): KubeInformer<T>;
} {
  const kc = o.kubeConfig;
  const core = kc.makeApiClient(CoreV1Api);
  const custom = kc.makeApiClient(CustomObjectsApi);
  const common = { kubeConfig: kc, initialBackoffMs: o.initialBackoffMs, maxBackoffMs: o.maxBackoffMs, log: o.log };
  return {
    common,
    core,
    pods: () => new KubeInformer<V1Pod>({ ...common, name: 'pods', path: '/api/v1/pods', list: () => core.listPodForAllNamespaces() }),
    namespaces: () => new KubeInformer<V1Namespace>({ ...common, name: 'namespaces', path: '/api/v1/namespaces', list: () => core.listNamespace() }),
    custom: <T extends KubernetesObject>(group: string, version: string, plural: string) =>
      new KubeInformer<T>({ ...common, name: plural, path: `/apis/${group}/${version}/${plural}`, list: customList<T>(custom, group, version, plural) }),
  };
}
