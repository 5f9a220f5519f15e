/**
 * The local mode's model source: the runner's topology (dev-cluster/local/local-mesh.ts) plus what
 * it learned while starting (each served workload's proxy inbound address, identity and app port)
 * become one service per served authority, its endpoint the workload's proxy. Settings the
 * topology has no field for yet (opaque ports, appProtocol, retry/timeout annotations, HTTPRoute
 * splits) come in `extras`, keyed by authority.
 */
import type { LocalTopology, LocalWorkload, RunningWorkload } from '../../../dev-cluster/local/local-mesh';
import type { SocketAddr } from '../../proxy/discovery/discovery';
import type { MeshModel, ModelRoute, ModelService } from './destination-model';
import type { ModelSource } from './model-source';

/** One served workload as the runner started it. */
export interface LocalServed {
  workload: LocalWorkload;
  identity: string;
  /** Its proxy's inbound listener. */
  inbound: SocketAddr;
  appPort: number;
}

export interface LocalServiceExtras {
  opaquePorts?: number[];
  appProtocol?: string;
  annotations?: Record<string, string>;
  route?: ModelRoute;
}

/** The served workloads of a running local mesh (those with a service and an inbound listener). */
export function servedFromRunning(running: readonly RunningWorkload[]): LocalServed[] {
  return running.flatMap((r) => (r.workload.serves && r.proxy.inbound && r.appPort !== undefined ? [{ workload: r.workload, identity: r.identity, inbound: r.proxy.inbound, appPort: r.appPort }] : []));
}

/** Pure: the mesh model of a local topology. Served workloads not (or no longer) running have no endpoint. */
export function modelFromLocalTopology(t: LocalTopology, served: readonly LocalServed[], extras: Readonly<Record<string, LocalServiceExtras>> = {}): MeshModel {
  const services: ModelService[] = [];
  for (const w of t.workloads) {
    if (!w.serves) continue;
    const ep = served.filter((s) => s.workload.name === w.name);
    const x = extras[w.serves] ?? {};
    const svc: ModelService = {
      authority: w.serves,
      name: w.name,
      namespace: t.namespace,
      endpoints: ep.map((s) => ({ addr: s.inbound, identity: s.identity, targetPort: s.appPort, labels: { pod: w.name, serviceaccount: w.serviceAccount } })),
    };
    if (x.opaquePorts) svc.opaquePorts = x.opaquePorts;
    if (x.appProtocol) svc.appProtocol = x.appProtocol;
    if (x.annotations) svc.annotations = x.annotations;
    if (x.route) svc.route = x.route;
    services.push(svc);
  }
  return { services };
}

export class LocalTopologySource implements ModelSource {
  private readonly listeners = new Set<(model: MeshModel) => void>();
  private model: MeshModel;

  constructor(
    private topology: LocalTopology,
    private served: readonly LocalServed[] = [],
    private extras: Readonly<Record<string, LocalServiceExtras>> = {},
  ) {
    this.model = modelFromLocalTopology(topology, served, extras);
  }

  current(): MeshModel {
    return this.model;
  }

  subscribe(listener: (model: MeshModel) => void): () => void {
    this.listeners.add(listener);
    return () => void this.listeners.delete(listener);
  }

  /** The runner started, restarted or lost workloads: the new set of served workloads. */
  setServed(served: readonly LocalServed[]): void {
    this.served = served;
    this.rebuild();
  }

  setTopology(topology: LocalTopology, extras: Readonly<Record<string, LocalServiceExtras>> = this.extras): void {
    this.topology = topology;
    this.extras = extras;
    this.rebuild();
  }

  private rebuild(): void {
    this.model = modelFromLocalTopology(this.topology, this.served, this.extras);
    for (const l of [...this.listeners]) l(this.model);
  }
}
