// Certificate issuance for Weft identities: trust anchor (root CA) → issuer (intermediate CA) → leaf.
// ECDSA P-256 everywhere (Linkerd's model), built with @peculiar/x509 over Node's WebCrypto.
// Pure apart from writeIdentityDir; the identity service and the dev tooling both reuse it.
import 'reflect-metadata';
import { webcrypto, randomBytes } from 'node:crypto';
import * as x509 from '@peculiar/x509';
import { identityFilePaths, writeIdentityDir } from './identity-files';
import { parseIdentityName } from '../../config/identity';
import { DEFAULT_TRUST_DOMAIN } from '../../config/names';

x509.cryptoProvider.set(webcrypto as unknown as Crypto);

export interface KeyPairPem {
  certPem: string;
  /** PKCS#8 PEM. */
  keyPem: string;
}

// The identity directory's files live in identity-files.ts (the proxy needs them without x509).
export { IDENTITY_FILES, identityFilePaths, writeIdentityDir } from './identity-files';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
/** Linkerd's defaults: anchors and issuers live a year, leaves a day. */
export const DEFAULT_ANCHOR_LIFETIME_MS = 365 * DAY;
export const DEFAULT_ISSUER_LIFETIME_MS = 365 * DAY;
export const DEFAULT_LEAF_LIFETIME_MS = DAY;
/** Certificates start this far in the past so that small clock skew between machines does not reject them. */
export const CLOCK_SKEW_ALLOWANCE_MS = 60_000;

const EC_KEYGEN: EcKeyGenParams = { name: 'ECDSA', namedCurve: 'P-256' };
const EC_SIGN: EcdsaParams = { name: 'ECDSA', hash: 'SHA-256' };

export interface CaClock {
  /** Injectable clock for tests; defaults to the wall clock. */
  now?: () => Date;
}

async function generateKeys(): Promise<CryptoKeyPair> {
  return (await webcrypto.subtle.generateKey(EC_KEYGEN, true, ['sign', 'verify'])) as CryptoKeyPair;
}

async function exportKeyPem(key: CryptoKey): Promise<string> {
  const der = await webcrypto.subtle.exportKey('pkcs8', key);
  return x509.PemConverter.encode(der, 'PRIVATE KEY');
}

/** Imported signing keys, by PEM, so that issuing many leaves does not re-import the issuer key each time. */
const signingKeys = new Map<string, Promise<CryptoKey>>();
function importSigningKey(keyPem: string): Promise<CryptoKey> {
  let key = signingKeys.get(keyPem);
  if (!key) {
    const der = x509.PemConverter.decodeFirst(keyPem);
    key = webcrypto.subtle.importKey('pkcs8', der, EC_KEYGEN, false, ['sign']) as Promise<CryptoKey>;
    key.catch(() => signingKeys.delete(keyPem));
    if (signingKeys.size > 32) signingKeys.clear();
    signingKeys.set(keyPem, key);
  }
  return key;
}

/** Splits a PEM bundle into its certificate blocks (each ending with a newline). */
export function splitPemCertificates(pem: string): string[] {
  return pem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g)?.map((b) => `${b}\n`) ?? [];
}

function firstCertificate(pem: string, what: string): x509.X509Certificate {
  const first = splitPemCertificates(pem)[0];
  if (!first) throw new Error(`${what}: no certificate in PEM`);
  return new x509.X509Certificate(first);
}

function serial(): string {
  const bytes = randomBytes(16);
  bytes[0] &= 0x7f; // positive INTEGER
  if (bytes[0] === 0) bytes[0] = 1;
  return bytes.toString('hex');
}

function validity(now: Date, lifetimeMs: number, notBefore?: Date): { notBefore: Date; notAfter: Date } {
  if (!(lifetimeMs > 0)) throw new Error(`certificate lifetime must be positive, got ${lifetimeMs} ms`);
  const start = notBefore ?? new Date(now.getTime() - CLOCK_SKEW_ALLOWANCE_MS);
  // A given notBefore is taken as the start of the lifetime; otherwise the lifetime counts from now.
  const end = new Date((notBefore ? start.getTime() : now.getTime()) + lifetimeMs);
  return { notBefore: start, notAfter: end };
}

async function caCertificate(opts: {
  commonName: string;
  lifetimeMs: number;
  now: Date;
  keys: CryptoKeyPair;
  signer?: { cert: x509.X509Certificate; key: CryptoKey };
  pathLength?: number;
}): Promise<x509.X509Certificate> {
  const { notBefore, notAfter } = validity(opts.now, opts.lifetimeMs);
  const extensions: x509.Extension[] = [
    new x509.BasicConstraintsExtension(true, opts.pathLength, true),
    new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
    await x509.SubjectKeyIdentifierExtension.create(opts.keys.publicKey),
  ];
  const name = `CN=${opts.commonName}`;
  if (!opts.signer) {
    return x509.X509CertificateGenerator.createSelfSigned({
      serialNumber: serial(),
      name,
      notBefore,
      notAfter,
      keys: opts.keys,
      signingAlgorithm: EC_SIGN,
      extensions,
    });
  }
  extensions.push(await x509.AuthorityKeyIdentifierExtension.create(opts.signer.cert));
  return x509.X509CertificateGenerator.create({
    serialNumber: serial(),
    subject: name,
    issuer: opts.signer.cert.subject,
    notBefore: new Date(Math.max(notBefore.getTime(), opts.signer.cert.notBefore.getTime())),
    notAfter: new Date(Math.min(notAfter.getTime(), opts.signer.cert.notAfter.getTime())),
    publicKey: opts.keys.publicKey,
    signingKey: opts.signer.key,
    signingAlgorithm: EC_SIGN,
    extensions,
  });
}

/** A self-signed root CA: the trust anchor every proxy of the mesh trusts. */
export async function createTrustAnchor(
  opts: { commonName?: string; lifetimeMs?: number } & CaClock = {},
): Promise<KeyPairPem> {
  const keys = await generateKeys();
  const cert = await caCertificate({
    commonName: opts.commonName ?? 'root.weft.cluster.local',
    lifetimeMs: opts.lifetimeMs ?? DEFAULT_ANCHOR_LIFETIME_MS,
    now: (opts.now ?? (() => new Date()))(),
    keys,
  });
  return { certPem: cert.toString('pem') + '\n', keyPem: await exportKeyPem(keys.privateKey) };
}

/** An intermediate CA signed by the anchor; it signs the leaves. Its lifetime is capped by the anchor's. */
export async function createIssuer(
  anchor: KeyPairPem,
  opts: { commonName?: string; lifetimeMs?: number } & CaClock = {},
): Promise<KeyPairPem> {
  const keys = await generateKeys();
  const cert = await caCertificate({
    commonName: opts.commonName ?? 'identity.weft.cluster.local',
    lifetimeMs: opts.lifetimeMs ?? DEFAULT_ISSUER_LIFETIME_MS,
    now: (opts.now ?? (() => new Date()))(),
    keys,
    signer: { cert: firstCertificate(anchor.certPem, 'trust anchor'), key: await importSigningKey(anchor.keyPem) },
    pathLength: 0,
  });
  return { certPem: cert.toString('pem') + '\n', keyPem: await exportKeyPem(keys.privateKey) };
}

/** The SPIFFE ID of a Weft identity: spiffe://<trust-domain>/ns/<ns>/sa/<sa>. */
export function spiffeId(identity: string): string {
  const id = parseIdentityName(identity);
  if (!id) throw new Error(`not a Weft identity: ${JSON.stringify(identity)}`);
  return `spiffe://${id.trustDomain}/ns/${id.namespace}/sa/${id.serviceAccount}`;
}

/** A leaf certificate chain issued for a public key the caller holds the private half of (e.g. from a CSR). */
export interface IssuedChain {
  /** Leaf followed by the issuer certificate (the chain a proxy presents). */
  certPem: string;
  notBefore: Date;
  notAfter: Date;
}

/**
 * Issues a leaf for `identity` over `publicKey` (DNS SAN = identity, URI SAN = its SPIFFE ID), valid for client
 * and server auth. The identity service uses this with the public key of a CSR; the private key never leaves
 * the proxy.
 */
export async function issueLeafForPublicKey(
  issuer: KeyPairPem,
  identity: string,
  publicKey: x509.PublicKeyType,
  opts: { lifetimeMs?: number; notBefore?: Date } & CaClock = {},
): Promise<IssuedChain> {
  const uri = spiffeId(identity);
  const issuerCert = firstCertificate(issuer.certPem, 'issuer');
  const signingKey = await importSigningKey(issuer.keyPem);
  const { notBefore, notAfter } = validity(
    (opts.now ?? (() => new Date()))(),
    opts.lifetimeMs ?? DEFAULT_LEAF_LIFETIME_MS,
    opts.notBefore,
  );
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: serial(),
    subject: `CN=${identity}`,
    issuer: issuerCert.subject,
    notBefore,
    notAfter,
    publicKey,
    signingKey,
    signingAlgorithm: EC_SIGN,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyAgreement, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth, x509.ExtendedKeyUsage.clientAuth]),
      new x509.SubjectAlternativeNameExtension([
        { type: 'dns', value: identity },
        { type: 'url', value: uri },
      ]),
      await x509.AuthorityKeyIdentifierExtension.create(issuerCert),
    ],
  });
  return { certPem: cert.toString('pem') + '\n' + issuerCert.toString('pem') + '\n', notBefore, notAfter };
}

/**
 * Issues a leaf for `identity` with a fresh key pair (DNS SAN = identity, URI SAN = its SPIFFE ID).
 * certPem = leaf followed by the issuer certificate (the chain a proxy presents).
 */
export async function issueLeaf(
  issuer: KeyPairPem,
  identity: string,
  opts: { lifetimeMs?: number; notBefore?: Date } & CaClock = {},
): Promise<KeyPairPem> {
  spiffeId(identity); // refuse a bad name before generating keys
  const keys = await generateKeys();
  const [chain, keyPem] = await Promise.all([
    issueLeafForPublicKey(issuer, identity, keys.publicKey, opts),
    exportKeyPem(keys.privateKey),
  ]);
  return { certPem: chain.certPem, keyPem };
}

/** A throwaway CA for the local mode, the demo and tests. */
export interface DevCa {
  anchor: KeyPairPem;
  issuer: KeyPairPem;
  /** Issues a leaf (chain + key) for an identity name. */
  issue(identity: string, opts?: { lifetimeMs?: number; notBefore?: Date }): Promise<KeyPairPem>;
  /** Issues a leaf and writes it, with the anchor, as an identity directory; returns the file paths. */
  writeIdentity(
    dir: string,
    identity: string,
    opts?: { lifetimeMs?: number; notBefore?: Date },
  ): Promise<{ certFile: string; keyFile: string; trustAnchorsFile: string }>;
}

export async function createDevCa(
  opts: { trustDomain?: string; anchorLifetimeMs?: number; issuerLifetimeMs?: number } & CaClock = {},
): Promise<DevCa> {
  const suffix = opts.trustDomain ?? DEFAULT_TRUST_DOMAIN;
  const anchor = await createTrustAnchor({ commonName: `root.weft.${suffix}`, lifetimeMs: opts.anchorLifetimeMs, now: opts.now });
  const issuer = await createIssuer(anchor, {
    commonName: `identity.weft.${suffix}`,
    lifetimeMs: opts.issuerLifetimeMs,
    now: opts.now,
  });
  const issue = (identity: string, o: { lifetimeMs?: number; notBefore?: Date } = {}) =>
    issueLeaf(issuer, identity, { ...o, now: opts.now });
  return {
    anchor,
    issuer,
    issue,
    async writeIdentity(dir, identity, o) {
      await writeIdentityDir(dir, anchor.certPem, await issue(identity, o));
      return identityFilePaths(dir);
    },
  };
}

/** The three file paths of an identity directory, in the shape IdentityCerts.load takes. */
