/**
 * The weighted backends of a service in local mode, from the topology file the run was started
 * with (state.json's `topologyFile`; `weft demo` writes its generated one): `services[].backends[]`
 * `{ workload, weight }` (docs/local-mode.md). Pure; a topology that does not parse gives none.
 */
import { parseTopology } from '../../dev-cluster/local/topology-file';
import type { Backend } from './service-panel-model';

export function backendsOf(topologyYaml: string, fileName: string, service: string, namespace: string): Backend[] {
  const parsed = parseTopology(topologyYaml, fileName);
  if (!parsed.ok) return [];
  const svc = parsed.topology.services.find((s) => s.name === service && s.namespace === namespace);
  return svc ? svc.backends.map((b) => ({ workload: b.workload, weight: b.weight })) : [];
}

interface RouteDoc {
  routes?: { authority?: unknown; labels?: { service?: unknown; namespace?: unknown }; backends?: { authority?: unknown; weight?: unknown }[] }[];
}

/**
 * The same from the local control plane's destination document (`<state>/mesh/control-plane/
 * destinations.json`), for runs whose topology file is gone (`weft demo` generates a temporary one):
 * a route labelled with the service and namespace, its backends `<workload>.<ns>.workload:<port>`.
 */
export function backendsFromRoutes(destinationsJson: string, service: string, namespace: string): Backend[] {
  let doc: RouteDoc;
  try {
    doc = JSON.parse(destinationsJson) as RouteDoc;
  } catch {
    return [];
  }
  const route = (Array.isArray(doc.routes) ? doc.routes : []).find((r) => r.labels?.service === service && r.labels?.namespace === namespace);
  const out: Backend[] = [];
  for (const b of route?.backends ?? []) {
    const m = typeof b.authority === 'string' ? /^([a-z0-9-]+)\.([a-z0-9-]+)\.workload:\d+$/.exec(b.authority) : null;
    if (m && m[2] === namespace && typeof b.weight === 'number') out.push({ workload: m[1]!, weight: b.weight });
  }
  return out;
}

/** The parts of a gateway.networking.k8s.io/v1 HTTPRoute a split needs. */
export interface HttpRouteLike {
  metadata?: { namespace?: string; name?: string };
  spec?: {
    parentRefs?: { group?: string; kind?: string; name: string; namespace?: string }[];
    rules?: { matches?: { path?: { type?: string; value?: string }; headers?: unknown[]; queryParams?: unknown[]; method?: string }[]; backendRefs?: { group?: string; kind?: string; name: string; namespace?: string; weight?: number }[] }[];
  };
}

/**
 * In a cluster: the weighted backend Services of the HTTPRoute whose parent is the Service (GAMMA),
 * from its catch-all rule (no matches, or PathPrefix /), as the destination service splits.
 */
export function backendsFromHttpRoutes(routes: readonly HttpRouteLike[], service: string, namespace: string): Backend[] {
  const core = (g: string | undefined): boolean => g === undefined || g === '' || g === 'core';
  const route = routes.find((r) => (r.metadata?.namespace ?? namespace) === namespace && (r.spec?.parentRefs ?? []).some((p) => p.kind === 'Service' && core(p.group) && p.name === service && (p.namespace ?? namespace) === namespace));
  const catchAll = route?.spec?.rules?.find((rule) => {
    const m = rule.matches ?? [];
    return m.length === 0 || m.some((x) => !x.headers?.length && !x.queryParams?.length && !x.method && (!x.path || ((x.path.type ?? 'PathPrefix') === 'PathPrefix' && (x.path.value ?? '/') === '/')));
  });
  return (catchAll?.backendRefs ?? [])
    .filter((b) => (b.kind ?? 'Service') === 'Service' && core(b.group) && (b.namespace ?? namespace) === namespace)
    .map((b) => ({ workload: b.name, weight: b.weight ?? 1, kind: 'service' as const }));
}
