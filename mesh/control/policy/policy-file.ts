/**
 * Policy from YAML files (`weft policy -f`, and the proxy's WEFT_PROXY_POLICY_FILE): any number of
 * documents, each a `policy.weft.dev` resource or an HTTPRoute, a Namespace (its annotations choose
 * the default inbound policy), or a workload (Pod, Deployment, StatefulSet, DaemonSet, … : its pod
 * template gives labels, container ports, annotations and HTTP probes). Other kinds are skipped.
 * Pure: text in, model parts and errors (file, document, resource and field named) out.
 */
import { parseAllDocuments } from 'yaml';
import { POD_TEMPLATE_PATHS } from '../../config/kube-kinds';
import type { MeshPolicyDefaults, ProbeFact } from './inbound-policy';
import { workloadKey, type PolicyModel, type WorkloadRecord } from './policy-model';
import { emptyPolicyResources, parsePolicyResources, type PolicyResources } from './resources';

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

function strings(v: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  if (isObj(v)) for (const [k, x] of Object.entries(v)) if (typeof x === 'string' || typeof x === 'number' || typeof x === 'boolean') out[k] = String(x);
  return out;
}

function at(o: unknown, path: readonly string[]): unknown {
  let cur = o;
  for (const k of path) cur = isObj(cur) ? cur[k] : undefined;
  return cur;
}

/**
 * A workload's policy facts from a Kubernetes object (Pod, or a kind with a pod template), or
 * undefined for other kinds. Probe ports given by name are resolved against the container's ports.
 */
export function workloadFromObject(o: unknown, defaultNamespace = 'default'): WorkloadRecord | undefined {
  if (!isObj(o) || typeof o.kind !== 'string') return undefined;
  const path = POD_TEMPLATE_PATHS[o.kind];
  const name = at(o, ['metadata', 'name']);
  if (!path || typeof name !== 'string') return undefined;
  const nsValue = at(o, ['metadata', 'namespace']);
  const namespace = typeof nsValue === 'string' ? nsValue : defaultNamespace;
  const pod = path.length ? at(o, path) : o;
  const containers = [at(pod, ['spec', 'containers']), at(pod, ['spec', 'initContainers'])].flatMap((c) => (Array.isArray(c) ? c : []));
  const ports: { name?: string; port: number }[] = [];
  const probes: ProbeFact[] = [];
  for (const c of containers) {
    const own: { name?: string; port: number }[] = [];
    for (const p of Array.isArray(at(c, ['ports'])) ? (at(c, ['ports']) as unknown[]) : []) {
      const port = at(p, ['containerPort']);
      const pname = at(p, ['name']);
      if (typeof port === 'number') own.push(typeof pname === 'string' ? { name: pname, port } : { port });
    }
    ports.push(...own);
    for (const kind of ['livenessProbe', 'readinessProbe', 'startupProbe']) {
      const get = at(c, [kind, 'httpGet']);
      if (!isObj(get)) continue;
      const probePath = typeof get.path === 'string' ? get.path : '/';
      const port = typeof get.port === 'number' ? get.port : own.find((p) => p.name === get.port)?.port;
      if (port !== undefined) probes.push({ port, path: probePath });
    }
  }
  return { namespace, name, labels: strings(at(pod, ['metadata', 'labels'])), annotations: strings(at(pod, ['metadata', 'annotations'])), ports, probes };
}

export interface PolicyFileContent {
  resources: PolicyResources;
  namespaces: Map<string, Record<string, string>>;
  workloads: Map<string, WorkloadRecord>;
  errors: string[];
}

/** Reads one file's text. `name` prefixes every error (`policy.yaml: document 3: Server shop/api: spec.port: …`). */
export function parsePolicyFile(text: string, name: string): PolicyFileContent {
  const out: PolicyFileContent = { resources: emptyPolicyResources(), namespaces: new Map(), workloads: new Map(), errors: [] };
  const docs = parseAllDocuments(text, { prettyErrors: false });
  const list = Array.isArray(docs) ? docs : [docs];
  list.forEach((doc, i) => {
    const where = `${name}: document ${i + 1}`;
    if (doc.errors.length > 0) return void out.errors.push(`${where}: not valid YAML: ${doc.errors[0]!.message.split('\n')[0]}`);
    const value: unknown = doc.toJS();
    if (value === null || value === undefined) return;
    const objects = isObj(value) && value.kind === 'List' && Array.isArray(value.items) ? (value.items as unknown[]) : [value];
    for (const o of objects) {
      if (!isObj(o)) {
        out.errors.push(`${where}: expected a Kubernetes object (apiVersion, kind, metadata), got ${Array.isArray(o) ? 'a list' : typeof o}`);
        continue;
      }
      if (o.kind === 'Namespace') {
        const n = at(o, ['metadata', 'name']);
        if (typeof n === 'string') out.namespaces.set(n, strings(at(o, ['metadata', 'annotations'])));
        else out.errors.push(`${where}: Namespace without metadata.name`);
        continue;
      }
      const w = workloadFromObject(o);
      if (w) {
        out.workloads.set(workloadKey(w.namespace, w.name), w);
        continue;
      }
      const r = parsePolicyResources([o]);
      out.errors.push(...r.errors.map((e) => `${where}: ${e}`));
      for (const k of Object.keys(r.resources) as (keyof PolicyResources)[]) (out.resources[k] as unknown[]).push(...r.resources[k]);
    }
  });
  return out;
}

/** Merges several files into one model. */
export function modelFromFiles(files: readonly { name: string; text: string }[], meshDefaults: MeshPolicyDefaults): { model: PolicyModel; errors: string[] } {
  const resources = emptyPolicyResources();
  const namespaces = new Map<string, Record<string, string>>();
  const workloads = new Map<string, WorkloadRecord>();
  const errors: string[] = [];
  for (const f of files) {
    const c = parsePolicyFile(f.text, f.name);
    errors.push(...c.errors);
    for (const k of Object.keys(resources) as (keyof PolicyResources)[]) (resources[k] as unknown[]).push(...c.resources[k]);
    for (const [k, v] of c.namespaces) namespaces.set(k, v);
    for (const [k, v] of c.workloads) workloads.set(k, v);
  }
  return { model: { resources, namespaces, workloads, meshDefaults }, errors };
}
