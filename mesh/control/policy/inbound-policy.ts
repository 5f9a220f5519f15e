/**
 * Compiles the policy that applies to one workload into a per-port table the proxy evaluates per
 * connection or request (see authorize.ts). Pure: the resources and the workload come in, the table
 * goes out, with warnings for whatever was ignored.
 */
import type { DefaultInboundPolicy } from '../../config/annotations';
import { DEFAULT_CLUSTER_NETWORKS, DEFAULT_TRUST_DOMAIN, POLICY_API_GROUP } from '../../config/names';
import { parseCidr, type Cidr } from './cidr';
import { defaultPolicyRules, resolveDefaultPolicy, type AuthorizationRule, type PolicySource } from './default-policy';
import { selectorMatches } from './label-selector';
import { refKey, requirementFor, type AuthenticationIndex } from './requirements';
import type { AuthorizationPolicy, HttpRoute, HttpRouteMatch, PolicyResources, ProxyProtocol, Server } from './resources';

export interface WorkloadFacts {
  namespace: string;
  labels: Readonly<Record<string, string>>;
  ports: readonly { name?: string; port: number }[];
  /** The pod template's annotations. */
  annotations: Readonly<Record<string, string>>;
  /** The namespace's annotations (the second place a default policy may be set). */
  namespaceAnnotations?: Readonly<Record<string, string>>;
  /** HTTP GET probe paths of the pod spec (liveness, readiness, startup), by port number. */
  probes?: readonly ProbeFact[];
}

export interface ProbeFact {
  port: number;
  path: string;
}

export interface MeshPolicyDefaults {
  /** The mesh-wide default inbound policy (Linkerd's `proxy.defaultInboundPolicy`). */
  defaultInboundPolicy: DefaultInboundPolicy;
  /** CIDRs for the `cluster-*` policies; DEFAULT_CLUSTER_NETWORKS (LOCAL_CLUSTER_NETWORKS in local mode). */
  clusterNetworks: readonly string[];
  trustDomain: string;
}

export const MESH_POLICY_DEFAULTS: MeshPolicyDefaults = {
  defaultInboundPolicy: 'all-unauthenticated',
  clusterNetworks: DEFAULT_CLUSTER_NETWORKS,
  trustDomain: DEFAULT_TRUST_DOMAIN,
};

export interface CompiledRoute {
  name: string;
  matches: HttpRouteMatch[];
  /** AuthorizationPolicies that target this route. */
  rules: AuthorizationRule[];
}

export interface PortPolicy {
  /** `kind: server` for a Server; `kind: default` (named after the default policy) otherwise, as Linkerd's srv_kind/srv_name. */
  server: { kind: 'server' | 'default'; name: string; namespace?: string };
  proxyProtocol: ProxyProtocol;
  /** Rules for all traffic on the port (policies targeting the Server or its namespace). */
  rules: AuthorizationRule[];
  /** HTTPRoutes attached to the Server: an HTTP request must match one. Empty: no routes. */
  routes: CompiledRoute[];
  /** What the rest gets: the default policy, or the Server's accessPolicy. */
  fallback: AuthorizationRule[];
  /** Kubelet probes pass: no Server, or a Server without routes (Linkerd's default probe authorization). */
  probesAuthorized: boolean;
  /** The probe paths on this port (without query): a GET on one of them is a kubelet probe. */
  probePaths: ReadonlySet<string>;
  /** For deny messages. */
  describe: string;
}

export interface InboundPolicyTable {
  namespace: string;
  defaultPolicy: DefaultInboundPolicy;
  defaultPolicySource: PolicySource;
  ports: ReadonlyMap<number, PortPolicy>;
  /** Ports neither declared by the workload nor named by a Server. */
  otherPorts: PortPolicy;
  clusterNetworks: readonly Cidr[];
  warnings: string[];
}

const SOURCE_TEXT: Record<PolicySource, string> = { workload: "the workload's annotation", namespace: "the namespace's annotation", mesh: "the mesh's default" };

function serverPortMatches(server: Server, port: { name?: string; port: number }): boolean {
  return typeof server.port === 'number' ? server.port === port.port : server.port === port.name;
}

function routeAttaches(route: HttpRoute, server: Server): boolean {
  return route.namespace === server.namespace && route.parentRefs.some((p) => p.kind === 'Server' && p.group === POLICY_API_GROUP && p.name === server.name);
}

export function compileInboundPolicy(workload: WorkloadFacts, resources: PolicyResources, meshDefaults: MeshPolicyDefaults = MESH_POLICY_DEFAULTS): InboundPolicyTable {
  const warnings: string[] = [];
  const ns = workload.namespace;
  const clusterNetworks: Cidr[] = [];
  for (const c of meshDefaults.clusterNetworks) {
    try {
      clusterNetworks.push(parseCidr(c));
    } catch (e) {
      warnings.push(`cluster network ignored: ${(e as Error).message}`);
    }
  }
  const resolved = resolveDefaultPolicy(workload.annotations, workload.namespaceAnnotations ?? {}, meshDefaults.defaultInboundPolicy);
  warnings.push(...resolved.warnings);
  const defaultRules = defaultPolicyRules(resolved.policy, clusterNetworks);
  const defaultDescribe = `the default inbound policy ${resolved.policy} (from ${SOURCE_TEXT[resolved.source]})`;
  const probePaths = (port: number): Set<string> => new Set((workload.probes ?? []).filter((p) => p.port === port).map((p) => p.path.split('?')[0] || '/'));
  const defaultPort = (port: number | undefined): PortPolicy => ({
    server: { kind: 'default', name: resolved.policy },
    proxyProtocol: 'unknown',
    rules: [],
    routes: [],
    fallback: defaultRules,
    probesAuthorized: true,
    probePaths: port === undefined ? new Set() : probePaths(port),
    describe: defaultDescribe,
  });

  const index: AuthenticationIndex = {
    meshTLS: new Map(resources.meshTLSAuthentications.map((m) => [refKey(m.namespace, m.name), m])),
    network: new Map(resources.networkAuthentications.map((n) => [refKey(n.namespace, n.name), n])),
    trustDomain: meshDefaults.trustDomain,
  };
  const ruleOf = (p: AuthorizationPolicy): AuthorizationRule => {
    const requirements = p.requiredAuthenticationRefs.map((ref) => requirementFor(ref, index));
    for (const r of requirements) if (r.kind === 'missing') warnings.push(`AuthorizationPolicy ${p.namespace}/${p.name} requires ${r.name}, which does not exist: the policy allows no one`);
    return { kind: 'authorizationpolicy', name: `${p.namespace}/${p.name}`, requirements, audited: false };
  };
  const policies = resources.authorizationPolicies.filter((p) => p.namespace === ns);
  for (const p of policies) {
    if (p.targetRef.kind === 'GRPCRoute') warnings.push(`AuthorizationPolicy ${ns}/${p.name} targets GRPCRoute ${p.targetRef.name}: GRPCRoutes are not supported yet, so it has no effect`);
  }

  const servers = resources.servers
    .filter((s) => s.namespace === ns && selectorMatches(s.podSelector, workload.labels))
    .sort((a, b) => a.name.localeCompare(b.name));
  const declared = [...workload.ports];
  // A probe on a port the spec does not list still needs its entry (its probe paths).
  for (const p of workload.probes ?? []) if (!declared.some((d) => d.port === p.port)) declared.push({ port: p.port });
  for (const s of servers) {
    if (typeof s.port === 'number' && !declared.some((p) => p.port === s.port)) declared.push({ port: s.port });
    if (typeof s.port === 'string' && !declared.some((p) => p.name === s.port)) warnings.push(`Server ${ns}/${s.name} names port "${s.port}", which the workload does not declare: it selects nothing`);
  }

  const ports = new Map<number, PortPolicy>();
  for (const port of declared) {
    if (ports.has(port.port)) continue;
    const matching = servers.filter((s) => serverPortMatches(s, port));
    const server = matching[0];
    if (!server) {
      ports.set(port.port, defaultPort(port.port));
      continue;
    }
    if (matching.length > 1) warnings.push(`Servers ${matching.map((s) => s.name).join(', ')} all select port ${port.port}; ${server.name} is used (Servers must not overlap)`);
    const rules = policies
      .filter((p) => (p.targetRef.kind === 'Server' && p.targetRef.name === server.name) || p.targetRef.kind === 'Namespace')
      .map(ruleOf);
    const routes: CompiledRoute[] = resources.httpRoutes
      .filter((r) => routeAttaches(r, server))
      .sort((a, b) => a.name.localeCompare(b.name))
      .map((r) => ({
        name: `${r.namespace}/${r.name}`,
        matches: r.matches,
        rules: policies.filter((p) => p.targetRef.kind === 'HTTPRoute' && p.targetRef.name === r.name).map(ruleOf),
      }));
    ports.set(port.port, {
      server: { kind: 'server', name: server.name, namespace: ns },
      proxyProtocol: server.proxyProtocol,
      rules,
      routes,
      fallback: defaultPolicyRules(server.accessPolicy, clusterNetworks, 'server', `${ns}/${server.name} accessPolicy ${server.accessPolicy}`),
      probesAuthorized: routes.length === 0,
      probePaths: probePaths(port.port),
      describe: `Server ${ns}/${server.name}`,
    });
  }
  return { namespace: ns, defaultPolicy: resolved.policy, defaultPolicySource: resolved.source, ports, otherPorts: defaultPort(undefined), clusterNetworks, warnings };
}
