/**
 * policy: AuthorizationPolicies that point at nothing, Servers that nobody may call, and kubelet
 * probes denied once routes exist on a port under an `*-authenticated` default policy.
 */
import type { KObject, Resource, Rule, RuleHit, RuleInfo, RuleContext } from '../finding';
import { apiGroup, arr, matchesSelector, obj, podTemplate, str } from '../kube-objects';
import { annotation, injectState } from '../mesh-facts';
import type { WorkspaceIndex } from '../workspace-index';

const codes: RuleInfo[] = [
  { code: 'WEFT5001', category: 'policy', severity: 'warning', title: 'AuthorizationPolicy targets nothing', explanation: 'The AuthorizationPolicy\'s targetRef names a Server, route or namespace that does not exist in the workspace, so it authorizes nothing and the traffic it was meant to allow stays denied. Fix the targetRef.' },
  { code: 'WEFT5002', category: 'policy', severity: 'warning', title: 'Authentication reference matches nothing', explanation: 'A requiredAuthenticationRefs entry names a MeshTLSAuthentication, NetworkAuthentication or ServiceAccount that does not exist in the workspace. A policy whose authentication cannot be satisfied allows no one. Fix the reference or add the resource.' },
  { code: 'WEFT5003', category: 'policy', severity: 'warning', title: 'Server without any authorization', explanation: 'A Server exists but no AuthorizationPolicy (nor ServerAuthorization) applies to it: once a Server selects a port, traffic to it is denied unless authorized, so every request to this port is refused. Add an AuthorizationPolicy targeting the Server.' },
  { code: 'WEFT5004', category: 'policy', severity: 'warning', title: 'Probes denied once routes exist', explanation: 'The pod\'s default inbound policy requires authenticated clients and its probe port is served by a Server that has routes. Once routes exist, the proxy no longer authorizes probes by default, and the kubelet has no mesh identity: the probes fail and the pod never becomes ready (or is restarted). Add a route for the probe paths with an AuthorizationPolicy that allows unauthenticated access (a NetworkAuthentication for the node network).' },
];

const isMeshGroup = (g: string): boolean => g.endsWith('linkerd.io') || g.endsWith('weft.dev');

function serverRouted(server: Resource, index: WorkspaceIndex): Resource[] {
  return [...index.ofKind('HTTPRoute', server.namespace), ...index.ofKind('GRPCRoute', server.namespace)].filter((r) =>
    arr(obj(r.obj.spec).parentRefs).some((p) => str(obj(p).kind) === 'Server' && str(obj(p).name) === server.name));
}

function targets(policy: Resource, kind: string, name: string): boolean {
  const t = obj(obj(policy.obj.spec).targetRef);
  const tk = str(t.kind);
  if (tk === 'Namespace') return true;
  return tk === kind && str(t.name) === name;
}

function authorizationPolicies(res: Resource, index: WorkspaceIndex): Resource[] {
  return index.ofKind('AuthorizationPolicy', res.namespace).filter((p) => isMeshGroup(apiGroup(p.apiVersion)));
}

function policyHits(res: Resource, { index }: RuleContext): RuleHit[] {
  const hits: RuleHit[] = [];
  const spec = obj(res.obj.spec);
  const t = obj(spec.targetRef);
  const kind = str(t.kind);
  const name = str(t.name) ?? '';
  if (kind === 'Namespace') {
    if (name && name !== res.namespace) hits.push({ code: 'WEFT5001', path: ['spec', 'targetRef', 'name'], message: `targetRef Namespace ${name} is not this policy's namespace (${res.namespace}): a policy can only target its own namespace, so it authorizes nothing.` });
  } else if (kind && !index.find(kind, res.namespace, name)) {
    hits.push({ code: 'WEFT5001', path: ['spec', 'targetRef', 'name'], message: `targetRef ${kind} ${res.namespace}/${name} does not exist in the workspace: this policy authorizes nothing and the traffic it should allow stays denied. Fix the targetRef.` });
  }
  arr(spec.requiredAuthenticationRefs).forEach((r, i) => {
    const ref = obj(r);
    const k = str(ref.kind) ?? '';
    const n = str(ref.name) ?? '';
    const ns = str(ref.namespace) ?? res.namespace;
    if (!['MeshTLSAuthentication', 'NetworkAuthentication', 'ServiceAccount'].includes(k)) return;
    if (!index.find(k, ns, n)) hits.push({ code: 'WEFT5002', path: ['spec', 'requiredAuthenticationRefs', i, 'name'], message: `${k} ${ns}/${n} does not exist in the workspace: this policy's authentication can never be satisfied, so it allows no one. Fix the reference or add the ${k}.` });
  });
  return hits;
}

function serverHits(res: Resource, { index }: RuleContext): RuleHit[] {
  const policies = authorizationPolicies(res, index);
  if (policies.some((p) => targets(p, 'Server', res.name))) return [];
  const routes = serverRouted(res, index);
  if (routes.some((r) => policies.some((p) => targets(p, r.kind, r.name)))) return [];
  const legacy = index.ofKind('ServerAuthorization', res.namespace).some((a) => {
    const s = obj(obj(a.obj.spec).server);
    return str(s.name) === res.name || (s.selector !== undefined && matchesSelector(strMapOf(obj(res.obj.metadata).labels), s.selector));
  });
  if (legacy) return [];
  return [{ code: 'WEFT5003', path: ['metadata', 'name'], message: `No AuthorizationPolicy or ServerAuthorization applies to Server ${res.name}: every request to port ${str(obj(res.obj.spec).port) ?? '?'} of the pods it selects is denied. Add an AuthorizationPolicy targeting it.` }];
}

function strMapOf(v: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, x] of Object.entries(obj(v))) { const s = str(x); if (s !== undefined) out[k] = s; }
  return out;
}

const AUTHENTICATED = /-authenticated$|^deny$/;

function probeHits(res: Resource, { index }: RuleContext): RuleHit[] {
  const t = podTemplate(res);
  if (!t) return [];
  const state = injectState(res, index, t);
  if (!state.meshed) return [];
  const policy = annotation(t.annotations, 'defaultInboundPolicy') ?? annotation(index.namespaceAnnotations(res.namespace), 'defaultInboundPolicy');
  if (!policy || !AUTHENTICATED.test(policy.value)) return [];
  const servers = index.ofKind('Server', res.namespace).filter((s) => isMeshGroup(apiGroup(s.apiVersion)) && matchesSelector(t.labels, obj(s.obj.spec).podSelector) && serverRouted(s, index).length > 0);
  if (!servers.length) return [];
  const hits: RuleHit[] = [];
  arr(t.spec.containers).forEach((c, ci) => {
    const cont = obj(c);
    const ports = arr(cont.ports).map(obj);
    for (const probe of ['livenessProbe', 'readinessProbe', 'startupProbe']) {
      const hg: KObject = obj(obj(cont[probe]).httpGet);
      if (hg.port === undefined) continue;
      const num = typeof hg.port === 'number' ? hg.port : (ports.find((p) => p.name === hg.port)?.containerPort as number | undefined);
      const pname = typeof hg.port === 'string' ? hg.port : str(ports.find((p) => p.containerPort === hg.port)?.name);
      const server = servers.find((s) => { const sp = obj(s.obj.spec).port; return sp === num || (pname !== undefined && sp === pname); });
      if (!server) continue;
      hits.push({ code: 'WEFT5004', path: [...t.path, 'spec', 'containers', ci, probe, 'httpGet', 'port'], message: `The ${probe} on port ${str(hg.port)} will be denied: ${policy.key} is ${policy.value} and Server ${server.name} has routes, so the proxy no longer authorizes probes by default and the kubelet has no mesh identity. Add a route for ${str(hg.path) ?? 'the probe path'} with an AuthorizationPolicy allowing unauthenticated access.` });
    }
  });
  return hits;
}

export const policyRule: Rule = {
  name: 'policy',
  codes,
  check(res, ctx) {
    const group = apiGroup(res.apiVersion);
    if (res.kind === 'AuthorizationPolicy' && isMeshGroup(group)) return policyHits(res, ctx);
    if (res.kind === 'Server' && isMeshGroup(group)) return serverHits(res, ctx);
    return probeHits(res, ctx);
  },
};
