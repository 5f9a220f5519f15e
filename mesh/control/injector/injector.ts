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
 *   volumes: an in-memory emptyDir for the key, the projected ServiceAccount token, xtables lock
 *   annotations: the namespace's config.weft.dev/* ones, default opaque ports, the proxy version
 */
import { ANNOTATIONS, CONFIG_ANNOTATION_PREFIX } from '../../config/annotations';
import { IDENTITY_TOKEN_AUDIENCE, IDENTITY_TOKEN_EXPIRATION_SECONDS } from '../../config/identity';
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
  ];
}

/** The proxy's environment: exactly the WEFT_PROXY_* variables of docs/proxy.md, transparent mode. */
export function proxyEnv(args: { opaquePorts?: PortRange[]; logLevel: ProxyLogLevel; namespace?: string; serviceAccount: string }): EnvVar[] {
  const env: EnvVar[] = [
    { name: 'WEFT_PROXY_INBOUND_ADDR', value: `0.0.0.0:${PROXY_INBOUND_PORT}` },
    { name: 'WEFT_PROXY_OUTBOUND_ADDR', value: `127.0.0.1:${PROXY_OUTBOUND_PORT}` },
    { name: 'WEFT_PROXY_ADMIN_ADDR', value: `0.0.0.0:${PROXY_ADMIN_PORT}` },
    { name: 'WEFT_PROXY_IDENTITY_DIR', value: PROXY_IDENTITY_DIR },
  ];
  if (args.opaquePorts) env.push({ name: 'WEFT_PROXY_INBOUND_OPAQUE_PORTS', value: rangesText(args.opaquePorts) });
  env.push({ name: 'WEFT_PROXY_LOG', value: args.logLevel });
  const labels = [...(args.namespace ? [`namespace=${args.namespace}`] : []), `serviceaccount=${args.serviceAccount}`];
  env.push({ name: 'WEFT_PROXY_WORKLOAD_LABELS', value: labels.join(',') });
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
  const added: Record<string, string> = { ...inherited, [ANNOTATIONS.proxyVersion]: cfg.proxyVersion };
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

  const env = proxyEnv({ opaquePorts, logLevel, namespace: ns, serviceAccount: pod.spec?.serviceAccountName ?? 'default' });
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
