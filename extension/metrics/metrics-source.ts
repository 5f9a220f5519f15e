/**
 * The extension's one way to the metrics API for its views: resolves the endpoint, fetches stat and
 * edges, records every answer in the shared history, and turns failures into one quiet status
 * (logged once when it starts and once when it ends — no notification storm). When the API stops
 * answering, the endpoint is resolved afresh on the next poll, so it recovers by itself.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Edge, StatKind, StatRow } from '../../mesh/control/metrics-api/aggregate';
import { fetchEdges, fetchStat } from '../../mesh/control/metrics-api/client';
import type { ViewStatus } from '../../webviews/messages/metrics-messages';
import { backendsFromHttpRoutes, backendsFromRoutes, backendsOf, type HttpRouteLike } from './local-backends';
import type { MetricsEndpoint, MetricsEndpoints } from './metrics-endpoint';
import { MetricsHistory } from './metrics-history';
import type { Backend } from './service-panel-model';

/** The window of the live numbers: short enough to move, long enough to hold a few scrapes. */
export const LIVE_WINDOW = '30s';
export const POLL_MS = 2_000;
export const COALESCE_MS = 1_000;

export interface Log {
  info(message: string): void;
  warn(message: string): void;
}

export type Fetched<T> = { ok: true; value: T; endpoint: MetricsEndpoint } | { ok: false; status: ViewStatus };

export const NOT_ANSWERING = 'metrics API not answering — retrying';

export class MetricsSource {
  readonly history = new MetricsHistory();
  private failing: string | undefined;
  /** An endpoint answered at least once. */
  private announced = false;

  constructor(
    readonly endpoints: Pick<MetricsEndpoints, 'resolve' | 'reset'>,
    private readonly log: Log,
    private readonly now: () => number = Date.now,
    /** A cluster's HTTPRoutes of a namespace (for splits); none when not given or on failure. */
    private readonly httpRoutes?: (namespace: string) => Promise<HttpRouteLike[]>,
  ) {}

  /** Answers younger than COALESCE_MS are shared (the view, a panel and the CodeLens poll the same rows). */
  private readonly recent = new Map<string, { at: number; answer: Promise<Fetched<StatRow[]>> }>();

  /** Every row of one kind (all namespaces, or one), recorded in the history. */
  stat(kind: StatKind, namespace?: string): Promise<Fetched<StatRow[]>> {
    const key = `${kind}/${namespace ?? ''}`;
    const at = this.now();
    const hit = this.recent.get(key);
    if (hit && at - hit.at < COALESCE_MS) return hit.answer;
    const answer = this.fetchStat(kind, namespace);
    this.recent.set(key, { at, answer });
    return answer;
  }

  private async fetchStat(kind: StatKind, namespace?: string): Promise<Fetched<StatRow[]>> {
    const ep = await this.endpoint();
    if (!ep.ok) return ep;
    const r = await fetchStat(ep.value.url, { kind, namespace, window: LIVE_WINDOW });
    if (!r.ok) return this.failed(r.error);
    this.recovered(ep.value);
    this.history.record(r.body.rows, this.now());
    return { ok: true, value: r.body.rows, endpoint: ep.value };
  }

  async edges(namespace: string): Promise<Fetched<Edge[]>> {
    const ep = await this.endpoint();
    if (!ep.ok) return ep;
    const r = await fetchEdges(ep.value.url, { namespace, window: LIVE_WINDOW });
    if (!r.ok) return this.failed(r.error);
    return { ok: true, value: r.body.edges, endpoint: ep.value };
  }

  /** A service's weighted backends: in local mode, from the run's topology file, else its control plane's routes. */
  async backends(endpoint: MetricsEndpoint, service: string, namespace: string): Promise<Backend[]> {
    if (endpoint.mode === 'cluster') {
      const routes = this.httpRoutes ? await this.httpRoutes(namespace).catch(() => []) : [];
      return backendsFromHttpRoutes(routes, service, namespace);
    }
    if (endpoint.mode !== 'local') return [];
    const read = (path: string | undefined): Promise<string | undefined> => (path ? readFile(path, 'utf8').catch(() => undefined) : Promise.resolve(undefined));
    const topology = await read(endpoint.topologyFile);
    if (topology !== undefined) return backendsOf(topology, endpoint.topologyFile!, service, namespace);
    const routes = await read(endpoint.stateDir && join(endpoint.stateDir, 'mesh', 'control-plane', 'destinations.json'));
    return routes === undefined ? [] : backendsFromRoutes(routes, service, namespace);
  }

  private async endpoint(): Promise<Fetched<MetricsEndpoint>> {
    const r = await this.endpoints.resolve();
    if (r.ok) return { ok: true, value: r.endpoint, endpoint: r.endpoint };
    const message = `No metrics API: ${r.reason}. Next: ${r.hint}.`;
    // One that answered before and is gone now (restarting, stopped, port-forward broken) keeps the
    // quiet "retrying"; the reason goes to the log, once.
    if (this.announced && (this.failing === undefined || this.failing === NOT_ANSWERING)) {
      if (this.failing === undefined) this.log.warn(`${NOT_ANSWERING}: ${r.reason}`);
      this.failing = NOT_ANSWERING;
      return { ok: false, status: { level: 'error', message: NOT_ANSWERING } };
    }
    if (this.failing !== message) this.log.info(message);
    this.failing = message;
    return { ok: false, status: { level: 'waiting', message } };
  }

  private failed(error: string): Fetched<never> {
    this.endpoints.reset(); // look again next time: the local mesh may have restarted elsewhere
    if (this.failing !== NOT_ANSWERING) this.log.warn(`${NOT_ANSWERING}: ${error}`);
    this.failing = NOT_ANSWERING;
    return { ok: false, status: { level: 'error', message: NOT_ANSWERING } };
  }

  private recovered(ep: MetricsEndpoint): void {
    if (this.failing !== undefined || !this.announced) this.log.info(`metrics API answering at ${ep.url} (${ep.label})`);
    this.failing = undefined;
    this.announced = true;
  }
}
