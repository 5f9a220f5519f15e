/**
 * opaque-ports: server-speaks-first ports that the proxy would try to detect (and stall on),
 * Service/pod annotations that disagree, annotations that drop defaults, skipped-and-opaque ports,
 * names that match nothing, and malformed lists.
 */
import { DEFAULT_OPAQUE_PORTS } from '../../config/names';
import { PROXY_DEFAULTS } from '../../config/proxy-defaults';
import type { Resource, Rule, RuleHit, RuleInfo, RuleContext, YamlPath } from '../finding';
import { arr, containerPorts, matchesMapSelector, obj, parsePortList, podTemplate, portListHas, str, stringMap, type ContainerPort, type PodTemplate, type PortList } from '../kube-objects';
import { annotation, effectiveOpaque, injectState, isMeshedValue, isOpaque, serverSpeaksFirst, vocabularyOf, type EffectivePorts } from '../mesh-facts';
import { quote, setEntry } from '../yaml-edits';

const detectS = PROXY_DEFAULTS.detectTimeoutMs / 1000;

const codes: RuleInfo[] = [
  { code: 'WEFT1001', category: 'opaque-ports', severity: 'warning', title: 'Server-speaks-first port not opaque', explanation: `A meshed workload exposes a port whose protocol has the server speak first (MySQL, PostgreSQL, Redis, SMTP, NATS, Memcached, Galera…), and the port is not in the opaque-ports list. The proxy waits for the client's first bytes to detect the protocol; the client waits for the server's greeting, so every connection stalls for the detection timeout (${detectS} s) and is then handled as plain TCP, or fails. Add the port to the opaque-ports annotation of the pod template.` },
  { code: 'WEFT1002', category: 'opaque-ports', severity: 'warning', title: 'Service port of a server-speaks-first protocol not opaque', explanation: `A Service in front of meshed pods exposes a server-speaks-first port that is not opaque for the Service. Meshed clients' proxies then try to detect the protocol on connections to it and stall for ${detectS} s. Add the port to the Service's opaque-ports annotation.` },
  { code: 'WEFT1003', category: 'opaque-ports', severity: 'warning', title: 'Pod port opaque but Service port not', explanation: 'The pods marked a port opaque, but the Service that selects them does not mark the matching Service port opaque. Clients resolve the Service, so their proxies still run protocol detection on it and stall. Add the Service port to the Service\'s opaque-ports annotation.' },
  { code: 'WEFT1004', category: 'opaque-ports', severity: 'warning', title: 'Service port opaque but pod port not', explanation: 'The Service marks a port opaque, but the pods it selects do not mark the target port opaque. The inbound proxy of each pod then runs protocol detection on those connections (and stalls for server-speaks-first protocols). Add the target port to the pod template\'s opaque-ports annotation.' },
  { code: 'WEFT1005', category: 'opaque-ports', severity: 'warning', title: 'Opaque-ports annotation drops a default port', explanation: `An opaque-ports annotation replaces the default list (${DEFAULT_OPAQUE_PORTS.join(', ')}) instead of adding to it. This resource uses a port of the default list that the annotation leaves out, so that port is no longer opaque and server-speaks-first connections on it stall. Add the port to the annotation.` },
  { code: 'WEFT1006', category: 'opaque-ports', severity: 'warning', title: 'Port both skipped and opaque', explanation: 'A port is listed in skip-inbound-ports (the proxy never sees it) and in opaque-ports. The skip wins: the traffic is neither encrypted nor authorized by the mesh, and the opaque marking is dead. Remove the port from one of the two lists.' },
  { code: 'WEFT1007', category: 'opaque-ports', severity: 'warning', title: 'Port name matches nothing', explanation: 'A port list annotation names a port that no container (or Service port) of this resource declares, so the entry has no effect. Fix the name or use the port number.' },
  { code: 'WEFT1008', category: 'opaque-ports', severity: 'error', title: 'Malformed port list', explanation: 'A port list annotation has an entry that is neither a port number (1–65535), a range (4000-4100) nor a port name. The injector rejects the annotation and the pod is not created (or runs with the defaults). Fix the entry.' },
];

function listIssues(list: PortList, names: Set<string>, path: YamlPath, key: string): RuleHit[] {
  const hits: RuleHit[] = [];
  if (list.invalid.length) hits.push({ code: 'WEFT1008', path: [...path, key], message: `${key} has malformed entries (${list.invalid.join(', ')}): use port numbers 1–65535, ranges like 4000-4100, or port names. The injector rejects the annotation.` });
  const unknown = list.names.filter((n) => !names.has(n));
  if (unknown.length) hits.push({ code: 'WEFT1007', path: [...path, key], message: `${key} names port${unknown.length > 1 ? 's' : ''} ${unknown.join(', ')} that match no declared port of this resource, so ${unknown.length > 1 ? 'they have' : 'it has'} no effect: fix the name or use the number.` });
  return hits;
}

function addPortsFix(res: Resource, annPath: YamlPath, eff: EffectivePorts, key: string, ports: number[]): RuleHit['fix'] {
  const raw = eff.source === 'resource' ? eff.list.raw : eff.source === 'namespace' ? eff.list.raw : DEFAULT_OPAQUE_PORTS.join(',');
  const existing = raw.split(',').map((s) => s.trim()).filter(Boolean);
  const value = [...existing, ...ports.map(String).filter((p) => !existing.includes(p))].join(',');
  return { title: `Mark port${ports.length > 1 ? 's' : ''} ${ports.join(', ')} opaque (${key})`, edits: () => setEntry(res, annPath, eff.key ?? key, quote(value)) };
}

function workload(res: Resource, t: PodTemplate, ctx: RuleContext): RuleHit[] {
  const hits: RuleHit[] = [];
  const { index } = ctx;
  const annPath = [...t.path, 'metadata', 'annotations'];
  const ports = containerPorts(t).filter((p) => p.protocol === 'TCP');
  const names = new Set(ports.map((p) => p.name).filter((n): n is string => !!n));
  const eff = effectiveOpaque(t.annotations, res.namespace, index);
  const skipA = annotation(t.annotations, 'skipInboundPorts');
  const skip = skipA ? parsePortList(skipA.value) : undefined;
  if (eff.source === 'resource') hits.push(...listIssues(eff.list, names, annPath, eff.key!));
  if (skip && skipA) hits.push(...listIssues(skip, names, annPath, skipA.key));
  if (eff.source === 'resource' && skip) {
    const both = new Set<number>();
    for (const p of eff.list.ports) if (portListHas(skip, p)) both.add(p);
    for (const p of ports) if (isOpaque(eff, p.port, p.name) && portListHas(skip, p.port, p.name)) both.add(p.port);
    if (both.size) hits.push({ code: 'WEFT1006', path: [...annPath, eff.key!], message: `Port${both.size > 1 ? 's' : ''} ${[...both].join(', ')} ${both.size > 1 ? 'are' : 'is'} both skipped (${skipA!.key}) and opaque: the skip wins, so the traffic bypasses the proxy (no mTLS, no policy) and the opaque marking has no effect. Remove ${both.size > 1 ? 'them' : 'it'} from one list.` });
  }
  const state = injectState(res, index, t);
  if (!state.meshed) return hits;
  const key = state.vocabulary.opaquePorts;
  const notSkipped = (p: ContainerPort): boolean => !(skip && portListHas(skip, p.port, p.name));
  const pending: { code: string; port: ContainerPort; message: string }[] = [];
  for (const p of ports) {
    if (isOpaque(eff, p.port, p.name) || !notSkipped(p)) continue;
    const proto = serverSpeaksFirst(p.port, p.name);
    if (DEFAULT_OPAQUE_PORTS.includes(p.port) && eff.source !== 'default') {
      pending.push({ code: 'WEFT1005', port: p, message: `Port ${p.port}${proto ? ` (${proto})` : ''} is in the default opaque list, but ${eff.key} replaces that list and leaves it out, so the proxy runs protocol detection on it and server-speaks-first connections stall for ${detectS} s. Add ${p.port} to ${eff.key}.` });
    } else if (proto) {
      pending.push({ code: 'WEFT1001', port: p, message: `Port ${p.port}${p.name ? ` (${p.name})` : ''} speaks ${proto}, a server-speaks-first protocol, but is not opaque: the proxy waits for the client's first bytes, the client waits for the server's greeting, and each connection stalls ${detectS} s. Add ${p.port} to ${key} on the pod template.` });
    }
  }
  // The reverse of WEFT1003: Services that mark a port opaque whose target port the pods do not.
  for (const svc of index.ofKind('Service', res.namespace)) {
    const spec = obj(svc.obj.spec);
    if (!matchesMapSelector(t.labels, spec.selector)) continue;
    const svcAnn = stringMap(obj(svc.obj.metadata).annotations);
    const sEff = effectiveOpaque(svcAnn, svc.namespace, index);
    if (sEff.source !== 'resource') continue;
    for (const sp of arr(spec.ports).map(obj)) {
      const port = typeof sp.port === 'number' ? sp.port : undefined;
      if (port === undefined || !isOpaque(sEff, port, str(sp.name))) continue;
      const target = sp.targetPort ?? port;
      const cp = ports.find((p) => (typeof target === 'number' ? p.port === target : p.name === target));
      if (!cp || isOpaque(eff, cp.port, cp.name) || !notSkipped(cp) || pending.some((x) => x.port === cp)) continue;
      pending.push({ code: 'WEFT1004', port: cp, message: `Service ${svc.name} marks port ${port} opaque, but its target port ${cp.port} is not opaque on these pods: their inbound proxies run protocol detection on it. Add ${cp.port} to ${key} on the pod template.` });
    }
  }
  if (pending.length) {
    const fix = addPortsFix(res, annPath, eff, key, [...new Set(pending.map((x) => x.port.port))]);
    for (const x of pending) hits.push({ code: x.code, path: [...x.port.path, 'containerPort'], message: x.message, fix });
  }
  return hits;
}

function service(res: Resource, ctx: RuleContext): RuleHit[] {
  const { index } = ctx;
  const hits: RuleHit[] = [];
  const spec = obj(res.obj.spec);
  const ann = stringMap(obj(res.obj.metadata).annotations);
  const annPath = ['metadata', 'annotations'];
  const eff = effectiveOpaque(ann, res.namespace, index);
  const sports = arr(spec.ports).map(obj);
  const names = new Set(sports.map((p) => str(p.name)).filter((n): n is string => !!n));
  if (eff.source === 'resource') hits.push(...listIssues(eff.list, names, annPath, eff.key!));
  const selected = index.workloads(res.namespace).map((w) => ({ w, t: podTemplate(w)! })).filter(({ t }) => matchesMapSelector(t.labels, spec.selector));
  const meshed = selected.filter(({ w, t }) => injectState(w, index, t).meshed);
  const nsInjected = isMeshedValue(annotation(index.namespaceAnnotations(res.namespace), 'inject')?.value);
  if (meshed.length === 0 && !(selected.length === 0 && nsInjected)) return hits;
  const key = vocabularyOf(ann, index.namespaceAnnotations(res.namespace), ...meshed.map(({ t }) => t.annotations)).opaquePorts;
  const pending: { code: string; port: number; i: number; message: string }[] = [];
  sports.forEach((sp, i) => {
    const port = typeof sp.port === 'number' ? sp.port : undefined;
    if (port === undefined || (str(sp.protocol) ?? 'TCP') !== 'TCP' || isOpaque(eff, port, str(sp.name))) return;
    const target = sp.targetPort ?? port;
    for (const { w, t } of meshed) {
      const cp = containerPorts(t).find((p) => (typeof target === 'number' ? p.port === target : p.name === target));
      const podEff = effectiveOpaque(t.annotations, w.namespace, index);
      if (cp && podEff.source === 'resource' && isOpaque(podEff, cp.port, cp.name)) {
        pending.push({ code: 'WEFT1003', port, i, message: `${w.kind} ${w.name} marks port ${cp.port} opaque, but this Service's port ${port} (targeting it) is not opaque: clients' proxies resolve the Service and still run protocol detection. Add ${port} to ${key} on the Service.` });
        return;
      }
    }
    const proto = serverSpeaksFirst(port, str(sp.name)) ?? (typeof target === 'number' ? serverSpeaksFirst(target) : serverSpeaksFirst(undefined, target as string));
    if (!proto) return;
    if (DEFAULT_OPAQUE_PORTS.includes(port) && eff.source !== 'default') {
      pending.push({ code: 'WEFT1005', port, i, message: `Port ${port} (${proto}) is in the default opaque list, but ${eff.key} replaces that list and leaves it out: clients' proxies run protocol detection on it and stall ${detectS} s. Add ${port} to ${eff.key}.` });
    } else {
      pending.push({ code: 'WEFT1002', port, i, message: `Service port ${port}${str(sp.name) ? ` (${str(sp.name)})` : ''} speaks ${proto}, a server-speaks-first protocol, but is not opaque for the Service: meshed clients stall ${detectS} s on every connection. Add ${port} to ${key} on the Service.` });
    }
  });
  if (pending.length) {
    const fix = addPortsFix(res, annPath, eff, key, [...new Set(pending.map((x) => x.port))]);
    for (const x of pending) hits.push({ code: x.code, path: ['spec', 'ports', x.i, 'port'], message: x.message, fix });
  }
  return hits;
}

export const opaquePortsRule: Rule = {
  name: 'opaque-ports',
  codes,
  check(res, ctx) {
    if (res.kind === 'Service') return service(res, ctx);
    const t = podTemplate(res);
    return t ? workload(res, t, ctx) : [];
  },
};
