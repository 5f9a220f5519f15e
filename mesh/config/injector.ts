/** Names of the proxy injector's admission webhook (its port is CONTROL_PLANE_PORTS.webhook). */
export const INJECTOR_WEBHOOK = {
  /** The Service (and Deployment) in the control-plane namespace that serves the webhook. */
  service: 'weft-proxy-injector',
  /** The URL path the API server POSTs AdmissionReviews to. */
  path: '/inject',
  /** metadata.name of the MutatingWebhookConfiguration. */
  configurationName: 'weft-proxy-injector-webhook-config',
  /** webhooks[0].name (must be a fully qualified name). */
  webhookName: 'weft-proxy-injector.weft.dev',
} as const;

/** AdmissionReview API version the webhook speaks (the only one Kubernetes ≥ 1.22 sends). */
export const ADMISSION_REVIEW_API_VERSION = 'admission.k8s.io/v1';
