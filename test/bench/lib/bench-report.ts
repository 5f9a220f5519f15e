/**
 * The arithmetic and the printout of the proxy benchmark: medians over rounds, added latency versus the
 * direct path, ratios, memory slope, and PASS/FAIL against the targets of issue 2. Pure.
 */

export function median(xs: number[]): number {
  if (xs.length === 0) return Number.NaN;
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

/**
 * A ratio that means something only when the denominator is clearly positive: an added latency at or
 * below minDenominator (noise, or a path faster than direct) gives NaN, printed as "n/a".
 */
export function ratio(numerator: number, denominator: number, minDenominator = 0): number {
  if (!Number.isFinite(numerator) || !Number.isFinite(denominator) || denominator <= minDenominator) return Number.NaN;
  return numerator / denominator;
}

/** Least-squares slope of y over x (units of y per unit of x); NaN with fewer than two distinct x. */
export function linearSlope(points: { x: number; y: number }[]): number {
  const n = points.length;
  if (n < 2) return Number.NaN;
  const mx = points.reduce((s, p) => s + p.x, 0) / n;
  const my = points.reduce((s, p) => s + p.y, 0) / n;
  let sxy = 0;
  let sxx = 0;
  for (const p of points) {
    sxy += (p.x - mx) * (p.y - my);
    sxx += (p.x - mx) ** 2;
  }
  return sxx === 0 ? Number.NaN : sxy / sxx;
}

export interface SoakVerdict {
  /** MB per minute over the samples after the warm-up. */
  slopeMbPerMin: number;
  /** Growth the slope projects over the whole soak. */
  projectedMb: number;
  grows: boolean;
}

/**
 * Whether RSS grows during a soak: the least-squares slope over the samples after warmupSec (the heap
 * settles first), projected over the soak's length; growth above thresholdMb counts as growing. GC
 * sawtooth averages out in the fit.
 */
export function soakVerdict(samples: { tSec: number; rssMb: number }[], warmupSec: number, thresholdMb = 5): SoakVerdict {
  const kept = samples.filter((s) => s.tSec >= warmupSec);
  const slopePerSec = linearSlope(kept.map((s) => ({ x: s.tSec, y: s.rssMb })));
  const span = kept.length > 0 ? kept[kept.length - 1]!.tSec - kept[0]!.tSec : 0;
  const projectedMb = slopePerSec * span;
  return { slopeMbPerMin: slopePerSec * 60, projectedMb, grows: !(projectedMb <= thresholdMb) };
}

export type Comparison = '<=' | '>=';

export interface TargetResult {
  name: string;
  value: number;
  comparison: Comparison;
  limit: number;
  unit: string;
  pass: boolean;
}

/** A target check; a value that could not be measured (NaN) fails. */
export function target(name: string, value: number, comparison: Comparison, limit: number, unit = ''): TargetResult {
  const pass = Number.isFinite(value) && (comparison === '<=' ? value <= limit : value >= limit);
  return { name, value, comparison, limit, unit, pass };
}

export function fmt(n: number, digits = 0): string {
  if (!Number.isFinite(n)) return 'n/a';
  return n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

/** A plain-text table with right-aligned columns after the first. */
export function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) =>
    cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ').trimEnd();
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

export function formatTarget(t: TargetResult): string {
  const digits = t.unit === '×' ? 2 : t.unit === 'MB' ? 1 : 0;
  return `${t.pass ? 'PASS' : 'FAIL'}  ${t.name}: ${fmt(t.value, digits)}${t.unit} (target ${t.comparison} ${fmt(t.limit, digits)}${t.unit})`;
}
