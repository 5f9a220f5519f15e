/** Names of the proxy injector: its admission webhook (port: CONTROL_PLANE_PORTS.webhook) and image. */
import { WEFT_VERSION } from './names';

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

/** The mesh image injected by default (it holds `weft proxy` and `weft init`). */
export const DEFAULT_MESH_IMAGE = `ghcr.io/weft-dev/weft:${WEFT_VERSION}`;
