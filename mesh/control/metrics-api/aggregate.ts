/**
 * The metrics API's core: from each proxy's increase over a window (scrape-window.ts) and the
 * inventory of pods the caller gives, per-workload and per-service golden stats and the edges
 * between workloads and services. Pure.
 *
 * As Linkerd's `viz stat`: a workload's stats come from its pods' INBOUND metrics (what its
 * servers answered); a service's from every scraped pod's OUTBOUND metrics towards it (what its
 * clients saw), the service named by the `dst_service`/`dst_namespace` labels or, without them, by
 * an authority of the form `name.namespace[.svc…]:port`. Edges (source workload → destination
 * service) come from outbound requests (`server_id`, `tls`, `dst_*`) and the client identity the
 * destination's pods saw inbound (`client_id`).
 */
import { histogramQuantile, type Buckets, type MtlsState } from '../../metrics-view/golden-metrics';
import type { Sample } from '../../metrics-view/prom-text';
import { LABEL, METRIC } from '../../proxy/metrics/metric-names';
import type { WindowIncrease } from './scrape-window';

/** One pod of the inventory; meshed when it has a proxy admin address to scrape. */
export interface ScrapeTarget {
  namespace: string;
  workload: string;
  pod: string;
  /** The proxy's admin `host:port` (its /metrics); absent: the pod is not meshed. */
  admin?: string;
  /** Services whose endpoints include this pod (for the services' meshed/total pods). */
  services?: readonly string[];
  /** The pod's mesh identity, when the inventory knows it. */
  identity?: string;
}

export type StatKind = 'workload' | 'service';

export interface StatRow {
  kind: StatKind;
  namespace: string;
  name: string;
  meshedPods: number;
  totalPods: number;
  /** Responses in the window (every pod's increase). */
  responses: number;
  /** 0..1; undefined when there was no response in the window. */
  successRate: number | undefined;
  rps: number;
  p50Ms: number | undefined;
  p95Ms: number | undefined;
  p99Ms: number | undefined;
  /** `tcp_open_connections` at the last scrape; undefined when no pod reported any. */
  tcpConnections: number | undefined;
  readBytesPerSecond: number;
  writeBytesPerSecond: number;
  /** Pods that had at least two scrapes in the window (the rest contribute nothing). */
  podsWithData: number;
}

export interface Edge {
  srcNamespace: string;
  srcWorkload: string;
  dstNamespace: string;
  dstService: string;
  /** The source's identity: from the inventory, else the one client identity the destination saw. */
  clientId: string | undefined;
  /** Identities the destination's proxies presented (`server_id`). */
  serverIds: string[];
  /** From `tls` on the window's requests. */
  mtls: MtlsState;
  /** Requests in the window. */
  requests: number;
}

export interface StatQuery {
  kind: StatKind;
  /** Only this namespace (the service's namespace for services); undefined: all. */
  namespace?: string;
  /** Only this workload or service name. */
  name?: string;
}

/** `namespace/pod`: the key of a pod's scrapes. */
export const podKey = (t: Pick<ScrapeTarget, 'namespace' | 'pod'>): string => `${t.namespace}/${t.pod}`;

const nameKey = (namespace: string, name: string): string => `${namespace}/${name}`;

/** `web.demo:8080`, `web.demo.svc.cluster.local:80` → {name: web, namespace: demo}. */
export function serviceFromAuthority(authority: string): { namespace: string; name: string } | undefined {
  const colon = authority.lastIndexOf(':');
  const host = colon > 0 ? authority.slice(0, colon) : authority;
  const m = /^([a-z0-9]([-a-z0-9]*[a-z0-9])?)\.([a-z0-9]([-a-z0-9]*[a-z0-9])?)(\.svc(\..+)?)?$/.exec(host);
  if (!m) return undefined;
  return { name: m[1]!, namespace: m[3]! };
}

/** The service an outbound series is for, from its `dst_*` labels or its authority. */
export function serviceOf(labels: Readonly<Record<string, string>>): { namespace: string; name: string } | undefined {
  const name = labels[`${LABEL.dstPrefix}service`];
  const namespace = labels[`${LABEL.dstPrefix}namespace`];
  if (name && namespace) return { name, namespace };
  const auth = labels[LABEL.authority];
  return auth ? serviceFromAuthority(auth) : undefined;
}

class StatAcc {
  responses = 0;
  successes = 0;
  rps = 0;
  readBps = 0;
  writeBps = 0;
  tcp: number | undefined = undefined;
  buckets: Buckets = new Map();
  podsWithData = 0;

  /** Adds the samples of one pod's window that `pick` selects. */
  add(w: WindowIncrease, pick: (s: Sample) => boolean): void {
    this.podsWithData++;
    let responses = 0;
    let read = 0;
    let write = 0;
    for (const s of w.samples) {
      if (!pick(s)) continue;
      switch (s.name) {
        case METRIC.responseTotal:
          responses += s.value;
          if (s.labels[LABEL.classification] === 'success') this.successes += s.value;
          break;
        case `${METRIC.responseLatencyMs}_bucket`: {
          const le = s.labels[LABEL.le];
          const bound = le === '+Inf' ? Infinity : Number(le);
          if (le === undefined || Number.isNaN(bound)) break;
          this.buckets.set(bound, (this.buckets.get(bound) ?? 0) + s.value);
          break;
        }
        case METRIC.tcpOpenConnections:
          this.tcp = (this.tcp ?? 0) + s.value;
          break;
        case METRIC.tcpReadBytesTotal:
          read += s.value;
          break;
        case METRIC.tcpWriteBytesTotal:
          write += s.value;
          break;
      }
    }
    this.responses += responses;
    this.rps += responses / w.seconds;
    this.readBps += read / w.seconds;
    this.writeBps += write / w.seconds;
  }

  row(kind: StatKind, namespace: string, name: string, meshedPods: number, totalPods: number): StatRow {
    return {
      kind,
      namespace,
      name,
      meshedPods,
      totalPods,
      responses: this.responses,
      successRate: this.responses > 0 ? this.successes / this.responses : undefined,
      rps: this.rps,
      p50Ms: histogramQuantile(0.5, this.buckets),
      p95Ms: histogramQuantile(0.95, this.buckets),
      p99Ms: histogramQuantile(0.99, this.buckets),
      tcpConnections: this.tcp,
      readBytesPerSecond: this.readBps,
      writeBytesPerSecond: this.writeBps,
      podsWithData: this.podsWithData,
    };
  }
}

const byName = (a: StatRow, b: StatRow): number =>
  a.namespace === b.namespace ? (a.name < b.name ? -1 : a.name > b.name ? 1 : 0) : a.namespace < b.namespace ? -1 : 1;

/**
 * Stat rows for every workload (or service) of the inventory that the query selects, plus services
 * seen only in traffic. `windows` maps podKey → that pod's increase over the window (absent or
 * undefined: fewer than two scrapes).
 */
export function statRows(targets: readonly ScrapeTarget[], windows: ReadonlyMap<string, WindowIncrease | undefined>, q: StatQuery): StatRow[] {
  const wanted = (namespace: string, name: string): boolean => (q.namespace === undefined || q.namespace === namespace) && (q.name === undefined || q.name === name);
  const groups = new Map<string, { namespace: string; name: string; meshed: number; total: number; acc: StatAcc }>();
  const group = (namespace: string, name: string): { meshed: number; total: number; acc: StatAcc } => {
    const key = nameKey(namespace, name);
    let g = groups.get(key);
    if (!g) {
      g = { namespace, name, meshed: 0, total: 0, acc: new StatAcc() };
      groups.set(key, g);
    }
    return g;
  };

  if (q.kind === 'workload') {
    for (const t of targets) {
      if (!wanted(t.namespace, t.workload)) continue;
      const g = group(t.namespace, t.workload);
      g.total++;
      if (t.admin !== undefined) g.meshed++;
      const w = windows.get(podKey(t));
      if (w) g.acc.add(w, (s) => s.labels[LABEL.direction] === 'inbound');
    }
  } else {
    for (const t of targets) {
      for (const svc of t.services ?? []) {
        if (!wanted(t.namespace, svc)) continue;
        const g = group(t.namespace, svc);
        g.total++;
        if (t.admin !== undefined) g.meshed++;
      }
    }
    // Every scraped pod's outbound traffic, whatever its own namespace, counts for the service called.
    for (const t of targets) {
      const w = windows.get(podKey(t));
      if (!w) continue;
      const perService = new Map<string, { namespace: string; name: string }>();
      for (const s of w.samples) {
        if (s.labels[LABEL.direction] !== 'outbound') continue;
        const svc = serviceOf(s.labels);
        if (svc && wanted(svc.namespace, svc.name)) perService.set(nameKey(svc.namespace, svc.name), svc);
      }
      for (const [key, svc] of perService) {
        group(svc.namespace, svc.name).acc.add(w, (s) => {
          if (s.labels[LABEL.direction] !== 'outbound') return false;
          const of = serviceOf(s.labels);
          return of !== undefined && nameKey(of.namespace, of.name) === key;
        });
      }
    }
  }
  return [...groups.values()].map((g) => g.acc.row(q.kind, g.namespace, g.name, g.meshed, g.total)).sort(byName);
}

/**
 * Edges seen in the window: source workload → destination service, with identities and mTLS.
 * `namespace` keeps the edges whose source or destination is in it.
 */
export function edges(targets: readonly ScrapeTarget[], windows: ReadonlyMap<string, WindowIncrease | undefined>, namespace?: string): Edge[] {
  // Client identities the pods of each service saw inbound in the window.
  const seenBy = new Map<string, Set<string>>();
  for (const t of targets) {
    const w = windows.get(podKey(t));
    if (!w) continue;
    for (const s of w.samples) {
      if (s.name !== METRIC.requestTotal || s.value <= 0 || s.labels[LABEL.direction] !== 'inbound') continue;
      const id = s.labels[LABEL.clientId];
      if (!id) continue;
      for (const svc of t.services ?? []) {
        const key = nameKey(t.namespace, svc);
        let set = seenBy.get(key);
        if (!set) seenBy.set(key, (set = new Set()));
        set.add(id);
      }
    }
  }

  type Acc = Omit<Edge, 'serverIds' | 'mtls' | 'clientId'> & { serverIds: Set<string>; tls: number; plain: number; identities: Set<string> };
  const accs = new Map<string, Acc>();
  for (const t of targets) {
    const w = windows.get(podKey(t));
    if (!w) continue;
    for (const s of w.samples) {
      if (s.name !== METRIC.requestTotal || s.value <= 0 || s.labels[LABEL.direction] !== 'outbound') continue;
      const svc = serviceOf(s.labels);
      if (!svc) continue;
      if (namespace !== undefined && namespace !== t.namespace && namespace !== svc.namespace) continue;
      const key = `${nameKey(t.namespace, t.workload)}\u0001${nameKey(svc.namespace, svc.name)}`;
      let a = accs.get(key);
      if (!a) {
        a = { srcNamespace: t.namespace, srcWorkload: t.workload, dstNamespace: svc.namespace, dstService: svc.name, requests: 0, serverIds: new Set(), tls: 0, plain: 0, identities: new Set() };
        accs.set(key, a);
      }
      if (t.identity) a.identities.add(t.identity);
      a.requests += s.value;
      if (s.labels[LABEL.tls] === 'true') {
        a.tls += s.value;
        const sid = s.labels[LABEL.serverId];
        if (sid) a.serverIds.add(sid);
      } else {
        a.plain += s.value;
      }
    }
  }

  const out: Edge[] = [];
  for (const a of accs.values()) {
    let clientId: string | undefined;
    if (a.identities.size === 1) clientId = [...a.identities][0];
    else if (a.identities.size === 0 && a.tls > 0) {
      const seen = seenBy.get(nameKey(a.dstNamespace, a.dstService));
      if (seen?.size === 1) clientId = [...seen][0];
    }
    out.push({
      srcNamespace: a.srcNamespace,
      srcWorkload: a.srcWorkload,
      dstNamespace: a.dstNamespace,
      dstService: a.dstService,
      clientId,
      serverIds: [...a.serverIds].sort(),
      mtls: a.tls > 0 && a.plain > 0 ? 'mixed' : a.tls > 0 ? 'yes' : 'no',
      requests: a.requests,
    });
  }
  const k = (e: Edge): string => `${e.srcNamespace}/${e.srcWorkload}\u0001${e.dstNamespace}/${e.dstService}`;
  return out.sort((x, y) => (k(x) < k(y) ? -1 : k(x) > k(y) ? 1 : 0));
}
