/**
 * The local mode's model source: the runner's topology (dev-cluster/local/local-mesh.ts) and what it
 * learned while starting, its `ServedEndpoint`s (each replica's proxy inbound, identity, app port),
 * become the mesh model: one service per served authority (its replicas as endpoints) and one per
 * route (a single backend's endpoints, or a weighted split, with its retries and timeouts). The
 * answers are the ones `destinationDocument` writes to the destination file, so a proxy sees the
 * same thing from either source.
 */
import type { LocalRoute, LocalTopology, RunningWorkload, ServedEndpoint } from '../../../dev-cluster/local/local-mesh';
import { identityName } from '../../config/identity';
import type { MeshModel, ModelEndpoint, ModelService } from './destination-model';
import type { ModelSource } from './model-source';

/** The served endpoints of a running local mesh: one per replica and port, as the runner lists them. */
export function servedFromRunning(running: readonly RunningWorkload[]): ServedEndpoint[] {
  return running.flatMap((r) => {
    const inbound = r.proxy.inbound;
    if (!inbound) return [];
    return r.ports.map((port) => {
      const s: ServedEndpoint = { authority: port.authority, name: r.workload.name, workload: r.workload.workload ?? r.workload.name, serviceAccount: r.workload.serviceAccount, inbound, identity: r.identity, appPort: port.appPort };
      if (port.protocolHint) s.protocolHint = port.protocolHint;
      return s;
    });
  });
}

/**
 * The served endpoints a topology implies on its own, without a runner: workloads with a fixed
 * `inboundPort` (their proxy listens on 127.0.0.1 there) and their identity from the ServiceAccount.
 * Workloads without one are listed in `skipped` (their inbound port is known only once started).
 */
export function servedFromTopology(t: LocalTopology): { served: ServedEndpoint[]; skipped: string[] } {
  const served: ServedEndpoint[] = [];
  const skipped: string[] = [];
  for (const w of t.workloads) {
    const ports = w.ports ?? [];
    if (ports.length === 0) continue;
    if (!w.inboundPort) {
      skipped.push(w.name);
      continue;
    }
    const identity = identityName({ serviceAccount: w.serviceAccount, namespace: w.namespace ?? t.namespace });
    for (const p of ports) {
      const s: ServedEndpoint = { authority: p.authority, name: w.name, workload: w.workload ?? w.name, serviceAccount: w.serviceAccount, inbound: { host: '127.0.0.1', port: w.inboundPort }, identity, appPort: p.appPort };
      if (p.protocolHint) s.protocolHint = p.protocolHint;
      served.push(s);
    }
  }
  return { served, skipped };
}

function endpointOf(s: ServedEndpoint): ModelEndpoint {
  const ep: ModelEndpoint = { addr: { host: s.inbound.host, port: s.inbound.port }, identity: s.identity, targetPort: s.appPort, labels: { pod: s.name, serviceaccount: s.serviceAccount ?? s.name } };
  if (s.protocolHint) ep.protocolHint = s.protocolHint;
  return ep;
}

function routeService(namespace: string, r: LocalRoute, byAuthority: ReadonlyMap<string, ServedEndpoint[]>): ModelService {
  const single = r.backends.length === 1;
  const svc: ModelService = {
    authority: r.authority,
    name: r.labels?.['service'] ?? r.authority.split('.')[0]!,
    namespace,
    endpoints: single ? (byAuthority.get(r.backends[0]!.authority) ?? []).map(endpointOf) : [],
    // The topology decided opacity, retries and timeouts: no defaults or annotations apply.
    opaque: r.opaque === true,
    opaquePorts: [],
    labels: { ...(r.labels ?? {}) },
  };
  if (!single) svc.route = { backends: r.backends.map((b) => ({ authority: b.authority, weight: b.weight })) };
  if (r.retry) svc.retry = r.retry;
  if (r.timeouts) svc.timeouts = r.timeouts;
  return svc;
}

/** Pure: the mesh model of a local topology and its served endpoints. Routes whose backends are not running have no endpoints. */
export function modelFromLocalTopology(t: LocalTopology, served: readonly ServedEndpoint[]): MeshModel {
  const byAuthority = new Map<string, ServedEndpoint[]>();
  for (const s of served) byAuthority.set(s.authority, [...(byAuthority.get(s.authority) ?? []), s]);
  const services: ModelService[] = [...byAuthority].map(([authority, list]) => ({
    authority,
    name: list[0]!.workload ?? list[0]!.name,
    namespace: t.namespace,
    endpoints: list.map(endpointOf),
    opaque: list.some((s) => s.protocolHint === 'opaque'),
    opaquePorts: [],
  }));
  for (const r of t.routes ?? []) services.push(routeService(t.namespace, r, byAuthority));
  return { services };
}

/** Follows the local runner: `setServed` when replicas start, restart (new ports) or stop. */
export class LocalTopologySource implements ModelSource {
  private readonly listeners = new Set<(model: MeshModel) => void>();
  private model: MeshModel;

  constructor(
    private topology: LocalTopology,
    private served: readonly ServedEndpoint[] = [],
  ) {
    this.model = modelFromLocalTopology(topology, served);
  }

  current(): MeshModel {
    return this.model;
  }

  subscribe(listener: (model: MeshModel) => void): () => void {
    this.listeners.add(listener);
    return () => void this.listeners.delete(listener);
  }

  setServed(served: readonly ServedEndpoint[]): void {
    this.served = served;
    this.rebuild();
  }

  setTopology(topology: LocalTopology): void {
    this.topology = topology;
    this.rebuild();
  }

  private rebuild(): void {
    this.model = modelFromLocalTopology(this.topology, this.served);
    for (const l of [...this.listeners]) l(this.model);
  }
}

/**
 * The file the local runner hands `weft destination --local-model`: what the model needs and nothing
 * else (no commands or environments), re-written when the runner learns something new (a replica
 * started, the user edited the topology's services) and re-read by the service.
 */
export interface LocalModelFile {
  version: 1;
  namespace: string;
  routes: LocalRoute[];
  served: ServedEndpoint[];
}

export function localModelFileText(t: Pick<LocalTopology, 'namespace' | 'routes'>, served: readonly ServedEndpoint[]): string {
  const file: LocalModelFile = { version: 1, namespace: t.namespace, routes: [...(t.routes ?? [])], served: [...served] };
  return `${JSON.stringify(file, null, 1)}\n`;
}

/** Pure: the text of a local model file → the topology and served endpoints it stands for, or what is wrong with it. */
export function parseLocalModelFile(text: string): { topology: LocalTopology; served: ServedEndpoint[] } | string {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (e) {
    return `not JSON (${(e as Error).message}); the local runner writes this file, do not edit it by hand`;
  }
  const f = v as Partial<LocalModelFile> | null;
  if (typeof f !== 'object' || f === null || f.version !== 1) return 'expected {"version": 1, …} as written by `weft local up`';
  if (typeof f.namespace !== 'string' || !Array.isArray(f.routes) || !Array.isArray(f.served)) return 'expected namespace (string), routes and served (lists)';
  const bad = f.served.findIndex((s) => typeof s?.authority !== 'string' || typeof s.inbound?.host !== 'string' || typeof s.inbound.port !== 'number' || typeof s.identity !== 'string');
  if (bad >= 0) return `served[${bad}]: expected authority, inbound {host, port} and identity`;
  const badRoute = f.routes.findIndex((r) => typeof r?.authority !== 'string' || !Array.isArray(r.backends));
  if (badRoute >= 0) return `routes[${badRoute}]: expected authority and backends`;
  return { topology: { namespace: f.namespace, workloads: [], routes: f.routes }, served: f.served };
}
