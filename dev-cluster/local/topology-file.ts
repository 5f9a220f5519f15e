/**
 * The local mode's topology file (docs/local-mode.md): a pure parser and validator,
 * `parseTopology(text, fileName)`, whose every error names the file, the line and the field, and a
 * pure translation, `toLocalTopology`, into what the runner (local-mesh.ts) starts.
 */
import { readFile } from 'node:fs/promises';
import { isAbsolute, join } from 'node:path';
import { isMap, isScalar, isSeq, LineCounter, parseDocument, type Node as YamlNode } from 'yaml';
import { DEFAULT_INBOUND_POLICIES, type DefaultInboundPolicy } from '../../mesh/config/annotations';
import { parseGrpcRetryConditions, parseHttpRetryConditions, parseDuration } from '../../mesh/proxy/reliability/retry-policy';
import type { LocalPolicy, LocalPort, LocalRoute, LocalTopology, LocalWorkload } from './local-mesh';

export interface TopologyPort {
  port: number;
  name?: string;
  opaque: boolean;
  appProtocol?: string;
}

export interface TopologyWorkload {
  name: string;
  namespace: string;
  serviceAccount: string;
  command: string[];
  env: Record<string, string>;
  replicas: number;
  ports: TopologyPort[];
  /** Fixed port of the proxy's inbound listener (replica i: inboundPort + i); absent: any free port. */
  inboundPort?: number;
  /** Services called, as `name.namespace`. */
  upstreams: string[];
  /** The pod labels policy Servers select on (default `app: <name>`). */
  labels: Record<string, string>;
  /** This workload's default inbound policy (as a pod annotation would set it). */
  defaultInboundPolicy?: DefaultInboundPolicy;
  /** HTTP probe paths (kubelet-style: policy lets a GET on them through where Linkerd would), by port. */
  probes: { port: number; path: string }[];
}

export interface TopologyBackend {
  workload: string;
  /** The workload's port this backend sends to. */
  port: number;
  weight: number;
}

export interface TopologyService {
  name: string;
  namespace: string;
  /** The port clients call: `name.namespace:port`. */
  port: number;
  backends: TopologyBackend[];
  opaque: boolean;
  retry?: { limit: number; http: string[]; grpc: string[]; timeoutMs: number };
  timeout?: { requestMs?: number; responseMs?: number; idleMs?: number };
  /** True when made from a workload's first port because no service names it. */
  implicit: boolean;
}

export interface Topology {
  namespace: string;
  workloads: TopologyWorkload[];
  services: TopologyService[];
  /** The mesh's default inbound policy for this run (workloads may override it). */
  defaultInboundPolicy?: DefaultInboundPolicy;
  /** Policy files (policy.weft.dev resources, HTTPRoutes), as written: relative to the topology file. */
  policy: string[];
}

export interface TopologyError {
  file: string;
  line: number;
  field: string;
  message: string;
}

export type TopologyResult = { ok: true; topology: Topology } | { ok: false; errors: TopologyError[] };

export function formatTopologyError(e: TopologyError): string {
  return `${e.file}:${e.line}: ${e.field ? `${e.field}: ` : ''}${e.message}`;
}

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
/** Kubernetes label keys (optional DNS-subdomain prefix and `/`, then a name) and values. */
const LABEL_KEY = /^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/;
const LABEL_VALUE = /^([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?$/;
const OPAQUE_PROTOCOLS = new Set(['tcp', 'opaque', 'linkerd.io/opaque', 'weft.dev/opaque']);
const H2_PROTOCOLS = new Set(['h2c', 'http2', 'grpc', 'kubernetes.io/h2c']);
const KNOWN_PROTOCOLS = new Set([...OPAQUE_PROTOCOLS, ...H2_PROTOCOLS, 'http', 'http1', 'kubernetes.io/ws']);

/** A parsed YAML value with the line it starts on. */
class Ctx {
  readonly errors: TopologyError[] = [];
  constructor(
    readonly file: string,
    private readonly lines: LineCounter,
  ) {}
  line(node: YamlNode | null | undefined, fallback = 1): number {
    const off = node?.range?.[0];
    return off === undefined ? fallback : this.lines.linePos(off).line;
  }
  error(node: YamlNode | null | undefined, field: string, message: string, fallbackLine = 1): void {
    this.errors.push({ file: this.file, line: this.line(node, fallbackLine), field, message });
  }
}

type Fields = Map<string, { key: YamlNode; value: YamlNode | null }>;

/** A map's fields; unknown keys are errors. Undefined (and an error) when `node` is not a map. */
function fields(c: Ctx, node: YamlNode | null | undefined, at: string, known: readonly string[], line: number): Fields | undefined {
  if (!isMap(node)) {
    c.error(node, at, 'expected a map', line);
    return undefined;
  }
  const out: Fields = new Map();
  for (const pair of node.items) {
    const key = pair.key as YamlNode;
    const name = isScalar(key) ? String(key.value) : '?';
    if (!known.includes(name)) c.error(key, at ? `${at}.${name}` : name, `unknown field (expected one of ${known.join(', ')})`);
    else if (out.has(name)) c.error(key, at ? `${at}.${name}` : name, 'given twice');
    else out.set(name, { key, value: (pair.value as YamlNode | null) ?? null });
  }
  return out;
}

function scalar(node: YamlNode | null | undefined): unknown {
  return isScalar(node) ? node.value : undefined;
}

function str(c: Ctx, f: Fields, name: string, at: string, opts: { required?: boolean; pattern?: RegExp; what?: string }, line: number): string | undefined {
  const e = f.get(name);
  const field = `${at ? `${at}.` : ''}${name}`;
  if (!e) {
    if (opts.required) c.error(undefined, field, 'required', line);
    return undefined;
  }
  const v = scalar(e.value);
  if (typeof v !== 'string' || v === '') {
    c.error(e.value ?? e.key, field, `expected ${opts.what ?? 'a string'}`);
    return undefined;
  }
  if (opts.pattern && !opts.pattern.test(v)) {
    c.error(e.value, field, `expected ${opts.what ?? 'a string'}, got "${v}"`);
    return undefined;
  }
  return v;
}

function int(c: Ctx, f: Fields, name: string, at: string, min: number, max: number, what: string, line: number, required = false): number | undefined {
  const e = f.get(name);
  const field = `${at ? `${at}.` : ''}${name}`;
  if (!e) {
    if (required) c.error(undefined, field, `required (${what})`, line);
    return undefined;
  }
  const v = scalar(e.value);
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
    c.error(e.value ?? e.key, field, `expected ${what}`);
    return undefined;
  }
  return v;
}

function bool(c: Ctx, f: Fields, name: string, at: string): boolean {
  const e = f.get(name);
  if (!e) return false;
  const v = scalar(e.value);
  if (typeof v !== 'boolean') {
    c.error(e.value ?? e.key, `${at}.${name}`, 'expected true or false');
    return false;
  }
  return v;
}

function seq(c: Ctx, f: Fields, name: string, at: string): { node: YamlNode; items: YamlNode[] } | undefined {
  const e = f.get(name);
  if (!e || e.value === null || (isScalar(e.value) && e.value.value === null)) return undefined;
  if (!isSeq(e.value)) {
    c.error(e.value, `${at ? `${at}.` : ''}${name}`, 'expected a list');
    return undefined;
  }
  return { node: e.value, items: e.value.items as YamlNode[] };
}

function duration(c: Ctx, f: Fields, name: string, at: string): number | undefined {
  const e = f.get(name);
  if (!e) return undefined;
  const v = scalar(e.value);
  const d = typeof v === 'string' ? parseDuration(v) : { ok: false as const, error: 'expected a duration such as 500ms, 10s, 1m' };
  if (!d.ok) {
    c.error(e.value ?? e.key, `${at}.${name}`, d.error);
    return undefined;
  }
  return d.ms;
}

const PORT_RANGE = 'a number from 1 to 65535';

function inboundPolicy(c: Ctx, f: Fields, at: string): DefaultInboundPolicy | undefined {
  const e = f.get('defaultInboundPolicy');
  if (!e) return undefined;
  const v = scalar(e.value);
  const field = `${at ? `${at}.` : ''}defaultInboundPolicy`;
  if (typeof v !== 'string' || !(DEFAULT_INBOUND_POLICIES as readonly string[]).includes(v)) {
    c.error(e.value ?? e.key, field, `expected one of ${DEFAULT_INBOUND_POLICIES.join(', ')}${typeof v === 'string' ? `, got "${v}"` : ''}`);
    return undefined;
  }
  return v as DefaultInboundPolicy;
}

function labelMap(c: Ctx, f: Fields, at: string): Record<string, string> | undefined {
  const e = f.get('labels');
  if (!e) return undefined;
  if (!isMap(e.value)) {
    c.error(e.value ?? e.key, `${at}.labels`, 'expected a map of key: value (e.g. { app: api, tier: backend })');
    return undefined;
  }
  const labels: Record<string, string> = {};
  for (const pair of e.value.items) {
    const k = pair.key as YamlNode;
    const kn = String(scalar(k));
    const v = scalar(pair.value as YamlNode);
    if (!LABEL_KEY.test(kn)) c.error(k, `${at}.labels.${kn}`, 'expected a label key (letters, digits, -, _, ., up to 63; optionally prefix/)');
    else if ((typeof v !== 'string' && typeof v !== 'number' && typeof v !== 'boolean') || !LABEL_VALUE.test(String(v))) c.error((pair.value as YamlNode) ?? k, `${at}.labels.${kn}`, 'expected a label value (letters, digits, -, _, ., up to 63)');
    else labels[kn] = String(v);
  }
  return labels;
}

function parsePort(c: Ctx, node: YamlNode, at: string): TopologyPort | undefined {
  const f = fields(c, node, at, ['port', 'name', 'opaque', 'appProtocol'], c.line(node));
  if (!f) return undefined;
  const port = int(c, f, 'port', at, 1, 65535, PORT_RANGE, c.line(node), true);
  const name = str(c, f, 'name', at, { pattern: DNS_LABEL, what: 'a DNS label' }, c.line(node));
  const opaque = bool(c, f, 'opaque', at);
  const appProtocol = str(c, f, 'appProtocol', at, {}, c.line(node));
  if (appProtocol !== undefined && !KNOWN_PROTOCOLS.has(appProtocol)) c.error(f.get('appProtocol')!.value, `${at}.appProtocol`, `unknown protocol "${appProtocol}" (expected one of ${[...KNOWN_PROTOCOLS].join(', ')})`);
  if (port === undefined) return undefined;
  const p: TopologyPort = { port, opaque: opaque || (appProtocol !== undefined && OPAQUE_PROTOCOLS.has(appProtocol)) };
  if (name !== undefined) p.name = name;
  if (appProtocol !== undefined) p.appProtocol = appProtocol;
  return p;
}

function parseWorkload(c: Ctx, node: YamlNode, at: string, defaultNs: string): (TopologyWorkload & { node: YamlNode; upstreamNodes: YamlNode[] }) | undefined {
  const line = c.line(node);
  const f = fields(c, node, at, ['name', 'namespace', 'serviceAccount', 'command', 'env', 'replicas', 'ports', 'inboundPort', 'upstreams', 'labels', 'defaultInboundPolicy', 'probes'], line);
  if (!f) return undefined;
  const name = str(c, f, 'name', at, { required: true, pattern: DNS_LABEL, what: 'a DNS label' }, line);
  const namespace = str(c, f, 'namespace', at, { pattern: DNS_LABEL, what: 'a DNS label' }, line) ?? defaultNs;
  const serviceAccount = str(c, f, 'serviceAccount', at, { pattern: DNS_LABEL, what: 'a DNS label' }, line) ?? name;
  const replicas = int(c, f, 'replicas', at, 1, 100, 'a whole number from 1 to 100', line) ?? 1;
  const inboundPort = int(c, f, 'inboundPort', at, 1, 65535, PORT_RANGE, line);
  const labels = labelMap(c, f, at);
  const defaultInboundPolicy = inboundPolicy(c, f, at);

  const command: string[] = [];
  const cmd = f.get('command');
  if (!cmd) c.error(undefined, `${at}.command`, 'required (the app as an argument list, e.g. [node, server.js])', line);
  else if (!isSeq(cmd.value) || cmd.value.items.length === 0) c.error(cmd.value ?? cmd.key, `${at}.command`, 'expected a non-empty list of strings (argv)');
  else
    cmd.value.items.forEach((item, i) => {
      const v = scalar(item as YamlNode);
      if (typeof v === 'string' || typeof v === 'number') command.push(String(v));
      else c.error(item as YamlNode, `${at}.command[${i}]`, 'expected a string');
    });

  const env: Record<string, string> = {};
  const envEntry = f.get('env');
  if (envEntry && envEntry.value !== null) {
    if (!isMap(envEntry.value)) c.error(envEntry.value, `${at}.env`, 'expected a map of NAME: value');
    else
      for (const pair of envEntry.value.items) {
        const k = pair.key as YamlNode;
        const kn = String(scalar(k));
        const v = scalar(pair.value as YamlNode);
        if (!ENV_NAME.test(kn)) c.error(k, `${at}.env.${kn}`, 'expected a variable name (letters, digits, _)');
        else if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') env[kn] = String(v);
        else c.error((pair.value as YamlNode) ?? k, `${at}.env.${kn}`, 'expected a string, number or boolean');
      }
  }

  const ports: TopologyPort[] = [];
  const portSeq = seq(c, f, 'ports', at);
  portSeq?.items.forEach((p, i) => {
    const parsed = parsePort(c, p, `${at}.ports[${i}]`);
    if (!parsed) return;
    if (ports.some((q) => q.port === parsed.port)) c.error(p, `${at}.ports[${i}].port`, `port ${parsed.port} is listed twice`);
    else if (parsed.name !== undefined && ports.some((q) => q.name === parsed.name)) c.error(p, `${at}.ports[${i}].name`, `name "${parsed.name}" is used twice`);
    else ports.push(parsed);
  });
  if (inboundPort !== undefined && ports.length === 0) c.error(f.get('inboundPort')!.value, `${at}.inboundPort`, 'only a workload with ports has an inbound listener');

  const probes: { port: number; path: string }[] = [];
  const probeSeq = seq(c, f, 'probes', at);
  if (probeSeq && ports.length === 0) c.error(probeSeq.node, `${at}.probes`, 'only a workload with ports can be probed');
  else
    probeSeq?.items.forEach((p, i) => {
      const pat = `${at}.probes[${i}]`;
      const pf = fields(c, p, pat, ['path', 'port'], c.line(p));
      if (!pf) return;
      const path = str(c, pf, 'path', pat, { required: true, pattern: /^\/[^\s,]*$/, what: 'an HTTP path starting with / (no spaces or commas)' }, c.line(p));
      const pe = pf.get('port');
      const pv = pe ? scalar(pe.value) : undefined;
      const port = pe === undefined ? ports[0]?.port : ports.find((q) => q.port === pv || (typeof pv === 'string' && q.name === pv))?.port;
      if (port === undefined) c.error(pe?.value ?? p, `${pat}.port`, `expected one of this workload's ports (${ports.map((q) => (q.name ? `${q.name}/${q.port}` : q.port)).join(', ')}), got ${JSON.stringify(pv)}`);
      else if (path !== undefined) probes.push({ port, path });
    });

  const upstreams: string[] = [];
  const upstreamNodes: YamlNode[] = [];
  seq(c, f, 'upstreams', at)?.items.forEach((u, i) => {
    const v = scalar(u);
    if (typeof v !== 'string' || !/^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)?$/.test(v)) {
      c.error(u, `${at}.upstreams[${i}]`, 'expected a service name, or name.namespace');
      return;
    }
    upstreams.push(v.includes('.') ? v : `${v}.${namespace}`);
    upstreamNodes.push(u);
  });
  if (name === undefined) return undefined;
  const w: TopologyWorkload & { node: YamlNode; upstreamNodes: YamlNode[] } = { name, namespace, serviceAccount: serviceAccount ?? name, command, env, replicas, ports, upstreams, labels: labels ?? { app: name }, probes, node, upstreamNodes };
  if (inboundPort !== undefined) w.inboundPort = inboundPort;
  if (defaultInboundPolicy !== undefined) w.defaultInboundPolicy = defaultInboundPolicy;
  return w;
}

interface RawService extends Omit<TopologyService, 'backends' | 'port'> {
  port: number | undefined;
  node: YamlNode;
  at: string;
  backends: { workload: string; port: number | undefined; weight: number; node: YamlNode; at: string }[];
  /** `backends:` was written (an empty list is then an error, not "the workload of the same name"). */
  backendsGiven: boolean;
}

function parseService(c: Ctx, node: YamlNode, at: string, defaultNs: string): RawService | undefined {
  const line = c.line(node);
  const f = fields(c, node, at, ['name', 'namespace', 'port', 'backends', 'opaque', 'retry', 'timeout'], line);
  if (!f) return undefined;
  const name = str(c, f, 'name', at, { required: true, pattern: DNS_LABEL, what: 'a DNS label' }, line);
  const namespace = str(c, f, 'namespace', at, { pattern: DNS_LABEL, what: 'a DNS label' }, line) ?? defaultNs;
  const port = int(c, f, 'port', at, 1, 65535, PORT_RANGE, line);
  const opaque = bool(c, f, 'opaque', at);
  const backends: RawService['backends'] = [];
  const b = seq(c, f, 'backends', at);
  b?.items.forEach((item, i) => {
    const bat = `${at}.backends[${i}]`;
    const bf = fields(c, item, bat, ['workload', 'port', 'weight'], c.line(item));
    if (!bf) return;
    const workload = str(c, bf, 'workload', bat, { required: true, pattern: DNS_LABEL, what: 'a workload name' }, c.line(item));
    const bport = int(c, bf, 'port', bat, 1, 65535, PORT_RANGE, c.line(item));
    const weight = int(c, bf, 'weight', bat, 0, 1_000_000, 'a whole number from 0 to 1000000', c.line(item)) ?? 1;
    if (workload !== undefined) backends.push({ workload, port: bport, weight, node: item, at: bat });
  });
  if (b && b.items.length === 0) c.error(b.node, `${at}.backends`, 'expected at least one backend');
  if (backends.length > 0 && backends.every((x) => x.weight === 0)) c.error(b!.node, `${at}.backends`, 'every weight is 0: no request could be sent');

  const s: Omit<RawService, 'name'> & { name: string | undefined } = { name, namespace, port, opaque, backends, backendsGiven: b !== undefined, node, at, implicit: false };
  const r = f.get('retry');
  if (r) {
    const rat = `${at}.retry`;
    const rf = fields(c, r.value, rat, ['limit', 'http', 'grpc', 'timeout'], c.line(r.key));
    if (rf) {
      const list = (k: string, check: (l: string[]) => { ok: boolean; error?: string }): string[] => {
        const e = seq(c, rf, k, rat);
        if (!e) return [];
        const l = e.items.map((x) => String(scalar(x)));
        const res = check(l);
        if (!res.ok) c.error(e.node, `${rat}.${k}`, res.error ?? 'invalid');
        return l;
      };
      s.retry = {
        limit: int(c, rf, 'limit', rat, 0, 10, 'a whole number from 0 to 10', c.line(r.key)) ?? 1,
        http: list('http', parseHttpRetryConditions),
        grpc: list('grpc', parseGrpcRetryConditions),
        timeoutMs: duration(c, rf, 'timeout', rat) ?? 0,
      };
    }
  }
  const t = f.get('timeout');
  if (t) {
    const tat = `${at}.timeout`;
    const tf = fields(c, t.value, tat, ['request', 'response', 'idle'], c.line(t.key));
    if (tf) {
      s.timeout = {};
      const request = duration(c, tf, 'request', tat);
      const response = duration(c, tf, 'response', tat);
      const idle = duration(c, tf, 'idle', tat);
      if (request !== undefined) s.timeout.requestMs = request;
      if (response !== undefined) s.timeout.responseMs = response;
      if (idle !== undefined) s.timeout.idleMs = idle;
    }
  }
  return name === undefined ? undefined : { ...s, name };
}

/** Parses and checks a topology file. Pure: the text in, a topology or every error out. */
export function parseTopology(text: string, fileName: string): TopologyResult {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: false });
  const c = new Ctx(fileName, lines);
  for (const e of doc.errors) c.errors.push({ file: fileName, line: e.linePos?.[0]?.line ?? 1, field: '', message: `YAML: ${e.message.split('\n')[0]}` });
  if (c.errors.length > 0) return { ok: false, errors: c.errors };
  const root = doc.contents as YamlNode | null;
  if (root === null) return { ok: false, errors: [{ file: fileName, line: 1, field: '', message: 'the file is empty (expected workloads: [...])' }] };
  const f = fields(c, root, '', ['namespace', 'workloads', 'services', 'defaultInboundPolicy', 'policy'], 1);
  if (!f) return { ok: false, errors: c.errors };
  const namespace = str(c, f, 'namespace', '', { pattern: DNS_LABEL, what: 'a DNS label' }, 1) ?? 'default';
  const defaultInboundPolicy = inboundPolicy(c, f, '');
  const policy: string[] = [];
  seq(c, f, 'policy', '')?.items.forEach((p, i) => {
    const v = scalar(p);
    if (typeof v !== 'string' || v.trim() === '') c.error(p, `policy[${i}]`, 'expected a file name (policy.weft.dev resources; relative to this file)');
    else if (policy.includes(v)) c.error(p, `policy[${i}]`, `"${v}" is listed twice`);
    else policy.push(v);
  });

  const wseq = seq(c, f, 'workloads', '');
  if (!wseq || wseq.items.length === 0) c.error(f.get('workloads')?.value, 'workloads', 'expected at least one workload', 1);
  const workloads: ReturnType<typeof parseWorkload>[] = (wseq?.items ?? []).map((n, i) => parseWorkload(c, n, `workloads[${i}]`, namespace));
  const services = (seq(c, f, 'services', '')?.items ?? []).map((n, i) => parseService(c, n, `services[${i}]`, namespace));

  // Names, references, ports shared between workloads.
  const byName = new Map<string, NonNullable<(typeof workloads)[number]>>();
  const portOwner = new Map<number, string>();
  workloads.forEach((w, i) => {
    if (!w) return;
    const at = `workloads[${i}]`;
    if (byName.has(w.name)) c.error(w.node, `${at}.name`, `"${w.name}" is used twice`);
    else byName.set(w.name, w);
    const taken = (port: number, what: string): void => {
      const owner = portOwner.get(port);
      if (owner) c.error(w.node, `${at}.${what}`, `port ${port} is also used by ${owner}`);
      else portOwner.set(port, `${at} (${w.name})`);
    };
    w.ports.forEach((p, k) => {
      for (let r = 0; r < w.replicas; r++) taken(p.port + r, `ports[${k}].port`);
    });
    if (w.inboundPort !== undefined) for (let r = 0; r < w.replicas; r++) taken(w.inboundPort + r, 'inboundPort');
  });
  const svcByKey = new Map<string, TopologyService>();
  services.forEach((s) => {
    if (!s) return;
    const key = `${s.name}.${s.namespace}`;
    if (svcByKey.has(key)) {
      c.error(s.node, `${s.at}.name`, `service "${key}" is defined twice`);
      return;
    }
    const backends: TopologyBackend[] = [];
    const list = s.backendsGiven ? s.backends : [{ workload: s.name, port: undefined, weight: 1, node: s.node, at: `${s.at}.backends` }];
    for (const b of list) {
      const w = byName.get(b.workload);
      const field = s.backends.length > 0 ? `${b.at}.workload` : `${s.at}.backends`;
      if (!w) c.error(b.node, field, s.backends.length > 0 ? `no workload named "${b.workload}"` : `no backends given and no workload named "${s.name}"`);
      else if (w.ports.length === 0) c.error(b.node, field, `workload "${w.name}" serves no ports`);
      else if (b.port !== undefined && !w.ports.some((p) => p.port === b.port)) c.error(b.node, `${b.at}.port`, `workload "${w.name}" has no port ${b.port} (it has ${w.ports.map((p) => p.port).join(', ')})`);
      else backends.push({ workload: w.name, port: b.port ?? w.ports[0]!.port, weight: b.weight });
    }
    const svc: TopologyService = { name: s.name, namespace: s.namespace, port: s.port ?? backends[0]?.port ?? 0, backends, opaque: s.opaque, implicit: false };
    if (s.retry) svc.retry = s.retry;
    if (s.timeout) svc.timeout = s.timeout;
    svcByKey.set(key, svc);
  });
  // A workload with ports that no service names is a service of its own name, on its first port.
  for (const w of byName.values()) {
    const key = `${w.name}.${w.namespace}`;
    if (w.ports.length > 0 && !svcByKey.has(key) && ![...svcByKey.values()].some((s) => s.backends.some((b) => b.workload === w.name))) {
      svcByKey.set(key, { name: w.name, namespace: w.namespace, port: w.ports[0]!.port, backends: [{ workload: w.name, port: w.ports[0]!.port, weight: 1 }], opaque: w.ports[0]!.opaque, implicit: true });
    }
  }
  workloads.forEach((w, i) => {
    w?.upstreams.forEach((u, k) => {
      if (!svcByKey.has(u)) c.error(w.upstreamNodes[k], `workloads[${i}].upstreams[${k}]`, `no service "${u}" (known: ${[...svcByKey.keys()].join(', ') || 'none'})`);
    });
  });

  if (c.errors.length > 0) return { ok: false, errors: c.errors.sort((a, b) => a.line - b.line) };
  const strip = ({ node: _n, upstreamNodes: _u, ...w }: NonNullable<(typeof workloads)[number]>): TopologyWorkload => w;
  const topology: Topology = { namespace, workloads: [...byName.values()].map(strip), services: [...svcByKey.values()], policy };
  if (defaultInboundPolicy !== undefined) topology.defaultInboundPolicy = defaultInboundPolicy;
  return { ok: true, topology };
}

/** Process names of a workload's replicas: `api` alone, `api-0`, `api-1`, … when there are several. */
export function replicaNames(w: Pick<TopologyWorkload, 'name' | 'replicas'>): string[] {
  return w.replicas === 1 ? [w.name] : Array.from({ length: w.replicas }, (_, i) => `${w.name}-${i}`);
}

function protocolHint(p: TopologyPort): 'h2' | 'opaque' | undefined {
  if (p.opaque) return 'opaque';
  return p.appProtocol !== undefined && H2_PROTOCOLS.has(p.appProtocol) ? 'h2' : undefined;
}

/** The authority of one workload port in the destination file (distinct from every service's). */
export const workloadAuthority = (w: { name: string; namespace: string }, port: number): string => `${w.name}.${w.namespace}.workload:${port}`;

const portEnvName = (name: string): string => `PORT_${name.toUpperCase().replace(/[^A-Z0-9]/g, '_')}`;

/** True when a topology asks for authorization policy (then the runner starts `weft policy`). */
export const hasPolicySettings = (t: Topology): boolean => t.policy.length > 0 || t.defaultInboundPolicy !== undefined || t.workloads.some((w) => w.defaultInboundPolicy !== undefined);

/**
 * What the runner starts: one local workload per replica (replica i listens on port + i, gets PORT
 * and PORT_<NAME>), each port served as `<workload>.<ns>.workload:<port>`, and one route per service
 * (`<service>.<ns>:<port>`) to its backends with their weights, retries and timeouts. With policy
 * settings, `policy` (files resolved against `baseDir`, the topology file's directory).
 */
export function toLocalTopology(t: Topology, baseDir = '.'): LocalTopology {
  const svc = (s: TopologyService): string => `${s.name}.${s.namespace}:${s.port}`;
  const svcByKey = new Map(t.services.map((s) => [`${s.name}.${s.namespace}`, s]));
  const workloads: LocalWorkload[] = t.workloads.flatMap((w) =>
    replicaNames(w).map((name, r) => {
      const ports: LocalPort[] = w.ports.map((p) => {
        const lp: LocalPort = { authority: workloadAuthority(w, p.port), appPort: p.port + r };
        const hint = protocolHint(p);
        if (hint) lp.protocolHint = hint;
        if (p.name) lp.name = p.name;
        return lp;
      });
      const env: Record<string, string> = { ...w.env };
      if (w.ports.length > 0) env['PORT'] = String(w.ports[0]!.port + r);
      for (const p of w.ports) if (p.name) env[portEnvName(p.name)] = String(p.port + r);
      const lw: LocalWorkload = {
        name,
        workload: w.name,
        namespace: w.namespace,
        serviceAccount: w.serviceAccount,
        command: w.command[0]!,
        args: w.command.slice(1),
        env,
        ports,
        upstreams: w.upstreams.map((u) => svc(svcByKey.get(u)!)),
        labels: { ...w.labels },
      };
      if (w.probes.length > 0) lw.probes = w.probes.map((p) => ({ appPort: p.port + r, path: p.path }));
      if (w.inboundPort !== undefined) lw.inboundPort = w.inboundPort + r;
      if (w.defaultInboundPolicy !== undefined) lw.defaultInboundPolicy = w.defaultInboundPolicy;
      return lw;
    }),
  );
  const ports = new Map(t.workloads.map((w) => [w.name, w]));
  const routes: LocalRoute[] = t.services.map((s) => {
    const route: LocalRoute = {
      authority: svc(s),
      labels: { service: s.name, namespace: s.namespace },
      opaque: s.opaque || s.backends.every((b) => ports.get(b.workload)!.ports.find((p) => p.port === b.port)!.opaque),
      backends: s.backends.map((b) => ({ authority: workloadAuthority(ports.get(b.workload)!, b.port), weight: b.weight })),
    };
    if (s.retry) route.retry = s.retry;
    if (s.timeout) route.timeouts = s.timeout;
    return route;
  });
  const local: LocalTopology = { namespace: t.namespace, workloads, routes };
  if (hasPolicySettings(t)) {
    const policy: LocalPolicy = { files: t.policy.map((f) => (isAbsolute(f) ? f : join(baseDir, f))) };
    if (t.defaultInboundPolicy !== undefined) policy.defaultInboundPolicy = t.defaultInboundPolicy;
    local.policy = policy;
  }
  return local;
}

/**
 * Reads and checks a topology file for `weft local up` (either isolation): the topology, or the
 * message to print and the exit code (1: unreadable, 2: problems in the file, each as file:line).
 */
export async function readTopologyFile(file: string): Promise<{ ok: true; topology: Topology } | { ok: false; message: string; exitCode: 1 | 2 }> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    return { ok: false, message: `cannot read ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, exitCode: 1 };
  }
  const topo = parseTopology(text, file);
  if (topo.ok) return topo;
  const n = topo.errors.length;
  return { ok: false, message: `${file} has ${n} problem${n > 1 ? 's' : ''}:\n${topo.errors.map((e) => `  ${formatTopologyError(e)}\n`).join('')}`, exitCode: 2 };
}
