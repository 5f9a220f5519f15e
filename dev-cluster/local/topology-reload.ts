/**
 * Live edits of a running topology file: services (weights, retries, timeouts, backends) take effect
 * at once through the destination service; workload changes (commands, replicas, ports, env, …) need
 * a restart, and are named so the user knows, as are changes of the policy settings (the policy
 * files' contents apply live: the policy service re-reads them). Pure.
 */
import type { LocalRoute, LocalTopology } from './local-mesh';

export interface ReloadPlan {
  /** The routes to serve from now on. */
  routes: LocalRoute[];
  /** Service authorities added, removed or changed. */
  changedRoutes: string[];
  /** Workload processes added, removed or changed: not applied until `weft local down` and `up`. */
  restartNeeded: string[];
  /** The topology's policy settings (defaultInboundPolicy, the list of policy files) changed: not applied until a restart. */
  policyChanged: boolean;
}

const byKey = <T>(list: readonly T[], key: (x: T) => string): Map<string, string> => new Map(list.map((x) => [key(x), JSON.stringify(x)]));

function differing(a: Map<string, string>, b: Map<string, string>): string[] {
  const keys = new Set([...a.keys(), ...b.keys()]);
  return [...keys].filter((k) => a.get(k) !== b.get(k)).sort();
}

export function planReload(current: LocalTopology, next: LocalTopology): ReloadPlan {
  const workloadKey = (w: LocalTopology['workloads'][number]): string => w.name;
  const sameNamespace = current.namespace === next.namespace;
  const restartNeeded = sameNamespace
    ? differing(byKey(current.workloads, workloadKey), byKey(next.workloads, workloadKey))
    : [...new Set([...current.workloads, ...next.workloads].map(workloadKey))].sort();
  return {
    routes: next.routes ?? [],
    changedRoutes: differing(byKey(current.routes ?? [], (r) => r.authority), byKey(next.routes ?? [], (r) => r.authority)),
    restartNeeded,
    policyChanged: JSON.stringify(current.policy ?? null) !== JSON.stringify(next.policy ?? null),
  };
}

/** One line for the supervisor's log about what an edit did. */
export function describeReload(file: string, plan: ReloadPlan): string {
  const parts: string[] = [];
  if (plan.changedRoutes.length > 0) {
    const weights = (r: LocalRoute): string => (r.backends.length > 1 ? ` (weights ${r.backends.map((b) => b.weight).join('/')})` : '');
    const shown = plan.changedRoutes.map((a) => {
      const r = plan.routes.find((x) => x.authority === a);
      return r ? `${a}${weights(r)}` : `${a} (removed)`;
    });
    parts.push(`services updated: ${shown.join(', ')}`);
  } else parts.push('no service changed');
  if (plan.restartNeeded.length > 0) parts.push(`workload changes not applied (restart with \`weft local down\` and \`weft local up\`): ${plan.restartNeeded.join(', ')}`);
  if (plan.policyChanged) parts.push('policy settings (defaultInboundPolicy, policy files) not applied (restart with `weft local down` and `weft local up`; edits inside the policy files apply live)');
  return `${file} edited: ${parts.join('; ')}`;
}
