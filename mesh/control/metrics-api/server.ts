/**
 * The metrics API server: scrapes the proxies of the inventory every few seconds (or, given a
 * Prometheus URL, asks that Prometheus instead: prometheus-source.ts) and answers
 * JSON: GET /api/v1/stat?namespace=&kind=workload|service&name=&window=1m, GET /api/v1/edges?namespace=&window=,
 * GET /healthz. Every error is JSON `{ "error": message }`. Thin: the numbers come from aggregate.ts.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { CONTROL_PLANE_PORTS } from '../../config/ports';
import { DEFAULT_SCRAPE_INTERVAL_MS, MAX_STAT_WINDOW_MS, METRICS_API_PATHS } from '../../config/metrics-api';
import { edges, podKey, statRows, type ScrapeTarget } from './aggregate';
import { parseStatParams, parseWindow, type EdgesResponse, type ErrorResponse, type StatResponse } from './api-query';
import { queryPrometheusWindows } from './prometheus-source';
import { ScrapeRing, type WindowIncrease } from './scrape-window';
import { Scraper } from './scraper';

export interface MetricsApiOptions {
  host?: string;
  /** Default CONTROL_PLANE_PORTS.metricsApi; 0 picks a free port. */
  port?: number;
  /** The inventory, asked at every scrape and every request. */
  targets: () => readonly ScrapeTarget[];
  scrapeIntervalMs?: number;
  scrapeTimeoutMs?: number;
  /** false: no periodic scrapes (the caller calls scrapeNow). Default true. */
  autoScrape?: boolean;
  /** Clock in ms (tests); default Date.now. */
  now?: () => number;
  /** Ask this Prometheus (which scrapes the proxies) instead of scraping them here. */
  prometheusUrl?: string;
}

export interface MetricsApi {
  url: string;
  port: number;
  /** Scrapes every proxy once now. */
  scrapeNow(): Promise<void>;
  close(): Promise<void>;
}

export async function startMetricsApi(opts: MetricsApiOptions): Promise<MetricsApi> {
  const now = opts.now ?? Date.now;
  const ring = new ScrapeRing(MAX_STAT_WINDOW_MS);
  const scraper = new Scraper({ ring, now, timeoutMs: opts.scrapeTimeoutMs });
  const scrapeNow = (): Promise<void> => scraper.scrapeAll(opts.targets());

  const windows = async (targets: readonly ScrapeTarget[], windowMs: number): Promise<Map<string, WindowIncrease | undefined>> => {
    if (opts.prometheusUrl) return queryPrometheusWindows(opts.prometheusUrl, targets, windowMs);
    const t = now();
    return new Map(targets.map((x) => [podKey(x), ring.window(podKey(x), t, windowMs)]));
  };
  const scrapeErrors = (): { pod: string; error: string }[] => [...scraper.errors].map(([pod, error]) => ({ pod, error }));

  const send = (res: http.ServerResponse, status: number, body: StatResponse | EdgesResponse | ErrorResponse | { ok: true }): void => {
    const text = JSON.stringify(body);
    res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text) });
    res.end(text);
  };

  const handle = async (req: http.IncomingMessage, res: http.ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? '/', 'http://metrics-api');
    const route = Object.values(METRICS_API_PATHS).find((p) => p === url.pathname);
    if (!route) return send(res, 404, { error: `no such endpoint ${url.pathname}; try ${METRICS_API_PATHS.stat} or ${METRICS_API_PATHS.edges}` });
    if (req.method !== 'GET') return send(res, 405, { error: `${req.method} is not allowed; use GET` });
    try {
      if (route === METRICS_API_PATHS.health) return send(res, 200, { ok: true });
      const targets = opts.targets();
      const namespace = url.searchParams.get('namespace') || null;
      if (route === METRICS_API_PATHS.stat) {
        const p = parseStatParams(url.searchParams);
        if (!p.ok) return send(res, 400, { error: p.error });
        const rows = statRows(targets, await windows(targets, p.windowMs), p.query);
        return send(res, 200, { kind: p.query.kind, namespace, windowMs: p.windowMs, rows, scrapeErrors: scrapeErrors() });
      }
      const w = parseWindow(url.searchParams.get('window'));
      if (!w.ok) return send(res, 400, { error: w.error });
      const list = edges(targets, await windows(targets, w.ms), namespace ?? undefined);
      return send(res, 200, { namespace, windowMs: w.ms, edges: list, scrapeErrors: scrapeErrors() });
    } catch (err) {
      return send(res, opts.prometheusUrl ? 502 : 500, { error: err instanceof Error ? err.message : String(err) });
    }
  };
  const server = http.createServer((req, res) => void handle(req, res));

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? CONTROL_PLANE_PORTS.metricsApi, opts.host ?? '127.0.0.1', () => {
      server.removeListener('error', reject);
      resolve();
    });
  });
  const addr = server.address() as AddressInfo;

  let timer: NodeJS.Timeout | undefined;
  let closed = false;
  let inFlight: Promise<void> = Promise.resolve();
  if (opts.autoScrape !== false && !opts.prometheusUrl) {
    const tick = (): void => {
      inFlight = scrapeNow().finally(() => {
        if (!closed) timer = setTimeout(tick, opts.scrapeIntervalMs ?? DEFAULT_SCRAPE_INTERVAL_MS);
      });
    };
    tick();
  }

  const host = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
  return {
    url: `http://${host}:${addr.port}`,
    port: addr.port,
    scrapeNow,
    close: async () => {
      closed = true;
      if (timer) clearTimeout(timer);
      await inFlight.catch(() => undefined);
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
}
