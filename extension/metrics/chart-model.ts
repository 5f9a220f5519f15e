/**
 * Geometry of the sparklines and line charts the webviews draw as inline SVG: scales, "nice" axis
 * ticks, polyline points. Pure; the webviews only copy these numbers into SVG attributes.
 */

export interface Point {
  t: number;
  /** undefined: no value at this time (the line breaks there). */
  v: number | undefined;
}

/** A linear map from a domain to a range (the range may be reversed, as SVG's y axis is). */
export function linearScale(domain: readonly [number, number], range: readonly [number, number]): (x: number) => number {
  const [d0, d1] = domain;
  const [r0, r1] = range;
  if (d1 === d0) return () => (r0 + r1) / 2;
  return (x) => r0 + ((x - d0) / (d1 - d0)) * (r1 - r0);
}

/** 1, 2 or 5 times a power of ten, the smallest such step ≥ raw. */
export function niceStep(raw: number): number {
  if (!(raw > 0) || !Number.isFinite(raw)) return 1;
  const power = 10 ** Math.floor(Math.log10(raw));
  for (const m of [1, 2, 5, 10]) if (m * power >= raw * (1 - 1e-9)) return m * power;
  return 10 * power;
}

/** Ticks from 0 (or min) to a nice maximum covering `max`, about `count` of them. */
export function niceTicks(min: number, max: number, count = 4): number[] {
  const lo = Math.min(min, max);
  const hi = Math.max(min, max);
  if (hi === lo) return hi === 0 ? [0, 1] : [lo, lo + niceStep(Math.abs(lo) / count || 1)];
  const step = niceStep((hi - lo) / count);
  const first = Math.floor(lo / step + 1e-9) * step;
  const ticks: number[] = [];
  for (let v = first; v < hi + step - 1e-9 * step; v += step) ticks.push(Number(v.toFixed(10)));
  return ticks;
}

/** Rounds to one decimal for compact SVG attributes. */
const r1 = (n: number): number => Math.round(n * 10) / 10;

/**
 * Polyline point lists ("x,y x,y …") for samples over the last `spanMs` before `now`, one list per
 * run of defined values (a gap breaks the line). x is time, y the value between yMin and yMax.
 */
export function polylines(points: readonly Point[], o: { now: number; spanMs: number; width: number; height: number; yMin: number; yMax: number; pad?: number }): string[] {
  const pad = o.pad ?? 1;
  const x = linearScale([o.now - o.spanMs, o.now], [0, o.width]);
  const y = linearScale([o.yMin, o.yMax], [o.height - pad, pad]);
  const runs: string[] = [];
  let current: string[] = [];
  for (const p of points) {
    if (p.t < o.now - o.spanMs) continue;
    if (p.v === undefined || !Number.isFinite(p.v)) {
      if (current.length > 0) runs.push(current.join(' '));
      current = [];
      continue;
    }
    const v = Math.min(o.yMax, Math.max(o.yMin, p.v));
    current.push(`${r1(x(p.t))},${r1(y(v))}`);
  }
  if (current.length > 0) runs.push(current.join(' '));
  return runs;
}

export interface Sparkline {
  width: number;
  height: number;
  /** One polyline per run of defined values. */
  lines: string[];
  /** The last point, for a dot at the line's end. */
  last: { x: number; y: number } | undefined;
}

/** A sparkline of values from 0 to their maximum (a flat line at the bottom when all are 0). */
export function sparkline(points: readonly Point[], now: number, spanMs: number, width = 72, height = 18): Sparkline {
  const values = points.filter((p) => p.t >= now - spanMs && p.v !== undefined).map((p) => p.v!);
  const max = Math.max(0, ...values);
  const lines = polylines(points, { now, spanMs, width, height, yMin: 0, yMax: max > 0 ? max * 1.1 : 1, pad: 1.5 });
  const tail = lines[lines.length - 1]?.split(' ').pop();
  const last = tail ? { x: Number(tail.split(',')[0]), y: Number(tail.split(',')[1]) } : undefined;
  return { width, height, lines, last };
}

export interface ChartSeries {
  name: string;
  /** A CSS colour expression (a --vscode-* variable). */
  color: string;
  points: readonly Point[];
}

export interface LineChart {
  title: string;
  width: number;
  height: number;
  /** Horizontal grid lines with their label, y in chart coordinates. */
  yTicks: { y: number; label: string }[];
  /** Vertical time labels ("-5m", "now"), x in chart coordinates. */
  xTicks: { x: number; label: string }[];
  series: { name: string; color: string; lines: string[]; latest: string }[];
  /** True when no series has a single value (the webview says "no data yet"). */
  empty: boolean;
}

export interface ChartOptions {
  title: string;
  now: number;
  spanMs: number;
  width?: number;
  height?: number;
  /** Fixed axis bounds (success rate: 0..1); otherwise 0 to a nice maximum over the data. */
  yMin?: number;
  yMax?: number;
  /** About how many y ticks (default 4). */
  ticks?: number;
  format: (v: number) => string;
}

/** A line chart over the last `spanMs`: nice y ticks covering the data, time ticks every minute or so. */
export function lineChart(series: readonly ChartSeries[], o: ChartOptions): LineChart {
  const width = o.width ?? 600;
  const height = o.height ?? 110;
  const inSpan = series.flatMap((s) => s.points.filter((p) => p.t >= o.now - o.spanMs && p.v !== undefined).map((p) => p.v!));
  const dataMax = Math.max(0, ...inSpan);
  const yMin = o.yMin ?? 0;
  let ticks: number[];
  if (o.yMax !== undefined) ticks = niceTicks(yMin, o.yMax, o.ticks ?? 4).filter((t) => t <= o.yMax! + 1e-9);
  else ticks = niceTicks(yMin, dataMax > yMin ? dataMax : yMin + 1, o.ticks ?? 4);
  const yMax = o.yMax ?? ticks[ticks.length - 1]!;
  const y = linearScale([yMin, yMax], [height, 0]);
  const yTicks = ticks.map((v) => ({ y: r1(y(v)), label: o.format(v) }));
  const x = linearScale([o.now - o.spanMs, o.now], [0, width]);
  const minutes = Math.max(1, Math.round(o.spanMs / 60_000));
  const stepMin = minutes <= 5 ? 1 : minutes <= 10 ? 2 : 5;
  const xTicks: { x: number; label: string }[] = [];
  for (let m = minutes; m >= 0; m -= stepMin) xTicks.push({ x: r1(x(o.now - m * 60_000)), label: m === 0 ? 'now' : `-${m}m` });
  return {
    title: o.title,
    width,
    height,
    yTicks,
    xTicks,
    series: series.map((s) => {
      const defined = s.points.filter((p) => p.v !== undefined);
      const latest = defined[defined.length - 1]?.v;
      return { name: s.name, color: s.color, lines: polylines(s.points, { now: o.now, spanMs: o.spanMs, width, height, yMin, yMax, pad: 0 }), latest: latest === undefined ? '–' : o.format(latest) };
    }),
    empty: inSpan.length === 0,
  };
}
