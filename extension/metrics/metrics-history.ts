/**
 * The extension side's memory of golden metrics over time, per workload or service: every snapshot
 * the views fetch is recorded here, so sparklines and panel charts survive a webview being hidden
 * and shown again (the webview itself keeps nothing). Pure: time is given by the caller.
 */
import type { StatKind, StatRow } from '../../mesh/control/metrics-api/aggregate';

/** How far back the history reaches (the panel's charts show this much). */
export const HISTORY_SPAN_MS = 10 * 60_000;
/** Samples closer together than this replace the previous one (several pollers of the same row). */
export const MIN_SAMPLE_GAP_MS = 1_000;

export interface Sample {
  /** Epoch milliseconds of the snapshot. */
  t: number;
  successRate: number | undefined;
  rps: number;
  p50Ms: number | undefined;
  p95Ms: number | undefined;
  p99Ms: number | undefined;
  /** False when the row had no pod with two scrapes in the window (its numbers mean nothing). */
  hasData: boolean;
}

/** `workload/demo/web`: one history per kind, namespace and name. */
export const rowKey = (r: { kind: StatKind; namespace: string; name: string }): string => `${r.kind}/${r.namespace}/${r.name}`;

export function sampleOf(row: StatRow, t: number): Sample {
  return { t, successRate: row.successRate, rps: row.rps, p50Ms: row.p50Ms, p95Ms: row.p95Ms, p99Ms: row.p99Ms, hasData: row.podsWithData > 0 };
}

export class MetricsHistory {
  private readonly byKey = new Map<string, Sample[]>();

  constructor(private readonly spanMs = HISTORY_SPAN_MS) {}

  /** Records every row of one snapshot taken at `t`. */
  record(rows: readonly StatRow[], t: number): void {
    for (const row of rows) this.add(rowKey(row), sampleOf(row, t));
  }

  add(key: string, sample: Sample): void {
    const list = this.byKey.get(key) ?? [];
    const last = list[list.length - 1];
    if (last && sample.t < last.t) return; // out of order (a slow answer after a newer one)
    if (last && sample.t - last.t < MIN_SAMPLE_GAP_MS) list[list.length - 1] = sample;
    else list.push(sample);
    const oldest = sample.t - this.spanMs;
    let drop = 0;
    while (drop < list.length && list[drop]!.t < oldest) drop++;
    if (drop > 0) list.splice(0, drop);
    this.byKey.set(key, list);
  }

  /** Samples of one row no older than `sinceMs` before `now` (oldest first). */
  series(key: string, now: number, sinceMs = this.spanMs): Sample[] {
    return (this.byKey.get(key) ?? []).filter((s) => s.t >= now - sinceMs);
  }

  keys(): string[] {
    return [...this.byKey.keys()];
  }
}
