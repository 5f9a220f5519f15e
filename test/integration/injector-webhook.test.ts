/**
 * The injector webhook behind the recorded-semantics fake API server: the MutatingWebhookConfiguration
 * from webhook-configuration.ts (its caBundle and service name are what the API server uses to call
 * and verify the webhook), the serving certificate from webhook-certificate.ts, pods created with
 * @kubernetes/client-node, the namespace read back through the API for the lookup.
 */
import 'reflect-metadata';
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ApiException, CoreV1Api, KubeConfig, type V1Pod } from '@kubernetes/client-node';
import { Ajv } from 'ajv';
import { startFakeKubeApi, writeKubeconfig, type FakeKubeApi } from '../fixtures/kube-api';
import { createWebhookCertificates } from '../../mesh/control/injector/webhook-certificate';
import { mutatingWebhookConfiguration } from '../../mesh/control/injector/webhook-configuration';
import { startInjectorWebhook, type InjectorWebhook } from '../../mesh/control/injector/webhook-server';
import type { NamespaceLike } from '../../mesh/control/injector/kube-types';
import { ANNOTATIONS } from '../../mesh/config/annotations';
import { INIT_CONTAINER, PROXY_CONTAINER } from '../../mesh/config/names';
import { INJECTOR_WEBHOOK } from '../../mesh/config/injector';

const ajv = new Ajv({ allErrors: true, strict: false });
ajv.addFormat('int32', { type: 'number', validate: (n: number) => Number.isInteger(n) && n >= -(2 ** 31) && n < 2 ** 31 });
ajv.addFormat('int64', { type: 'number', validate: (n: number) => Number.isInteger(n) });
const validatePod = ajv.compile(JSON.parse(readFileSync(fileURLToPath(new URL('../fixtures/k8s-schema/pod.schema.json', import.meta.url)), 'utf8')) as Record<string, unknown>);

let api: FakeKubeApi;
let webhook: InjectorWebhook;
let core: CoreV1Api;
let dir: string;

async function lookupNamespace(name: string): Promise<NamespaceLike | undefined> {
  try {
    return (await core.readNamespace({ name })) as NamespaceLike;
  } catch (err) {
    if (err instanceof ApiException && err.code === 404) return undefined;
    throw err;
  }
}

before(async () => {
  const certs = await createWebhookCertificates();
  webhook = await startInjectorWebhook({
    host: '127.0.0.1',
    port: 0,
    certPem: certs.serving.certPem,
    keyPem: certs.serving.keyPem,
    meshConfig: { proxyImage: 'ghcr.io/weft-dev/weft:0.1.0', proxyVersion: '0.1.0' },
    namespaceLookup: lookupNamespace,
  });
  const cfg = mutatingWebhookConfiguration({ caBundlePem: certs.ca.certPem }).webhooks[0]!;
  const svc = cfg.clientConfig.service;
  api = await startFakeKubeApi({
    admissionWebhooks: [
      {
        name: cfg.name,
        url: webhook.url,
        caBundle: Buffer.from(cfg.clientConfig.caBundle, 'base64').toString('utf8'),
        // What the API server checks for a service reference.
        serverName: `${svc.name}.${svc.namespace}.svc`,
        resources: cfg.rules[0]!.resources,
        mutating: true,
        failurePolicy: cfg.failurePolicy,
      },
    ],
  });
  dir = mkdtempSync(join(tmpdir(), 'weft-injector-webhook-'));
  const kc = new KubeConfig();
  kc.loadFromFile(writeKubeconfig(dir, { server: api.url }));
  core = kc.makeApiClient(CoreV1Api);
  await core.createNamespace({ body: { metadata: { name: 'shop', annotations: { [ANNOTATIONS.inject]: 'enabled', [ANNOTATIONS.opaquePorts]: '5432' } } } });
  await core.createNamespace({ body: { metadata: { name: 'plain' } } });
});

after(async () => {
  await api?.close();
  await webhook?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const pod = (name: string, annotations?: Record<string, string>): V1Pod => ({
  metadata: { name, labels: { app: name }, ...(annotations ? { annotations } : {}) },
  spec: { serviceAccountName: 'web', containers: [{ name: 'app', image: 'app:1', ports: [{ containerPort: 8080 }] }] },
});

test('a pod created in an injected namespace comes back with weft-init and weft-proxy, schema-valid', async () => {
  const created = await core.createNamespacedPod({ namespace: 'shop', body: pod('web-1') });
  assert.deepEqual(created.spec?.initContainers?.map((c) => c.name), [INIT_CONTAINER, PROXY_CONTAINER]);
  assert.equal(created.metadata?.annotations?.[ANNOTATIONS.opaquePorts], '5432', 'inherited through the namespace lookup');
  // JSON round trip: client-node turns timestamps into Dates.
  assert.ok(validatePod(JSON.parse(JSON.stringify({ apiVersion: 'v1', kind: 'Pod', ...created }))), ajv.errorsText(validatePod.errors, { separator: '\n' }));
  const call = api.admissionCalls.at(-1)!;
  assert.equal(call.webhook, INJECTOR_WEBHOOK.webhookName);
  assert.equal(call.request.namespace, 'shop');
});

test('a pod in a plain namespace is created unchanged; its own annotation opts it in', async () => {
  const plain = await core.createNamespacedPod({ namespace: 'plain', body: pod('web-2') });
  assert.equal(plain.spec?.initContainers, undefined);
  const optIn = await core.createNamespacedPod({ namespace: 'plain', body: pod('web-3', { [ANNOTATIONS.inject]: 'enabled' }) });
  assert.deepEqual(optIn.spec?.initContainers?.map((c) => c.name), [INIT_CONTAINER, PROXY_CONTAINER]);
});

test('failurePolicy Ignore: with the webhook down, pods are still created (unmeshed)', async () => {
  await webhook.close();
  const created = await core.createNamespacedPod({ namespace: 'shop', body: pod('web-4') });
  assert.equal(created.spec?.initContainers, undefined);
});
