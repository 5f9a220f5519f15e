/**
 * The metrics API's inventory in local mode: one pod per running workload process, scraped at its
 * proxy's admin address, member of the services it serves (and of the routes in front of them).
 * Pure; the local runner calls it with what it started.
 */
import { formatAddr } from '../../mesh/proxy/discovery/discovery';
import { serviceFromAuthority, type ScrapeTarget } from '../../mesh/control/metrics-api/aggregate';
import type { LocalTopology, RunningWorkload } from './local-mesh';

export function scrapeTargetsOf(running: readonly Pick<RunningWorkload, 'workload' | 'identity' | 'proxy' | 'ports'>[], topology: Pick<LocalTopology, 'namespace' | 'routes'>): ScrapeTarget[] {
  return running.map((r) => {
    const w = r.workload;
    const served = new Set<string>([...(w.serves ? [w.serves] : []), ...r.ports.map((p) => p.authority)]);
    for (const route of topology.routes ?? []) if (route.backends.some((b) => served.has(b.authority))) served.add(route.authority);
    const services = new Set<string>();
    for (const authority of served) {
      const svc = serviceFromAuthority(authority);
      if (svc) services.add(svc.name);
    }
    return {
      namespace: w.namespace ?? topology.namespace,
      workload: w.workload ?? w.name,
      pod: w.name,
      admin: formatAddr(r.proxy.admin),
      services: [...services].sort(),
      identity: r.identity,
    };
  });
}
