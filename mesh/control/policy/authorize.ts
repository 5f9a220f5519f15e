/**
 * The per-connection / per-request decision over a compiled table (inbound-policy.ts), and how a
 * denial is delivered: HTTP 403, gRPC PERMISSION_DENIED, or closing the TCP connection, each with
 * the reason (a sentence, safe for a header) in `weft-proxy-error` and the proxy's log.
 */
import { parseIp } from './cidr';
import type { AuthorizationRule } from './default-policy';
import type { InboundPolicyTable, PortPolicy } from './inbound-policy';
import { describeClient, unmetBy, type ClientFacts } from './requirements';
import type { HttpRouteMatch } from './resources';

export type InboundProtocol = 'http' | 'grpc' | 'tcp';

export interface InboundRequest {
  /** The port the client addressed (the original destination port). */
  port: number;
  /** The client's mesh identity, when it came over mTLS. */
  clientIdentity?: string;
  clientIp: string;
  protocol: InboundProtocol;
  /** HTTP/gRPC only. */
  path?: string;
  method?: string;
  /** A kubelet probe: a GET on a probe path of the pod spec, from the node's network. */
  isProbe: boolean;
}

export interface AuthzDecision {
  allow: boolean;
  /** A sentence: logged, and on a denial sent in the weft-proxy-error header. */
  reason: string;
  /** As Linkerd's srv_kind/srv_name labels: a Server, or `default` with the default policy's name. */
  server?: { kind: 'server' | 'default'; name: string };
  /** The rule that allowed: as Linkerd's authz_kind/authz_name labels. */
  authorization?: { kind: 'default' | 'authorizationpolicy' | 'server'; name: string };
  route?: string;
  /** Allowed only because of audit mode: flag it in logs and metrics. */
  audited: boolean;
}

/** Keeps a reason printable ASCII, so it is a valid header value whatever a client presented. */
const UNSAFE = /[^\x20-\x7e]/;
function headerSafe(s: string): string {
  return UNSAFE.test(s) ? s.replace(/[^\x20-\x7e]/g, '?') : s;
}

function pathMatches(m: HttpRouteMatch, path: string, method: string | undefined): boolean {
  if (m.method !== undefined && m.method !== method?.toUpperCase()) return false;
  const { type, value } = m.path;
  if (type === 'Exact') return path === value;
  if (type === 'RegularExpression') return m.path.regex?.test(path) ?? false;
  if (value === '/' || path === value) return true;
  const prefix = value.endsWith('/') ? value : `${value}/`;
  return path.startsWith(prefix);
}

/** Gateway API precedence, simplified: Exact, then the longest prefix, then regular expressions; a method match beats none. */
function matchRank(m: HttpRouteMatch): number {
  const typeRank = m.path.type === 'Exact' ? 3_000_000 : m.path.type === 'PathPrefix' ? 2_000_000 + m.path.value.length * 10 : 1_000_000;
  return typeRank + (m.method ? 1 : 0);
}

function findRoute(entry: PortPolicy, path: string, method: string | undefined): PortPolicy['routes'][number] | undefined {
  let best: PortPolicy['routes'][number] | undefined;
  let bestRank = -1;
  for (const route of entry.routes) {
    for (const m of route.matches) {
      if (!pathMatches(m, path, method)) continue;
      const rank = matchRank(m);
      if (rank > bestRank) {
        best = route;
        bestRank = rank;
      }
    }
  }
  return best;
}

function firstSatisfied(rules: readonly AuthorizationRule[], client: ClientFacts, why: string[]): AuthorizationRule | undefined {
  for (const rule of rules) {
    let unmet: string | undefined;
    for (const r of rule.requirements) {
      unmet = unmetBy(r, client);
      if (unmet !== undefined) break;
    }
    if (unmet === undefined) return rule;
    why.push(rule.kind === 'authorizationpolicy' ? `AuthorizationPolicy ${rule.name}: ${unmet}` : unmet);
  }
  return undefined;
}

function ruleText(rule: AuthorizationRule): string {
  if (rule.kind === 'authorizationpolicy') return `AuthorizationPolicy ${rule.name}`;
  return rule.kind === 'server' ? `Server ${rule.name}` : `the default inbound policy ${rule.name}`;
}

function allowed(req: InboundRequest, server: AuthzDecision['server'], rule: AuthorizationRule, route: string | undefined): AuthzDecision {
  const d: AuthzDecision = {
    allow: true,
    reason: `${rule.audited ? 'allowed in audit mode' : 'allowed'} on port ${req.port} by ${ruleText(rule)}`,
    server,
    authorization: { kind: rule.kind, name: rule.name },
    audited: rule.audited,
  };
  if (route) d.route = route;
  return d;
}

function denied(server: AuthzDecision['server'], reason: string, route?: string): AuthzDecision {
  const d: AuthzDecision = { allow: false, reason: headerSafe(reason), server, audited: false };
  if (route) d.route = route;
  return d;
}

export function authorize(table: InboundPolicyTable, req: InboundRequest): AuthzDecision {
  const entry = table.ports.get(req.port) ?? table.otherPorts;
  const server = entry.server.kind === 'server' ? { kind: entry.server.kind, name: entry.server.name } : entry.server;
  const client: ClientFacts = { identity: req.clientIdentity, ip: parseIp(req.clientIp), ipText: req.clientIp };

  const isHttp = req.protocol !== 'tcp';
  if (req.isProbe && isHttp && entry.probesAuthorized) {
    return { allow: true, reason: `allowed on port ${req.port}: kubelet probe`, server, authorization: { kind: 'default', name: 'probe' }, audited: false };
  }

  let rules = entry.rules;
  let route: string | undefined;
  if (isHttp && entry.routes.length > 0) {
    const path = (req.path ?? '/').split('?')[0] || '/';
    const found = findRoute(entry, path, req.method);
    if (!found) return denied(server, `denied on port ${req.port}: no HTTPRoute of ${entry.describe} matches ${req.method ? `${req.method.toUpperCase()} ` : ''}${path}`);
    route = found.name;
    rules = [...found.rules, ...entry.rules];
  }

  const why: string[] = [];
  const explicit = firstSatisfied(rules, client, why);
  if (explicit) return allowed(req, server, explicit, route);
  const fallback = firstSatisfied(entry.fallback, client, why);
  if (fallback) return allowed(req, server, fallback, route);

  if (entry.server.kind === 'default') {
    if (entry.fallback.length === 0) return denied(server, `denied on port ${req.port}: ${entry.describe} denies all traffic`);
    return denied(server, `denied on port ${req.port} by ${entry.describe}: ${why.join('; ')}`);
  }
  if (rules.length === 0 && entry.fallback.length === 0) {
    const target = route ? `HTTPRoute ${route} or ${entry.describe}` : entry.describe;
    return denied(server, `denied on port ${req.port}: no AuthorizationPolicy targets ${target} or its namespace, and a Server denies what is not authorized`, route);
  }
  const shown = why.slice(0, 3).join('; ') + (why.length > 3 ? '; ...' : '');
  return denied(server, `denied on port ${req.port}: nothing on ${entry.describe}${route ? ` (HTTPRoute ${route})` : ''} allows ${describeClient(client)} (${shown})`, route);
}

/**
 * A kubelet probe, as Linkerd tells one: a GET (or HEAD) on a probe path of the pod spec for that
 * port. The table decides whether probes pass without authentication (probesAuthorized).
 */
export function isProbeRequest(table: InboundPolicyTable, port: number, method: string | undefined, path: string | undefined): boolean {
  if (method !== 'GET' && method !== 'HEAD') return false;
  const entry = table.ports.get(port);
  if (!entry || entry.probePaths.size === 0) return false;
  const p = path ?? '/';
  const q = p.indexOf('?');
  return entry.probePaths.has(q < 0 ? p : p.slice(0, q));
}

/** gRPC status code 7. */
export const GRPC_PERMISSION_DENIED = 7;

export type Denial = { kind: 'http'; status: 403 } | { kind: 'grpc'; grpcStatus: typeof GRPC_PERMISSION_DENIED } | { kind: 'tcp-close' };

/** How the proxy refuses: HTTP 403, gRPC PERMISSION_DENIED (HTTP 200 with grpc-status 7), or closing the connection. */
export function denialFor(protocol: InboundProtocol): Denial {
  if (protocol === 'http') return { kind: 'http', status: 403 };
  if (protocol === 'grpc') return { kind: 'grpc', grpcStatus: GRPC_PERMISSION_DENIED };
  return { kind: 'tcp-close' };
}
