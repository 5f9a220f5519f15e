/**
 * The MutatingWebhookConfiguration that registers the injector with the API server (pure; `weft
 * install` prints it). Linkerd's shape: pods on CREATE, failurePolicy Ignore by default (a down
 * injector never blocks pod creation: pods start unmeshed and `weft check --proxy` reports them),
 * the control plane and kube-system excluded by a namespaceSelector so the webhook can never block
 * its own restart.
 */
import { CONTROL_PLANE_PORTS } from '../../config/ports';
import { CONTROL_PLANE_NAMESPACE } from '../../config/names';
import { INJECTOR_WEBHOOK } from '../../config/injector';
import { SYSTEM_NAMESPACES } from './should-inject';

export interface WebhookConfigurationOptions {
  /** PEM of the CA that signed the webhook's serving certificate (one or more certificates). */
  caBundlePem: string;
  /** The injector's Service name; defaults to INJECTOR_WEBHOOK.service. */
  service?: string;
  /** The control-plane namespace; defaults to CONTROL_PLANE_NAMESPACE. */
  namespace?: string;
  failurePolicy?: 'Ignore' | 'Fail';
  /** Seconds the API server waits for an answer (1–30; default 10, as Linkerd). */
  timeoutSeconds?: number;
}

/** The label Kubernetes (≥ 1.21) puts on every namespace: its own name. */
export const NAMESPACE_NAME_LABEL = 'kubernetes.io/metadata.name';

export interface MutatingWebhookConfiguration {
  apiVersion: 'admissionregistration.k8s.io/v1';
  kind: 'MutatingWebhookConfiguration';
  metadata: { name: string; labels: Record<string, string> };
  webhooks: {
    name: string;
    clientConfig: { service: { name: string; namespace: string; path: string; port: number }; caBundle: string };
    rules: { operations: string[]; apiGroups: string[]; apiVersions: string[]; resources: string[]; scope: string }[];
    namespaceSelector: { matchExpressions: { key: string; operator: 'NotIn'; values: string[] }[] };
    failurePolicy: 'Ignore' | 'Fail';
    sideEffects: 'None';
    admissionReviewVersions: string[];
    timeoutSeconds: number;
    reinvocationPolicy: 'Never' | 'IfNeeded';
  }[];
}

export function mutatingWebhookConfiguration(opts: WebhookConfigurationOptions): MutatingWebhookConfiguration {
  if (!/-----BEGIN CERTIFICATE-----/.test(opts.caBundlePem)) throw new Error('caBundlePem holds no PEM certificate');
  const namespace = opts.namespace ?? CONTROL_PLANE_NAMESPACE;
  const timeoutSeconds = opts.timeoutSeconds ?? 10;
  if (!Number.isInteger(timeoutSeconds) || timeoutSeconds < 1 || timeoutSeconds > 30) throw new Error('timeoutSeconds must be an integer from 1 to 30');
  return {
    apiVersion: 'admissionregistration.k8s.io/v1',
    kind: 'MutatingWebhookConfiguration',
    metadata: { name: INJECTOR_WEBHOOK.configurationName, labels: { 'app.kubernetes.io/part-of': 'weft', 'app.kubernetes.io/component': 'proxy-injector' } },
    webhooks: [
      {
        name: INJECTOR_WEBHOOK.webhookName,
        clientConfig: {
          service: { name: opts.service ?? INJECTOR_WEBHOOK.service, namespace, path: INJECTOR_WEBHOOK.path, port: CONTROL_PLANE_PORTS.webhook },
          caBundle: Buffer.from(opts.caBundlePem).toString('base64'),
        },
        rules: [{ operations: ['CREATE'], apiGroups: [''], apiVersions: ['v1'], resources: ['pods'], scope: 'Namespaced' }],
        namespaceSelector: {
          matchExpressions: [{ key: NAMESPACE_NAME_LABEL, operator: 'NotIn', values: [...new Set([...SYSTEM_NAMESPACES, namespace])] }],
        },
        failurePolicy: opts.failurePolicy ?? 'Ignore',
        sideEffects: 'None',
        admissionReviewVersions: ['v1'],
        timeoutSeconds,
        reinvocationPolicy: 'Never',
      },
    ],
  };
}
