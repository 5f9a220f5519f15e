/**
 * Names of the installed control plane (`weft install` writes them, `weft check` reads them, the
 * injector points proxies at them). Ports are CONTROL_PLANE_PORTS; the namespace is
 * CONTROL_PLANE_NAMESPACE.
 */
import { IDENTITY_SERVICE_ACCOUNT } from './identity';
import { INJECTOR_WEBHOOK } from './injector';
import { CONTROL_PLANE_NAMESPACE, DEFAULT_TRUST_DOMAIN } from './names';
import { CONTROL_PLANE_PORTS } from './ports';

export type ControlPlaneComponent = 'identity' | 'destination' | 'policy' | 'proxy-injector' | 'metrics-api';

/** Each component is one Deployment, one Service and one ServiceAccount, all of this name. */
export const CONTROL_PLANE_COMPONENTS: Readonly<Record<ControlPlaneComponent, { name: string; port: number; portName: string }>> = {
  identity: { name: IDENTITY_SERVICE_ACCOUNT, port: CONTROL_PLANE_PORTS.identity, portName: 'identity' },
  destination: { name: 'weft-destination', port: CONTROL_PLANE_PORTS.destination, portName: 'destination' },
  policy: { name: 'weft-policy', port: CONTROL_PLANE_PORTS.policy, portName: 'policy' },
  'proxy-injector': { name: INJECTOR_WEBHOOK.service, port: CONTROL_PLANE_PORTS.webhook, portName: 'webhook' },
  'metrics-api': { name: 'weft-metrics-api', port: CONTROL_PLANE_PORTS.metricsApi, portName: 'metrics-api' },
};

/** Label on every control-plane pod (and its Deployment's selector): the component's key above. */
export const CONTROL_PLANE_COMPONENT_LABEL = 'weft.dev/control-plane-component';
/** Label on the control-plane namespace and every installed object. */
export const PART_OF_LABEL = { 'app.kubernetes.io/part-of': 'weft' } as const;

/** `<service>.<namespace>.svc.<cluster domain>:<port>`: how a proxy in any namespace reaches a component. */
export function controlPlaneAddress(component: ControlPlaneComponent, opts: { namespace?: string; clusterDomain?: string } = {}): string {
  const c = CONTROL_PLANE_COMPONENTS[component];
  return `${c.name}.${opts.namespace ?? CONTROL_PLANE_NAMESPACE}.svc.${opts.clusterDomain ?? DEFAULT_TRUST_DOMAIN}:${c.port}`;
}

/** Secrets and the ConfigMap `weft install` creates in the control-plane namespace. */
export const CONTROL_PLANE_OBJECTS = {
  /** kubernetes.io/tls: tls.crt (issuer certificate), tls.key (issuer key), ca.crt (trust anchors). */
  issuerSecret: 'weft-identity-issuer',
  /** kubernetes.io/tls: tls.crt (serving leaf + webhook CA), tls.key, ca.crt (the webhook CA = the caBundle). */
  webhookSecret: 'weft-proxy-injector-tls',
  /** data: ca-bundle.crt (trust anchors), mesh-config.json (the mesh settings). */
  configMap: 'weft-config',
} as const;
export const CONFIG_MAP_KEYS = { trustAnchors: 'ca-bundle.crt', meshConfig: 'mesh-config.json' } as const;

/** Where control-plane containers find the mounted Secrets and ConfigMap. */
export const CONTROL_PLANE_MOUNTS = {
  config: '/var/run/weft/config',
  issuer: '/var/run/weft/identity/issuer',
  webhook: '/var/run/weft/webhook',
} as const;

/**
 * The trust anchors reach an injected proxy through its own pod: the injector copies them into this
 * annotation and a downward-API volume turns it into a file (a pod cannot mount a ConfigMap of the
 * control-plane namespace).
 */
export const TRUST_ANCHORS_ANNOTATION = 'weft.dev/identity-trust-anchors';
export const TRUST_ANCHORS_VOLUME = 'weft-identity-trust-anchors';
export const TRUST_ANCHORS_DIR = '/var/run/weft/identity/trust-anchors';
export const TRUST_ANCHORS_FILE = 'ca-bundle.crt';

/** The oldest Kubernetes with native sidecars on by default (restartPolicy: Always init containers). */
export const MIN_KUBERNETES_VERSION = { major: 1, minor: 29 } as const;
/** `weft check` fails a certificate that expires sooner than this (Linkerd: 60 days). */
export const CERTIFICATE_MIN_REMAINING_MS = 60 * 24 * 3_600_000;
/** `weft check --pre` fails when the API server's clock differs from ours by more than this. */
export const MAX_CLOCK_SKEW_MS = 5 * 60_000;
