/**
 * The injector's pure core: from a pod (or a workload's pod template), its namespace and the mesh's
 * settings, the RFC 6902 patch that meshes it and the events to report. No I/O: the admission
 * webhook and `weft inject --manual` are thin shells around `inject`.
 *
 * What the patch adds (Linkerd's shape, with a native sidecar):
 *   initContainers[0] weft-init  — applies the redirect rules (NET_ADMIN, NET_RAW, root, run once)
 *   initContainers[1] weft-proxy — restartPolicy: Always (a native sidecar: started before the
 *                                   app's own init containers, ready before the app starts,
 *                                   stopped after it), UID 2102, read-only, no capabilities
 *   volumes: an in-memory emptyDir for the key, the projected ServiceAccount token, xtables lock,
 *            and the trust anchors (a downward-API file of the pod's own annotation)
 *   annotations: the namespace's config.weft.dev/* ones, default opaque ports, the proxy version,
 *                the trust anchors (meshConfig.trustAnchorsPem, from the control plane's ConfigMap)
 *   env: the proxy talks to the installed control plane (identity, destination, policy services)
 */
import { ANNOTATIONS, CONFIG_ANNOTATION_PREFIX, DEFAULT_INBOUND_POLICIES } from '../../config/annotations';
import { controlPlaneAddress, TRUST_ANCHORS_ANNOTATION, TRUST_ANCHORS_DIR, TRUST_ANCHORS_FILE, TRUST_ANCHORS_VOLUME } from '../../config/control-plane';
import { IDENTITY_TOKEN_AUDIENCE, IDENTITY_TOKEN_EXPIRATION_SECONDS, identityName } from '../../config/identity';
import {
  DEFAULT_OPAQUE_PORTS,
  INIT_CONTAINER,
  INJECTED_VOLUMES,
  PROXY_CONTAINER,
  PROXY_IDENTITY_DIR,
  PROXY_TOKEN_DIR,
  PROXY_TOKEN_FILE,
} from '../../config/names';
import { PROXY_ADMIN_PORT, PROXY_INBOUND_PORT, PROXY_OUTBOUND_PORT, PROXY_UID } from '../../config/ports';
import { PROXY_RUNTIME_ENV } from '../../config/proxy-runtime';
import { parsePortRanges, redirectArgs, type PortRange } from '../../proxy/redirect-rules';
import { pointer, type JsonPatchOp } from './json-patch';
import type { Container, EnvVar, NamespaceLike, PodLike, Volume } from './kube-types';
import { resolveMeshConfig, type MeshConfig, type ProxyLogLevel, type ResolvedMeshConfig } from './mesh-config';
import { namespaceName, shouldInject } from './should-inject';

export interface InjectOptions {
  /** Where the pod sits in the patched document: '' for a Pod, '/spec/template' for a Deployment or Job. */
  basePath?: string;
}

export interface InjectResult {
  patch: JsonPatchOp[];
  /** Human sentences for Kubernetes Events: why it was skipped, or what was done and any warning. */
  events: string[];
}

const LOG_LEVELS: readonly ProxyLogLevel[] = ['error', 'warn', 'info', 'debug'];

/**
 * The pod's annotations after inheritance: its own, plus every config.weft.dev/* annotation of the
 * namespace it lacks, plus the default opaque ports when neither sets them. Returns only the added ones.
 */
export function inheritedAnnotations(pod: PodLike, namespace: NamespaceLike | undefined): Record<string, string> {
  const own = pod.metadata?.annotations ?? {};
  const added: Record<string, string> = {};
  for (const [k, v] of Object.entries(namespace?.metadata?.annotations ?? {})) {
    if (k.startsWith(CONFIG_ANNOTATION_PREFIX) && !(k in own)) added[k] = v;
  }
  if (!(ANNOTATIONS.opaquePorts in own) && !(ANNOTATIONS.opaquePorts in added)) {
    added[ANNOTATIONS.opaquePorts] = DEFAULT_OPAQUE_PORTS.join(',');
  }
  return added;
}

function portList(annotations: Record<string, string>, key: string, events: string[]): PortRange[] | undefined {
  const raw = annotations[key];
  if (raw === undefined) return undefined;
  const parsed = parsePortRanges(raw);
  if (parsed.ok) return parsed.ranges;
  events.push(`Warning: ignored ${key}: ${parsed.error}.`);
  return undefined;
}

function rangesText(ranges: readonly PortRange[]): string {
  return ranges.map((r) => (r.from === r.to ? String(r.from) : `${r.from}-${r.to}`)).join(',');
}

export function initContainer(cfg: ResolvedMeshConfig, skip: { skipInboundPorts?: PortRange[]; skipOutboundPorts?: PortRange[] }): Container {
  return {
    name: INIT_CONTAINER,
    image: cfg.initImage,
    imagePullPolicy: cfg.imagePullPolicy,
    command: [...cfg.initCommand],
    args: redirectArgs(skip),
    resources: cfg.initResources,
    securityContext: {
      // The only container that runs as root: iptables needs it, for the few milliseconds it runs.
      runAsUser: 0,
      runAsNonRoot: false,
      privileged: false,
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      capabilities: { add: ['NET_ADMIN', 'NET_RAW'], drop: ['ALL'] },
      seccompProfile: { type: 'RuntimeDefault' },
    },
    volumeMounts: [{ name: INJECTED_VOLUMES.xtablesLock, mountPath: '/run' }],
    terminationMessagePolicy: 'FallbackToLogsOnError',
  };
}

export function proxyContainer(cfg: ResolvedMeshConfig, env: EnvVar[]): Container {
  const httpGet = (path: string) => ({ path, port: PROXY_ADMIN_PORT, scheme: 'HTTP' as const });
  return {
    name: PROXY_CONTAINER,
    image: cfg.proxyImage,
    imagePullPolicy: cfg.imagePullPolicy,
    command: [...cfg.proxyCommand],
    restartPolicy: 'Always',
    env,
    ports: [
      { name: 'weft-proxy', containerPort: PROXY_INBOUND_PORT, protocol: 'TCP' },
      { name: 'weft-admin', containerPort: PROXY_ADMIN_PORT, protocol: 'TCP' },
    ],
    resources: cfg.proxyResources,
    // The app's containers start only once this succeeds: no request leaves before the proxy listens.
    startupProbe: { httpGet: httpGet('/ready'), periodSeconds: 1, failureThreshold: 120, timeoutSeconds: 1 },
    readinessProbe: { httpGet: httpGet('/ready'), initialDelaySeconds: 2, periodSeconds: 10, timeoutSeconds: 1 },
    livenessProbe: { httpGet: httpGet('/live'), initialDelaySeconds: 10, periodSeconds: 10, timeoutSeconds: 1 },
    securityContext: {
      runAsUser: PROXY_UID,
      runAsGroup: PROXY_UID,
      runAsNonRoot: true,
      readOnlyRootFilesystem: true,
      allowPrivilegeEscalation: false,
      privileged: false,
      capabilities: { drop: ['ALL'] },
      seccompProfile: { type: 'RuntimeDefault' },
    },
    volumeMounts: [
      { name: INJECTED_VOLUMES.identity, mountPath: PROXY_IDENTITY_DIR },
      { name: INJECTED_VOLUMES.token, mountPath: PROXY_TOKEN_DIR, readOnly: true },
      { name: TRUST_ANCHORS_VOLUME, mountPath: TRUST_ANCHORS_DIR, readOnly: true },
    ],
    terminationMessagePolicy: 'FallbackToLogsOnError',
  };
}

export function injectedVolumes(): Volume[] {
  return [
    { name: INJECTED_VOLUMES.identity, emptyDir: { medium: 'Memory' } },
    {
      name: INJECTED_VOLUMES.token,
      projected: {
        sources: [
          {
            serviceAccountToken: {
              audience: IDENTITY_TOKEN_AUDIENCE,
              expirationSeconds: IDENTITY_TOKEN_EXPIRATION_SECONDS,
              path: PROXY_TOKEN_FILE,
            },
          },
        ],
      },
    },
    { name: INJECTED_VOLUMES.xtablesLock, emptyDir: {} },
    {
      // A pod cannot mount the control plane's ConfigMap (another namespace): the anchors travel in
      // the pod's own annotation and the kubelet writes them to a file.
      name: TRUST_ANCHORS_VOLUME,
      downwardAPI: { items: [{ path: TRUST_ANCHORS_FILE, fieldRef: { fieldPath: `metadata.annotations['${TRUST_ANCHORS_ANNOTATION}']` } }] },
    },
  ];
}

/**
 * The app's container ports (`name=port` or `port`) and its kubelet HTTP probes (`port:/path`), in
 * the forms of WEFT_PROXY_POLICY_PORTS and WEFT_PROXY_POLICY_PROBES: Servers may name ports, and
 * probes stay allowed under any policy.
 */
export function policyPortsAndProbes(containers: readonly Container[]): { ports?: string; probes?: string } {
  const byName = new Map<string, number>();
  const ports: string[] = [];
  for (const c of containers) {
    for (const p of c.ports ?? []) {
      if ((p.protocol ?? 'TCP') !== 'TCP') continue;
      if (p.name) byName.set(p.name, p.containerPort);
      ports.push(p.name ? `${p.name}=${p.containerPort}` : String(p.containerPort));
    }
  }
  const probes = new Set<string>();
  for (const c of containers) {
    for (const probe of [c.readinessProbe, c.livenessProbe, c.startupProbe]) {
      const get = probe?.httpGet;
      if (!get) continue;
      const port = typeof get.port === 'number' ? get.port : /^\d+$/.test(get.port) ? Number(get.port) : byName.get(get.port);
      const path = (get.path || '/').split('?')[0]!;
      if (port !== undefined && /^\/\S*$/.test(path)) probes.add(`${port}:${path}`);
    }
  }
  return { ...(ports.length ? { ports: [...new Set(ports)].join(',') } : {}), ...(probes.size ? { probes: [...probes].join(',') } : {}) };
}

/** Downward-API variables the proxy's other variables refer to as $(name) (Kubernetes expands them in order). */
const POD_FIELDS = { namespace: '_pod_ns', name: '_pod_name', serviceAccount: '_pod_sa' } as const;

/**
 * The proxy's environment: the WEFT_PROXY_* variables of docs/proxy.md, transparent mode, pointed
 * at the installed control plane: certificates from the identity service (the identity name built
 * from the pod's ServiceAccount and namespace by the downward API, the projected token, the trust
 * anchors file), endpoints from the destination service, inbound policy from the policy service
 * (WEFT_PROXY_POLICY_ADDR, and WEFT_PROXY_POLICY_WORKLOAD = `<namespace>/<pod name>`).
 */
export function proxyEnv(args: {
  opaquePorts?: PortRange[];
  logLevel: ProxyLogLevel;
  namespace?: string;
  serviceAccount: string;
  /** The control-plane namespace (default CONTROL_PLANE_NAMESPACE). */
  controlPlaneNamespace?: string;
  /** The app containers: their named ports and HTTP probes go to the policy service. */
  appContainers?: readonly Container[];
  /** The pod's (or inherited) config.weft.dev/default-inbound-policy, when valid. */
  defaultInboundPolicy?: string;
}): EnvVar[] {
  const cp = { namespace: args.controlPlaneNamespace };
  const field = (name: string, fieldPath: string): EnvVar => ({ name, valueFrom: { fieldRef: { fieldPath } } });
  const env: EnvVar[] = [
    field(POD_FIELDS.namespace, 'metadata.namespace'),
    field(POD_FIELDS.name, 'metadata.name'),
    field(POD_FIELDS.serviceAccount, 'spec.serviceAccountName'),
    // IPv4 and IPv6 on their own sockets: weft-init redirects both families (iptables and ip6tables),
    // and a pod of a dual-stack or IPv6 cluster is reached and probed on its IPv6 address. Where the
    // pod has no IPv6, the proxy skips the IPv6 addresses with a warning (mesh/proxy/listeners.ts).
    { name: 'WEFT_PROXY_INBOUND_ADDR', value: `0.0.0.0:${PROXY_INBOUND_PORT},[::]:${PROXY_INBOUND_PORT}` },
    { name: 'WEFT_PROXY_OUTBOUND_ADDR', value: `127.0.0.1:${PROXY_OUTBOUND_PORT},[::1]:${PROXY_OUTBOUND_PORT}` },
    { name: 'WEFT_PROXY_ADMIN_ADDR', value: `0.0.0.0:${PROXY_ADMIN_PORT},[::]:${PROXY_ADMIN_PORT}` },
    { name: 'WEFT_PROXY_IDENTITY_DIR', value: PROXY_IDENTITY_DIR },
    { name: 'WEFT_PROXY_IDENTITY_ADDR', value: controlPlaneAddress('identity', cp) },
    { name: 'WEFT_PROXY_IDENTITY_NAME', value: identityName({ serviceAccount: `$(${POD_FIELDS.serviceAccount})`, namespace: `$(${POD_FIELDS.namespace})` }) },
    { name: 'WEFT_PROXY_IDENTITY_TOKEN_FILE', value: `${PROXY_TOKEN_DIR}/${PROXY_TOKEN_FILE}` },
    { name: 'WEFT_PROXY_TRUST_ANCHORS', value: `${TRUST_ANCHORS_DIR}/${TRUST_ANCHORS_FILE}` },
    { name: 'WEFT_PROXY_DESTINATION_ADDR', value: controlPlaneAddress('destination', cp) },
    { name: 'WEFT_PROXY_POLICY_ADDR', value: controlPlaneAddress('policy', cp) },
    { name: 'WEFT_PROXY_POLICY_WORKLOAD', value: `$(${POD_FIELDS.namespace})/$(${POD_FIELDS.name})` },
  ];
  const { ports, probes } = policyPortsAndProbes(args.appContainers ?? []);
  if (ports) env.push({ name: 'WEFT_PROXY_POLICY_PORTS', value: ports });
  if (probes) env.push({ name: 'WEFT_PROXY_POLICY_PROBES', value: probes });
  if (args.defaultInboundPolicy) env.push({ name: 'WEFT_PROXY_DEFAULT_INBOUND_POLICY', value: args.defaultInboundPolicy });
  if (args.opaquePorts) env.push({ name: 'WEFT_PROXY_INBOUND_OPAQUE_PORTS', value: rangesText(args.opaquePorts) });
  env.push({ name: 'WEFT_PROXY_LOG', value: args.logLevel });
  const labels = [...(args.namespace ? [`namespace=${args.namespace}`] : []), `serviceaccount=${args.serviceAccount}`];
  env.push({ name: 'WEFT_PROXY_WORKLOAD_LABELS', value: labels.join(',') });
  for (const [name, value] of Object.entries(PROXY_RUNTIME_ENV)) env.push({ name, value }); // node's memory settings
  return env;
}

export function inject(pod: PodLike, namespace: NamespaceLike | undefined, meshConfig: MeshConfig, opts: InjectOptions = {}): InjectResult {
  const cfg = resolveMeshConfig(meshConfig);
  const decision = shouldInject(pod, namespace, { controlPlaneNamespace: cfg.controlPlaneNamespace });
  if (!decision.inject) return { patch: [], events: [decision.reason] };

  const events: string[] = [];
  const base = opts.basePath ?? '';
  const at = (...tokens: (string | number)[]): string => base + pointer(...tokens);
  const ns = namespaceName(pod, namespace);

  const inherited = inheritedAnnotations(pod, namespace);
  const added: Record<string, string> = {
    ...inherited,
    [ANNOTATIONS.proxyVersion]: cfg.proxyVersion,
    ...(cfg.trustAnchorsPem ? { [TRUST_ANCHORS_ANNOTATION]: cfg.trustAnchorsPem } : {}),
  };
  const annotations: Record<string, string> = { ...(pod.metadata?.annotations ?? {}), ...added };

  const skipInboundPorts = portList(annotations, ANNOTATIONS.skipInboundPorts, events);
  const skipOutboundPorts = portList(annotations, ANNOTATIONS.skipOutboundPorts, events);
  const opaquePorts = portList(annotations, ANNOTATIONS.opaquePorts, events);
  let logLevel = cfg.proxyLogLevel;
  const logAnnotation = annotations[ANNOTATIONS.proxyLogLevel];
  if (logAnnotation !== undefined) {
    if ((LOG_LEVELS as readonly string[]).includes(logAnnotation)) logLevel = logAnnotation as ProxyLogLevel;
    else events.push(`Warning: ignored ${ANNOTATIONS.proxyLogLevel}: "${logAnnotation}" is not one of ${LOG_LEVELS.join(', ')}.`);
  }

  const policyAnnotation = annotations[ANNOTATIONS.defaultInboundPolicy];
  let defaultInboundPolicy: string | undefined;
  if (policyAnnotation !== undefined) {
    if ((DEFAULT_INBOUND_POLICIES as readonly string[]).includes(policyAnnotation)) defaultInboundPolicy = policyAnnotation;
    else events.push(`Warning: ignored ${ANNOTATIONS.defaultInboundPolicy}: "${policyAnnotation}" is not one of ${DEFAULT_INBOUND_POLICIES.join(', ')}.`);
  }
  const env = proxyEnv({
    opaquePorts,
    logLevel,
    namespace: ns,
    serviceAccount: pod.spec?.serviceAccountName ?? 'default',
    controlPlaneNamespace: cfg.controlPlaneNamespace,
    appContainers: pod.spec?.containers ?? [],
    defaultInboundPolicy,
  });
  if (!cfg.trustAnchorsPem) {
    events.push(`Warning: the injector knows no trust anchors (install the mesh with \`weft install\`): ${PROXY_CONTAINER} cannot get a certificate and will stay unready.`);
  }
  const containers = [initContainer(cfg, { skipInboundPorts, skipOutboundPorts }), proxyContainer(cfg, env)];
  const volumes = injectedVolumes();

  const patch: JsonPatchOp[] = [];
  // metadata.annotations: create what is absent, else add key by key ("/" in keys escaped as ~1).
  if (pod.metadata === undefined) patch.push({ op: 'add', path: at('metadata'), value: { annotations: added } });
  else if (pod.metadata.annotations === undefined) patch.push({ op: 'add', path: at('metadata', 'annotations'), value: added });
  else for (const [k, v] of Object.entries(added)) patch.push({ op: 'add', path: at('metadata', 'annotations', k), value: v });

  if (pod.spec === undefined) {
    patch.push({ op: 'add', path: at('spec'), value: { initContainers: containers, volumes } });
  } else {
    // Native sidecar order: weft-init, then weft-proxy, then the app's own init containers.
    if (pod.spec.initContainers === undefined) patch.push({ op: 'add', path: at('spec', 'initContainers'), value: containers });
    else containers.forEach((c, i) => patch.push({ op: 'add', path: at('spec', 'initContainers', i), value: c }));
    if (pod.spec.volumes === undefined) patch.push({ op: 'add', path: at('spec', 'volumes'), value: volumes });
    else for (const v of volumes) patch.push({ op: 'add', path: at('spec', 'volumes', '-'), value: v });
  }

  const why = decision.by === 'pod' ? `the pod's ${ANNOTATIONS.inject} annotation` : `namespace ${ns ?? '(unknown)'}'s ${ANNOTATIONS.inject} annotation`;
  events.unshift(`Injected ${PROXY_CONTAINER} ${cfg.proxyVersion} (${why} is ${decision.value}).`);
  const inheritedKeys = Object.keys(inherited).filter((k) => namespace?.metadata?.annotations?.[k] === inherited[k]);
  if (inheritedKeys.length > 0) events.push(`Inherited ${inheritedKeys.join(', ')} from namespace ${ns ?? '(unknown)'}.`);
  if (decision.value === 'ingress') {
    events.push(`Note: ${ANNOTATIONS.inject}: ingress is injected as enabled; the Weft proxy has no separate ingress mode yet.`);
  }
  return { patch, events };
}
