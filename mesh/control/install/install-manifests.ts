/**
 * `weft install`'s core: every Kubernetes object of the control plane, as plain objects.
 *
 *   installManifests(options: InstallOptions): Promise<KubeObject[]>
 *     Pure apart from generating keys (anchor, issuer, webhook CA and serving certificate) when the
 *     caller supplies none. Throws InstallError (message + hint) on bad options or bad user-supplied
 *     certificates. The objects come in apply order: Namespace, CRDs, ServiceAccounts,
 *     ClusterRoles, ClusterRoleBindings, Secrets, ConfigMap, Services, Deployments, and the
 *     MutatingWebhookConfiguration last.
 *   manifestsYaml(objects): string — multi-document YAML for `kubectl apply -f -`.
 *
 * The dev cluster and the extension's "Install Mesh" call installManifests() then
 * applyObjects() (mesh/platform/kube-apply.ts).
 */
import { stringify } from 'yaml';
import { ANNOTATIONS, DEFAULT_INBOUND_POLICIES, type DefaultInboundPolicy } from '../../config/annotations';
import {
  CONFIG_MAP_KEYS,
  CONTROL_PLANE_COMPONENTS,
  CONTROL_PLANE_COMPONENT_LABEL,
  CONTROL_PLANE_MOUNTS,
  CONTROL_PLANE_OBJECTS,
  PART_OF_LABEL,
  controlPlaneAddress,
  type ControlPlaneComponent,
} from '../../config/control-plane';
import { DEFAULT_MESH_IMAGE } from '../../config/injector';
import { CONTROL_PLANE_NAMESPACE, DEFAULT_CLUSTER_NETWORKS, DEFAULT_TRUST_DOMAIN, WEFT_VERSION } from '../../config/names';
import { createWebhookCertificates } from '../injector/webhook-certificate';
import { mutatingWebhookConfiguration } from '../injector/webhook-configuration';
import { policyCrds } from './crds';
import { generateIdentity, InstallError, validateSuppliedIdentity, type SuppliedIdentity } from './identity-material';
import { COMPONENT_RULES } from './rbac';

/** A Kubernetes object as JSON (what `kubectl apply` and the API take). */
export interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  [field: string]: unknown;
}

export interface InstallOptions {
  /** The mesh image of every control-plane container (and of injected proxies); default DEFAULT_MESH_IMAGE. */
  image?: string;
  imagePullPolicy?: 'Always' | 'IfNotPresent' | 'Never';
  /** User-supplied anchors and issuer (validated); generated when absent. */
  identity?: SuppliedIdentity;
  /** The MutatingWebhookConfiguration's failurePolicy; default Ignore (a down injector never blocks pods). */
  webhookFailurePolicy?: 'Ignore' | 'Fail';
  /** The cluster-wide default inbound policy (config.weft.dev/default-inbound-policy); default all-unauthenticated. */
  defaultInboundPolicy?: DefaultInboundPolicy;
  /** Three replicas per component, spread over nodes. */
  ha?: boolean;
  trustDomain?: string;
  /** The clock the generated certificates start from (tests). */
  now?: () => Date;
}

/** The settings proxies and components share, stored in the ConfigMap as mesh-config.json. */
export interface InstalledMeshConfig {
  version: string;
  controlPlaneNamespace: string;
  trustDomain: string;
  proxyImage: string;
  proxyVersion: string;
  imagePullPolicy: string;
  defaultInboundPolicy: DefaultInboundPolicy;
  clusterNetworks: string[];
  webhookFailurePolicy: 'Ignore' | 'Fail';
  addresses: { identity: string; destination: string; policy: string };
}

const NS = CONTROL_PLANE_NAMESPACE;
const COMPONENTS = Object.keys(CONTROL_PLANE_COMPONENTS) as ControlPlaneComponent[];

function labels(component?: ControlPlaneComponent): Record<string, string> {
  return { ...PART_OF_LABEL, ...(component ? { 'app.kubernetes.io/name': CONTROL_PLANE_COMPONENTS[component].name, [CONTROL_PLANE_COMPONENT_LABEL]: component } : {}) };
}

const b64 = (s: string): string => Buffer.from(s).toString('base64');

/** argv (after `weft`) of each component: the `--kube` modes of the `weft` subcommands. */
export function componentArgs(component: ControlPlaneComponent, cfg: InstalledMeshConfig): string[] {
  const listen = `0.0.0.0:${CONTROL_PLANE_COMPONENTS[component].port}`;
  const config = CONTROL_PLANE_MOUNTS.config;
  switch (component) {
    case 'identity':
      return [
        'identity', '--kube', '--addr', listen,
        '--trust-anchors', `${config}/${CONFIG_MAP_KEYS.trustAnchors}`,
        '--issuer-cert', `${CONTROL_PLANE_MOUNTS.issuer}/tls.crt`,
        '--issuer-key', `${CONTROL_PLANE_MOUNTS.issuer}/tls.key`,
        '--trust-domain', cfg.trustDomain,
      ];
    case 'destination':
      return ['destination', '--kube', '--listen', listen, '--trust-domain', cfg.trustDomain];
    case 'policy':
      return ['policy', '--kube', '--listen', listen, '--default-inbound-policy', cfg.defaultInboundPolicy, '--cluster-networks', cfg.clusterNetworks.join(','), '--trust-domain', cfg.trustDomain];
    case 'proxy-injector':
      return [
        'injector', '--listen', listen,
        '--tls-cert', `${CONTROL_PLANE_MOUNTS.webhook}/tls.crt`,
        '--tls-key', `${CONTROL_PLANE_MOUNTS.webhook}/tls.key`,
        '--mesh-config', `${config}/${CONFIG_MAP_KEYS.meshConfig}`,
        '--trust-anchors', `${config}/${CONFIG_MAP_KEYS.trustAnchors}`,
      ];
    case 'metrics-api':
      return ['metrics-api', '--kube', '--listen', listen, '--trust-domain', cfg.trustDomain];
  }
}

function volumesFor(component: ControlPlaneComponent): { volumes: Record<string, unknown>[]; mounts: Record<string, unknown>[] } {
  const volumes: Record<string, unknown>[] = [{ name: 'weft-config', configMap: { name: CONTROL_PLANE_OBJECTS.configMap } }];
  const mounts: Record<string, unknown>[] = [{ name: 'weft-config', mountPath: CONTROL_PLANE_MOUNTS.config, readOnly: true }];
  if (component === 'identity') {
    volumes.push({ name: 'issuer', secret: { secretName: CONTROL_PLANE_OBJECTS.issuerSecret, defaultMode: 0o400 } });
    mounts.push({ name: 'issuer', mountPath: CONTROL_PLANE_MOUNTS.issuer, readOnly: true });
  }
  if (component === 'proxy-injector') {
    volumes.push({ name: 'webhook-tls', secret: { secretName: CONTROL_PLANE_OBJECTS.webhookSecret, defaultMode: 0o400 } });
    mounts.push({ name: 'webhook-tls', mountPath: CONTROL_PLANE_MOUNTS.webhook, readOnly: true });
  }
  return { volumes, mounts };
}

function deployment(component: ControlPlaneComponent, cfg: InstalledMeshConfig, ha: boolean): KubeObject {
  const c = CONTROL_PLANE_COMPONENTS[component];
  const { volumes, mounts } = volumesFor(component);
  const selector = { [CONTROL_PLANE_COMPONENT_LABEL]: component };
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: c.name, namespace: NS, labels: labels(component) },
    spec: {
      replicas: ha ? 3 : 1,
      selector: { matchLabels: selector },
      template: {
        metadata: { labels: labels(component), annotations: { [ANNOTATIONS.inject]: 'disabled' } },
        spec: {
          serviceAccountName: c.name,
          securityContext: { runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } },
          ...(ha
            ? {
                affinity: {
                  podAntiAffinity: {
                    preferredDuringSchedulingIgnoredDuringExecution: [
                      { weight: 100, podAffinityTerm: { topologyKey: 'kubernetes.io/hostname', labelSelector: { matchLabels: selector } } },
                    ],
                  },
                },
              }
            : {}),
          containers: [
            {
              name: component,
              image: cfg.proxyImage,
              imagePullPolicy: cfg.imagePullPolicy,
              command: ['weft'],
              args: componentArgs(component, cfg),
              ports: [{ name: c.portName, containerPort: c.port, protocol: 'TCP' }],
              readinessProbe: { tcpSocket: { port: c.port }, periodSeconds: 5, timeoutSeconds: 1 },
              livenessProbe: { tcpSocket: { port: c.port }, initialDelaySeconds: 10, periodSeconds: 10, timeoutSeconds: 1 },
              resources: { requests: { cpu: '100m', memory: '64Mi' }, limits: { memory: '256Mi' } },
              securityContext: {
                runAsUser: 2103,
                runAsGroup: 2103,
                runAsNonRoot: true,
                readOnlyRootFilesystem: true,
                allowPrivilegeEscalation: false,
                capabilities: { drop: ['ALL'] },
              },
              volumeMounts: mounts,
              terminationMessagePolicy: 'FallbackToLogsOnError',
            },
          ],
          volumes,
        },
      },
    },
  };
}

function service(component: ControlPlaneComponent): KubeObject {
  const c = CONTROL_PLANE_COMPONENTS[component];
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: c.name, namespace: NS, labels: labels(component) },
    spec: {
      type: 'ClusterIP',
      selector: { [CONTROL_PLANE_COMPONENT_LABEL]: component },
      ports: [{ name: c.portName, port: c.port, targetPort: c.port, protocol: 'TCP' }],
    },
  };
}

function rbac(component: ControlPlaneComponent): KubeObject[] {
  const name = CONTROL_PLANE_COMPONENTS[component].name;
  return [
    { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name, namespace: NS, labels: labels(component) } },
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRole',
      metadata: { name, labels: labels(component) },
      rules: COMPONENT_RULES[component].map((r) => ({ apiGroups: [...r.apiGroups], resources: [...r.resources], verbs: [...r.verbs] })),
    },
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRoleBinding',
      metadata: { name, labels: labels(component) },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name },
      subjects: [{ kind: 'ServiceAccount', name, namespace: NS }],
    },
  ];
}

function checkOptions(o: InstallOptions): void {
  if (o.image !== undefined && !/^[a-z0-9]([a-z0-9._\-/:@]*[a-zA-Z0-9_])?$/.test(o.image)) {
    throw new InstallError(`--image "${o.image}" is not an image reference`, 'pass REGISTRY/NAME:TAG, for example ghcr.io/weft-dev/weft:0.1.0');
  }
  if (o.defaultInboundPolicy !== undefined && !(DEFAULT_INBOUND_POLICIES as readonly string[]).includes(o.defaultInboundPolicy)) {
    throw new InstallError(`--default-inbound-policy "${String(o.defaultInboundPolicy)}" is not a policy`, `use one of ${DEFAULT_INBOUND_POLICIES.join(', ')}`);
  }
  if (o.webhookFailurePolicy !== undefined && !['Ignore', 'Fail'].includes(o.webhookFailurePolicy)) {
    throw new InstallError(`--webhook-failure-policy "${String(o.webhookFailurePolicy)}" is neither Ignore nor Fail`, 'use Ignore (pods start unmeshed while the injector is down) or Fail (pod creation waits for it)');
  }
}

/** The mesh settings installManifests writes into the ConfigMap. */
export function installedMeshConfig(o: InstallOptions): InstalledMeshConfig {
  const trustDomain = o.trustDomain ?? DEFAULT_TRUST_DOMAIN;
  return {
    version: WEFT_VERSION,
    controlPlaneNamespace: NS,
    trustDomain,
    proxyImage: o.image ?? DEFAULT_MESH_IMAGE,
    proxyVersion: WEFT_VERSION,
    imagePullPolicy: o.imagePullPolicy ?? 'IfNotPresent',
    defaultInboundPolicy: o.defaultInboundPolicy ?? 'all-unauthenticated',
    clusterNetworks: [...DEFAULT_CLUSTER_NETWORKS],
    webhookFailurePolicy: o.webhookFailurePolicy ?? 'Ignore',
    addresses: {
      identity: controlPlaneAddress('identity', { clusterDomain: trustDomain }),
      destination: controlPlaneAddress('destination', { clusterDomain: trustDomain }),
      policy: controlPlaneAddress('policy', { clusterDomain: trustDomain }),
    },
  };
}

export async function installManifests(options: InstallOptions = {}): Promise<KubeObject[]> {
  checkOptions(options);
  const now = options.now ?? (() => new Date());
  const cfg = installedMeshConfig(options);
  const identity = options.identity ? validateSuppliedIdentity(options.identity, now()) : await generateIdentity({ trustDomain: cfg.trustDomain, now });
  const webhook = await createWebhookCertificates({ now });

  const namespace: KubeObject = {
    apiVersion: 'v1',
    kind: 'Namespace',
    metadata: {
      name: NS,
      labels: { ...PART_OF_LABEL, 'kubernetes.io/metadata.name': NS },
      annotations: { [ANNOTATIONS.inject]: 'disabled', [ANNOTATIONS.defaultInboundPolicy]: cfg.defaultInboundPolicy },
    },
  };
  const rbacObjects = COMPONENTS.flatMap(rbac);
  const byKind = (k: string) => rbacObjects.filter((o) => o.kind === k);
  const secrets: KubeObject[] = [
    {
      apiVersion: 'v1',
      kind: 'Secret',
      type: 'kubernetes.io/tls',
      metadata: { name: CONTROL_PLANE_OBJECTS.issuerSecret, namespace: NS, labels: labels('identity') },
      data: { 'tls.crt': b64(identity.issuer.certPem), 'tls.key': b64(identity.issuer.keyPem), 'ca.crt': b64(identity.trustAnchorsPem) },
    },
    {
      apiVersion: 'v1',
      kind: 'Secret',
      type: 'kubernetes.io/tls',
      metadata: { name: CONTROL_PLANE_OBJECTS.webhookSecret, namespace: NS, labels: labels('proxy-injector') },
      data: { 'tls.crt': b64(webhook.serving.certPem), 'tls.key': b64(webhook.serving.keyPem), 'ca.crt': b64(webhook.ca.certPem) },
    },
  ];
  const configMap: KubeObject = {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: CONTROL_PLANE_OBJECTS.configMap, namespace: NS, labels: labels() },
    data: { [CONFIG_MAP_KEYS.trustAnchors]: identity.trustAnchorsPem, [CONFIG_MAP_KEYS.meshConfig]: `${JSON.stringify(cfg, null, 2)}\n` },
  };
  const webhookConfig = mutatingWebhookConfiguration({ caBundlePem: webhook.ca.certPem, failurePolicy: cfg.webhookFailurePolicy, namespace: NS });
  return [
    namespace,
    ...(policyCrds() as unknown as KubeObject[]),
    ...byKind('ServiceAccount'),
    ...byKind('ClusterRole'),
    ...byKind('ClusterRoleBinding'),
    ...secrets,
    configMap,
    ...COMPONENTS.map(service),
    ...COMPONENTS.map((c) => deployment(c, cfg, options.ha ?? false)),
    webhookConfig as unknown as KubeObject,
  ];
}

/** Multi-document YAML, one object per document, for `kubectl apply -f -`. */
export function manifestsYaml(objects: readonly KubeObject[]): string {
  const header = `# Weft ${WEFT_VERSION} control plane: weft install | kubectl apply -f -\n`;
  return header + objects.map((o) => `---\n${stringify(o, { lineWidth: 0 })}`).join('');
}
