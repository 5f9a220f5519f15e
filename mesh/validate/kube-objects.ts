/** Reading Kubernetes objects safely: accessors, pod templates, label selectors, port lists. */
import { POD_TEMPLATE_PATHS } from '../config/kube-kinds';
import type { KObject, Resource, YamlPath } from './finding';

export function isObj(v: unknown): v is KObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
export function obj(v: unknown): KObject {
  return isObj(v) ? v : {};
}
export function arr(v: unknown): unknown[] {
  return Array.isArray(v) ? v : [];
}
export function str(v: unknown): string | undefined {
  return typeof v === 'string' ? v : typeof v === 'number' || typeof v === 'boolean' ? String(v) : undefined;
}
export function get(v: unknown, path: YamlPath): unknown {
  let cur = v;
  for (const seg of path) {
    if (typeof seg === 'number') cur = Array.isArray(cur) ? cur[seg] : undefined;
    else cur = isObj(cur) ? cur[seg] : undefined;
    if (cur === undefined) return undefined;
  }
  return cur;
}
/** A string map (annotations, labels); non-string values are stringified. */
export function stringMap(v: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  if (isObj(v)) for (const [k, x] of Object.entries(v)) { const s = str(x); if (s !== undefined) out[k] = s; }
  return out;
}


export interface PodTemplate {
  /** Path of the template (where `metadata` and `spec` live). */
  path: YamlPath;
  annotations: Record<string, string>;
  labels: Record<string, string>;
  spec: KObject;
}

/** Pod templates by resource: rules ask for the same ones many times (resources are never mutated). */
const templates = new WeakMap<Resource, PodTemplate | null>();

/** The pod template of a workload (read-only: the result is shared between callers). */
export function podTemplate(res: Resource): PodTemplate | undefined {
  const known = templates.get(res);
  if (known !== undefined) return known ?? undefined;
  const path = POD_TEMPLATE_PATHS[res.kind];
  let out: PodTemplate | null = null;
  if (path) {
    const t = obj(get(res.obj, path));
    const meta = obj(t.metadata);
    out = { path, annotations: stringMap(meta.annotations), labels: stringMap(meta.labels), spec: obj(t.spec) };
  }
  templates.set(res, out);
  return out ?? undefined;
}

export interface ContainerPort {
  port: number;
  name?: string;
  protocol: string;
  /** Path of the port entry. */
  path: YamlPath;
}

export function containerPorts(t: PodTemplate): ContainerPort[] {
  const out: ContainerPort[] = [];
  for (const list of ['containers', 'initContainers'] as const) {
    arr(t.spec[list]).forEach((c, ci) => {
      arr(obj(c).ports).forEach((p, pi) => {
        const o = obj(p);
        if (typeof o.containerPort === 'number') {
          out.push({ port: o.containerPort, name: str(o.name), protocol: str(o.protocol) ?? 'TCP', path: [...t.path, 'spec', list, ci, 'ports', pi] });
        }
      });
    });
  }
  return out;
}

export interface LabelSelector {
  matchLabels?: Record<string, string>;
  matchExpressions?: { key: string; operator: string; values?: string[] }[];
}

/** Kubernetes label-selector semantics; an empty selector matches everything. */
export function matchesSelector(labels: Record<string, string>, selector: unknown): boolean {
  const s = obj(selector);
  for (const [k, v] of Object.entries(stringMap(s.matchLabels))) if (labels[k] !== v) return false;
  for (const e of arr(s.matchExpressions)) {
    const x = obj(e);
    const key = str(x.key) ?? '';
    const values = arr(x.values).map((v) => str(v) ?? '');
    const has = key in labels;
    switch (str(x.operator)) {
      case 'In': if (!has || !values.includes(labels[key]!)) return false; break;
      case 'NotIn': if (has && values.includes(labels[key]!)) return false; break;
      case 'Exists': if (!has) return false; break;
      case 'DoesNotExist': if (has) return false; break;
      default: return false;
    }
  }
  return true;
}

/** A Service-style selector (plain map); an empty or missing one selects nothing. */
export function matchesMapSelector(labels: Record<string, string>, selector: unknown): boolean {
  const s = stringMap(selector);
  const keys = Object.keys(s);
  return keys.length > 0 && keys.every((k) => labels[k] === s[k]);
}

/** A parsed port list annotation: `25,3306,4000-4100,postgres`. */
export interface PortList {
  raw: string;
  ports: Set<number>;
  ranges: [number, number][];
  names: string[];
  invalid: string[];
}

export function parsePortList(raw: string): PortList {
  const out: PortList = { raw, ports: new Set(), ranges: [], names: [], invalid: [] };
  for (const item of raw.split(',').map((s) => s.trim()).filter(Boolean)) {
    let m: RegExpExecArray | null;
    if (/^\d+$/.test(item)) {
      const n = Number(item);
      if (n >= 1 && n <= 65535) out.ports.add(n);
      else out.invalid.push(item);
    } else if ((m = /^(\d+)-(\d+)$/.exec(item))) {
      const a = Number(m[1]);
      const b = Number(m[2]);
      if (a >= 1 && b <= 65535 && a <= b) out.ranges.push([a, b]);
      else out.invalid.push(item);
    } else if (/^[a-z0-9]([-a-z0-9]{0,13}[a-z0-9])?$/.test(item) && /[a-z]/.test(item)) {
      out.names.push(item);
    } else {
      out.invalid.push(item);
    }
  }
  return out;
}

export function portListHas(list: PortList, port: number, name?: string): boolean {
  if (list.ports.has(port)) return true;
  if (list.ranges.some(([a, b]) => port >= a && port <= b)) return true;
  return name !== undefined && list.names.includes(name);
}

/** The apiGroup of an apiVersion (`''` for the core group). */
export function apiGroup(apiVersion: string): string {
  const i = apiVersion.indexOf('/');
  return i < 0 ? '' : apiVersion.slice(0, i);
}
