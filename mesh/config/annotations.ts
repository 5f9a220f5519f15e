/** Annotation and label keys. Linkerd's own keys are kept beside Weft's so the validator serves both. */
export const ANNOTATIONS = {
  inject: 'weft.dev/inject',
  opaquePorts: 'config.weft.dev/opaque-ports',
  skipInboundPorts: 'config.weft.dev/skip-inbound-ports',
  skipOutboundPorts: 'config.weft.dev/skip-outbound-ports',
  defaultInboundPolicy: 'config.weft.dev/default-inbound-policy',
  proxyLogLevel: 'config.weft.dev/proxy-log-level',
  validateIgnore: 'validate.weft.dev/ignore',
  retryStatusCodes: 'retry.weft.dev/http',
  retryLimit: 'retry.weft.dev/limit',
  retryTimeout: 'retry.weft.dev/timeout',
  timeoutRequest: 'timeout.weft.dev/request',
  timeoutResponse: 'timeout.weft.dev/response',
  timeoutIdle: 'timeout.weft.dev/idle',
  nativeSidecar: 'config.weft.dev/proxy-enable-native-sidecar',
  /** Set by the injector on every pod it injects: the proxy version it added. */
  proxyVersion: 'weft.dev/proxy-version',
} as const;

/** Every `config.weft.dev/*` annotation on a namespace is inherited by its injected pods (the pod's own value wins). */
export const CONFIG_ANNOTATION_PREFIX = 'config.weft.dev/';

export const LINKERD_ANNOTATIONS = {
  inject: 'linkerd.io/inject',
  opaquePorts: 'config.linkerd.io/opaque-ports',
  skipInboundPorts: 'config.linkerd.io/skip-inbound-ports',
  skipOutboundPorts: 'config.linkerd.io/skip-outbound-ports',
  defaultInboundPolicy: 'config.linkerd.io/default-inbound-policy',
  retryStatusCodes: 'retry.linkerd.io/http',
  retryLimit: 'retry.linkerd.io/limit',
  retryTimeout: 'retry.linkerd.io/timeout',
  timeoutRequest: 'timeout.linkerd.io/request',
  timeoutResponse: 'timeout.linkerd.io/response',
  timeoutIdle: 'timeout.linkerd.io/idle',
  nativeSidecar: 'config.alpha.linkerd.io/proxy-enable-native-sidecar',
} as const;

/** Linkerd's control-plane namespace (its ports and default opaque list are Weft's own). */
export const LINKERD_CONTROL_PLANE_NAMESPACE = 'linkerd';

/** Values of the default-inbound-policy annotation. */
export const DEFAULT_INBOUND_POLICIES = ['all-unauthenticated', 'all-authenticated', 'cluster-unauthenticated', 'cluster-authenticated', 'deny', 'audit'] as const;
export type DefaultInboundPolicy = (typeof DEFAULT_INBOUND_POLICIES)[number];

export const INJECT_VALUES = ['enabled', 'disabled', 'ingress'] as const;
export type InjectValue = (typeof INJECT_VALUES)[number];
