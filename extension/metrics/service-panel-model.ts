/**
 * What the service panel shows: golden-metric charts over the last minutes (from the extension's
 * history), inbound and outbound edges with their mTLS identities, and the traffic split between a
 * service's backends with each backend workload's observed RPS. Pure.
 */
import type { Edge, StatRow } from '../../mesh/control/metrics-api/aggregate';
import { formatLatency, formatPercent, formatRps } from '../../mesh/metrics-view/golden-table';
import type { EdgeRow, PanelMessage, RowKind, SplitRow, ViewStatus } from '../../webviews/messages/metrics-messages';
import { lineChart, type LineChart } from './chart-model';
import type { Sample } from './metrics-history';
import { adaptiveSpan, healthOf, healthTitle } from './metrics-table-model';

export const PANEL_SPAN_MS = 5 * 60_000;

export interface PanelTarget {
  kind: RowKind;
  namespace: string;
  name: string;
}

const WORKLOAD_KINDS = new Set(['workload', 'deployment', 'statefulset', 'daemonset', 'replicaset', 'localworkload']);

/**
 * The command's argument: `{ namespace, name, kind }` from the metrics view, a CodeLens or the
 * explorer (kind `workload`/`service`, or a manifest kind: Deployment, StatefulSet, DaemonSet,
 * LocalWorkload → workload; Service or none → service); anything else: undefined (a quick pick).
 */
export function targetFromArgument(arg: unknown): PanelTarget | undefined {
  if (typeof arg !== 'object' || arg === null) return undefined;
  const a = arg as Record<string, unknown>;
  const kindText = typeof a['kind'] === 'string' ? a['kind'].toLowerCase() : 'service';
  const kind: RowKind = WORKLOAD_KINDS.has(kindText) ? 'workload' : 'service';
  const ns = a['namespace'];
  const name = a['name'];
  return typeof ns === 'string' && typeof name === 'string' && ns !== '' && name !== '' ? { kind, namespace: ns, name } : undefined;
}

/** The success chart's floor: 90 % while every value is above, else the tenth below the lowest (never below 0). */
export function successAxisMin(values: readonly number[]): number {
  const lowest = Math.min(1, ...values);
  if (lowest >= 0.9) return 0.9;
  return Math.max(0, Math.floor(lowest * 10) / 10);
}

/**
 * Success rate, RPS, and latency p50/p95/p99, from the first sample (at least 1 minute back) to
 * now, at most `maxSpanMs`. The success axis zooms in on where the values are (90–100 % usually).
 */
export function panelCharts(samples: readonly Sample[], now: number, maxSpanMs = PANEL_SPAN_MS): LineChart[] {
  const pts = (f: (s: Sample) => number | undefined) => samples.map((s) => ({ t: s.t, v: s.hasData ? f(s) : undefined }));
  const spanMs = adaptiveSpan(samples, now, 60_000, maxSpanMs, 60_000);
  const rates = samples.filter((s) => s.hasData && s.successRate !== undefined && s.t >= now - spanMs).map((s) => s.successRate!);
  const yMin = successAxisMin(rates);
  const pct = (v: number): string => `${Math.round(v * 1000) / 10}%`;
  return [
    lineChart([{ name: 'success', color: 'var(--weft-green)', points: pts((s) => s.successRate) }], { title: 'Success rate', now, spanMs, yMin, yMax: 1, ticks: 5, format: pct }),
    lineChart([{ name: 'rps', color: 'var(--weft-blue)', points: pts((s) => s.rps) }], { title: 'Requests per second', now, spanMs, format: (v) => formatRps(v) }),
    lineChart(
      [
        { name: 'p50', color: 'var(--weft-green)', points: pts((s) => s.p50Ms) },
        { name: 'p95', color: 'var(--weft-yellow)', points: pts((s) => s.p95Ms) },
        { name: 'p99', color: 'var(--weft-red)', points: pts((s) => s.p99Ms) },
      ],
      { title: 'Latency', now, spanMs, format: (v) => (v === 0 ? '0' : formatLatency(v)) },
    ),
  ];
}

function edgeRow(e: Edge, peer: 'src' | 'dst'): EdgeRow {
  return {
    peer: peer === 'src' ? e.srcWorkload : e.dstService,
    peerNamespace: peer === 'src' ? e.srcNamespace : e.dstNamespace,
    clientId: e.clientId ?? '–',
    serverIds: e.serverIds.join(', ') || '–',
    mtls: e.mtls,
    requests: String(e.requests),
  };
}

/**
 * Inbound: edges whose destination service is the target (or, for a workload, one of the services
 * it backs); outbound: edges whose source workload is the target (or one of a service's backends).
 */
export function edgesFor(edges: readonly Edge[], target: PanelTarget, backends: readonly string[] = []): { inbound: EdgeRow[]; outbound: EdgeRow[] } {
  const ns = target.namespace;
  const servers = new Set(target.kind === 'service' ? [target.name] : [target.name, ...backends]);
  const clients = new Set(target.kind === 'workload' ? [target.name] : [target.name, ...backends]);
  const byPeer = (a: EdgeRow, b: EdgeRow): number => a.peer.localeCompare(b.peer) || a.peerNamespace.localeCompare(b.peerNamespace);
  return {
    inbound: edges.filter((e) => e.dstNamespace === ns && servers.has(e.dstService)).map((e) => edgeRow(e, 'src')).sort(byPeer),
    outbound: edges.filter((e) => e.srcNamespace === ns && clients.has(e.srcWorkload)).map((e) => edgeRow(e, 'dst')).sort(byPeer),
  };
}

export interface Backend {
  /** The backend's name: a workload (local mode) or a Service (an HTTPRoute's backendRef). */
  workload: string;
  weight: number;
  /** What `workload` names (default: a workload). */
  kind?: 'workload' | 'service';
}

/**
 * Configured weights next to the backends' observed RPS: a workload backend's from its own stats
 * (inbound), a Service backend's from the service stats (what its clients sent it).
 */
export function trafficSplit(backends: readonly Backend[], rows: readonly StatRow[], namespace: string): SplitRow[] | undefined {
  if (backends.length < 2) return undefined;
  const totalWeight = backends.reduce((s, b) => s + b.weight, 0);
  const rpsOf = (b: Backend): number | undefined => {
    const row = rows.find((r) => r.kind === (b.kind ?? 'workload') && r.namespace === namespace && r.name === b.workload);
    return row && row.podsWithData > 0 ? row.rps : undefined;
  };
  const totalRps = backends.reduce((s, b) => s + (rpsOf(b) ?? 0), 0);
  return backends.map((b) => {
    const rps = rpsOf(b);
    const observed = rps !== undefined && totalRps > 0 ? rps / totalRps : undefined;
    return {
      workload: b.workload,
      weight: b.weight,
      weightShare: totalWeight > 0 ? `${Math.round((b.weight / totalWeight) * 100)}%` : '–',
      rps: rps === undefined ? '–' : formatRps(rps),
      observedShare: observed === undefined ? '–' : `${(observed * 100).toFixed(1)}%`,
      observedPercent: observed === undefined ? 0 : Math.round(observed * 1000) / 10,
    };
  });
}

const latency = (ms: number | undefined): string => (ms === undefined ? '–' : formatLatency(ms));

export interface PanelInput {
  target: PanelTarget;
  row: StatRow | undefined;
  samples: readonly Sample[];
  edges: readonly Edge[];
  backends: readonly Backend[];
  /** The namespace's workload rows and service rows (the split's observed RPS). */
  namespaceRows: readonly StatRow[];
  status: ViewStatus;
  source: string;
  now: number;
  updatedAt: string;
}

export function panelMessage(i: PanelInput): PanelMessage {
  const row = i.row;
  const health = row ? healthOf(row) : 'idle';
  const data = row !== undefined && row.podsWithData > 0;
  const { inbound, outbound } = edgesFor(i.edges, i.target, i.backends.map((b) => b.workload));
  return {
    type: 'panel',
    kind: i.target.kind,
    namespace: i.target.namespace,
    name: i.target.name,
    health,
    title: row ? healthTitle(health, row) : `${i.target.name}: not seen by the metrics API`,
    summary: [
      { label: 'Success', value: data ? formatPercent(row.successRate) : '–' },
      { label: 'RPS', value: data ? formatRps(row.rps) : '–' },
      { label: 'P50', value: latency(row?.p50Ms) },
      { label: 'P95', value: latency(row?.p95Ms) },
      { label: 'P99', value: latency(row?.p99Ms) },
      { label: 'Meshed', value: row ? `${row.meshedPods}/${row.totalPods}` : '–' },
      { label: 'TCP', value: row?.tcpConnections === undefined ? '–' : String(row.tcpConnections) },
    ],
    charts: panelCharts(i.samples, i.now),
    inbound,
    outbound,
    split: trafficSplit(i.backends, i.namespaceRows, i.target.namespace),
    status: i.status,
    source: i.source,
    updatedAt: i.updatedAt,
  };
}
