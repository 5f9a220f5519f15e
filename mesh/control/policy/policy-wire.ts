/**
 * The compiled inbound policy table on the wire (the policy service's stream, docs/policy.md): a
 * JSON-safe shape and the two conversions. Pure. `decodeTable` checks everything it reads, so a
 * proxy never enforces half a table: a malformed answer is an error, and the last good table stays.
 *
 * What changes from the in-memory table: Sets become arrays, CIDRs and regular expressions travel
 * as their text (and are parsed again on arrival, exactly as the resources were).
 */
import { DEFAULT_INBOUND_POLICIES, type DefaultInboundPolicy } from '../../config/annotations';
import { parseCidr, type Cidr } from './cidr';
import type { AuthorizationRule, PolicySource } from './default-policy';
import type { CompiledRoute, InboundPolicyTable, PortPolicy } from './inbound-policy';
import type { Requirement } from './requirements';
import { PROXY_PROTOCOLS, type HttpRouteMatch, type PathMatchType, type ProxyProtocol } from './resources';

export type WireRequirement =
  | { kind: 'identity'; name: string; any: boolean; exact: string[]; suffixes: string[] }
  | { kind: 'networks'; name: string; networks: { cidr: string; except: string[] }[] }
  | { kind: 'missing'; name: string };

export interface WireRule {
  kind: AuthorizationRule['kind'];
  name: string;
  requirements: WireRequirement[];
  audited: boolean;
}

export interface WireMatch {
  path: { type: PathMatchType; value: string };
  method?: string;
}

export interface WirePort {
  server: PortPolicy['server'];
  proxyProtocol: ProxyProtocol;
  rules: WireRule[];
  routes: { name: string; matches: WireMatch[]; rules: WireRule[] }[];
  fallback: WireRule[];
  probesAuthorized: boolean;
  probePaths: string[];
  describe: string;
}

export interface WireTable {
  namespace: string;
  defaultPolicy: DefaultInboundPolicy;
  defaultPolicySource: PolicySource;
  ports: (WirePort & { port: number })[];
  otherPorts: WirePort;
  clusterNetworks: string[];
  warnings: string[];
}

const encodeRequirement = (r: Requirement): WireRequirement => {
  if (r.kind === 'identity') return { kind: 'identity', name: r.name, any: r.matcher.any, exact: [...r.matcher.exact], suffixes: [...r.matcher.suffixes] };
  if (r.kind === 'networks') return { kind: 'networks', name: r.name, networks: r.networks.map((n) => ({ cidr: n.cidr.text, except: n.except.map((x) => x.text) })) };
  return { kind: 'missing', name: r.name };
};
const encodeRule = (r: AuthorizationRule): WireRule => ({ kind: r.kind, name: r.name, requirements: r.requirements.map(encodeRequirement), audited: r.audited });
const encodeMatch = (m: HttpRouteMatch): WireMatch => ({ path: { type: m.path.type, value: m.path.value }, ...(m.method ? { method: m.method } : {}) });
const encodePort = (p: PortPolicy): WirePort => ({
  server: p.server,
  proxyProtocol: p.proxyProtocol,
  rules: p.rules.map(encodeRule),
  routes: p.routes.map((r) => ({ name: r.name, matches: r.matches.map(encodeMatch), rules: r.rules.map(encodeRule) })),
  fallback: p.fallback.map(encodeRule),
  probesAuthorized: p.probesAuthorized,
  probePaths: [...p.probePaths],
  describe: p.describe,
});

export function encodeTable(t: InboundPolicyTable): WireTable {
  return {
    namespace: t.namespace,
    defaultPolicy: t.defaultPolicy,
    defaultPolicySource: t.defaultPolicySource,
    ports: [...t.ports].sort((a, b) => a[0] - b[0]).map(([port, p]) => ({ port, ...encodePort(p) })),
    otherPorts: encodePort(t.otherPorts),
    clusterNetworks: t.clusterNetworks.map((c) => c.text),
    warnings: t.warnings,
  };
}

/** Thrown inside decodeTable with the path of the bad field; caught and returned as a message. */
class WireError extends Error {}

type Obj = Record<string, unknown>;

function obj(v: unknown, at: string): Obj {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new WireError(`${at}: expected an object`);
  return v as Obj;
}
function arr(v: unknown, at: string): unknown[] {
  if (!Array.isArray(v)) throw new WireError(`${at}: expected a list`);
  return v;
}
function str(v: unknown, at: string): string {
  if (typeof v !== 'string') throw new WireError(`${at}: expected a string`);
  return v;
}
function bool(v: unknown, at: string): boolean {
  if (typeof v !== 'boolean') throw new WireError(`${at}: expected true or false`);
  return v;
}
function oneOf<T extends string>(v: unknown, at: string, values: readonly T[]): T {
  if (typeof v !== 'string' || !(values as readonly string[]).includes(v)) throw new WireError(`${at}: expected one of ${values.join(', ')}`);
  return v as T;
}
function cidr(v: unknown, at: string): Cidr {
  try {
    return parseCidr(str(v, at));
  } catch (e) {
    throw new WireError(`${at}: ${(e as Error).message}`);
  }
}

function decodeRequirement(v: unknown, at: string): Requirement {
  const o = obj(v, at);
  const kind = oneOf(o.kind, `${at}.kind`, ['identity', 'networks', 'missing'] as const);
  const name = str(o.name, `${at}.name`);
  if (kind === 'missing') return { kind, name };
  if (kind === 'networks') {
    const networks = arr(o.networks, `${at}.networks`).map((n, i) => {
      const no = obj(n, `${at}.networks[${i}]`);
      return { cidr: cidr(no.cidr, `${at}.networks[${i}].cidr`), except: arr(no.except, `${at}.networks[${i}].except`).map((x, j) => cidr(x, `${at}.networks[${i}].except[${j}]`)) };
    });
    return { kind, name, networks };
  }
  const strings = (x: unknown, where: string): string[] => arr(x, where).map((s, i) => str(s, `${where}[${i}]`).toLowerCase());
  return { kind, name, matcher: { any: bool(o.any, `${at}.any`), exact: new Set(strings(o.exact, `${at}.exact`)), suffixes: strings(o.suffixes, `${at}.suffixes`) } };
}

function decodeRule(v: unknown, at: string): AuthorizationRule {
  const o = obj(v, at);
  return {
    kind: oneOf(o.kind, `${at}.kind`, ['default', 'authorizationpolicy', 'server'] as const),
    name: str(o.name, `${at}.name`),
    requirements: arr(o.requirements, `${at}.requirements`).map((r, i) => decodeRequirement(r, `${at}.requirements[${i}]`)),
    audited: bool(o.audited, `${at}.audited`),
  };
}

function decodeMatch(v: unknown, at: string): HttpRouteMatch {
  const o = obj(v, at);
  const p = obj(o.path, `${at}.path`);
  const type = oneOf(p.type, `${at}.path.type`, ['Exact', 'PathPrefix', 'RegularExpression'] as const);
  const value = str(p.value, `${at}.path.value`);
  const m: HttpRouteMatch = { path: { type, value } };
  if (type === 'RegularExpression') {
    try {
      // The same anchoring as resources.ts.
      m.path.regex = new RegExp(`^(?:${value})$`);
    } catch (e) {
      throw new WireError(`${at}.path.value: ${(e as Error).message}`);
    }
  }
  if (o.method !== undefined) m.method = str(o.method, `${at}.method`).toUpperCase();
  return m;
}

function decodeRules(v: unknown, at: string): AuthorizationRule[] {
  return arr(v, at).map((r, i) => decodeRule(r, `${at}[${i}]`));
}

function decodePort(v: unknown, at: string): PortPolicy {
  const o = obj(v, at);
  const s = obj(o.server, `${at}.server`);
  const server: PortPolicy['server'] = { kind: oneOf(s.kind, `${at}.server.kind`, ['server', 'default'] as const), name: str(s.name, `${at}.server.name`) };
  if (s.namespace !== undefined) server.namespace = str(s.namespace, `${at}.server.namespace`);
  const routes: CompiledRoute[] = arr(o.routes, `${at}.routes`).map((r, i) => {
    const ro = obj(r, `${at}.routes[${i}]`);
    return {
      name: str(ro.name, `${at}.routes[${i}].name`),
      matches: arr(ro.matches, `${at}.routes[${i}].matches`).map((m, j) => decodeMatch(m, `${at}.routes[${i}].matches[${j}]`)),
      rules: decodeRules(ro.rules, `${at}.routes[${i}].rules`),
    };
  });
  return {
    server,
    proxyProtocol: oneOf(o.proxyProtocol, `${at}.proxyProtocol`, PROXY_PROTOCOLS),
    rules: decodeRules(o.rules, `${at}.rules`),
    routes,
    fallback: decodeRules(o.fallback, `${at}.fallback`),
    probesAuthorized: bool(o.probesAuthorized, `${at}.probesAuthorized`),
    probePaths: new Set(arr(o.probePaths, `${at}.probePaths`).map((p, i) => str(p, `${at}.probePaths[${i}]`))),
    describe: str(o.describe, `${at}.describe`),
  };
}

export type DecodeResult = { ok: true; table: InboundPolicyTable } | { ok: false; error: string };

/** Reads a table sent by the policy service; every field is checked. */
export function decodeTable(v: unknown): DecodeResult {
  try {
    const o = obj(v, 'table');
    const ports = new Map<number, PortPolicy>();
    arr(o.ports, 'table.ports').forEach((p, i) => {
      const port = obj(p, `table.ports[${i}]`).port;
      if (typeof port !== 'number' || !Number.isInteger(port) || port < 1 || port > 65535) throw new WireError(`table.ports[${i}].port: expected a port number`);
      ports.set(port, decodePort(p, `table.ports[${i}]`));
    });
    const table: InboundPolicyTable = {
      namespace: str(o.namespace, 'table.namespace'),
      defaultPolicy: oneOf(o.defaultPolicy, 'table.defaultPolicy', DEFAULT_INBOUND_POLICIES),
      defaultPolicySource: oneOf(o.defaultPolicySource, 'table.defaultPolicySource', ['workload', 'namespace', 'mesh'] as const),
      ports,
      otherPorts: decodePort(o.otherPorts, 'table.otherPorts'),
      clusterNetworks: arr(o.clusterNetworks, 'table.clusterNetworks').map((c, i) => cidr(c, `table.clusterNetworks[${i}]`)),
      warnings: arr(o.warnings, 'table.warnings').map((w, i) => str(w, `table.warnings[${i}]`)),
    };
    return { ok: true, table };
  } catch (e) {
    if (e instanceof WireError) return { ok: false, error: `malformed policy table: ${e.message}` };
    throw e;
  }
}
