/** What the injector needs to know about the installed mesh (from `weft install`'s values). */
import { CONTROL_PLANE_NAMESPACE } from '../../config/names';
import type { ResourceRequirements } from './kube-types';

export type ProxyLogLevel = 'error' | 'warn' | 'info' | 'debug';

export interface MeshConfig {
  /** The mesh image (it holds both `weft proxy` and `weft init`). */
  proxyImage: string;
  /** Recorded on every injected pod (weft.dev/proxy-version). */
  proxyVersion: string;
  /** Defaults to proxyImage. */
  initImage?: string;
  imagePullPolicy?: 'Always' | 'IfNotPresent' | 'Never';
  proxyResources?: ResourceRequirements;
  initResources?: ResourceRequirements;
  /** Overridden per pod by config.weft.dev/proxy-log-level. */
  proxyLogLevel?: ProxyLogLevel;
  controlPlaneNamespace?: string;
  /** argv of the proxy and of the init container (the image's `weft` binary). */
  proxyCommand?: string[];
  initCommand?: string[];
  /** PEM trust anchors (the ConfigMap's ca-bundle.crt), handed to each proxy; '' when unknown. */
  trustAnchorsPem?: string;
}

export type ResolvedMeshConfig = Required<MeshConfig>;

export const DEFAULT_PROXY_RESOURCES: ResourceRequirements = {
  requests: { cpu: '100m', memory: '64Mi' },
  limits: { memory: '256Mi' },
};
export const DEFAULT_INIT_RESOURCES: ResourceRequirements = {
  requests: { cpu: '10m', memory: '32Mi' },
  limits: { cpu: '100m', memory: '128Mi' },
};

export function resolveMeshConfig(c: MeshConfig): ResolvedMeshConfig {
  return {
    proxyImage: c.proxyImage,
    proxyVersion: c.proxyVersion,
    initImage: c.initImage ?? c.proxyImage,
    imagePullPolicy: c.imagePullPolicy ?? 'IfNotPresent',
    proxyResources: c.proxyResources ?? DEFAULT_PROXY_RESOURCES,
    initResources: c.initResources ?? DEFAULT_INIT_RESOURCES,
    proxyLogLevel: c.proxyLogLevel ?? 'info',
    controlPlaneNamespace: c.controlPlaneNamespace ?? CONTROL_PLANE_NAMESPACE,
    proxyCommand: c.proxyCommand ?? ['weft', 'proxy'],
    initCommand: c.initCommand ?? ['weft', 'init'],
    trustAnchorsPem: c.trustAnchorsPem ?? '',
  };
}
