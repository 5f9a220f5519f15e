/**
 * The metrics API's request parameters and response bodies, shared by the server, the CLI and the
 * extension. Parsing is pure and reports problems as messages (the server answers them with 400).
 */
import { DEFAULT_STAT_WINDOW_MS, MAX_STAT_WINDOW_MS, MIN_STAT_WINDOW_MS } from '../../config/metrics-api';
import { parseDuration } from '../../proxy/reliability/retry-policy';
import type { Edge, StatKind, StatQuery, StatRow } from './aggregate';

export interface StatResponse {
  kind: StatKind;
  namespace: string | null;
  windowMs: number;
  rows: StatRow[];
  /** Pods whose last scrape failed, with the reason. */
  scrapeErrors: { pod: string; error: string }[];
}

export interface EdgesResponse {
  namespace: string | null;
  windowMs: number;
  edges: Edge[];
  scrapeErrors: { pod: string; error: string }[];
}

export interface ErrorResponse {
  error: string;
}

const KINDS: Record<string, StatKind> = {
  workload: 'workload',
  workloads: 'workload',
  wl: 'workload',
  deploy: 'workload',
  deployment: 'workload',
  deployments: 'workload',
  service: 'service',
  services: 'service',
  svc: 'service',
};

/** `deploy`, `svc/web`, `workload` … → kind and optional name. */
export function parseStatKind(text: string): { ok: true; kind: StatKind; name?: string } | { ok: false; error: string } {
  const slash = text.indexOf('/');
  const kindText = (slash >= 0 ? text.slice(0, slash) : text).toLowerCase();
  const kind = KINDS[kindText];
  if (!kind) return { ok: false, error: `unknown resource kind "${kindText}"; expected workload (deploy) or service (svc)` };
  const name = slash >= 0 ? text.slice(slash + 1) : undefined;
  if (name === '') return { ok: false, error: `"${text}" has an empty name` };
  return name === undefined ? { ok: true, kind } : { ok: true, kind, name };
}

export function parseWindow(text: string | null): { ok: true; ms: number } | { ok: false; error: string } {
  if (text === null || text === '') return { ok: true, ms: DEFAULT_STAT_WINDOW_MS };
  const d = parseDuration(text);
  if (!d.ok) return { ok: false, error: `window: ${d.error}` };
  if (d.ms < MIN_STAT_WINDOW_MS) return { ok: false, error: `window: at least ${MIN_STAT_WINDOW_MS / 1000}s, got ${text}` };
  if (d.ms > MAX_STAT_WINDOW_MS) return { ok: false, error: `window: at most ${MAX_STAT_WINDOW_MS / 60_000}m (scrapes are kept that long), got ${text}` };
  return { ok: true, ms: d.ms };
}

/** `?namespace=&kind=workload|service&name=&window=1m`. */
export function parseStatParams(p: URLSearchParams): { ok: true; query: StatQuery; windowMs: number } | { ok: false; error: string } {
  const kind = parseStatKind(p.get('kind') || 'workload');
  if (!kind.ok) return kind;
  const w = parseWindow(p.get('window'));
  if (!w.ok) return w;
  const query: StatQuery = { kind: kind.kind };
  const namespace = p.get('namespace');
  if (namespace) query.namespace = namespace;
  const name = p.get('name') || kind.name;
  if (name) query.name = name;
  return { ok: true, query, windowMs: w.ms };
}
