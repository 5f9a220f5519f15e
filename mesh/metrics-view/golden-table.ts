/** Renders golden-metric rows as a fixed-width text table (the `weft demo` / `weft stat` view). Pure. */
import type { GoldenRow } from './golden-metrics';

export const GOLDEN_COLUMNS = ['WORKLOAD', 'DIRECTION', 'AUTHORITY', 'SUCCESS', 'RPS', 'P50', 'P95', 'P99', 'MTLS', 'TCP'] as const;

export function formatPercent(rate: number | undefined): string {
  if (rate === undefined) return '-';
  return `${(rate * 100).toFixed(2)}%`;
}

export function formatLatency(ms: number | undefined): string {
  if (ms === undefined) return '-';
  if (ms >= 1000) return `${(ms / 1000).toFixed(2)}s`;
  return ms >= 10 ? `${Math.round(ms)}ms` : `${ms.toFixed(1)}ms`;
}

export function formatRps(rps: number): string {
  return rps.toFixed(1);
}

export function rowCells(r: GoldenRow): string[] {
  return [
    r.workload,
    r.direction,
    r.authority || '-',
    formatPercent(r.successRate),
    formatRps(r.rps),
    formatLatency(r.p50Ms),
    formatLatency(r.p95Ms),
    formatLatency(r.p99Ms),
    r.mtls ?? '-',
    r.tcpOpen === undefined ? '-' : String(r.tcpOpen),
  ];
}

/** Left-aligned text columns, right-aligned numbers, two spaces between columns; one line per row. */
export function renderGoldenTable(rows: readonly GoldenRow[]): string {
  const body = rows.map(rowCells);
  const all = [[...GOLDEN_COLUMNS], ...body];
  const widths = GOLDEN_COLUMNS.map((_, i) => Math.max(...all.map((r) => r[i]!.length)));
  const numeric = new Set([3, 4, 5, 6, 7, 9]);
  const line = (cells: string[]): string =>
    cells
      .map((c, i) => (numeric.has(i) ? c.padStart(widths[i]!) : c.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  return `${[line(all[0]!), ...body.map(line)].join('\n')}\n`;
}
