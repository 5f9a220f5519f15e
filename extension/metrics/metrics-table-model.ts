/**
 * What the sidebar metrics view shows for the metrics API's answers: one row per workload or
 * service with formatted golden metrics, its health (failing ones stand out), a sparkline of its
 * RPS, sorted by the column the user chose. Pure.
 */
import type { StatRow } from '../../mesh/control/metrics-api/aggregate';
import { formatLatency, formatPercent, formatRps } from '../../mesh/metrics-view/golden-table';
import type { Health, RowKind, SortColumn, SortState, TableRow, TableSection } from '../../webviews/messages/metrics-messages';
import { successHealth } from '../../mesh/metrics-view/success-health';
import { sparkline } from './chart-model';
import { rowKey, type MetricsHistory } from './metrics-history';

/** How much history a sparkline shows at most. */
export const SPARKLINE_SPAN_MS = 2 * 60_000;
/** A young history spans from its first sample (a few of them already fill the width), at least this much. */
export const MIN_SPAN_MS = 6_000;

/** The time span a chart of these samples covers: from the first sample to now, between `min` and `max`. */
export function adaptiveSpan(samples: readonly { t: number }[], now: number, min: number, max: number, roundTo = 1): number {
  const first = samples[0]?.t ?? now;
  const span = Math.min(max, Math.max(min, now - first));
  return Math.min(max, Math.ceil(span / roundTo) * roundTo);
}

/** ok / degraded / failing by success rate; idle when the window saw no response. */
export function healthOf(row: Pick<StatRow, 'successRate' | 'podsWithData' | 'responses'>): Health {
  if (row.podsWithData === 0 || row.successRate === undefined || row.responses === 0) return 'idle';
  return successHealth(row.successRate);
}

export function healthTitle(health: Health, row: Pick<StatRow, 'successRate' | 'name'>): string {
  switch (health) {
    case 'failing':
      return `${row.name} is failing: ${formatPercent(row.successRate)} success`;
    case 'degraded':
      return `${row.name} is degraded: ${formatPercent(row.successRate)} success`;
    case 'ok':
      return `${row.name}: ${formatPercent(row.successRate)} success`;
    case 'idle':
      return `${row.name}: no requests in the window`;
  }
}

/** The value a column sorts by; undefined sorts last in both directions. */
export function sortValue(row: StatRow, column: SortColumn): string | number | undefined {
  const data = row.podsWithData > 0;
  switch (column) {
    case 'name':
      return row.name;
    case 'success':
      return data ? row.successRate : undefined;
    case 'rps':
      return data ? row.rps : undefined;
    case 'p50':
      return row.p50Ms;
    case 'p95':
      return row.p95Ms;
    case 'p99':
      return row.p99Ms;
    case 'tcp':
      return row.tcpConnections;
  }
}

/** Sorted copy; ties by name, rows without a value last. */
export function sortRows<T extends StatRow>(rows: readonly T[], sort: SortState): T[] {
  const sign = sort.descending ? -1 : 1;
  return [...rows].sort((a, b) => {
    const va = sortValue(a, sort.column);
    const vb = sortValue(b, sort.column);
    if (va === undefined && vb !== undefined) return 1;
    if (vb === undefined && va !== undefined) return -1;
    if (va !== undefined && vb !== undefined && va !== vb) {
      const c = typeof va === 'string' && typeof vb === 'string' ? va.localeCompare(vb) : Number(va) - Number(vb);
      if (c !== 0) return sign * c;
    }
    return a.name.localeCompare(b.name) || a.namespace.localeCompare(b.namespace);
  });
}

/** A click on a column header: the same column flips direction; a new one starts in its natural order. */
export function nextSort(current: SortState, column: SortColumn): SortState {
  if (current.column === column) return { column, descending: !current.descending };
  // Names read A→Z; numbers are most interesting largest first, except success (worst first).
  return { column, descending: column !== 'name' && column !== 'success' };
}

export const DEFAULT_SORT: SortState = { column: 'name', descending: false };

export function tableRow(row: StatRow, history: MetricsHistory, now: number): TableRow {
  const health = healthOf(row);
  const data = row.podsWithData > 0;
  const key = rowKey(row);
  const samples = history.series(key, now, SPARKLINE_SPAN_MS);
  const points = samples.map((s) => ({ t: s.t, v: s.hasData ? s.rps : undefined }));
  return {
    key,
    kind: row.kind,
    namespace: row.namespace,
    name: row.name,
    health,
    title: healthTitle(health, row),
    meshed: `${row.meshedPods}/${row.totalPods}`,
    success: data && row.successRate !== undefined ? formatPercent(row.successRate) : '–',
    rps: data ? formatRps(row.rps) : '–',
    p50: formatLatency(row.p50Ms).replace(/^-$/, '–'),
    p95: formatLatency(row.p95Ms).replace(/^-$/, '–'),
    p99: formatLatency(row.p99Ms).replace(/^-$/, '–'),
    tcp: row.tcpConnections === undefined ? '–' : String(row.tcpConnections),
    spark: sparkline(points, now, adaptiveSpan(samples, now, MIN_SPAN_MS, SPARKLINE_SPAN_MS)),
  };
}

/** Only meshed rows: a workload without a single meshed pod has no proxy to report anything. */
export const meshedOnly = (rows: readonly StatRow[]): StatRow[] => rows.filter((r) => r.meshedPods > 0 || r.kind === 'service');

export function tableSection(kind: RowKind, rows: readonly StatRow[], sort: SortState, history: MetricsHistory, now: number): TableSection {
  const sorted = sortRows(meshedOnly(rows), sort);
  return {
    kind,
    title: kind === 'service' ? 'Services' : 'Workloads',
    rows: sorted.map((r) => tableRow(r, history, now)),
    empty: kind === 'service' ? 'No meshed service has traffic in this namespace yet.' : 'No meshed workload in this namespace.',
  };
}

/**
 * The namespaces to offer, sorted, and the one to show: the remembered one while it exists, else
 * the first that is not the control plane's, else the first.
 */
export function chooseNamespace(rows: readonly Pick<StatRow, 'namespace'>[], remembered: string | undefined, controlPlane = 'weft'): { namespaces: string[]; selected: string | undefined } {
  const namespaces = [...new Set(rows.map((r) => r.namespace))].sort();
  if (remembered && namespaces.includes(remembered)) return { namespaces, selected: remembered };
  return { namespaces, selected: namespaces.find((n) => n !== controlPlane) ?? namespaces[0] ?? remembered };
}

/** "12:03:07" in local time. */
export function clock(t: number): string {
  const d = new Date(t);
  const p = (n: number): string => String(n).padStart(2, '0');
  return `${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}
