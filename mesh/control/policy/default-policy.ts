/**
 * Default inbound policies: which one applies to a workload (annotation on the workload, then on
 * its namespace, then the mesh's default), and what each one allows, in Linkerd's terms.
 */
import { ANNOTATIONS, DEFAULT_INBOUND_POLICIES, type DefaultInboundPolicy } from '../../config/annotations';
import type { Requirement } from './requirements';
import type { Cidr } from './cidr';

export type PolicySource = 'workload' | 'namespace' | 'mesh';

export interface ResolvedDefaultPolicy {
  policy: DefaultInboundPolicy;
  source: PolicySource;
  /** Invalid annotation values skipped on the way. */
  warnings: string[];
}

export function isDefaultInboundPolicy(v: string): v is DefaultInboundPolicy {
  return (DEFAULT_INBOUND_POLICIES as readonly string[]).includes(v);
}

/**
 * The workload's annotation wins over its namespace's, which wins over the mesh default. An
 * invalid value is reported and skipped (the next level decides), as Linkerd's controller does.
 */
export function resolveDefaultPolicy(
  workloadAnnotations: Readonly<Record<string, string>>,
  namespaceAnnotations: Readonly<Record<string, string>>,
  meshDefault: DefaultInboundPolicy,
): ResolvedDefaultPolicy {
  const key = ANNOTATIONS.defaultInboundPolicy;
  const warnings: string[] = [];
  const levels: [PolicySource, Readonly<Record<string, string>>][] = [['workload', workloadAnnotations], ['namespace', namespaceAnnotations]];
  for (const [source, annotations] of levels) {
    const raw = annotations[key];
    if (raw === undefined) continue;
    const value = raw.trim();
    if (isDefaultInboundPolicy(value)) return { policy: value, source, warnings };
    warnings.push(`the ${source}'s annotation ${key}: "${raw}" is not a default inbound policy (${DEFAULT_INBOUND_POLICIES.join(', ')}); it is ignored`);
  }
  return { policy: meshDefault, source: 'mesh', warnings };
}

/** An authorization rule: every requirement must hold. */
export interface AuthorizationRule {
  kind: 'default' | 'authorizationpolicy' | 'server';
  name: string;
  requirements: Requirement[];
  /** Allowed, but flagged in logs and metrics. */
  audited: boolean;
}

/**
 * What a default policy (or a Server's accessPolicy) allows. `deny` allows nothing; `audit` allows
 * everyone, flagged. The cluster networks are those of the mesh configuration.
 */
export function defaultPolicyRules(policy: DefaultInboundPolicy, clusterNetworks: readonly Cidr[], kind: 'default' | 'server' = 'default', name: string = policy): AuthorizationRule[] {
  const cluster: Requirement = { kind: 'networks', name: 'the cluster networks', networks: clusterNetworks.map((cidr) => ({ cidr, except: [] })) };
  const meshed: Requirement = { kind: 'identity', name: 'a mesh identity', matcher: { any: true, exact: new Set(), suffixes: [] } };
  const rule = (requirements: Requirement[], audited = false): AuthorizationRule[] => [{ kind, name, requirements, audited }];
  switch (policy) {
    case 'all-unauthenticated':
      return rule([]);
    case 'cluster-unauthenticated':
      return rule([cluster]);
    case 'all-authenticated':
      return rule([meshed]);
    case 'cluster-authenticated':
      return rule([meshed, cluster]);
    case 'audit':
      return rule([], true);
    case 'deny':
      return [];
  }
}
