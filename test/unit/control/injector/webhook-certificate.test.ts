import { test } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { createWebhookCertificates, issueWebhookServingCertificate, serviceDnsNames } from '../../../../mesh/control/injector/webhook-certificate';
import { splitPemCertificates } from '../../../../mesh/control/identity/ca';

test('the serving leaf names the Service as the API server calls it, chains to the CA, serves TLS only', async () => {
  const { ca, serving } = await createWebhookCertificates();
  const [leafPem, caInChain] = splitPemCertificates(serving.certPem);
  const leaf = new X509Certificate(leafPem!);
  const caCert = new X509Certificate(ca.certPem);
  assert.equal(caInChain, splitPemCertificates(ca.certPem)[0]);
  assert.ok(caCert.ca);
  assert.ok(!leaf.ca);
  assert.ok(leaf.verify(caCert.publicKey), 'signed by the webhook CA');
  assert.equal(leaf.checkHost('weft-proxy-injector.weft.svc'), 'weft-proxy-injector.weft.svc');
  assert.equal(leaf.checkHost('weft-proxy-injector.weft.svc.cluster.local'), 'weft-proxy-injector.weft.svc.cluster.local');
  assert.equal(leaf.checkHost('weft-proxy-injector.other.svc'), undefined);
  assert.deepEqual(leaf.keyUsage, ['1.3.6.1.5.5.7.3.1'], 'serverAuth only');
});

test('service, namespace and lifetime options; the leaf never outlives its CA', async () => {
  const { ca } = await createWebhookCertificates({ lifetimeMs: 30 * 86_400_000 });
  const leafPem = (await issueWebhookServingCertificate(ca, { service: 'inj', namespace: 'mesh', lifetimeMs: 400 * 86_400_000 })).certPem;
  const leaf = new X509Certificate(splitPemCertificates(leafPem)[0]!);
  assert.equal(leaf.checkHost('inj.mesh.svc'), 'inj.mesh.svc');
  assert.ok(new Date(leaf.validTo).getTime() <= new Date(new X509Certificate(ca.certPem).validTo).getTime());
  assert.deepEqual(serviceDnsNames('inj', 'mesh'), ['inj.mesh.svc', 'inj.mesh.svc.cluster.local', 'inj.mesh', 'inj']);
  await assert.rejects(issueWebhookServingCertificate({ certPem: 'nope', keyPem: ca.keyPem }), /no certificate/);
});
