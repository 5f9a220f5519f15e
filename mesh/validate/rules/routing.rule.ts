/**
 * routing: HTTPRoutes whose backends or parent Services do not exist, all-zero weights,
 * parent ports that the Service lacks, and malformed retry/timeout annotations.
 */
import { ANNOTATIONS, LINKERD_ANNOTATIONS } from '../../config/annotations';
import type { Resource, Rule, RuleHit, RuleInfo, RuleContext } from '../finding';
import { arr, obj, str, stringMap } from '../kube-objects';

const codes: RuleInfo[] = [
  { code: 'WEFT4001', category: 'routing', severity: 'warning', title: 'backendRef to an unknown Service', explanation: 'An HTTPRoute sends traffic to a Service that is not defined in the workspace (or the connected cluster). Requests routed there fail with 500 until it exists. Fix the name or namespace, or add the Service.' },
  { code: 'WEFT4002', category: 'routing', severity: 'error', title: 'All backend weights are zero', explanation: 'Every backendRef of a rule has weight 0, so no backend can be chosen and every matching request fails with 500. Give at least one backend a positive weight.' },
  { code: 'WEFT4003', category: 'routing', severity: 'error', title: 'parentRef port not on the Service', explanation: 'The HTTPRoute attaches to a Service port that the Service does not expose, so the route never applies and traffic keeps its default routing. Use one of the Service\'s ports.' },
  { code: 'WEFT4004', category: 'routing', severity: 'warning', title: 'parentRef to an unknown Service', explanation: 'The HTTPRoute attaches to a Service that is not defined in the workspace, so it applies to nothing. Fix the name or namespace.' },
  { code: 'WEFT4005', category: 'routing', severity: 'error', title: 'Invalid retry annotation', explanation: 'A retry annotation has a value the proxy cannot read (status codes like 5xx,429 or 500-504; a non-negative integer limit; a duration like 300ms), so the proxy ignores it and no retries happen. Fix the value.' },
  { code: 'WEFT4006', category: 'routing', severity: 'error', title: 'Invalid timeout annotation', explanation: 'A timeout annotation is not a positive duration (e.g. 500ms, 2s, 1m), so the proxy ignores it and requests keep the default (no) timeout. Fix the value.' },
  { code: 'WEFT4007', category: 'routing', severity: 'error', title: 'backendRef port not on the Service', explanation: 'A backendRef names a port the Service does not expose, so the backend is invalid and requests routed to it fail. Use one of the Service\'s ports.' },
];

const DURATION = /^(\d+(\.\d+)?(ns|us|µs|ms|s|m|h))+$/;
const STATUS = /^([1-5]xx|[1-5]\d\d(-[1-5]\d\d)?)$/;

function isServiceRef(ref: Record<string, unknown>): boolean {
  const kind = str(ref.kind) ?? 'Service';
  const group = str(ref.group) ?? '';
  return kind === 'Service' && (group === '' || group === 'core');
}

function servicePorts(svc: Resource): number[] {
  return arr(obj(svc.obj.spec).ports).map((p) => obj(p).port).filter((p): p is number => typeof p === 'number');
}

function annotationHits(res: Resource): RuleHit[] {
  const hits: RuleHit[] = [];
  const ann = stringMap(obj(res.obj.metadata).annotations);
  const path = ['metadata', 'annotations'];
  for (const v of [ANNOTATIONS, LINKERD_ANNOTATIONS]) {
    const codesV = ann[v.retryStatusCodes];
    if (codesV !== undefined) {
      const bad = codesV.split(',').map((s) => s.trim()).filter((s) => !STATUS.test(s));
      if (bad.length || !codesV.trim()) hits.push({ code: 'WEFT4005', path: [...path, v.retryStatusCodes], message: `${v.retryStatusCodes}: "${codesV}" is not a list of status codes (like 5xx,429 or 500-504): the proxy ignores it and retries nothing.` });
    }
    const limit = ann[v.retryLimit];
    if (limit !== undefined && !/^\d+$/.test(limit.trim())) hits.push({ code: 'WEFT4005', path: [...path, v.retryLimit], message: `${v.retryLimit}: "${limit}" is not a non-negative integer: the proxy ignores it.` });
    const rt = ann[v.retryTimeout];
    if (rt !== undefined && (!DURATION.test(rt.trim()) || /^0+(\.0+)?[a-zµ]+$/.test(rt.trim()))) hits.push({ code: 'WEFT4005', path: [...path, v.retryTimeout], message: `${v.retryTimeout}: "${rt}" is not a positive duration (like 300ms or 2s): the proxy ignores it.` });
    for (const k of [v.timeoutRequest, v.timeoutResponse, v.timeoutIdle]) {
      const t = ann[k];
      if (t !== undefined && (!DURATION.test(t.trim()) || /^0+(\.0+)?[a-zµ]+$/.test(t.trim()))) hits.push({ code: 'WEFT4006', path: [...path, k], message: `${k}: "${t}" is not a positive duration (like 500ms, 2s or 1m): the proxy ignores it and no timeout applies.` });
    }
  }
  return hits;
}

function routeHits(res: Resource, { index }: RuleContext): RuleHit[] {
  const hits: RuleHit[] = [];
  const spec = obj(res.obj.spec);
  arr(spec.parentRefs).forEach((p, i) => {
    const ref = obj(p);
    if (!isServiceRef(ref) || (str(ref.kind) === undefined)) return;
    const ns = str(ref.namespace) ?? res.namespace;
    const name = str(ref.name) ?? '';
    const svc = index.find('Service', ns, name);
    if (!svc) {
      hits.push({ code: 'WEFT4004', path: ['spec', 'parentRefs', i, 'name'], message: `parentRef Service ${ns}/${name} is not defined in the workspace: the route applies to nothing. Fix the name or namespace.` });
      return;
    }
    if (typeof ref.port === 'number' && !servicePorts(svc).includes(ref.port)) {
      hits.push({ code: 'WEFT4003', path: ['spec', 'parentRefs', i, 'port'], message: `Service ${name} has no port ${ref.port} (it has ${servicePorts(svc).join(', ') || 'none'}): the route never applies. Use one of the Service's ports.` });
    }
  });
  arr(spec.rules).forEach((r, ri) => {
    const refs = arr(obj(r).backendRefs).map(obj);
    if (refs.length > 0 && refs.every((b) => b.weight === 0)) {
      hits.push({ code: 'WEFT4002', path: ['spec', 'rules', ri, 'backendRefs'], key: true, message: 'Every backendRef of this rule has weight 0: no backend can be chosen and every matching request fails with 500. Give at least one backend a positive weight.' });
    }
    refs.forEach((b, bi) => {
      if (!isServiceRef(b)) return;
      const ns = str(b.namespace) ?? res.namespace;
      const name = str(b.name) ?? '';
      const svc = index.find('Service', ns, name);
      if (!svc) {
        hits.push({ code: 'WEFT4001', path: ['spec', 'rules', ri, 'backendRefs', bi, 'name'], message: `backendRef Service ${ns}/${name} is not defined in the workspace: requests routed to it fail with 500. Fix the name or namespace, or add the Service.` });
      } else if (typeof b.port === 'number' && !servicePorts(svc).includes(b.port)) {
        hits.push({ code: 'WEFT4007', path: ['spec', 'rules', ri, 'backendRefs', bi, 'port'], message: `Service ${name} has no port ${b.port} (it has ${servicePorts(svc).join(', ') || 'none'}): this backend is invalid and requests routed to it fail.` });
      }
    });
  });
  return hits;
}

export const routingRule: Rule = {
  name: 'routing',
  codes,
  check(res, ctx) {
    const hits = res.kind === 'Service' || res.kind === 'HTTPRoute' || res.kind === 'GRPCRoute' ? annotationHits(res) : [];
    if (res.kind === 'HTTPRoute' || res.kind === 'GRPCRoute') hits.push(...routeHits(res, ctx));
    return hits;
  },
};
