/**
 * The metrics API's other source: a Prometheus that already scrapes the proxies. Instead of keeping
 * its own scrapes, the API asks Prometheus, with Linkerd's PromQL shapes (`increase(...[window])`
 * for counters, the gauge as is), for each golden metric over the window, and hands the results to
 * the same pure aggregation. A series belongs to a pod by its `namespace`/`pod` labels (Kubernetes
 * service discovery) or else by its `instance` (the proxy's admin address).
 */
import { METRIC } from '../../proxy/metrics/metric-names';
import type { Sample } from '../../metrics-view/prom-text';
import { podKey, type ScrapeTarget } from './aggregate';
import type { WindowIncrease } from './scrape-window';

/** Counters asked with increase() over the window, and gauges asked as they are now. */
const COUNTERS = [METRIC.requestTotal, METRIC.responseTotal, `${METRIC.responseLatencyMs}_bucket`, METRIC.tcpReadBytesTotal, METRIC.tcpWriteBytesTotal];
const GAUGES = [METRIC.tcpOpenConnections];
/** Labels Prometheus adds that the proxy did not write. */
const PROMETHEUS_LABELS = ['instance', 'job', 'namespace', 'pod'];

/** The PromQL for one metric over a window of `seconds`. */
export function promQl(metric: string, seconds: number): string {
  return COUNTERS.includes(metric) ? `increase(${metric}[${seconds}s])` : metric;
}

export interface PromVectorEntry {
  metric: Record<string, string>;
  value: [number, string];
}

/**
 * Groups Prometheus vectors (metric name → result) into per-pod windows. Pure. A series that
 * matches no target is dropped; every matched pod gets `seconds` as its window length.
 */
export function windowsFromVectors(targets: readonly ScrapeTarget[], vectors: ReadonlyMap<string, readonly PromVectorEntry[]>, seconds: number, at: number): Map<string, WindowIncrease | undefined> {
  const byInstance = new Map<string, string>();
  const keys = new Set<string>();
  for (const t of targets) {
    keys.add(podKey(t));
    if (t.admin) byInstance.set(t.admin, podKey(t));
  }
  const out = new Map<string, WindowIncrease | undefined>();
  for (const [name, vector] of vectors) {
    for (const e of vector) {
      const m = e.metric;
      const direct = m['namespace'] && m['pod'] ? `${m['namespace']}/${m['pod']}` : undefined;
      const key = direct && keys.has(direct) ? direct : byInstance.get(m['instance'] ?? '');
      if (!key) continue;
      const value = Number(e.value[1]);
      if (!Number.isFinite(value)) continue;
      const labels: Record<string, string> = {};
      for (const [k, v] of Object.entries(m)) if (k !== '__name__' && !PROMETHEUS_LABELS.includes(k)) labels[k] = v;
      let w = out.get(key);
      if (!w) out.set(key, (w = { samples: [], seconds, at }));
      w.samples.push({ name, labels, value } satisfies Sample);
    }
  }
  return out;
}

/** Asks Prometheus for every golden metric over the window; throws with a readable message on failure. */
export async function queryPrometheusWindows(prometheusUrl: string, targets: readonly ScrapeTarget[], windowMs: number, timeoutMs = 5_000): Promise<Map<string, WindowIncrease | undefined>> {
  const seconds = Math.round(windowMs / 1000);
  const names = [...COUNTERS, ...GAUGES];
  const results = await Promise.all(
    names.map(async (name) => {
      const url = new URL('/api/v1/query', prometheusUrl);
      url.searchParams.set('query', promQl(name, seconds));
      let body: { status?: string; error?: string; data?: { resultType?: string; result?: PromVectorEntry[] } };
      try {
        const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
        body = (await res.json()) as typeof body;
      } catch (err) {
        throw new Error(`Prometheus at ${prometheusUrl} did not answer (${err instanceof Error ? err.message : String(err)})`);
      }
      if (body.status !== 'success' || body.data?.resultType !== 'vector') throw new Error(`Prometheus refused ${promQl(name, seconds)}: ${body.error ?? 'not a vector'}`);
      return [name, body.data.result ?? []] as const;
    }),
  );
  return windowsFromVectors(targets, new Map(results), seconds, Date.now());
}
