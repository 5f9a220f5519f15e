/**
 * Authentication requirements, resolved from MeshTLSAuthentication, NetworkAuthentication and
 * ServiceAccount references into matchers the proxy checks per connection or request: a client's
 * mesh identity (exact, `*.<suffix>` or `*`) and its IP address (CIDRs with exceptions).
 */
import { identityName } from '../../config/identity';
import { cidrContains, type IpAddress } from './cidr';
import type { AuthenticationRef, MeshTLSAuthentication, Network, NetworkAuthentication } from './resources';

export interface IdentityMatcher {
  /** `*`: any meshed client. */
  any: boolean;
  exact: Set<string>;
  /** `*.shop.serviceaccount.identity.weft.cluster.local` is stored as `.shop.serviceaccount…`. */
  suffixes: string[];
}

export type Requirement =
  | { kind: 'identity'; name: string; matcher: IdentityMatcher }
  | { kind: 'networks'; name: string; networks: Network[] }
  /** A reference to an authentication that does not exist: never satisfied. */
  | { kind: 'missing'; name: string };

export interface ClientFacts {
  identity?: string;
  ip: IpAddress | undefined;
  /** The address as the client presented it, for messages. */
  ipText: string;
}

export function describeClient(c: ClientFacts): string {
  return c.identity ? `client ${c.identity} (${c.ipText})` : `client ${c.ipText}`;
}

export function identityMatches(m: IdentityMatcher, identity: string): boolean {
  const id = identity.toLowerCase();
  if (m.any || m.exact.has(id)) return true;
  return m.suffixes.some((s) => id.length > s.length && id.endsWith(s));
}

export function inNetworks(networks: readonly Network[], ip: IpAddress): boolean {
  return networks.some((n) => cidrContains(n.cidr, ip) && !n.except.some((x) => cidrContains(x, ip)));
}

/** undefined when satisfied; otherwise why not, as the end of a sentence. */
export function unmetBy(req: Requirement, client: ClientFacts): string | undefined {
  switch (req.kind) {
    case 'identity':
      if (client.identity === undefined) return `${req.name} requires a meshed (mTLS) client, and ${describeClient(client)} has no mesh identity`;
      return identityMatches(req.matcher, client.identity) ? undefined : `${describeClient(client)} is not an identity allowed by ${req.name}`;
    case 'networks':
      if (client.ip === undefined) return `${req.name} requires a client address, and the address of ${describeClient(client)} is unknown`;
      return inNetworks(req.networks, client.ip) ? undefined : `${describeClient(client)} is outside ${req.name}`;
    case 'missing':
      return `${req.name} does not exist, so it authenticates no one`;
  }
}

export function matcherFromIdentities(identities: readonly string[]): IdentityMatcher {
  const m: IdentityMatcher = { any: false, exact: new Set(), suffixes: [] };
  for (const raw of identities) {
    const id = raw.toLowerCase();
    if (id === '*') m.any = true;
    else if (id.startsWith('*.')) m.suffixes.push(id.slice(1));
    else m.exact.add(id);
  }
  return m;
}

export interface AuthenticationIndex {
  meshTLS: ReadonlyMap<string, MeshTLSAuthentication>;
  network: ReadonlyMap<string, NetworkAuthentication>;
  trustDomain: string;
}

export const refKey = (namespace: string, name: string): string => `${namespace}/${name}`;

/** Resolves one requiredAuthenticationRef into the requirement it stands for. */
export function requirementFor(ref: AuthenticationRef, index: AuthenticationIndex): Requirement {
  const key = refKey(ref.namespace, ref.name);
  const name = `${ref.kind} ${key}`;
  if (ref.kind === 'ServiceAccount') {
    const id = identityName({ serviceAccount: ref.name, namespace: ref.namespace, trustDomain: index.trustDomain });
    return { kind: 'identity', name, matcher: matcherFromIdentities([id]) };
  }
  if (ref.kind === 'NetworkAuthentication') {
    const n = index.network.get(key);
    return n ? { kind: 'networks', name, networks: n.networks } : { kind: 'missing', name };
  }
  const m = index.meshTLS.get(key);
  if (!m) return { kind: 'missing', name };
  const ids = [...m.identities];
  for (const r of m.identityRefs) {
    if (r.kind === 'ServiceAccount') ids.push(identityName({ serviceAccount: r.name, namespace: r.namespace, trustDomain: index.trustDomain }));
    else ids.push(`*.${identityName({ serviceAccount: '', namespace: r.namespace, trustDomain: index.trustDomain }).slice(1)}`);
  }
  return { kind: 'identity', name, matcher: matcherFromIdentities(ids) };
}
