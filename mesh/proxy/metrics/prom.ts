/**
 * The parts of prom-client the proxy uses, each loaded from its own module. prom-client's index
 * also loads the Pushgateway (http, https, zlib), Summary (tdigest), the cluster aggregator and,
 * through its default CPU metric, @opentelemetry/api: ~4.5 MB of RSS in a proxy that uses none of
 * them (docs/performance.md, "Proxy memory"). The classes are the very ones the index exports, so a
 * registry made here and one made from 'prom-client' are interchangeable. The lockfile pins
 * prom-client; the proxy's metrics tests exercise every name below.
 */
import { createRequire } from 'node:module';
import type * as Prom from 'prom-client';

const require = createRequire(import.meta.url);

export const Registry = require('prom-client/lib/registry') as typeof Prom.Registry;
export type Registry = Prom.Registry;
export const Counter = require('prom-client/lib/counter') as typeof Prom.Counter;
export type Counter<T extends string = string> = Prom.Counter<T>;
export const Gauge = require('prom-client/lib/gauge') as typeof Prom.Gauge;
export type Gauge<T extends string = string> = Prom.Gauge<T>;

type MetricModule = (registry: Registry, config: { eventLoopMonitoringPrecision: number }) => void;

/**
 * prom-client's default metrics (collectDefaultMetrics) with the same names, help and values, but
 * process_cpu_* counted here: prom-client's own CPU metric loads @opentelemetry/api for exemplars,
 * which the proxy never records.
 */
export function registerProcessMetrics(registry: Registry): void {
  const config = { eventLoopMonitoringPrecision: 10 }; // collectDefaultMetrics' default
  registerCpuMetrics(registry);
  const modules = [
    'processStartTime',
    'osMemoryHeap',
    'processOpenFileDescriptors',
    'processMaxFileDescriptors',
    'eventLoopLag',
    ...(typeof process.getActiveResourcesInfo === 'function' ? ['processResources'] : []),
    'processHandles',
    'processRequests',
    'heapSizeAndUsed',
    'heapSpacesSizeAndUsed',
    'version',
    'gc',
  ];
  for (const m of modules) (require(`prom-client/lib/metrics/${m}`) as MetricModule)(registry, config);
}

/** process_cpu_user_seconds_total, process_cpu_system_seconds_total, process_cpu_seconds_total. */
function registerCpuMetrics(registry: Registry): void {
  let last = process.cpuUsage();
  const registers = [registry];
  // Registered in prom-client's order; the first one's collect() updates all three, as there.
  const user = new Counter({
    name: 'process_cpu_user_seconds_total',
    help: 'Total user CPU time spent in seconds.',
    registers,
    collect() {
      const now = process.cpuUsage();
      const u = now.user - last.user;
      const s = now.system - last.system;
      last = now;
      user.inc(u / 1e6);
      system.inc(s / 1e6);
      total.inc((u + s) / 1e6);
    },
  });
  const system = new Counter({ name: 'process_cpu_system_seconds_total', help: 'Total system CPU time spent in seconds.', registers });
  const total = new Counter({ name: 'process_cpu_seconds_total', help: 'Total user and system CPU time spent in seconds.', registers });
}
