/**
 * Golden metrics from two scrapes of one proxy's /metrics: per (direction, authority), the success
 * rate, requests per second, p50/p95/p99 latency (from the histogram buckets' increase over the
 * interval, as PromQL's `histogram_quantile` over `rate(...)` computes it), whether the traffic was
 * mTLS, and the TCP connections open now. Pure: the caller scrapes and keeps the previous sample set.
 */
import { METRIC, LABEL } from '../proxy/metrics/metric-names';
import type { Sample } from './prom-text';

export type MtlsState = 'yes' | 'no' | 'mixed';

export interface GoldenRow {
  /** The workload whose proxy was scraped (given by the caller). */
  workload: string;
  direction: string;
  authority: string;
  /** Responses in the interval. */
  responses: number;
  rps: number;
  /** 0..1; undefined when there was no response in the interval. */
  successRate: number | undefined;
  p50Ms: number | undefined;
  p95Ms: number | undefined;
  p99Ms: number | undefined;
  /** From `tls` on the requests of the interval (or, when idle, on every request series seen). */
  mtls: MtlsState | undefined;
  /** `tcp_open_connections` now, summed over the row's series; undefined when the proxy reports none. */
  tcpOpen: number | undefined;
}

/** A histogram as cumulative bucket counts: upper bound (ms, Infinity for +Inf) → count. */
export type Buckets = Map<number, number>;

/**
 * Prometheus' `histogram_quantile`: finds the bucket holding the q-th observation and interpolates
 * linearly inside it (lower bound 0 for the first bucket). A quantile that falls in +Inf answers the
 * highest finite bound. Undefined when the histogram is empty.
 */
export function histogramQuantile(q: number, buckets: Buckets): number | undefined {
  const bounds = [...buckets.keys()].sort((a, b) => a - b);
  if (bounds.length === 0) return undefined;
  const total = buckets.get(bounds[bounds.length - 1]!)!;
  if (!(total > 0)) return undefined;
  const rank = q * total;
  let prevBound = 0;
  let prevCount = 0;
  for (const bound of bounds) {
    const count = buckets.get(bound)!;
    if (count >= rank) {
      if (bound === Infinity) return prevBound;
      if (count === prevCount) return bound;
      return prevBound + (bound - prevBound) * ((rank - prevCount) / (count - prevCount));
    }
    prevBound = bound;
    prevCount = count;
  }
  return prevBound;
}

/** Increase of a counter between scrapes; a counter that went down was reset (proxy restart). */
export function counterIncrease(prev: number | undefined, curr: number): number {
  if (prev === undefined) return curr;
  return curr >= prev ? curr - prev : curr;
}

/** The series identity of a sample: its name and every label. */
export function seriesKey(s: Sample): string {
  const names = Object.keys(s.labels).sort();
  let k = s.name;
  for (const n of names) k += `\u0001${n}\u0002${s.labels[n]}`;
  return k;
}

interface Acc {
  direction: string;
  authority: string;
  responses: number;
  successes: number;
  buckets: Buckets;
  tlsRequests: number;
  plainRequests: number;
  tlsSeen: boolean;
  plainSeen: boolean;
  tcpOpen: number | undefined;
  http: boolean;
}

const groupKey = (direction: string, authority: string): string => `${direction}\u0001${authority}`;

/**
 * Rows for one proxy. `prev` is the scrape before (undefined at the first scrape: increases then
 * count from the proxy's start), `intervalSeconds` the time between the two scrapes.
 * TCP series without an HTTP row of their own (e.g. inbound connections, labelled before any
 * authority is known) are added to the only HTTP row of their direction when there is exactly one.
 */
export function goldenRows(workload: string, prev: readonly Sample[] | undefined, curr: readonly Sample[], intervalSeconds: number): GoldenRow[] {
  const before = new Map<string, number>();
  for (const s of prev ?? []) before.set(seriesKey(s), s.value);
  const increase = (s: Sample): number => (prev ? counterIncrease(before.get(seriesKey(s)), s.value) : s.value);

  const groups = new Map<string, Acc>();
  const acc = (labels: Record<string, string>): Acc => {
    const direction = labels[LABEL.direction] ?? '';
    const authority = labels[LABEL.authority] ?? '';
    const key = groupKey(direction, authority);
    let a = groups.get(key);
    if (!a) {
      a = { direction, authority, responses: 0, successes: 0, buckets: new Map(), tlsRequests: 0, plainRequests: 0, tlsSeen: false, plainSeen: false, tcpOpen: undefined, http: false };
      groups.set(key, a);
    }
    return a;
  };

  const tcp: { direction: string; authority: string; open: number }[] = [];
  for (const s of curr) {
    switch (s.name) {
      case METRIC.requestTotal: {
        const a = acc(s.labels);
        a.http = true;
        const n = increase(s);
        if (s.labels[LABEL.tls] === 'true') {
          a.tlsSeen = true;
          a.tlsRequests += n;
        } else {
          a.plainSeen = true;
          a.plainRequests += n;
        }
        break;
      }
      case METRIC.responseTotal: {
        const a = acc(s.labels);
        a.http = true;
        const n = increase(s);
        a.responses += n;
        if (s.labels[LABEL.classification] === 'success') a.successes += n;
        break;
      }
      case `${METRIC.responseLatencyMs}_bucket`: {
        const le = s.labels[LABEL.le];
        if (le === undefined) break;
        const bound = le === '+Inf' ? Infinity : Number(le);
        if (Number.isNaN(bound)) break;
        const a = acc(s.labels);
        a.buckets.set(bound, (a.buckets.get(bound) ?? 0) + increase(s));
        break;
      }
      case METRIC.tcpOpenConnections:
        tcp.push({ direction: s.labels[LABEL.direction] ?? '', authority: s.labels[LABEL.authority] ?? '', open: s.value });
        break;
    }
  }

  for (const t of tcp) {
    const own = groups.get(groupKey(t.direction, t.authority));
    if (own?.http) {
      own.tcpOpen = (own.tcpOpen ?? 0) + t.open;
      continue;
    }
    const sameDirection = [...groups.values()].filter((g) => g.http && g.direction === t.direction);
    const target = sameDirection.length === 1 ? sameDirection[0]! : acc({ [LABEL.direction]: t.direction, [LABEL.authority]: t.authority });
    target.tcpOpen = (target.tcpOpen ?? 0) + t.open;
  }

  const rows: GoldenRow[] = [];
  for (const a of groups.values()) {
    const inInterval = a.tlsRequests + a.plainRequests > 0;
    const tls = inInterval ? a.tlsRequests > 0 : a.tlsSeen;
    const plain = inInterval ? a.plainRequests > 0 : a.plainSeen;
    rows.push({
      workload,
      direction: a.direction,
      authority: a.authority,
      responses: a.responses,
      rps: intervalSeconds > 0 ? a.responses / intervalSeconds : 0,
      successRate: a.responses > 0 ? a.successes / a.responses : undefined,
      p50Ms: histogramQuantile(0.5, a.buckets),
      p95Ms: histogramQuantile(0.95, a.buckets),
      p99Ms: histogramQuantile(0.99, a.buckets),
      mtls: tls && plain ? 'mixed' : tls ? 'yes' : plain ? 'no' : undefined,
      tcpOpen: a.tcpOpen,
    });
  }
  rows.sort((x, y) => (x.direction === y.direction ? (x.authority < y.authority ? -1 : x.authority > y.authority ? 1 : 0) : x.direction === 'inbound' ? -1 : 1));
  return rows;
}
