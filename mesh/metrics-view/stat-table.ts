/** Renders the metrics API's stat rows and edges as text tables, as Linkerd's `viz stat` / `viz edges`. Pure. */
import type { Edge, StatRow } from '../control/metrics-api/aggregate';
import { formatLatency, formatPercent, formatRps } from './golden-table';

/** 1234 → "1.2kB/s". */
export function formatBytesPerSecond(bps: number): string {
  if (bps >= 1_000_000) return `${(bps / 1_000_000).toFixed(1)}MB/s`;
  if (bps >= 1_000) return `${(bps / 1_000).toFixed(1)}kB/s`;
  return `${bps.toFixed(0)}B/s`;
}

/** Columns separated by two spaces; `numeric` columns right-aligned. */
export function renderTable(header: readonly string[], rows: readonly string[][], numeric: ReadonlySet<number>): string {
  const all = [[...header], ...rows];
  const widths = header.map((_, i) => Math.max(...all.map((r) => r[i]!.length)));
  const line = (cells: string[]): string =>
    cells
      .map((c, i) => (numeric.has(i) ? c.padStart(widths[i]!) : c.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  return `${all.map(line).join('\n')}\n`;
}

/** NAME MESHED SUCCESS RPS LATENCY_P50 … TCP_CONN READ/WRITE; NAMESPACE first when rows span several. */
export function renderStatTable(rows: readonly StatRow[], withNamespace: boolean): string {
  const header = ['NAME', 'MESHED', 'SUCCESS', 'RPS', 'LATENCY_P50', 'LATENCY_P95', 'LATENCY_P99', 'TCP_CONN', 'READ_BYTES/SEC', 'WRITE_BYTES/SEC'];
  const body = rows.map((r) => [
    r.name,
    `${r.meshedPods}/${r.totalPods}`,
    formatPercent(r.successRate),
    r.podsWithData > 0 ? `${formatRps(r.rps)}rps` : '-',
    formatLatency(r.p50Ms),
    formatLatency(r.p95Ms),
    formatLatency(r.p99Ms),
    r.tcpConnections === undefined ? '-' : String(r.tcpConnections),
    r.podsWithData > 0 ? formatBytesPerSecond(r.readBytesPerSecond) : '-',
    r.podsWithData > 0 ? formatBytesPerSecond(r.writeBytesPerSecond) : '-',
  ]);
  const numeric = new Set([1, 2, 3, 4, 5, 6, 7, 8, 9]);
  if (!withNamespace) return renderTable(header, body, numeric);
  return renderTable(['NAMESPACE', ...header], body.map((cells, i) => [rows[i]!.namespace, ...cells]), new Set([...numeric].map((n) => n + 1)));
}

/** SRC DST SRC_NS DST_NS SECURED CLIENT_ID SERVER_ID REQUESTS. */
export function renderEdgesTable(edges: readonly Edge[]): string {
  const header = ['SRC', 'DST', 'SRC_NS', 'DST_NS', 'SECURED', 'CLIENT_ID', 'SERVER_ID', 'REQUESTS'];
  const secured = (e: Edge): string => (e.mtls === 'yes' ? '√' : e.mtls === 'mixed' ? 'partly' : 'no');
  const body = edges.map((e) => [e.srcWorkload, e.dstService, e.srcNamespace, e.dstNamespace, secured(e), e.clientId ?? '-', e.serverIds.join(',') || '-', String(e.requests)]);
  return renderTable(header, body, new Set([7]));
}
