/**
 * A small informer over @kubernetes/client-node 1.4.0's ListWatch: a cache of one resource type
 * kept in step with the API server, with the semantics the control plane relies on.
 *
 * - Initial list, then a watch from the list's resourceVersion (ListWatch).
 * - Bookmarks: every watch asks for them (`allowWatchBookmarks`), so the resourceVersion advances
 *   even when nothing of this type changes and a re-watch after a quiet spell does not meet 410.
 * - 410 Gone (an ERROR event or an HTTP 410): ListWatch forgets its version and relists; the relist
 *   is diffed against the cache, so objects deleted meanwhile are reported as `delete`.
 * - API unreachable or a failed list/watch: ListWatch stops on errors; this layer restarts it with
 *   jittered exponential back-off (the cache, i.e. the last-known state, is kept meanwhile). A
 *   server that keeps ending watches at once is also backed off.
 * - `synced` resolves once the first list has been applied (all its `add` events delivered).
 * - Typed `add` / `update` / `delete` events; objects are plain API JSON.
 *
 * Usage:
 *   const pods = new KubeInformer<V1Pod>({ kubeConfig, path: '/api/v1/pods', list: () => core.listPodForAllNamespaces() });
 *   pods.on((e) => …); pods.start(); await pods.synced; … pods.list(); await pods.stop();
 */
import { ListWatch, Watch, type KubeConfig, type KubernetesListObject, type KubernetesObject } from '@kubernetes/client-node';

export type InformerEventType = 'add' | 'update' | 'delete';
export interface InformerEvent<T> {
  type: InformerEventType;
  object: T;
}

export interface KubeInformerOptions<T extends KubernetesObject> {
  kubeConfig: KubeConfig;
  /** The collection's path, e.g. `/api/v1/pods` or `/apis/gateway.networking.k8s.io/v1/httproutes`. */
  path: string;
  /** Lists the collection (the same path), e.g. `() => core.listPodForAllNamespaces()`. */
  list: () => Promise<KubernetesListObject<T>>;
  labelSelector?: string;
  fieldSelector?: string;
  /** First retry delay after an error (default 250 ms); doubles up to `maxBackoffMs` (default 30 s). */
  initialBackoffMs?: number;
  maxBackoffMs?: number;
  /** Asks the server to end each watch after this long (default 300 s, with a bookmark first). */
  watchTimeoutSeconds?: number;
  /** A short name for messages (default: the path). */
  name?: string;
  log?: (level: 'info' | 'warn', msg: string) => void;
}

export interface InformerStats {
  /** Successful lists (1 after the initial sync; more after 410s). */
  lists: number;
  /** Watches started. */
  watches: number;
  bookmarks: number;
  /** 410 Gone answers (each leads to a relist). */
  gone: number;
  /** Failed lists or watches (each leads to a retry after back-off). */
  errors: number;
}

/** The retry delay for the n-th consecutive failure (0-based): exponential with ±20 % jitter. */
export function backoffDelay(attempt: number, initialMs: number, maxMs: number, random: () => number = Math.random): number {
  const base = Math.min(maxMs, initialMs * 2 ** Math.min(attempt, 30));
  return Math.round(base * (0.8 + 0.4 * random()));
}

function describeError(err: unknown): string {
  const e = err as { message?: string; code?: string | number; statusCode?: number; cause?: { code?: string } } | undefined;
  if (!e) return 'unknown error';
  const code = e.statusCode ?? e.code ?? e.cause?.code;
  const msg = e.message ?? String(err);
  return code !== undefined && !msg.includes(String(code)) ? `${code}: ${msg}` : msg;
}

export class KubeInformer<T extends KubernetesObject> {
  readonly synced: Promise<void>;
  readonly stats: InformerStats = { lists: 0, watches: 0, bookmarks: 0, gone: 0, errors: 0 };
  private readonly lw: ListWatch<T>;
  private readonly listeners = new Set<(e: InformerEvent<T>) => void>();
  private readonly name: string;
  private resolveSynced!: () => void;
  private rejectSynced!: (e: Error) => void;
  private isSynced = false;
  private stopped = true;
  private failures = 0;
  private retryTimer: NodeJS.Timeout | undefined;
  private lastError: string | undefined;
  private quickEnds = 0;
  private readonly openWatches = new Set<AbortController>();

  constructor(private readonly o: KubeInformerOptions<T>) {
    this.name = o.name ?? o.path;
    this.synced = new Promise<void>((resolve, reject) => {
      this.resolveSynced = resolve;
      this.rejectSynced = reject;
    });
    this.synced.catch(() => undefined); // a stop before sync is not an unhandled rejection
    const list = async (): Promise<KubernetesListObject<T>> => {
      const l = await o.list();
      this.stats.lists++;
      this.succeeded();
      return l;
    };
    this.lw = new ListWatch<T>(o.path, this.watchWrapper(), list, false, o.labelSelector, o.fieldSelector);
    const emit = (type: InformerEventType) => (object: T) => {
      for (const l of [...this.listeners]) l({ type, object });
    };
    this.lw.on('add', emit('add'));
    this.lw.on('update', emit('update'));
    this.lw.on('delete', emit('delete'));
    this.lw.on('error', (err?: unknown) => this.failed(err));
  }

  /**
   * A Watch that asks for bookmarks and a server-side timeout, counts what happens, marks the
   * informer synced (ListWatch calls it right after applying a list) and backs off a server that
   * ends watches at once.
   */
  private watchWrapper(): Watch {
    const real = new Watch(this.o.kubeConfig);
    const wrapper = Object.create(real) as Watch;
    wrapper.watch = async (path, params, callback, done) => {
      if (!this.isSynced && !this.stopped) {
        this.isSynced = true;
        this.resolveSynced();
      }
      if (this.quickEnds >= 3) {
        await new Promise((r) => setTimeout(r, backoffDelay(this.quickEnds - 3, this.o.initialBackoffMs ?? 250, this.o.maxBackoffMs ?? 30_000)));
      }
      if (this.stopped) {
        const c = new AbortController();
        c.abort();
        return c;
      }
      this.stats.watches++;
      const started = Date.now();
      let events = 0;
      let ended = (): unknown => undefined;
      const controller = await real.watch(
        path,
        { ...params, allowWatchBookmarks: true, timeoutSeconds: this.o.watchTimeoutSeconds ?? 300 },
        (phase: string, obj: unknown, raw?: unknown) => {
          events++;
          if (phase === 'BOOKMARK') this.stats.bookmarks++;
          else if (phase === 'ERROR') {
            if ((obj as { code?: number } | undefined)?.code === 410) {
              this.stats.gone++;
              this.o.log?.('info', `${this.name}: watch expired (410 Gone), relisting`);
            }
          } else this.succeeded();
          callback(phase, obj, raw);
        },
        (err: unknown) => {
          const code = (err as { statusCode?: number; code?: number } | null)?.statusCode;
          if (code === 410) {
            this.stats.gone++;
            this.o.log?.('info', `${this.name}: watch expired (410 Gone), relisting`);
          }
          // A watch that ended by itself at once, with nothing in it, more than a few times in a row.
          if (!err && events === 0 && Date.now() - started < 1000) this.quickEnds++;
          else this.quickEnds = 0;
          ended();
          done(err);
        },
      );
      // Every open watch is aborted by stop(), not just the one ListWatch remembers: a watch opened
      // while stop() ran, or one left behind when a retry restarted ListWatch, would otherwise keep
      // the process alive until its server-side timeout.
      this.openWatches.add(controller);
      ended = () => this.openWatches.delete(controller);
      if (this.stopped) controller.abort();
      return controller;
    };
    return wrapper;
  }

  private succeeded(): void {
    if (this.failures > 0) this.o.log?.('info', `${this.name}: connected again after ${this.failures} failed attempt(s)`);
    this.failures = 0;
    this.lastError = undefined;
  }

  private failed(err: unknown): void {
    if (this.stopped) return; // aborting the watch on stop() reports an AbortError
    this.stats.errors++;
    const delay = backoffDelay(this.failures, this.o.initialBackoffMs ?? 250, this.o.maxBackoffMs ?? 30_000);
    const text = describeError(err);
    if (this.failures === 0 || text !== this.lastError) {
      this.o.log?.('warn', `${this.name}: ${text}; keeping the last-known state, retrying in ${delay} ms`);
    }
    this.lastError = text;
    this.failures++;
    clearTimeout(this.retryTimer);
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      if (!this.stopped) void this.lw.start();
    }, delay);
  }

  /** Starts listing and watching (idempotent). Errors are retried, never thrown. */
  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    void this.lw.start();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    if (!this.isSynced) this.rejectSynced(new Error(`${this.name}: informer stopped before its first list`));
    await this.lw.stop();
    for (const c of this.openWatches) c.abort();
    this.openWatches.clear();
  }

  /** Subscribes to add/update/delete; returns the unsubscribe function. */
  on(listener: (e: InformerEvent<T>) => void): () => void {
    this.listeners.add(listener);
    return () => void this.listeners.delete(listener);
  }

  /** The cached objects (all namespaces, or one). */
  list(namespace?: string): readonly T[] {
    return this.lw.list(namespace);
  }

  get(name: string, namespace?: string): T | undefined {
    return this.lw.get(name, namespace);
  }

  /** The last resourceVersion seen (list, event or bookmark). */
  resourceVersion(): string {
    return this.lw.latestResourceVersion();
  }

  get hasSynced(): boolean {
    return this.isSynced;
  }

  /** Consecutive failures right now (0 when connected). */
  get failing(): number {
    return this.failures;
  }
}
