/**
 * Messages between the extension and the metrics webviews (the sidebar view `weft.metrics` and the
 * service panel), imported by both sides. What the webviews send is checked by parseWebviewMessage:
 * a message of an unknown type or shape is refused with a reason (the host logs it once and ignores
 * it). Pure, no DOM and no Node APIs.
 */
import type { LineChart, Sparkline } from '../../extension/metrics/chart-model';

export type Health = 'ok' | 'degraded' | 'failing' | 'idle';
export type RowKind = 'workload' | 'service';
export const SORT_COLUMNS = ['name', 'success', 'rps', 'p50', 'p95', 'p99', 'tcp'] as const;
export type SortColumn = (typeof SORT_COLUMNS)[number];
export interface SortState {
  column: SortColumn;
  descending: boolean;
}

/** A status line: `ok` shows nothing, `waiting` and `error` one quiet inline message. */
export interface ViewStatus {
  level: 'ok' | 'waiting' | 'error';
  message?: string;
}

export interface TableRow {
  key: string;
  kind: RowKind;
  namespace: string;
  name: string;
  health: Health;
  /** "failing: 81.2% success" — the row's tooltip and accessible label. */
  title: string;
  meshed: string;
  success: string;
  rps: string;
  p50: string;
  p95: string;
  p99: string;
  tcp: string;
  spark: Sparkline;
}

export interface TableSection {
  kind: RowKind;
  title: string;
  rows: TableRow[];
  /** Shown instead of rows when there are none. */
  empty: string;
}

export interface SnapshotMessage {
  type: 'snapshot';
  namespace: string | undefined;
  namespaces: string[];
  sort: SortState;
  sections: TableSection[];
  status: ViewStatus;
  /** Where the numbers come from ("local mode · http://127.0.0.1:8085"). */
  source: string;
  /** The window the numbers cover ("30s"). */
  window: string;
  /** HH:MM:SS of the snapshot. */
  updatedAt: string;
}

export interface EdgeRow {
  peer: string;
  peerNamespace: string;
  /** The client's identity (inbound: the caller's; outbound: ours). */
  clientId: string;
  serverIds: string;
  mtls: 'yes' | 'no' | 'mixed';
  requests: string;
}

export interface SplitRow {
  workload: string;
  weight: number;
  /** Configured share, "90%". */
  weightShare: string;
  rps: string;
  /** Observed share of the backends' RPS, "88.7%" (or "–"). */
  observedShare: string;
  /** 0..100 for the bar. */
  observedPercent: number;
}

export interface PanelMessage {
  type: 'panel';
  kind: RowKind;
  namespace: string;
  name: string;
  health: Health;
  title: string;
  summary: { label: string; value: string }[];
  charts: LineChart[];
  inbound: EdgeRow[];
  outbound: EdgeRow[];
  /** The traffic split between backends, when one applies. */
  split: SplitRow[] | undefined;
  status: ViewStatus;
  source: string;
  updatedAt: string;
}

export type ExtensionMessage = SnapshotMessage | PanelMessage;

export type WebviewMessage =
  | { type: 'ready' }
  | { type: 'selectNamespace'; namespace: string }
  | { type: 'sort'; column: SortColumn }
  | { type: 'open'; kind: RowKind; namespace: string; name: string };

const isString = (v: unknown): v is string => typeof v === 'string' && v.length > 0 && v.length <= 253;

/** Checks a message from a webview; anything else is refused with the reason (to log once). */
export function parseWebviewMessage(raw: unknown): { ok: true; message: WebviewMessage } | { ok: false; reason: string } {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return { ok: false, reason: 'not an object' };
  const m = raw as Record<string, unknown>;
  const type = m['type'];
  switch (type) {
    case 'ready':
      return { ok: true, message: { type } };
    case 'selectNamespace':
      return isString(m['namespace']) ? { ok: true, message: { type, namespace: m['namespace'] } } : { ok: false, reason: 'selectNamespace without a namespace' };
    case 'sort': {
      const column = m['column'];
      return typeof column === 'string' && (SORT_COLUMNS as readonly string[]).includes(column)
        ? { ok: true, message: { type, column: column as SortColumn } }
        : { ok: false, reason: `sort by an unknown column ${JSON.stringify(column)}` };
    }
    case 'open': {
      const kind = m['kind'];
      if (kind !== 'workload' && kind !== 'service') return { ok: false, reason: `open of an unknown kind ${JSON.stringify(kind)}` };
      if (!isString(m['namespace']) || !isString(m['name'])) return { ok: false, reason: 'open without a namespace and a name' };
      return { ok: true, message: { type, kind, namespace: m['namespace'], name: m['name'] } };
    }
    default:
      return { ok: false, reason: `unknown message type ${JSON.stringify(type)?.slice(0, 60) ?? 'undefined'}` };
  }
}
