/**
 * The destination service's pure core: a source-neutral mesh model (services → endpoints, with
 * identities, opaque ports, appProtocol, annotations and HTTPRoute-like splits) resolved into the
 * proxy's `DestinationUpdate` per authority, and the set of authorities whose answer changed when
 * the model changes. No I/O: the Kubernetes informers and the local runner both feed this model.
 */
import { ANNOTATIONS, LINKERD_ANNOTATIONS } from '../../config/annotations';
import { DEFAULT_OPAQUE_PORTS } from '../../config/names';
import { PROXY_DEFAULTS } from '../../config/proxy-defaults';
import { formatAddr, parseAddr, type DestinationProfile, type DestinationUpdate, type Endpoint, type RetryPolicy, type SocketAddr, type Timeouts, type WeightedBackend } from '../../proxy/discovery/discovery';
import { parseDuration } from '../../proxy/reliability/retry-policy';

export interface ModelEndpoint {
  /** Where a client proxy connects: the peer proxy's inbound when meshed, else the app. */
  addr: SocketAddr;
  /** The peer proxy's identity; absent when the endpoint is not meshed. */
  identity?: string;
  /** The app port behind the peer proxy (the Service's targetPort). */
  targetPort?: number;
  /** `config.weft.dev/opaque-ports` of the pod, already parsed; absent = the defaults. */
  opaquePorts?: readonly number[];
  /** A hint already decided by the source (the local topology); wins over the port lists. */
  protocolHint?: 'h2' | 'opaque';
  /** `dst_*` labels of this endpoint (pod, deployment, serviceaccount…). */
  labels: Record<string, string>;
}

export interface ModelRoute {
  /** HTTPRoute backendRefs: each an authority that discovery resolves itself. */
  backends: WeightedBackend[];
  /** HTTPRoute `timeouts` (Gateway API durations such as "10s"). */
  timeouts?: { request?: string; backendRequest?: string };
}

export interface ModelService {
  /** What apps call: `host:port`. */
  authority: string;
  name: string;
  namespace: string;
  endpoints: ModelEndpoint[];
  /** `config.weft.dev/opaque-ports` of the Service, parsed; absent = the default opaque ports. */
  opaquePorts?: readonly number[];
  /** The Service port's `appProtocol` (`kubernetes.io/h2c`, `grpc`, `http2`, `opaque`…). */
  appProtocol?: string;
  /** The Service's annotations: `retry.weft.dev/*`, `timeout.weft.dev/*` (Linkerd's keys too). */
  annotations?: Record<string, string>;
  route?: ModelRoute;
  /** Settings already decided by the source (the local topology file): each wins over annotations. */
  opaque?: boolean;
  retry?: RetryPolicy;
  timeouts?: Timeouts;
  /** Profile `dst_*` labels; default `{ service: name, namespace }`. */
  labels?: Record<string, string>;
}

export interface MeshModel {
  services: ModelService[];
}

/** Parses `config.weft.dev/opaque-ports` ("3306,8000-8002"); undefined when malformed. */
export function parseOpaquePorts(v: string): number[] | undefined {
  const out: number[] = [];
  for (const raw of v.split(',')) {
    const part = raw.trim();
    if (part === '') continue;
    const m = /^(\d{1,5})(?:-(\d{1,5}))?$/.exec(part);
    if (!m) return undefined;
    const lo = Number(m[1]);
    const hi = m[2] === undefined ? lo : Number(m[2]);
    if (lo < 1 || hi > 65535 || hi < lo || hi - lo > 65535) return undefined;
    for (let p = lo; p <= hi; p++) out.push(p);
  }
  return out;
}

const H2_PROTOCOLS = new Set(['kubernetes.io/h2c', 'h2c', 'http2', 'grpc', 'h2']);
const OPAQUE_PROTOCOLS = new Set(['opaque', 'weft.dev/opaque', 'linkerd.io/opaque', 'tcp']);

function protocolHint(svc: ModelService, ep: ModelEndpoint, servicePort: number): Endpoint['protocolHint'] {
  const podOpaque = ep.opaquePorts ?? DEFAULT_OPAQUE_PORTS;
  const svcOpaque = svc.opaquePorts ?? DEFAULT_OPAQUE_PORTS;
  const appPort = ep.targetPort ?? servicePort;
  if (podOpaque.includes(appPort) || svcOpaque.includes(servicePort)) return 'opaque';
  const ap = svc.appProtocol?.toLowerCase();
  if (ap && OPAQUE_PROTOCOLS.has(ap)) return 'opaque';
  if (ap && H2_PROTOCOLS.has(ap)) return 'h2';
  return undefined;
}

function annotation(svc: ModelService, weft: string, linkerd: string): string | undefined {
  const a = svc.annotations;
  if (!a) return undefined;
  return a[weft] ?? a[linkerd];
}

function durationMs(v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const d = parseDuration(v);
  return d.ok && d.ms > 0 ? d.ms : undefined;
}

function retryPolicy(svc: ModelService): RetryPolicy | undefined {
  const http = annotation(svc, ANNOTATIONS.retryStatusCodes, LINKERD_ANNOTATIONS.retryStatusCodes);
  const limit = annotation(svc, ANNOTATIONS.retryLimit, LINKERD_ANNOTATIONS.retryLimit);
  const timeout = annotation(svc, ANNOTATIONS.retryTimeout, LINKERD_ANNOTATIONS.retryTimeout);
  if (http === undefined && limit === undefined && timeout === undefined) return undefined;
  const n = limit !== undefined && /^\d+$/.test(limit.trim()) ? Number(limit) : PROXY_DEFAULTS.retryLimit;
  return {
    limit: n,
    http: (http ?? '5xx')
      .split(',')
      .map((s) => s.trim())
      .filter((s) => s !== ''),
    grpc: [],
    timeoutMs: durationMs(timeout) ?? 0,
  };
}

/** The answer for one service: pure, deterministic (same model → identical JSON). */
export function resolveService(svc: ModelService): DestinationUpdate {
  const servicePort = parseAddr(svc.authority)?.port ?? 0;
  const endpoints: Endpoint[] = svc.endpoints.map((ep) => {
    const out: Endpoint = { addr: { host: ep.addr.host, port: ep.addr.port }, labels: { ...ep.labels } };
    if (ep.identity !== undefined) out.identity = ep.identity;
    if (ep.targetPort !== undefined) out.targetPort = ep.targetPort;
    const hint = ep.protocolHint ?? protocolHint(svc, ep, servicePort);
    if (hint) out.protocolHint = hint;
    return out;
  });
  const profile: DestinationProfile = {
    opaque: svc.opaque ?? ((svc.opaquePorts ?? DEFAULT_OPAQUE_PORTS).includes(servicePort) || OPAQUE_PROTOCOLS.has(svc.appProtocol?.toLowerCase() ?? '')),
    timeouts: {},
    labels: svc.labels ? { ...svc.labels } : { service: svc.name, namespace: svc.namespace },
  };
  const retry = svc.retry ? { ...svc.retry, http: [...svc.retry.http], grpc: [...svc.retry.grpc] } : retryPolicy(svc);
  if (retry) profile.retry = retry;
  const t = profile.timeouts;
  const req = durationMs(svc.route?.timeouts?.request) ?? durationMs(annotation(svc, ANNOTATIONS.timeoutRequest, LINKERD_ANNOTATIONS.timeoutRequest));
  const resp = durationMs(svc.route?.timeouts?.backendRequest) ?? durationMs(annotation(svc, ANNOTATIONS.timeoutResponse, LINKERD_ANNOTATIONS.timeoutResponse));
  const idle = durationMs(annotation(svc, ANNOTATIONS.timeoutIdle, LINKERD_ANNOTATIONS.timeoutIdle));
  const given = svc.timeouts ?? {};
  if (given.requestMs) t.requestMs = given.requestMs;
  if (given.responseMs) t.responseMs = given.responseMs;
  if (given.idleMs) t.idleMs = given.idleMs;
  if (req !== undefined) t.requestMs ??= req;
  if (resp !== undefined) t.responseMs ??= resp;
  if (idle !== undefined) t.idleMs ??= idle;
  const backends = svc.route?.backends.filter((b) => parseAddr(b.authority) && b.weight >= 0);
  if (backends && backends.length > 0 && backends.some((b) => b.weight > 0)) profile.backends = backends.map((b) => ({ authority: b.authority, weight: b.weight }));
  return { endpoints, profile };
}

/**
 * The `{"delta":…}` line that takes a watcher from `prev` to `next` (endpoints added or replaced by
 * address, addresses removed), or undefined when a snapshot is due: the profile changed, an address
 * is listed twice, or most endpoints changed (the snapshot is then about as small).
 */
export function endpointDelta(prev: DestinationUpdate, next: DestinationUpdate): string | undefined {
  if (JSON.stringify(prev.profile) !== JSON.stringify(next.profile)) return undefined;
  const old = new Map<string, string>();
  for (const e of prev.endpoints) old.set(formatAddr(e.addr), JSON.stringify(e));
  if (old.size !== prev.endpoints.length) return undefined;
  const seen = new Set<string>();
  const add: string[] = [];
  for (const e of next.endpoints) {
    const k = formatAddr(e.addr);
    if (seen.has(k)) return undefined;
    seen.add(k);
    const j = JSON.stringify(e);
    if (old.get(k) !== j) add.push(j);
  }
  const remove = [...old.keys()].filter((k) => !seen.has(k));
  if (add.length + remove.length > next.endpoints.length / 2) return undefined;
  return `{"delta":{"add":[${add.join(',')}],"remove":${JSON.stringify(remove)}}}\n`;
}

/**
 * The current answers, by authority, with their serialized form kept so that a change is found by
 * comparing strings and each answer is serialized once however many proxies watch it.
 */
export class DestinationIndex {
  private table = new Map<string, { update: DestinationUpdate; json: string }>();
  private deltas = new Map<string, string>();

  /** Replaces the model; returns the authorities whose answer changed (added, removed or different). */
  apply(model: MeshModel): string[] {
    const next = new Map<string, { update: DestinationUpdate; json: string }>();
    for (const svc of model.services) {
      if (next.has(svc.authority)) continue; // first one wins; sources report duplicates themselves
      const update = resolveService(svc);
      next.set(svc.authority, { update, json: JSON.stringify(update) });
    }
    const changed: string[] = [];
    for (const [a, v] of next) if (this.table.get(a)?.json !== v.json) changed.push(a);
    for (const a of this.table.keys()) if (!next.has(a)) changed.push(a);
    this.deltas.clear();
    for (const a of changed) {
      const o = this.table.get(a);
      const n = next.get(a);
      const d = o && n ? endpointDelta(o.update, n.update) : undefined;
      if (d) this.deltas.set(a, d);
    }
    this.table = next;
    return changed;
  }

  /** For an authority of the last `apply`'s changes: its delta line, if a delta fits (else send `line`). */
  deltaLine(authority: string): string | undefined {
    return this.deltas.get(authority);
  }

  get(authority: string): DestinationUpdate | undefined {
    return this.table.get(authority)?.update;
  }

  /** The wire line for a watch (`{"update":…}` or `{"notFound":true}`), newline-terminated. */
  line(authority: string): string {
    const e = this.table.get(authority);
    return e ? `{"update":${e.json}}\n` : '{"notFound":true}\n';
  }

  get size(): number {
    return this.table.size;
  }
}
