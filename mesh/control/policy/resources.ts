/**
 * The policy resources in Linkerd's shapes under Weft's API group (`policy.weft.dev`): Server,
 * AuthorizationPolicy, MeshTLSAuthentication, NetworkAuthentication, and the HTTPRoutes that
 * attach to Servers. `parsePolicyResource` turns a plain object (parsed YAML, or the Kubernetes
 * API's JSON) into a typed resource, or into errors that name the resource and the field.
 */
import { DEFAULT_INBOUND_POLICIES, type DefaultInboundPolicy } from '../../config/annotations';
import { POLICY_API_GROUP } from '../../config/names';
import { cidrCovers, parseCidr, type Cidr } from './cidr';
import { SELECTOR_OPERATORS, type LabelSelector, type LabelSelectorRequirement, type SelectorOperator } from './label-selector';

export const GATEWAY_API_GROUP = 'gateway.networking.k8s.io';

export const PROXY_PROTOCOLS = ['unknown', 'HTTP/1', 'HTTP/2', 'gRPC', 'opaque', 'TLS'] as const;
export type ProxyProtocol = (typeof PROXY_PROTOCOLS)[number];

interface ObjectMeta {
  name: string;
  namespace: string;
}

export interface Server extends ObjectMeta {
  kind: 'Server';
  podSelector: LabelSelector;
  /** A port number, or the name of a container port. */
  port: number | string;
  proxyProtocol: ProxyProtocol;
  /** What traffic that no AuthorizationPolicy authorizes gets (default `deny`). */
  accessPolicy: DefaultInboundPolicy;
}

export const TARGET_KINDS = ['Server', 'Namespace', 'HTTPRoute', 'GRPCRoute'] as const;
export type TargetKind = (typeof TARGET_KINDS)[number];

export interface TargetRef {
  group: string;
  kind: TargetKind;
  name: string;
}

export const AUTHENTICATION_KINDS = ['MeshTLSAuthentication', 'NetworkAuthentication', 'ServiceAccount'] as const;
export type AuthenticationKind = (typeof AUTHENTICATION_KINDS)[number];

export interface AuthenticationRef {
  kind: AuthenticationKind;
  name: string;
  /** Defaults to the policy's namespace. */
  namespace: string;
}

export interface AuthorizationPolicy extends ObjectMeta {
  kind: 'AuthorizationPolicy';
  targetRef: TargetRef;
  /** All must be satisfied. Empty: any client, from anywhere. */
  requiredAuthenticationRefs: AuthenticationRef[];
}

export interface IdentityRef {
  kind: 'ServiceAccount' | 'Namespace';
  name: string;
  namespace: string;
}

export interface MeshTLSAuthentication extends ObjectMeta {
  kind: 'MeshTLSAuthentication';
  /** Exact identities, `*.<suffix>` or `*` (any meshed client). */
  identities: string[];
  identityRefs: IdentityRef[];
}

export interface Network {
  cidr: Cidr;
  except: Cidr[];
}

export interface NetworkAuthentication extends ObjectMeta {
  kind: 'NetworkAuthentication';
  networks: Network[];
}

export interface ParentRef {
  group: string;
  kind: string;
  name: string;
}

export type PathMatchType = 'Exact' | 'PathPrefix' | 'RegularExpression';

export interface HttpRouteMatch {
  path: { type: PathMatchType; value: string; regex?: RegExp };
  method?: string;
}

export interface HttpRoute extends ObjectMeta {
  kind: 'HTTPRoute';
  group: string;
  parentRefs: ParentRef[];
  /** Any match of any rule selects the route; a rule with no matches matches every request. */
  matches: HttpRouteMatch[];
}

export type PolicyResource = Server | AuthorizationPolicy | MeshTLSAuthentication | NetworkAuthentication | HttpRoute;

export interface PolicyResources {
  servers: Server[];
  authorizationPolicies: AuthorizationPolicy[];
  meshTLSAuthentications: MeshTLSAuthentication[];
  networkAuthentications: NetworkAuthentication[];
  httpRoutes: HttpRoute[];
}

export const emptyPolicyResources = (): PolicyResources => ({ servers: [], authorizationPolicies: [], meshTLSAuthentications: [], networkAuthentications: [], httpRoutes: [] });

export interface FieldError {
  /** `spec.networks[0].cidr` */
  path: string;
  message: string;
}

export type ParseResult =
  | { ok: true; resource: PolicyResource }
  /** `ignored`: not a policy resource at all (a Deployment, say). */
  | { ok: false; ignored: boolean; resource: string; errors: FieldError[] };

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const show = (v: unknown): string => (v === undefined ? 'nothing' : JSON.stringify(v));

/** Collects errors against field paths while a resource is read. */
class FieldReader {
  readonly errors: FieldError[] = [];
  fail(path: string, message: string): undefined {
    this.errors.push({ path, message });
    return undefined;
  }
  obj(v: unknown, path: string, required = true): Obj | undefined {
    if (v === undefined && !required) return undefined;
    if (!isObj(v)) return this.fail(path, `must be an object, got ${show(v)}`);
    return v;
  }
  arr(v: unknown, path: string, required = true): unknown[] | undefined {
    if (v === undefined && !required) return undefined;
    if (!Array.isArray(v)) return this.fail(path, `must be a list, got ${show(v)}`);
    return v;
  }
  str(v: unknown, path: string, required = true): string | undefined {
    if (v === undefined && !required) return undefined;
    if (typeof v !== 'string' || v === '') return this.fail(path, `must be a non-empty string, got ${show(v)}`);
    return v;
  }
  oneOf<T extends string>(v: unknown, path: string, allowed: readonly T[], fallback?: T): T | undefined {
    if (v === undefined && fallback !== undefined) return fallback;
    if (typeof v !== 'string' || !(allowed as readonly string[]).includes(v)) return this.fail(path, `must be one of ${allowed.join(', ')}; got ${show(v)}`);
    return v as T;
  }
}

const GROUPS_BY_KIND: Record<string, readonly string[]> = {
  Server: [POLICY_API_GROUP],
  AuthorizationPolicy: [POLICY_API_GROUP],
  MeshTLSAuthentication: [POLICY_API_GROUP],
  NetworkAuthentication: [POLICY_API_GROUP],
  HTTPRoute: [POLICY_API_GROUP, GATEWAY_API_GROUP],
};

/** IANA_SVC_NAME, as Kubernetes checks container port names. */
const PORT_NAME = /^(?=.{1,15}$)(?=.*[a-z])[a-z0-9]+(-[a-z0-9]+)*$/;

function readPort(r: FieldReader, v: unknown, path: string): number | string | undefined {
  if (typeof v === 'number') {
    if (Number.isInteger(v) && v >= 1 && v <= 65535) return v;
    return r.fail(path, `must be a port number from 1 to 65535, got ${v}`);
  }
  if (typeof v === 'string') {
    if (PORT_NAME.test(v)) return v;
    if (/^\d+$/.test(v)) return r.fail(path, `"${v}" is a string: write the port number without quotes, or use the container port's name`);
    return r.fail(path, `"${v}" is not a port name (at most 15 lowercase letters, digits and single hyphens, with at least one letter)`);
  }
  return r.fail(path, `must be a port number or a container port name, got ${show(v)}`);
}

function readSelector(r: FieldReader, v: unknown, path: string): LabelSelector | undefined {
  const o = r.obj(v, path);
  if (!o) return undefined;
  const matchLabels: Record<string, string> = {};
  const ml = r.obj(o.matchLabels, `${path}.matchLabels`, false);
  for (const [k, val] of Object.entries(ml ?? {})) {
    if (typeof val !== 'string') r.fail(`${path}.matchLabels.${k}`, `label values are strings, got ${show(val)} (quote it in YAML)`);
    else matchLabels[k] = val;
  }
  const matchExpressions: LabelSelectorRequirement[] = [];
  (r.arr(o.matchExpressions, `${path}.matchExpressions`, false) ?? []).forEach((e, i) => {
    const p = `${path}.matchExpressions[${i}]`;
    const eo = r.obj(e, p);
    if (!eo) return;
    const key = r.str(eo.key, `${p}.key`);
    const operator = r.oneOf<SelectorOperator>(eo.operator, `${p}.operator`, SELECTOR_OPERATORS);
    const values = (r.arr(eo.values, `${p}.values`, false) ?? []).filter((x, j) => typeof x === 'string' || r.fail(`${p}.values[${j}]`, `must be a string, got ${show(x)}`)) as string[];
    if (operator === 'In' || operator === 'NotIn') {
      if (values.length === 0) r.fail(`${p}.values`, `operator ${operator} needs at least one value`);
    } else if (operator && values.length > 0) {
      r.fail(`${p}.values`, `operator ${operator} takes no values`);
    }
    if (key && operator) matchExpressions.push({ key, operator, values });
  });
  return { matchLabels, matchExpressions };
}

function readServer(r: FieldReader, meta: ObjectMeta, spec: Obj): Server | undefined {
  const podSelector = readSelector(r, spec.podSelector, 'spec.podSelector');
  const port = readPort(r, spec.port, 'spec.port');
  const proxyProtocol = r.oneOf<ProxyProtocol>(spec.proxyProtocol, 'spec.proxyProtocol', PROXY_PROTOCOLS, 'unknown');
  const accessPolicy = r.oneOf<DefaultInboundPolicy>(spec.accessPolicy, 'spec.accessPolicy', DEFAULT_INBOUND_POLICIES, 'deny');
  if (!podSelector || port === undefined || !proxyProtocol || !accessPolicy) return undefined;
  return { kind: 'Server', ...meta, podSelector, port, proxyProtocol, accessPolicy };
}

function readAuthorizationPolicy(r: FieldReader, meta: ObjectMeta, spec: Obj): AuthorizationPolicy | undefined {
  const t = r.obj(spec.targetRef, 'spec.targetRef');
  let targetRef: TargetRef | undefined;
  if (t) {
    const kind = r.oneOf<TargetKind>(t.kind, 'spec.targetRef.kind', TARGET_KINDS);
    const name = r.str(t.name, 'spec.targetRef.name');
    const group = t.group === undefined ? undefined : typeof t.group === 'string' ? t.group : r.fail('spec.targetRef.group', `must be a string, got ${show(t.group)}`);
    if (kind === 'Server' && group !== undefined && group !== POLICY_API_GROUP) r.fail('spec.targetRef.group', `a Server is in group ${POLICY_API_GROUP}, got "${group}"`);
    if (kind === 'Namespace' && group) r.fail('spec.targetRef.group', `a Namespace has no group (leave it out), got "${group}"`);
    if (kind === 'Namespace' && name && name !== meta.namespace) {
      r.fail('spec.targetRef.name', `a policy may only target its own namespace (${meta.namespace}), got "${name}"`);
    }
    if (kind && name) targetRef = { kind, name, group: group ?? (kind === 'Server' ? POLICY_API_GROUP : kind === 'Namespace' ? '' : GATEWAY_API_GROUP) };
  }
  const requiredAuthenticationRefs: AuthenticationRef[] = [];
  (r.arr(spec.requiredAuthenticationRefs, 'spec.requiredAuthenticationRefs', false) ?? []).forEach((a, i) => {
    const p = `spec.requiredAuthenticationRefs[${i}]`;
    const ao = r.obj(a, p);
    if (!ao) return;
    const kind = r.oneOf<AuthenticationKind>(ao.kind, `${p}.kind`, AUTHENTICATION_KINDS);
    const name = r.str(ao.name, `${p}.name`);
    const namespace = r.str(ao.namespace, `${p}.namespace`, false) ?? meta.namespace;
    if (kind === 'ServiceAccount' && ao.group !== undefined && ao.group !== '') r.fail(`${p}.group`, `a ServiceAccount is in the core group (leave group out), got ${show(ao.group)}`);
    if (kind && kind !== 'ServiceAccount' && ao.group !== undefined && ao.group !== POLICY_API_GROUP) r.fail(`${p}.group`, `a ${kind} is in group ${POLICY_API_GROUP}, got ${show(ao.group)}`);
    if (kind && name) requiredAuthenticationRefs.push({ kind, name, namespace });
  });
  if (!targetRef) return undefined;
  return { kind: 'AuthorizationPolicy', ...meta, targetRef, requiredAuthenticationRefs };
}

/** `*`, `*.<suffix>` or an exact name made of DNS labels. */
const IDENTITY = /^(\*|(\*\.)?[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*)$/;

function readMeshTLSAuthentication(r: FieldReader, meta: ObjectMeta, spec: Obj): MeshTLSAuthentication | undefined {
  const ids = r.arr(spec.identities, 'spec.identities', false);
  const refs = r.arr(spec.identityRefs, 'spec.identityRefs', false);
  const hasIds = (ids?.length ?? 0) > 0;
  const hasRefs = (refs?.length ?? 0) > 0;
  if (hasIds === hasRefs) {
    r.fail('spec', hasIds ? 'set either identities or identityRefs, not both' : 'needs a non-empty identities or identityRefs list (identities: ["*"] allows every meshed client)');
  }
  const identities: string[] = [];
  (ids ?? []).forEach((v, i) => {
    const s = r.str(v, `spec.identities[${i}]`);
    if (s === undefined) return;
    if (!IDENTITY.test(s)) r.fail(`spec.identities[${i}]`, `"${s}" is not an identity: use a full name (sa.ns.serviceaccount.identity.weft.cluster.local), "*.<suffix>" or "*"; a "*" may only stand first, for whole labels`);
    else identities.push(s);
  });
  const identityRefs: IdentityRef[] = [];
  (refs ?? []).forEach((v, i) => {
    const p = `spec.identityRefs[${i}]`;
    const o = r.obj(v, p);
    if (!o) return;
    const kind = r.oneOf<'ServiceAccount' | 'Namespace'>(o.kind, `${p}.kind`, ['ServiceAccount', 'Namespace']);
    const name = r.str(o.name, `${p}.name`);
    const namespace = kind === 'Namespace' ? name : (r.str(o.namespace, `${p}.namespace`, false) ?? meta.namespace);
    if (kind && name && namespace) identityRefs.push({ kind, name, namespace });
  });
  if (r.errors.length) return undefined;
  return { kind: 'MeshTLSAuthentication', ...meta, identities, identityRefs };
}

function readCidr(r: FieldReader, v: unknown, path: string): Cidr | undefined {
  const s = r.str(v, path);
  if (s === undefined) return undefined;
  try {
    return parseCidr(s);
  } catch (e) {
    return r.fail(path, (e as Error).message);
  }
}

function readNetworkAuthentication(r: FieldReader, meta: ObjectMeta, spec: Obj): NetworkAuthentication | undefined {
  const list = r.arr(spec.networks, 'spec.networks');
  if (list && list.length === 0) r.fail('spec.networks', 'needs at least one network (cidr: 0.0.0.0/0 and cidr: ::/0 mean anywhere)');
  const networks: Network[] = [];
  (list ?? []).forEach((n, i) => {
    const p = `spec.networks[${i}]`;
    const o = r.obj(n, p);
    if (!o) return;
    const cidr = readCidr(r, o.cidr, `${p}.cidr`);
    const except: Cidr[] = [];
    (r.arr(o.except, `${p}.except`, false) ?? []).forEach((x, j) => {
      const c = readCidr(r, x, `${p}.except[${j}]`);
      if (!c || !cidr) return;
      if (!cidrCovers(cidr, c)) {
        r.fail(`${p}.except[${j}]`, `${c.text} is not inside ${cidr.text}, so excepting it changes nothing`);
        return;
      }
      except.push(c);
    });
    if (cidr) networks.push({ cidr, except });
  });
  if (r.errors.length) return undefined;
  return { kind: 'NetworkAuthentication', ...meta, networks };
}

function readHttpRoute(r: FieldReader, meta: ObjectMeta, spec: Obj, group: string): HttpRoute | undefined {
  const parentRefs: ParentRef[] = [];
  (r.arr(spec.parentRefs, 'spec.parentRefs') ?? []).forEach((v, i) => {
    const p = `spec.parentRefs[${i}]`;
    const o = r.obj(v, p);
    if (!o) return;
    const name = r.str(o.name, `${p}.name`);
    const kind = typeof o.kind === 'string' ? o.kind : 'Gateway';
    const g = typeof o.group === 'string' ? o.group : GATEWAY_API_GROUP;
    if (name) parentRefs.push({ group: g, kind, name });
  });
  const matches: HttpRouteMatch[] = [];
  const rules = r.arr(spec.rules, 'spec.rules', false) ?? [{}];
  rules.forEach((rule, i) => {
    const ro = r.obj(rule, `spec.rules[${i}]`);
    if (!ro) return;
    const ms = r.arr(ro.matches, `spec.rules[${i}].matches`, false) ?? [{}];
    if (ms.length === 0) ms.push({});
    ms.forEach((m, j) => {
      const p = `spec.rules[${i}].matches[${j}]`;
      const mo = r.obj(m, p);
      if (!mo) return;
      for (const unsupported of ['headers', 'queryParams']) {
        if (mo[unsupported] !== undefined) r.fail(`${p}.${unsupported}`, `${unsupported} matches are not supported by Weft's policy yet; match on path and method only`);
      }
      const po = r.obj(mo.path, `${p}.path`, false) ?? {};
      const type = r.oneOf<PathMatchType>(po.type, `${p}.path.type`, ['Exact', 'PathPrefix', 'RegularExpression'], 'PathPrefix');
      const value = po.value === undefined ? '/' : r.str(po.value, `${p}.path.value`);
      let regex: RegExp | undefined;
      if (type === 'RegularExpression' && value !== undefined) {
        try {
          regex = new RegExp(`^(?:${value})$`);
        } catch (e) {
          r.fail(`${p}.path.value`, `is not a regular expression: ${(e as Error).message}`);
        }
      } else if (value !== undefined && !value.startsWith('/')) {
        r.fail(`${p}.path.value`, `a path starts with "/", got "${value}"`);
      }
      const method = r.str(mo.method, `${p}.method`, false);
      if (type && value !== undefined) matches.push({ path: { type, value, ...(regex ? { regex } : {}) }, ...(method ? { method: method.toUpperCase() } : {}) });
    });
  });
  if (r.errors.length) return undefined;
  return { kind: 'HTTPRoute', group, ...meta, parentRefs, matches };
}

/**
 * Reads one object. Objects that are not policy resources come back `ignored`; a policy resource
 * with a mistake comes back with every field error found. `defaultNamespace` stands in for a
 * missing metadata.namespace (as `kubectl apply -n` would).
 */
export function parsePolicyResource(input: unknown, defaultNamespace?: string): ParseResult {
  const r = new FieldReader();
  if (!isObj(input)) return { ok: false, ignored: false, resource: 'object', errors: [{ path: '', message: `a resource must be an object, got ${show(input)}` }] };
  const apiVersion = typeof input.apiVersion === 'string' ? input.apiVersion : '';
  const kind = typeof input.kind === 'string' ? input.kind : '';
  const group = apiVersion.includes('/') ? apiVersion.slice(0, apiVersion.indexOf('/')) : '';
  const md = isObj(input.metadata) ? input.metadata : {};
  const label = `${kind || 'resource'} ${typeof md.namespace === 'string' ? `${md.namespace}/` : ''}${typeof md.name === 'string' ? md.name : '(unnamed)'}`;
  if (group === 'policy.linkerd.io') {
    return { ok: false, ignored: false, resource: label, errors: [{ path: 'apiVersion', message: `"${apiVersion}" is Linkerd's group: Weft reads ${POLICY_API_GROUP} (for example ${POLICY_API_GROUP}/v1beta1)` }] };
  }
  const groups = GROUPS_BY_KIND[kind];
  if (!groups || !groups.includes(group)) {
    if (group === POLICY_API_GROUP) {
      return { ok: false, ignored: false, resource: label, errors: [{ path: 'kind', message: `${POLICY_API_GROUP} has no kind "${kind}"; it has ${Object.keys(GROUPS_BY_KIND).filter((k) => k !== 'HTTPRoute').join(', ')} and HTTPRoute` }] };
    }
    return { ok: false, ignored: true, resource: label, errors: [] };
  }
  const name = r.str(md.name, 'metadata.name');
  const namespace = r.str(md.namespace ?? defaultNamespace, 'metadata.namespace');
  const spec = r.obj(input.spec, 'spec');
  let resource: PolicyResource | undefined;
  if (name && namespace && spec) {
    const meta = { name, namespace };
    if (kind === 'Server') resource = readServer(r, meta, spec);
    else if (kind === 'AuthorizationPolicy') resource = readAuthorizationPolicy(r, meta, spec);
    else if (kind === 'MeshTLSAuthentication') resource = readMeshTLSAuthentication(r, meta, spec);
    else if (kind === 'NetworkAuthentication') resource = readNetworkAuthentication(r, meta, spec);
    else resource = readHttpRoute(r, meta, spec, group);
  }
  if (resource && r.errors.length === 0) return { ok: true, resource };
  return { ok: false, ignored: false, resource: label, errors: r.errors };
}

/** One line per field error: `Server shop/web: spec.port: must be …`. */
export function formatParseErrors(result: Extract<ParseResult, { ok: false }>): string[] {
  return result.errors.map((e) => `${result.resource}: ${e.path ? `${e.path}: ` : ''}${e.message}`);
}

/** Reads a batch; bad resources are left out and reported, other kinds are skipped silently. */
export function parsePolicyResources(inputs: readonly unknown[], defaultNamespace?: string): { resources: PolicyResources; errors: string[] } {
  const resources = emptyPolicyResources();
  const errors: string[] = [];
  for (const input of inputs) {
    const res = parsePolicyResource(input, defaultNamespace);
    if (!res.ok) {
      errors.push(...formatParseErrors(res));
      continue;
    }
    const x = res.resource;
    if (x.kind === 'Server') resources.servers.push(x);
    else if (x.kind === 'AuthorizationPolicy') resources.authorizationPolicies.push(x);
    else if (x.kind === 'MeshTLSAuthentication') resources.meshTLSAuthentications.push(x);
    else if (x.kind === 'NetworkAuthentication') resources.networkAuthentications.push(x);
    else resources.httpRoutes.push(x);
  }
  return { resources, errors };
}
