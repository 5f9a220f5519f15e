/**
 * What the policy service serves from, and the pure part of serving it: a `PolicyModel` (the
 * policy resources, namespace annotations, known workloads and mesh defaults), the sources that
 * hold one (`PolicyModelSource`; `MemoryPolicySource` for tests and files), a proxy's request for
 * its workload's policy, and the line the service answers with. No I/O here.
 */
import { compileInboundPolicy, MESH_POLICY_DEFAULTS, type MeshPolicyDefaults, type ProbeFact, type WorkloadFacts } from './inbound-policy';
import { encodeTable, type WireTable } from './policy-wire';
import { emptyPolicyResources, type PolicyResources } from './resources';

/** A workload as a source knows it (Kubernetes: a pod's labels, container ports, annotations, probes). */
export interface WorkloadRecord {
  namespace: string;
  name: string;
  labels: Readonly<Record<string, string>>;
  ports: readonly { name?: string; port: number }[];
  annotations: Readonly<Record<string, string>>;
  probes: readonly ProbeFact[];
}

export interface PolicyModel {
  resources: PolicyResources;
  /** Namespace annotations by namespace name (where config.weft.dev/default-inbound-policy may be set). */
  namespaces: ReadonlyMap<string, Readonly<Record<string, string>>>;
  /** Known workloads by `namespace/name`; their facts win over what a proxy says about itself. */
  workloads: ReadonlyMap<string, WorkloadRecord>;
  meshDefaults: MeshPolicyDefaults;
}

export const emptyPolicyModel = (meshDefaults: MeshPolicyDefaults = MESH_POLICY_DEFAULTS): PolicyModel => ({
  resources: emptyPolicyResources(),
  namespaces: new Map(),
  workloads: new Map(),
  meshDefaults,
});

/** Where the policy service's model comes from. See policy-server.ts for the contract. */
export interface PolicyModelSource {
  current(): PolicyModel;
  /** Called after every change with the new model; returns the unsubscribe function. */
  subscribe(listener: (model: PolicyModel) => void): () => void;
}

export class MemoryPolicySource implements PolicyModelSource {
  private readonly listeners = new Set<(model: PolicyModel) => void>();

  constructor(private model: PolicyModel = emptyPolicyModel()) {}

  current(): PolicyModel {
    return this.model;
  }

  set(model: PolicyModel): void {
    this.model = model;
    for (const l of [...this.listeners]) l(model);
  }

  /** Replaces part of the model (a convenience for tests and the file source). */
  update(patch: Partial<PolicyModel>): void {
    this.set({ ...this.model, ...patch });
  }

  subscribe(listener: (model: PolicyModel) => void): () => void {
    this.listeners.add(listener);
    return () => void this.listeners.delete(listener);
  }
}

/** A proxy's request: which workload it serves, and what it knows about it (used when the source does not). */
export interface WorkloadRequest {
  namespace: string;
  name: string;
  labels?: Record<string, string>;
  ports?: { name?: string; port: number }[];
  annotations?: Record<string, string>;
  probes?: ProbeFact[];
}

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const isPort = (n: unknown): n is number => typeof n === 'number' && Number.isInteger(n) && n >= 1 && n <= 65535;

function strMap(v: unknown, where: string, errors: string[]): Record<string, string> | undefined {
  if (v === undefined) return undefined;
  if (typeof v !== 'object' || v === null || Array.isArray(v) || Object.values(v).some((x) => typeof x !== 'string')) {
    errors.push(`${where}: expected a map of strings`);
    return undefined;
  }
  return { ...(v as Record<string, string>) };
}

/** Reads a request body (parsed JSON); errors name the field. */
export function parseWorkloadRequest(v: unknown): { ok: true; request: WorkloadRequest } | { ok: false; errors: string[] } {
  const errors: string[] = [];
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return { ok: false, errors: ['the request body must be a JSON object {namespace, name, labels?, ports?, annotations?, probes?}'] };
  const o = v as Record<string, unknown>;
  const namespace = typeof o.namespace === 'string' && DNS_LABEL.test(o.namespace) ? o.namespace : undefined;
  if (!namespace) errors.push(`namespace: expected a Kubernetes namespace name, got ${JSON.stringify(o.namespace)}`);
  const name = typeof o.name === 'string' && o.name.length > 0 && o.name.length <= 253 ? o.name : undefined;
  if (!name) errors.push(`name: expected the workload's name, got ${JSON.stringify(o.name)}`);
  const request: WorkloadRequest = { namespace: namespace ?? '', name: name ?? '' };
  const labels = strMap(o.labels, 'labels', errors);
  if (labels) request.labels = labels;
  const annotations = strMap(o.annotations, 'annotations', errors);
  if (annotations) request.annotations = annotations;
  if (o.ports !== undefined) {
    if (!Array.isArray(o.ports)) errors.push('ports: expected a list of {name?, port}');
    else {
      request.ports = [];
      o.ports.forEach((p: unknown, i) => {
        const po = (typeof p === 'object' && p !== null ? p : {}) as Record<string, unknown>;
        if (!isPort(po.port) || (po.name !== undefined && typeof po.name !== 'string')) return void errors.push(`ports[${i}]: expected {name?, port} with a port from 1 to 65535`);
        request.ports!.push(typeof po.name === 'string' ? { name: po.name, port: po.port } : { port: po.port });
      });
    }
  }
  if (o.probes !== undefined) {
    if (!Array.isArray(o.probes)) errors.push('probes: expected a list of {port, path}');
    else {
      request.probes = [];
      o.probes.forEach((p: unknown, i) => {
        const po = (typeof p === 'object' && p !== null ? p : {}) as Record<string, unknown>;
        if (!isPort(po.port) || typeof po.path !== 'string' || !po.path.startsWith('/')) return void errors.push(`probes[${i}]: expected {port, path} with a path that starts with "/"`);
        request.probes!.push({ port: po.port, path: po.path });
      });
    }
  }
  return errors.length ? { ok: false, errors } : { ok: true, request };
}

export const workloadKey = (namespace: string, name: string): string => `${namespace}/${name}`;

/** The facts a table is compiled from: the source's record of the workload when it has one, else the request's. */
export function workloadFacts(model: PolicyModel, req: WorkloadRequest): WorkloadFacts {
  const known = model.workloads.get(workloadKey(req.namespace, req.name));
  const facts: WorkloadFacts = known
    ? { namespace: known.namespace, labels: known.labels, ports: known.ports, annotations: known.annotations, probes: known.probes }
    : { namespace: req.namespace, labels: req.labels ?? {}, ports: req.ports ?? [], annotations: req.annotations ?? {}, probes: req.probes ?? [] };
  const ns = model.namespaces.get(req.namespace);
  if (ns) facts.namespaceAnnotations = ns;
  return facts;
}

/** One answer of the stream: the compiled table, and whether the source knew the workload. */
export interface PolicyAnswer {
  table: WireTable;
  workload: { namespace: string; name: string; known: boolean };
}

/** The NDJSON line for a request under a model (`{"policy": PolicyAnswer}\n`). */
export function answerLine(model: PolicyModel, req: WorkloadRequest): string {
  const table = compileInboundPolicy(workloadFacts(model, req), model.resources, model.meshDefaults);
  const answer: PolicyAnswer = { table: encodeTable(table), workload: { namespace: req.namespace, name: req.name, known: model.workloads.has(workloadKey(req.namespace, req.name)) } };
  return `${JSON.stringify({ policy: answer })}\n`;
}

