import { test } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { createTrustAnchor } from '../../../../mesh/control/identity/ca';
import { mutatingWebhookConfiguration, NAMESPACE_NAME_LABEL } from '../../../../mesh/control/injector/webhook-configuration';
import { CONTROL_PLANE_PORTS } from '../../../../mesh/config/ports';
import { INJECTOR_WEBHOOK } from '../../../../mesh/config/injector';

test('defaults: Ignore, pods on CREATE, kube-system and weft excluded, no side effects, v1 reviews, CA bundle base64', async () => {
  const anchor = await createTrustAnchor();
  const c = mutatingWebhookConfiguration({ caBundlePem: anchor.certPem });
  assert.equal(c.apiVersion, 'admissionregistration.k8s.io/v1');
  assert.equal(c.kind, 'MutatingWebhookConfiguration');
  assert.equal(c.metadata.name, INJECTOR_WEBHOOK.configurationName);
  assert.equal(c.webhooks.length, 1);
  const w = c.webhooks[0]!;
  assert.equal(w.failurePolicy, 'Ignore');
  assert.equal(w.sideEffects, 'None');
  assert.deepEqual(w.admissionReviewVersions, ['v1']);
  assert.deepEqual(w.rules, [{ operations: ['CREATE'], apiGroups: [''], apiVersions: ['v1'], resources: ['pods'], scope: 'Namespaced' }]);
  assert.deepEqual(w.namespaceSelector, { matchExpressions: [{ key: NAMESPACE_NAME_LABEL, operator: 'NotIn', values: ['kube-system', 'weft'] }] });
  assert.deepEqual(w.clientConfig.service, { name: INJECTOR_WEBHOOK.service, namespace: 'weft', path: '/inject', port: CONTROL_PLANE_PORTS.webhook });
  const pem = Buffer.from(w.clientConfig.caBundle, 'base64').toString('utf8');
  assert.equal(pem, anchor.certPem);
  assert.ok(new X509Certificate(pem).ca, 'the bundle decodes to the CA certificate');
  assert.ok(w.timeoutSeconds >= 1 && w.timeoutSeconds <= 30);
  assert.match(w.name, /^[a-z0-9-]+(\.[a-z0-9-]+)+$/, 'a fully qualified webhook name');
});

test('service, namespace and failurePolicy are honoured; the custom namespace is the one excluded', async () => {
  const anchor = await createTrustAnchor();
  const c = mutatingWebhookConfiguration({ caBundlePem: anchor.certPem, service: 'inj', namespace: 'mesh-system', failurePolicy: 'Fail' });
  const w = c.webhooks[0]!;
  assert.equal(w.failurePolicy, 'Fail');
  assert.deepEqual(w.clientConfig.service, { name: 'inj', namespace: 'mesh-system', path: '/inject', port: CONTROL_PLANE_PORTS.webhook });
  assert.deepEqual(w.namespaceSelector.matchExpressions[0]!.values, ['kube-system', 'mesh-system']);
});

test('refuses a bundle without a certificate and an out-of-range timeout', () => {
  assert.throws(() => mutatingWebhookConfiguration({ caBundlePem: 'not a pem' }), /no PEM certificate/);
  const pem = '-----BEGIN CERTIFICATE-----\nAA==\n-----END CERTIFICATE-----\n';
  assert.throws(() => mutatingWebhookConfiguration({ caBundlePem: pem, timeoutSeconds: 31 }), /1 to 30/);
});
