/**
 * The enforcement hook the inbound side calls: one `ConnectionAuthz` per accepted connection (its
 * client identity and address are fixed), asked per opaque connection (`tcp`) or per HTTP request
 * (`http`). Decisions come from authorize() over the table in force; the table is decoded/compiled
 * once per update by its source. Per connection, a decision that cannot change (no routes on the
 * port, not a probe) is computed once per port and table, with its metric series resolved; only
 * route-scoped requests and probes are decided each time. Denials are logged (throttled), audited
 * allows too; every decision is counted (authz-metrics.ts).
 */
import { authorize, isProbeRequest, type AuthzDecision, type InboundProtocol } from '../../control/policy/authorize';
import type { InboundPolicyTable } from '../../control/policy/inbound-policy';
import { throttledLog, type Logger } from '../log';
import type { ProxyMetrics } from '../metrics/proxy-metrics';
import type { CounterSeries } from '../metrics/series';
import { AuthzMetrics } from './authz-metrics';
import type { InboundPolicySource } from './policy-source';

interface Cached {
  generation: number;
  decision: AuthzDecision;
  series: CounterSeries;
  targetAddr: string;
}

const NO_TABLE: AuthzDecision = { allow: false, reason: 'denied: no inbound policy has been received yet', audited: false };

export class InboundAuthorizer {
  private table: InboundPolicyTable | undefined;
  /** Bumped with every new table: per-connection caches compare it. */
  generation = 0;
  readonly metrics: AuthzMetrics;
  private readonly logOnce: ReturnType<typeof throttledLog>;

  constructor(
    source: InboundPolicySource,
    metrics: ProxyMetrics,
    private readonly log: Logger,
  ) {
    this.metrics = new AuthzMetrics(metrics);
    this.logOnce = throttledLog(log);
    const first = source.current();
    if (first) this.setTable(first);
    source.onTable((t) => this.setTable(t));
  }

  setTable(t: InboundPolicyTable): void {
    this.table = t;
    this.generation++;
    const ports = [...t.ports].map(([p, e]) => `${p}=${e.server.kind === 'server' ? `Server ${e.server.name}` : e.server.name}${e.routes.length ? ` (${e.routes.length} routes)` : ''}`);
    this.log.info('policy: table applied', { defaultPolicy: t.defaultPolicy, from: t.defaultPolicySource, ports: ports.join(', ') || 'none declared' });
    for (const w of t.warnings) this.log.warn(`policy: ${w}`);
  }

  /** The Server's proxyProtocol says opaque: skip detection on that port (as Linkerd). */
  isOpaquePort(port: number): boolean {
    return this.table?.ports.get(port)?.proxyProtocol === 'opaque';
  }

  connection(clientId: string | undefined, clientIp: string | undefined): ConnectionAuthz {
    return new ConnectionAuthz(this, clientId, clientIp ?? '');
  }

  /** @internal */
  decide(req: Parameters<typeof authorize>[1]): AuthzDecision {
    return this.table ? authorize(this.table, req) : NO_TABLE;
  }

  /** @internal */
  probe(port: number, method: string, path: string): boolean {
    return this.table !== undefined && isProbeRequest(this.table, port, method, path);
  }

  /** @internal route-independent: no routes on the port. */
  routeFree(port: number): boolean {
    const t = this.table;
    if (!t) return true;
    return (t.ports.get(port) ?? t.otherPorts).routes.length === 0;
  }

  /** @internal */
  report(kind: 'http' | 'tcp', d: AuthzDecision, port: number, clientId: string | undefined, clientIp: string): void {
    // One line per (protocol, port, Server or default policy, client identity) every 10 s at most.
    const who = `${port}:${d.server?.name ?? ''}:${clientId ?? 'unauthenticated'}`;
    if (!d.allow) this.logOnce('warn', `deny:${kind}:${who}`, `inbound: ${kind === 'tcp' ? 'connection' : 'request'} denied`, { reason: d.reason, client: clientId ?? clientIp });
    else if (d.audited) this.logOnce('info', `audit:${kind}:${who}`, `inbound: ${kind === 'tcp' ? 'connection' : 'request'} allowed in audit mode`, { reason: d.reason, client: clientId ?? clientIp });
  }
}

export interface HttpAuthzRequest {
  port: number;
  method: string;
  path: string;
  grpc: boolean;
  /** The app address, for the target_addr label. */
  targetAddr: string;
}

export class ConnectionAuthz {
  private readonly cache = new Map<number, Cached>();

  constructor(
    private readonly a: InboundAuthorizer,
    readonly clientId: string | undefined,
    readonly clientIp: string,
  ) {}

  /** Decides an opaque connection to `port` (once: the connection is then spliced or closed). */
  tcp(port: number, targetAddr: string): AuthzDecision {
    const d = this.a.decide({ port, clientIdentity: this.clientId, clientIp: this.clientIp, protocol: 'tcp', isProbe: false });
    this.a.metrics.series('tcp', d, targetAddr, this.clientId).value++;
    this.a.report('tcp', d, port, this.clientId, this.clientIp);
    return d;
  }

  /** Decides one HTTP or gRPC request. */
  http(r: HttpAuthzRequest): AuthzDecision {
    const protocol: InboundProtocol = r.grpc ? 'grpc' : 'http';
    const isProbe = this.a.probe(r.port, r.method, r.path);
    if (!isProbe && this.a.routeFree(r.port)) {
      let c = this.cache.get(r.port);
      if (!c || c.generation !== this.a.generation || c.targetAddr !== r.targetAddr) {
        const decision = this.a.decide({ port: r.port, clientIdentity: this.clientId, clientIp: this.clientIp, protocol, isProbe: false });
        c = { generation: this.a.generation, decision, series: this.a.metrics.series('http', decision, r.targetAddr, this.clientId), targetAddr: r.targetAddr };
        this.cache.set(r.port, c);
      }
      c.series.value++;
      if (!c.decision.allow || c.decision.audited) this.a.report('http', c.decision, r.port, this.clientId, this.clientIp);
      return c.decision;
    }
    const d = this.a.decide({ port: r.port, clientIdentity: this.clientId, clientIp: this.clientIp, protocol, path: r.path, method: r.method, isProbe });
    this.a.metrics.series('http', d, r.targetAddr, this.clientId).value++;
    this.a.report('http', d, r.port, this.clientId, this.clientIp);
    return d;
  }
}
