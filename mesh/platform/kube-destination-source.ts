/**
 * The destination service's Kubernetes source: Services, EndpointSlices, Pods, Namespaces and
 * HTTPRoutes (gateway.networking.k8s.io/v1) → the destination model (destination-model.ts).
 *
 * `meshModelFromKube(facts)` is the pure mapping (tested alone); `KubeDestinationSource` is the thin
 * shell: five KubeInformers, a rebuild of the model coalesced over a burst of events, `synced`.
 *
 * What a Service port becomes (Linkerd's destination is the reference):
 * - authorities `name.ns.svc.<cluster-domain>:port`, `name.ns.svc:port`, `name.ns:port`, and
 *   `clusterIP:port` for each ClusterIP (none for headless Services); TCP ports only.
 * - endpoints: the ready endpoints of the Service's EndpointSlices (label
 *   `kubernetes.io/service-name`) whose port has the Service port's name, first address each,
 *   duplicates dropped, sorted. A pod with the `weft-proxy` container (a native sidecar or not) is
 *   meshed: the endpoint is its proxy's inbound (`podIP:<weft-proxy containerPort>`, 4143 by
 *   default) with `targetPort` the app port and the identity of its ServiceAccount; any other
 *   endpoint is the app itself (`podIP:port`), without identity.
 * - opaque ports: `config.weft.dev/opaque-ports` (or Linkerd's key) on the Service, else on its
 *   namespace, else the defaults; for an endpoint the same on its pod, else its namespace. Port
 *   names are resolved (Service port names for a Service, container port names for a pod).
 *   `appProtocol` of the Service port gives the h2/opaque hint.
 * - retries and timeouts: the Service's `retry.weft.dev/*` / `timeout.weft.dev/*` annotations
 *   (Linkerd's too), overridden by the same annotations on its HTTPRoute, and the HTTPRoute rule's
 *   `timeouts`.
 * - split: an HTTPRoute in the Service's namespace whose parentRef is that Service (kind Service,
 *   group "" or "core"; a parentRef port, when given, must match): its first rule that matches every
 *   request (no matches, or only `PathPrefix /`) gives the weighted backendRefs (weight default 1).
 *   When several routes claim a port, the oldest wins (then namespace/name), as in Gateway API.
 */
import { DiscoveryV1Api, type KubernetesObject, type V1EndpointSlice, type V1Namespace, type V1Pod, type V1Service } from '@kubernetes/client-node';
import { ANNOTATIONS, LINKERD_ANNOTATIONS } from '../config/annotations';
import { identityName } from '../config/identity';
import { DEFAULT_TRUST_DOMAIN, PROXY_CONTAINER } from '../config/names';
import { PROXY_INBOUND_PORT } from '../config/ports';
import { parseOpaquePorts, type MeshModel, type ModelEndpoint, type ModelRoute, type ModelService } from '../control/destination/destination-model';
import type { ModelSource } from '../control/destination/model-source';
import { formatAddr } from '../proxy/discovery/discovery';
import { InformedModel, informerKit, type InformedModelOptions } from './informed-model';
import { KubeInformer } from './kube-informer';

/** The slice label naming its Service. */
export const SERVICE_NAME_LABEL = 'kubernetes.io/service-name';
export const DEFAULT_CLUSTER_DOMAIN = 'cluster.local';
export const GATEWAY_API_GROUP = 'gateway.networking.k8s.io';

/** The parts of a gateway.networking.k8s.io/v1 HTTPRoute the destination model uses. */
export interface HttpRoute extends KubernetesObject {
  spec?: {
    parentRefs?: { group?: string; kind?: string; name: string; namespace?: string; port?: number }[];
    rules?: {
      matches?: { path?: { type?: string; value?: string }; headers?: unknown[]; queryParams?: unknown[]; method?: string }[];
      backendRefs?: { group?: string; kind?: string; name: string; namespace?: string; port?: number; weight?: number }[];
      timeouts?: { request?: string; backendRequest?: string };
    }[];
  };
}

export interface KubeFacts {
  services: readonly V1Service[];
  endpointSlices: readonly V1EndpointSlice[];
  pods: readonly V1Pod[];
  namespaces: readonly V1Namespace[];
  httpRoutes: readonly HttpRoute[];
}

export interface KubeModelOptions {
  /** DNS suffix of Service names (default cluster.local). */
  clusterDomain?: string;
  /** Trust domain of endpoint identities (default cluster.local). */
  trustDomain?: string;
}

const key = (ns: string | undefined, name: string | undefined): string => `${ns ?? ''}/${name ?? ''}`;

/** True when the pod runs Weft's proxy (as a container or a native sidecar). */
export function isMeshed(pod: V1Pod): boolean {
  return [...(pod.spec?.containers ?? []), ...(pod.spec?.initContainers ?? [])].some((c) => c.name === PROXY_CONTAINER);
}

/** The port the pod's proxy accepts peers on: its `weft-proxy` container port, else 4143. */
export function proxyInboundPort(pod: V1Pod): number {
  const c = [...(pod.spec?.initContainers ?? []), ...(pod.spec?.containers ?? [])].find((x) => x.name === PROXY_CONTAINER);
  const p = c?.ports?.find((x) => x.name === PROXY_CONTAINER) ?? c?.ports?.[0];
  return p?.containerPort ?? PROXY_INBOUND_PORT;
}

function opaqueAnnotation(a: Record<string, string> | undefined): string | undefined {
  return a?.[ANNOTATIONS.opaquePorts] ?? a?.[LINKERD_ANNOTATIONS.opaquePorts];
}

/** An opaque-ports value with port names resolved by `named`; undefined (with a warning) when malformed. */
export function resolveOpaquePorts(value: string, named: (name: string) => number | undefined, warn: (m: string) => void, where: string): number[] | undefined {
  const parts = value.split(',').map((s) => s.trim()).filter((s) => s !== '');
  const numeric: string[] = [];
  for (const p of parts) {
    if (/^[\d-]+$/.test(p)) numeric.push(p);
    else {
      const n = named(p);
      if (n === undefined) warn(`${where}: opaque port "${p}" names no port; ignored`);
      else numeric.push(String(n));
    }
  }
  const out = parseOpaquePorts(numeric.join(','));
  if (!out) warn(`${where}: opaque-ports "${value}" is malformed (want "3306,8000-8002" or port names); using the defaults`);
  return out;
}

/** `dst_*` labels of a pod endpoint: pod, serviceaccount, and its owning workload by kind. */
function podLabels(pod: V1Pod): Record<string, string> {
  const labels: Record<string, string> = { pod: pod.metadata?.name ?? '', serviceaccount: pod.spec?.serviceAccountName ?? 'default' };
  const owner = pod.metadata?.ownerReferences?.find((o) => o.controller) ?? pod.metadata?.ownerReferences?.[0];
  if (owner) {
    const hash = pod.metadata?.labels?.['pod-template-hash'];
    if (owner.kind === 'ReplicaSet' && hash && owner.name.endsWith(`-${hash}`)) {
      labels['deployment'] = owner.name.slice(0, -hash.length - 1);
      labels['replicaset'] = owner.name;
    } else labels[owner.kind.toLowerCase()] = owner.name;
  }
  return labels;
}

function isCatchAll(rule: NonNullable<NonNullable<HttpRoute['spec']>['rules']>[number]): boolean {
  const m = rule.matches ?? [];
  if (m.length === 0) return true;
  return m.some((x) => !x.headers?.length && !x.queryParams?.length && !x.method && (!x.path || ((x.path.type ?? 'PathPrefix') === 'PathPrefix' && (x.path.value ?? '/') === '/')));
}

const createdMs = (o: KubernetesObject): number => {
  const t = o.metadata?.creationTimestamp as unknown;
  const ms = t instanceof Date ? t.getTime() : typeof t === 'string' ? Date.parse(t) : NaN;
  return Number.isFinite(ms) ? ms : 0;
};

/** Pure: the mesh model of a cluster's facts, and what in them was ignored (for the log). */
export function meshModelFromKube(f: KubeFacts, o: KubeModelOptions = {}): { model: MeshModel; warnings: string[] } {
  const clusterDomain = o.clusterDomain ?? DEFAULT_CLUSTER_DOMAIN;
  const trustDomain = o.trustDomain ?? DEFAULT_TRUST_DOMAIN;
  const warnings: string[] = [];
  const warn = (m: string): void => void warnings.push(m);
  const pods = new Map<string, V1Pod>();
  for (const p of f.pods) pods.set(key(p.metadata?.namespace, p.metadata?.name), p);
  const nsAnnotations = new Map<string, Record<string, string>>();
  for (const n of f.namespaces) nsAnnotations.set(n.metadata?.name ?? '', n.metadata?.annotations ?? {});
  const slicesBySvc = new Map<string, V1EndpointSlice[]>();
  for (const s of f.endpointSlices) {
    const svc = s.metadata?.labels?.[SERVICE_NAME_LABEL];
    if (!svc) continue;
    const k = key(s.metadata?.namespace, svc);
    slicesBySvc.set(k, [...(slicesBySvc.get(k) ?? []), s]);
  }
  const routes = [...f.httpRoutes].sort((a, b) => createdMs(a) - createdMs(b) || key(a.metadata?.namespace, a.metadata?.name).localeCompare(key(b.metadata?.namespace, b.metadata?.name)));

  // Per pod: its opaque ports (pod annotation, else namespace annotation), parsed once.
  const podOpaque = new Map<V1Pod, number[] | undefined>();
  const opaqueOf = (pod: V1Pod): number[] | undefined => {
    if (podOpaque.has(pod)) return podOpaque.get(pod);
    const ns = pod.metadata?.namespace ?? '';
    const v = opaqueAnnotation(pod.metadata?.annotations) ?? opaqueAnnotation(nsAnnotations.get(ns));
    const ports = new Map<string, number>();
    for (const c of pod.spec?.containers ?? []) for (const p of c.ports ?? []) if (p.name) ports.set(p.name, p.containerPort);
    const r = v === undefined ? undefined : resolveOpaquePorts(v, (n) => ports.get(n), warn, `pod ${key(ns, pod.metadata?.name)}`);
    podOpaque.set(pod, r);
    return r;
  };

  const services: ModelService[] = [];
  for (const svc of f.services) {
    const name = svc.metadata?.name;
    const ns = svc.metadata?.namespace;
    if (!name || !ns || svc.spec?.type === 'ExternalName') continue;
    const annotations = svc.metadata?.annotations ?? {};
    const svcOpaqueText = opaqueAnnotation(annotations) ?? opaqueAnnotation(nsAnnotations.get(ns));
    const portNames = new Map<string, number>();
    for (const sp of svc.spec?.ports ?? []) if (sp.name) portNames.set(sp.name, sp.port);
    const svcOpaque = svcOpaqueText === undefined ? undefined : resolveOpaquePorts(svcOpaqueText, (n) => portNames.get(n), warn, `service ${ns}/${name}`);
    const ips = (svc.spec?.clusterIPs ?? (svc.spec?.clusterIP ? [svc.spec.clusterIP] : [])).filter((ip) => ip && ip !== 'None');
    for (const sp of svc.spec?.ports ?? []) {
      if (sp.protocol && sp.protocol !== 'TCP') continue;
      const endpoints = new Map<string, ModelEndpoint>();
      for (const slice of slicesBySvc.get(key(ns, name)) ?? []) {
        if (slice.addressType === 'FQDN') continue;
        const port = slice.ports?.find((p) => (p.name ?? '') === (sp.name ?? ''));
        if (!port?.port) continue;
        for (const ep of slice.endpoints ?? []) {
          if (ep.conditions?.ready === false) continue;
          const ip = ep.addresses?.[0];
          if (!ip) continue;
          const pod = ep.targetRef?.kind === 'Pod' ? pods.get(key(ep.targetRef.namespace ?? ns, ep.targetRef.name)) : undefined;
          const meshed = pod !== undefined && isMeshed(pod);
          const me: ModelEndpoint = {
            addr: { host: ip, port: meshed ? proxyInboundPort(pod) : port.port },
            targetPort: port.port,
            labels: pod ? podLabels(pod) : {},
          };
          if (meshed) me.identity = identityName({ serviceAccount: pod.spec?.serviceAccountName ?? 'default', namespace: pod.metadata?.namespace ?? ns, trustDomain });
          const opaque = pod ? opaqueOf(pod) : undefined;
          if (opaque) me.opaquePorts = opaque;
          if (ep.zone) me.labels['zone'] = ep.zone;
          const k = `${formatAddr(me.addr)}/${port.port}`;
          if (!endpoints.has(k)) endpoints.set(k, me);
        }
      }
      const base: Omit<ModelService, 'authority'> = {
        name,
        namespace: ns,
        endpoints: [...endpoints.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, e]) => e),
        annotations: { ...annotations },
      };
      if (svcOpaque) base.opaquePorts = svcOpaque;
      if (sp.appProtocol) base.appProtocol = sp.appProtocol;
      const route = routes.find((r) => r.metadata?.namespace === ns && (r.spec?.parentRefs ?? []).some((p) => p.kind === 'Service' && ['', 'core'].includes(p.group ?? '') && p.name === name && (p.namespace ?? ns) === ns && (p.port === undefined || p.port === sp.port)));
      if (route) {
        const rule = route.spec?.rules?.find(isCatchAll);
        if (!rule) warn(`httproute ${key(ns, route.metadata?.name)}: no rule matches every request; Weft splits only on a catch-all rule (no matches or PathPrefix /)`);
        else {
          const mr: ModelRoute = {
            backends: (rule.backendRefs ?? [])
              .filter((b) => (b.kind ?? 'Service') === 'Service' && ['', 'core'].includes(b.group ?? ''))
              .map((b) => ({ authority: `${b.name}.${b.namespace ?? ns}.svc.${clusterDomain}:${b.port ?? sp.port}`, weight: b.weight ?? 1 })),
          };
          if (rule.timeouts) mr.timeouts = { ...rule.timeouts };
          base.route = mr;
          const merged = { ...annotations };
          for (const [k, v] of Object.entries(route.metadata?.annotations ?? {})) if (/^(retry|timeout)\.(weft\.dev|linkerd\.io)\//.test(k)) merged[k] = v;
          base.annotations = merged;
        }
      }
      const hosts = [`${name}.${ns}.svc.${clusterDomain}`, `${name}.${ns}.svc`, `${name}.${ns}`, ...ips];
      for (const host of hosts) services.push({ ...base, authority: formatAddr({ host, port: sp.port }) });
    }
  }
  return { model: { services }, warnings };
}

export interface KubeDestinationSourceOptions extends KubeModelOptions, InformedModelOptions {}

type DestinationInformers = {
  services: KubeInformer<V1Service>;
  endpointSlices: KubeInformer<V1EndpointSlice>;
  pods: KubeInformer<V1Pod>;
  namespaces: KubeInformer<V1Namespace>;
  httpRoutes: KubeInformer<HttpRoute>;
};

function destinationInformers(o: KubeDestinationSourceOptions): DestinationInformers {
  const kit = informerKit(o);
  const discovery = o.kubeConfig.makeApiClient(DiscoveryV1Api);
  return {
    services: new KubeInformer<V1Service>({ ...kit.common, name: 'services', path: '/api/v1/services', list: () => kit.core.listServiceForAllNamespaces() }),
    endpointSlices: new KubeInformer<V1EndpointSlice>({ ...kit.common, name: 'endpointslices', path: '/apis/discovery.k8s.io/v1/endpointslices', list: () => discovery.listEndpointSliceForAllNamespaces() }),
    pods: kit.pods(),
    namespaces: kit.namespaces(),
    httpRoutes: kit.custom<HttpRoute>(GATEWAY_API_GROUP, 'v1', 'httproutes'),
  };
}

/** Follows the cluster through informers and keeps the destination model of it. */
export class KubeDestinationSource extends InformedModel<DestinationInformers, MeshModel> implements ModelSource {
  constructor(o: KubeDestinationSourceOptions) {
    super(
      destinationInformers(o),
      (i) => meshModelFromKube({ services: i.services.list(), endpointSlices: i.endpointSlices.list(), pods: i.pods.list(), namespaces: i.namespaces.list(), httpRoutes: i.httpRoutes.list() }, o),
      { services: [] },
      o,
    );
  }
}
