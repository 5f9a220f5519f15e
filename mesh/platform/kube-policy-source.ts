/**
 * The policy service's Kubernetes source: Servers, AuthorizationPolicies, MeshTLSAuthentications,
 * NetworkAuthentications (policy.weft.dev/v1beta1), HTTPRoutes (gateway.networking.k8s.io/v1), Pods
 * and Namespaces → the policy model (policy-model.ts; the contract is at the top of policy-server.ts).
 *
 * `policyModelFromKube(facts, meshDefaults)` is the pure mapping (tested alone); `KubePolicySource`
 * is the thin shell: seven KubeInformers, a rebuild of the model coalesced over a burst of events,
 * `synced`.
 *
 * The mapping:
 * - policy resources: each object read by `parsePolicyResources` (resources.ts), the same parser as
 *   `weft policy -f`; a resource with a mistake is left out and named in a warning (logged once),
 *   the others still apply. Objects are ordered oldest first (then namespace/name), so the model does
 *   not depend on the order the informers happened to deliver them in.
 * - HTTPRoutes: only those with a parentRef to a Server (group policy.weft.dev) are policy routes;
 *   routes of Services (traffic splits, read by the destination service) are not the policy's
 *   business and are not parsed here (their header matches would be refused otherwise).
 * - namespaces: name → annotations (config.weft.dev/default-inbound-policy).
 * - workloads: every pod, keyed `${namespace}/${podName}` (what an injected proxy sends as its
 *   workload), through `workloadFromObject` (labels, container ports, annotations, HTTP probes)
 *   of its containers other than `weft-proxy` (the proxy's own ports and probes are not the app's).
 *   Finished pods (Succeeded, Failed) are left out.
 */
import type { KubernetesObject, V1Container, V1Namespace, V1Pod } from '@kubernetes/client-node';
import { POLICY_API_GROUP, PROXY_CONTAINER } from '../config/names';
import { POLICY_API_VERSION } from '../control/install/crds';
import type { MeshPolicyDefaults } from '../control/policy/inbound-policy';
import { workloadFromObject } from '../control/policy/policy-file';
import { workloadKey, type PolicyModel, type PolicyModelSource, type WorkloadRecord } from '../control/policy/policy-model';
import { GATEWAY_API_GROUP, parsePolicyResources } from '../control/policy/resources';
import { InformedModel, informerKit, type InformedModelOptions } from './informed-model';
import { KubeInformer } from './kube-informer';

/** The policy.weft.dev collections the source follows: plural → kind. */
export const POLICY_COLLECTIONS = {
  servers: 'Server',
  authorizationpolicies: 'AuthorizationPolicy',
  meshtlsauthentications: 'MeshTLSAuthentication',
  networkauthentications: 'NetworkAuthentication',
} as const;
export const HTTPROUTE_VERSION = 'v1';

export interface KubePolicyFacts {
  servers: readonly KubernetesObject[];
  authorizationPolicies: readonly KubernetesObject[];
  meshTLSAuthentications: readonly KubernetesObject[];
  networkAuthentications: readonly KubernetesObject[];
  httpRoutes: readonly KubernetesObject[];
  pods: readonly V1Pod[];
  namespaces: readonly V1Namespace[];
}

const createdMs = (o: KubernetesObject): number => {
  const t = o.metadata?.creationTimestamp as unknown;
  const ms = t instanceof Date ? t.getTime() : typeof t === 'string' ? Date.parse(t) : NaN;
  return Number.isFinite(ms) ? ms : 0;
};
const nsName = (o: KubernetesObject): string => `${o.metadata?.namespace ?? ''}/${o.metadata?.name ?? ''}`;
const oldestFirst = <T extends KubernetesObject>(list: readonly T[]): T[] => [...list].sort((a, b) => createdMs(a) - createdMs(b) || nsName(a).localeCompare(nsName(b)));

/** True when the HTTPRoute attaches to a policy.weft.dev Server (and so is a policy route). */
export function isPolicyRoute(route: KubernetesObject): boolean {
  const refs = (route as { spec?: { parentRefs?: unknown } }).spec?.parentRefs;
  return Array.isArray(refs) && refs.some((r: unknown) => typeof r === 'object' && r !== null && (r as { kind?: unknown }).kind === 'Server' && (r as { group?: unknown }).group === POLICY_API_GROUP);
}

/** Pure: the policy model of a cluster's facts, and what in them was left out (for the log). */
export function policyModelFromKube(f: KubePolicyFacts, meshDefaults: MeshPolicyDefaults): { model: PolicyModel; warnings: string[] } {
  // List items may come without apiVersion/kind (the API server leaves them out of lists): set them.
  const typed = (list: readonly KubernetesObject[], apiVersion: string, kind: string): unknown[] => oldestFirst(list).map((o) => ({ ...o, apiVersion, kind }));
  const policyVersion = `${POLICY_API_GROUP}/${POLICY_API_VERSION}`;
  const { resources, errors } = parsePolicyResources([
    ...typed(f.servers, policyVersion, POLICY_COLLECTIONS.servers),
    ...typed(f.authorizationPolicies, policyVersion, POLICY_COLLECTIONS.authorizationpolicies),
    ...typed(f.meshTLSAuthentications, policyVersion, POLICY_COLLECTIONS.meshtlsauthentications),
    ...typed(f.networkAuthentications, policyVersion, POLICY_COLLECTIONS.networkauthentications),
    ...typed(f.httpRoutes.filter(isPolicyRoute), `${GATEWAY_API_GROUP}/${HTTPROUTE_VERSION}`, 'HTTPRoute'),
  ]);
  const warnings = errors.map((e) => `${e}; this resource is ignored until it is fixed`);
  const namespaces = new Map<string, Record<string, string>>();
  for (const n of f.namespaces) if (n.metadata?.name) namespaces.set(n.metadata.name, { ...(n.metadata.annotations ?? {}) });
  const workloads = new Map<string, WorkloadRecord>();
  for (const p of f.pods) {
    if (p.status?.phase === 'Succeeded' || p.status?.phase === 'Failed') continue;
    // The proxy's own container (inbound 4143, admin 4191 and its probes) is not the app's.
    const app = (cs: readonly V1Container[] | undefined): V1Container[] | undefined => cs?.filter((c) => c.name !== PROXY_CONTAINER);
    const w = workloadFromObject({ ...p, kind: 'Pod', spec: { ...p.spec, containers: app(p.spec?.containers), initContainers: app(p.spec?.initContainers) } });
    if (w) workloads.set(workloadKey(w.namespace, w.name), w);
  }
  return { model: { resources, namespaces, workloads, meshDefaults }, warnings };
}

export interface KubePolicySourceOptions extends InformedModelOptions {
  meshDefaults: MeshPolicyDefaults;
}

type Informers = {
  servers: KubeInformer<KubernetesObject>;
  authorizationPolicies: KubeInformer<KubernetesObject>;
  meshTLSAuthentications: KubeInformer<KubernetesObject>;
  networkAuthentications: KubeInformer<KubernetesObject>;
  httpRoutes: KubeInformer<KubernetesObject>;
  pods: KubeInformer<V1Pod>;
  namespaces: KubeInformer<V1Namespace>;
};

function policyInformers(o: KubePolicySourceOptions): Informers {
  const kit = informerKit(o);
  const policy = (plural: keyof typeof POLICY_COLLECTIONS): KubeInformer<KubernetesObject> => kit.custom(POLICY_API_GROUP, POLICY_API_VERSION, plural);
  return {
    servers: policy('servers'),
    authorizationPolicies: policy('authorizationpolicies'),
    meshTLSAuthentications: policy('meshtlsauthentications'),
    networkAuthentications: policy('networkauthentications'),
    httpRoutes: kit.custom(GATEWAY_API_GROUP, HTTPROUTE_VERSION, 'httproutes'),
    pods: kit.pods(),
    namespaces: kit.namespaces(),
  };
}

const factsOf = (i: Informers): KubePolicyFacts => ({
  servers: i.servers.list(),
  authorizationPolicies: i.authorizationPolicies.list(),
  meshTLSAuthentications: i.meshTLSAuthentications.list(),
  networkAuthentications: i.networkAuthentications.list(),
  httpRoutes: i.httpRoutes.list(),
  pods: i.pods.list(),
  namespaces: i.namespaces.list(),
});

/** Follows the cluster through informers and keeps the policy model of it. */
export class KubePolicySource extends InformedModel<Informers, PolicyModel> implements PolicyModelSource {
  constructor(o: KubePolicySourceOptions) {
    const empty: KubePolicyFacts = { servers: [], authorizationPolicies: [], meshTLSAuthentications: [], networkAuthentications: [], httpRoutes: [], pods: [], namespaces: [] };
    super(policyInformers(o), (i) => policyModelFromKube(factsOf(i), o.meshDefaults), policyModelFromKube(empty, o.meshDefaults).model, o);
  }
}
