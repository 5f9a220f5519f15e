/**
 * network-policy: NetworkPolicies that break the mesh (the proxy's inbound port, the control
 * plane, DNS), app-port rules that meshed traffic bypasses, and meshed namespaces with a strict
 * inbound policy but no NetworkPolicy at all.
 */
import { DEFAULT_INBOUND_POLICIES, LINKERD_CONTROL_PLANE_NAMESPACE } from '../../config/annotations';
import { CONTROL_PLANE_NAMESPACE } from '../../config/names';
import { CONTROL_PLANE_PORTS, PROXY_INBOUND_PORT } from '../../config/ports';
import type { Resource, Rule, RuleHit, RuleInfo, RuleContext, KObject } from '../finding';
import { arr, matchesSelector, obj, podTemplate, str } from '../kube-objects';
import { annotation, injectState, isMeshedValue } from '../mesh-facts';
import type { WorkspaceIndex } from '../workspace-index';
import { appendItem } from '../yaml-edits';

const P = PROXY_INBOUND_PORT;
const CP = CONTROL_PLANE_PORTS;
const DNS_PORT = 53;

const codes: RuleInfo[] = [
  { code: 'WEFT2001', category: 'network-policy', severity: 'error', title: `Ingress does not allow the proxy's inbound port ${P}`, explanation: `The NetworkPolicy selects meshed pods and allows some ingress, but not TCP ${P}. Meshed clients connect to the proxy's inbound port ${P}, so every meshed request to these pods is dropped (connection timeouts). Add an ingress rule allowing TCP ${P}; the proxy still enforces identity-based authorization.` },
  { code: 'WEFT2002', category: 'network-policy', severity: 'error', title: `Egress does not allow port ${P} to meshed peers`, explanation: `The NetworkPolicy restricts egress of meshed pods without allowing TCP ${P}: their proxies connect to other meshed pods on ${P}, so calls to meshed services are dropped. Add ${P} to the egress rules towards meshed peers.` },
  { code: 'WEFT2003', category: 'network-policy', severity: 'error', title: 'Egress blocks the control plane', explanation: `The NetworkPolicy restricts egress of meshed pods without allowing the control plane's identity (${CP.identity}), destination (${CP.destination}) and policy (${CP.policy}) ports. The proxy cannot get its certificate or discover services, so the pods never become ready. Allow egress to those ports in the control plane's namespace.` },
  { code: 'WEFT2004', category: 'network-policy', severity: 'warning', title: 'Egress blocks DNS', explanation: 'The NetworkPolicy restricts egress of meshed pods without allowing DNS (port 53, UDP and TCP). Name resolution by the application and by the proxy fails. Allow egress to port 53 (kube-dns).' },
  { code: 'WEFT2005', category: 'network-policy', severity: 'error', title: "Ingress of the control plane restricted", explanation: `A NetworkPolicy in the control plane's namespace restricts ingress without allowing the webhook (${CP.webhook}), identity (${CP.identity}), destination (${CP.destination}) and policy (${CP.policy}) ports. The API server cannot call the injector and proxies cannot get certificates or routes: new pods fail to start or to become ready. Allow those ports.` },
  { code: 'WEFT2006', category: 'network-policy', severity: 'warning', title: 'App-port rule bypassed by meshed traffic', explanation: `An ingress rule limits which application ports meshed peers may reach, but meshed traffic arrives on the proxy's port ${P}, which this policy allows: the app-port restriction does not apply to meshed clients. Express "who may call which port" with a Server and an AuthorizationPolicy instead.` },
  { code: 'WEFT2007', category: 'network-policy', severity: 'info', title: 'Strict inbound policy without any NetworkPolicy', explanation: 'The namespace is meshed with a non-default inbound policy but has no NetworkPolicy. The mesh policy only covers traffic that reaches a proxy: ports skipped by the proxy and host-network pods are not restricted. Consider a NetworkPolicy as a second layer.' },
];

interface PortRule {
  ports: KObject[];
  peers: KObject[];
}

function rules(spec: KObject, dir: 'ingress' | 'egress'): PortRule[] {
  return arr(spec[dir]).map((r) => ({ ports: arr(obj(r).ports).map(obj), peers: arr(obj(r)[dir === 'ingress' ? 'from' : 'to']).map(obj) }));
}

/** Does a rule allow this port (ignoring which peers)? No ports listed means all ports. */
function ruleAllows(r: PortRule, port: number, protocol = 'TCP'): boolean {
  if (r.ports.length === 0) return true;
  return r.ports.some((p) => {
    if ((str(p.protocol) ?? 'TCP') !== protocol) return false;
    if (p.port === undefined) return true;
    if (typeof p.port !== 'number') return false;
    const end = typeof p.endPort === 'number' ? p.endPort : p.port;
    return port >= p.port && port <= end;
  });
}
const allows = (rs: PortRule[], port: number, protocol = 'TCP'): boolean => rs.some((r) => ruleAllows(r, port, protocol));

function policyTypes(spec: KObject): string[] {
  const t = arr(spec.policyTypes).map((x) => str(x) ?? '');
  if (t.length) return t;
  return spec.egress !== undefined ? ['Ingress', 'Egress'] : ['Ingress'];
}

function nsMeshed(index: WorkspaceIndex, ns: string): boolean {
  return isMeshedValue(annotation(index.namespaceAnnotations(ns), 'inject')?.value);
}

/** Whether the policy selects meshed pods: a selected workload is meshed, or none is known and the namespace is injected. */
function selectsMeshed(res: Resource, index: WorkspaceIndex): boolean {
  const sel = obj(res.obj.spec).podSelector;
  const selected = index.workloads(res.namespace).filter((w) => matchesSelector(podTemplate(w)!.labels, sel));
  if (selected.length === 0) return nsMeshed(index, res.namespace);
  return selected.some((w) => injectState(w, index).meshed);
}

/** Whether a peer list can include meshed pods. */
function peersMeshed(res: Resource, peers: KObject[], index: WorkspaceIndex): boolean {
  if (peers.length === 0) return true;
  return peers.some((peer) => {
    if (peer.ipBlock) return false;
    const namespaces = peer.namespaceSelector === undefined ? [res.namespace] : index.namespaceNames().filter((n) => matchesSelector(index.namespaceLabels(n), peer.namespaceSelector));
    return namespaces.some((ns) => {
      const ws = index.workloads(ns).filter((w) => peer.podSelector === undefined || matchesSelector(podTemplate(w)!.labels, peer.podSelector));
      return ws.length === 0 ? nsMeshed(index, ns) : ws.some((w) => injectState(w, index).meshed);
    });
  });
}

function check(res: Resource, { index }: RuleContext): RuleHit[] {
  const hits: RuleHit[] = [];
  const spec = obj(res.obj.spec);
  const types = policyTypes(spec);
  const ingress = rules(spec, 'ingress');
  const egress = rules(spec, 'egress');
  const anchor = (dir: string) => (spec[dir] !== undefined ? ['spec', dir] : ['spec', 'policyTypes']);
  if (res.namespace === CONTROL_PLANE_NAMESPACE || res.namespace === LINKERD_CONTROL_PLANE_NAMESPACE) {
    if (types.includes('Ingress')) {
      const missing = [CP.webhook, CP.identity, CP.destination, CP.policy].filter((p) => !allows(ingress, p));
      if (missing.length) {
        hits.push({
          code: 'WEFT2005', path: anchor('ingress'),
          message: `This policy restricts ingress in the control plane's namespace without allowing port${missing.length > 1 ? 's' : ''} ${missing.join(', ')}: the API server cannot reach the injector webhook and proxies cannot get certificates or routes, so new pods fail. Allow ${missing.join(', ')}.`,
          fix: { title: `Allow ingress to the control plane's ports`, edits: () => appendItem(res, ['spec', 'ingress'], ['ports:', ...missing.flatMap((p) => [`- protocol: TCP`, `  port: ${p}`])]) },
        });
      }
    }
    return hits;
  }
  if (!selectsMeshed(res, index)) return hits;
  if (types.includes('Ingress') && ingress.length > 0) {
    if (!allows(ingress, P)) {
      hits.push({
        code: 'WEFT2001', path: ['spec', 'ingress'], key: true,
        message: `This policy selects meshed pods and allows ingress only on other ports: meshed clients connect to the proxy's inbound port ${P}, so every meshed request to these pods is dropped. Add an ingress rule allowing TCP ${P} (the proxy still authorizes callers by identity).`,
        fix: { title: `Add an ingress rule allowing TCP ${P}`, edits: () => appendItem(res, ['spec', 'ingress'], ['ports:', '- protocol: TCP', `  port: ${P}`]) },
      });
    } else {
      ingress.forEach((r, i) => {
        const app = r.ports.filter((p) => !ruleAllows({ ports: [p], peers: [] }, P));
        if (app.length === 0 || !peersMeshed(res, r.peers, index)) return;
        const list = app.map((p) => str(p.port) ?? 'all').join(', ');
        hits.push({ code: 'WEFT2006', path: ['spec', 'ingress', i, 'ports'], key: true, message: `This rule limits meshed peers to port${app.length > 1 ? 's' : ''} ${list}, but meshed traffic arrives on the proxy's port ${P}, which this policy allows: the restriction is bypassed for meshed clients. Use a Server and an AuthorizationPolicy to restrict meshed callers.` });
      });
    }
  }
  if (types.includes('Egress')) {
    if (egress.length > 0 && !allows(egress, P)) {
      hits.push({
        code: 'WEFT2002', path: ['spec', 'egress'], key: true,
        message: `This policy restricts egress of meshed pods without allowing TCP ${P}: their proxies reach other meshed pods on ${P}, so calls to meshed services are dropped. Allow egress to TCP ${P}.`,
        fix: { title: `Add an egress rule allowing TCP ${P}`, edits: () => appendItem(res, ['spec', 'egress'], ['ports:', '- protocol: TCP', `  port: ${P}`]) },
      });
    }
    const cpMissing = [CP.identity, CP.destination, CP.policy].filter((p) => !allows(egress, p));
    if (cpMissing.length) {
      hits.push({
        code: 'WEFT2003', path: anchor('egress'), key: true,
        message: `This policy restricts egress of meshed pods without allowing the control plane's port${cpMissing.length > 1 ? 's' : ''} ${cpMissing.join(', ')}: the proxy cannot get its certificate or discover services and the pods never become ready. Allow egress to ${cpMissing.join(', ')} in namespace ${CONTROL_PLANE_NAMESPACE}.`,
        fix: { title: "Allow egress to the control plane", edits: () => appendItem(res, ['spec', 'egress'], ['to:', '- namespaceSelector:', '    matchLabels:', `      kubernetes.io/metadata.name: ${CONTROL_PLANE_NAMESPACE}`, 'ports:', ...cpMissing.flatMap((p) => ['- protocol: TCP', `  port: ${p}`])]) },
      });
    }
    if (!allows(egress, DNS_PORT, 'UDP')) {
      hits.push({
        code: 'WEFT2004', path: anchor('egress'), key: true,
        message: `This policy restricts egress of meshed pods without allowing DNS (port ${DNS_PORT}): name resolution fails for the application and the proxy. Allow egress to UDP and TCP ${DNS_PORT}.`,
        fix: { title: 'Allow egress to DNS', edits: () => appendItem(res, ['spec', 'egress'], ['ports:', '- protocol: UDP', `  port: ${DNS_PORT}`, '- protocol: TCP', `  port: ${DNS_PORT}`]) },
      });
    }
  }
  return hits;
}

function namespaceCheck(res: Resource, { index }: RuleContext): RuleHit[] {
  const ann = obj(obj(res.obj.metadata).annotations);
  const a = annotation(Object.fromEntries(Object.entries(ann).map(([k, v]) => [k, str(v) ?? ''])), 'defaultInboundPolicy');
  if (!a || a.value === DEFAULT_INBOUND_POLICIES[0] || !nsMeshed(index, res.name)) return [];
  if (index.ofKind('NetworkPolicy', res.name).length > 0) return [];
  return [{ code: 'WEFT2007', path: ['metadata', 'annotations', a.key], message: `Namespace ${res.name} is meshed with ${a.key}: ${a.value} but has no NetworkPolicy in the workspace: traffic that never reaches a proxy (skipped ports, host-network pods) is not restricted by the mesh. Consider a NetworkPolicy as a second layer.` }];
}

export const networkPolicyRule: Rule = {
  name: 'network-policy',
  codes,
  check(res, ctx) {
    if (res.kind === 'NetworkPolicy' && res.apiVersion.startsWith('networking.k8s.io/')) return check(res, ctx);
    if (res.kind === 'Namespace') return namespaceCheck(res, ctx);
    return [];
  },
};
