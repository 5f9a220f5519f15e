/**
 * The webhook's serving certificate: the API server calls `https://<service>.<namespace>.svc:<port>`
 * and checks that name against the certificate, trusting only the configuration's caBundle. So the
 * injector gets its own small CA (self-signed, ECDSA P-256, as Linkerd's webhooks) and a leaf whose
 * DNS SANs are the Service's names. Pure apart from key generation; `weft install` prints both.
 */
import 'reflect-metadata';
import { randomBytes, webcrypto } from 'node:crypto';
import * as x509 from '@peculiar/x509';
import { CONTROL_PLANE_NAMESPACE } from '../../config/names';
import { INJECTOR_WEBHOOK } from '../../config/injector';
import { createTrustAnchor, splitPemCertificates, CLOCK_SKEW_ALLOWANCE_MS, type CaClock, type KeyPairPem } from '../identity/ca';

x509.cryptoProvider.set(webcrypto as unknown as Crypto);

const EC_KEYGEN: EcKeyGenParams = { name: 'ECDSA', namedCurve: 'P-256' };
const EC_SIGN: EcdsaParams = { name: 'ECDSA', hash: 'SHA-256' };
const YEAR_MS = 365 * 24 * 3_600_000;

/** The names the API server may use for a Service: `<svc>.<ns>.svc` is the one it checks. */
export function serviceDnsNames(service: string, namespace: string): string[] {
  return [`${service}.${namespace}.svc`, `${service}.${namespace}.svc.cluster.local`, `${service}.${namespace}`, service];
}

export interface WebhookCertificates {
  /** The CA: its certPem is the MutatingWebhookConfiguration's caBundle. */
  ca: KeyPairPem;
  /** The serving leaf (certPem = leaf + CA) and its PKCS#8 key. */
  serving: KeyPairPem;
}

export interface WebhookCertificateOptions extends CaClock {
  service?: string;
  namespace?: string;
  /** Lifetime of the CA and of the leaf (default one year; `weft check` warns 60 days before the end). */
  lifetimeMs?: number;
}

/** A serving certificate for the webhook Service, signed by `ca` (which must be an ECDSA P-256 CA). */
export async function issueWebhookServingCertificate(ca: KeyPairPem, opts: WebhookCertificateOptions = {}): Promise<KeyPairPem> {
  const service = opts.service ?? INJECTOR_WEBHOOK.service;
  const namespace = opts.namespace ?? CONTROL_PLANE_NAMESPACE;
  const caPem = splitPemCertificates(ca.certPem)[0];
  if (!caPem) throw new Error('webhook CA: no certificate in PEM');
  const caCert = new x509.X509Certificate(caPem);
  const signingKey = await webcrypto.subtle.importKey('pkcs8', x509.PemConverter.decodeFirst(ca.keyPem), EC_KEYGEN, false, ['sign']);
  const keys = (await webcrypto.subtle.generateKey(EC_KEYGEN, true, ['sign', 'verify'])) as CryptoKeyPair;
  const now = (opts.now ?? (() => new Date()))();
  const serial = randomBytes(16);
  serial[0] = (serial[0]! & 0x7f) || 1;
  const notAfter = new Date(Math.min(now.getTime() + (opts.lifetimeMs ?? YEAR_MS), caCert.notAfter.getTime()));
  const names = serviceDnsNames(service, namespace);
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: serial.toString('hex'),
    subject: `CN=${names[0]}`,
    issuer: caCert.subject,
    notBefore: new Date(Math.max(now.getTime() - CLOCK_SKEW_ALLOWANCE_MS, caCert.notBefore.getTime())),
    notAfter,
    publicKey: keys.publicKey,
    signingKey,
    signingAlgorithm: EC_SIGN,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyAgreement, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
      new x509.SubjectAlternativeNameExtension(names.map((value) => ({ type: 'dns' as const, value }))),
      await x509.AuthorityKeyIdentifierExtension.create(caCert),
    ],
  });
  const der = await webcrypto.subtle.exportKey('pkcs8', keys.privateKey);
  return { certPem: `${cert.toString('pem')}\n${caCert.toString('pem')}\n`, keyPem: x509.PemConverter.encode(der, 'PRIVATE KEY') };
}

/** A fresh webhook CA and a serving certificate for the injector Service. */
export async function createWebhookCertificates(opts: WebhookCertificateOptions = {}): Promise<WebhookCertificates> {
  const ca = await createTrustAnchor({ commonName: `webhook.${INJECTOR_WEBHOOK.webhookName}`, lifetimeMs: opts.lifetimeMs ?? YEAR_MS, now: opts.now });
  return { ca, serving: await issueWebhookServingCertificate(ca, opts) };
}
