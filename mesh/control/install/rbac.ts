/**
 * Least-privilege RBAC of each control-plane component: exactly what its Kubernetes mode reads or
 * writes, no wildcards, no Secrets (Secrets are mounted as volumes, never read through the API).
 */
import { POLICY_API_GROUP } from '../../config/names';
import type { ControlPlaneComponent } from '../../config/control-plane';

export interface PolicyRule {
  apiGroups: string[];
  resources: string[];
  verbs: string[];
}

const WATCH = ['list', 'watch'];
const EVENTS: PolicyRule = { apiGroups: [''], resources: ['events'], verbs: ['create', 'patch'] };

export const COMPONENT_RULES: Readonly<Record<ControlPlaneComponent, readonly PolicyRule[]>> = {
  // Checks each proxy's projected ServiceAccount token with a TokenReview.
  identity: [{ apiGroups: ['authentication.k8s.io'], resources: ['tokenreviews'], verbs: ['create'] }, EVENTS],
  // Informers over everything an endpoint answer is made of.
  destination: [
    { apiGroups: [''], resources: ['services', 'pods', 'namespaces'], verbs: WATCH },
    { apiGroups: ['discovery.k8s.io'], resources: ['endpointslices'], verbs: WATCH },
    { apiGroups: ['gateway.networking.k8s.io'], resources: ['httproutes'], verbs: WATCH },
  ],
  // The policy resources, the HTTPRoutes that attach to Servers, and the pods and namespaces their
  // selectors and default-policy annotations apply to (mesh/platform/kube-policy-source.ts).
  policy: [
    { apiGroups: [POLICY_API_GROUP], resources: ['servers', 'authorizationpolicies', 'meshtlsauthentications', 'networkauthentications'], verbs: ['get', ...WATCH] },
    { apiGroups: ['gateway.networking.k8s.io'], resources: ['httproutes'], verbs: WATCH },
    { apiGroups: [''], resources: ['pods', 'namespaces'], verbs: WATCH },
  ],
  // Reads the pod's namespace (inject annotation, inherited config) and reports each decision as an Event.
  'proxy-injector': [{ apiGroups: [''], resources: ['namespaces'], verbs: ['get'] }, EVENTS],
  // Finds the meshed pods whose proxies it scrapes.
  'metrics-api': [{ apiGroups: [''], resources: ['pods'], verbs: WATCH }],
};
