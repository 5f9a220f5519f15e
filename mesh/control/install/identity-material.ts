/**
 * The identity material `weft install` puts in the cluster: trust anchors and an issuer, either
 * generated (ECDSA P-256, as Linkerd; the anchor's private key is discarded, never stored) or
 * supplied by the user and checked here: the issuer chains to one of the anchors, its key matches
 * its certificate, it is a CA, it is an ECDSA P-256 key, and nothing has expired. Each refusal is an
 * InstallError naming the file and the next step.
 */
import { X509Certificate, createPrivateKey, createPublicKey } from 'node:crypto';
import { createIssuer, createTrustAnchor, splitPemCertificates, type KeyPairPem } from '../identity/ca';
import { DEFAULT_TRUST_DOMAIN } from '../../config/names';

export class InstallError extends Error {
  constructor(
    message: string,
    readonly hint: string,
  ) {
    super(message);
    this.name = 'InstallError';
  }
}

export interface SuppliedIdentity {
  trustAnchorsPem: string;
  issuerCertPem: string;
  issuerKeyPem: string;
  /** Names for messages (the file paths); default "trust anchors", "issuer certificate", "issuer key". */
  sources?: { trustAnchors?: string; issuerCert?: string; issuerKey?: string };
}

export interface IdentityMaterial {
  /** PEM bundle of every trust anchor. */
  trustAnchorsPem: string;
  /** The issuer: certificate (just the issuer's, no anchor) and PKCS#8 or SEC1 key. */
  issuer: KeyPairPem;
  generated: boolean;
}

const GEN_HINT = 'leave out the three --identity-* flags to let weft install generate them, or make a pair with `step certificate create identity.weft.cluster.local issuer.crt issuer.key --profile intermediate-ca --ca ca.crt --ca-key ca.key --no-password --insecure`';

function parseCerts(pem: string, what: string): X509Certificate[] {
  const blocks = splitPemCertificates(pem);
  if (blocks.length === 0) throw new InstallError(`${what} holds no PEM certificate (expected -----BEGIN CERTIFICATE-----)`, `check that ${what} is the certificate file, not the key; ${GEN_HINT}`);
  return blocks.map((b, i) => {
    try {
      return new X509Certificate(b);
    } catch (e) {
      throw new InstallError(`${what}: certificate ${i + 1} cannot be parsed: ${(e as Error).message}`, `regenerate ${what}; ${GEN_HINT}`);
    }
  });
}

function checkValidity(cert: X509Certificate, what: string, now: Date): void {
  const from = new Date(cert.validFrom);
  const to = new Date(cert.validTo);
  if (to.getTime() <= now.getTime()) throw new InstallError(`${what} expired on ${to.toISOString()}`, `issue a new one; ${GEN_HINT}`);
  if (from.getTime() > now.getTime()) throw new InstallError(`${what} is not valid before ${from.toISOString()} (this machine's clock says ${now.toISOString()})`, 'check the clock of this machine, or issue a certificate whose validity has begun');
}

/** Checks user-supplied anchors and issuer; returns them normalised, or throws an InstallError. */
export function validateSuppliedIdentity(s: SuppliedIdentity, now: Date = new Date()): IdentityMaterial {
  const names = { trustAnchors: s.sources?.trustAnchors ?? 'trust anchors', issuerCert: s.sources?.issuerCert ?? 'issuer certificate', issuerKey: s.sources?.issuerKey ?? 'issuer key' };
  const anchors = parseCerts(s.trustAnchorsPem, names.trustAnchors);
  anchors.forEach((a, i) => {
    const what = anchors.length > 1 ? `${names.trustAnchors} (certificate ${i + 1}, ${a.subject})` : names.trustAnchors;
    if (!a.ca) throw new InstallError(`${what} is not a CA certificate (basicConstraints CA:TRUE missing)`, `use the root certificate as the trust anchor; ${GEN_HINT}`);
    checkValidity(a, what, now);
  });
  const issuer = parseCerts(s.issuerCertPem, names.issuerCert)[0]!;
  if (!issuer.ca) throw new InstallError(`${names.issuerCert} is not a CA certificate (basicConstraints CA:TRUE missing): it cannot sign proxy certificates`, `issue it as an intermediate CA; ${GEN_HINT}`);
  checkValidity(issuer, names.issuerCert, now);
  const parent = anchors.find((a) => issuer.checkIssued(a) && issuer.verify(a.publicKey));
  if (!parent) {
    throw new InstallError(
      `${names.issuerCert} (${issuer.subject.replace(/\n/g, ', ')}, issued by ${issuer.issuer.replace(/\n/g, ', ')}) is not signed by any certificate in ${names.trustAnchors}`,
      `pass the trust anchor that signed the issuer, or issue the issuer from your anchor; ${GEN_HINT}`,
    );
  }
  let key;
  try {
    key = createPrivateKey(s.issuerKeyPem);
  } catch (e) {
    throw new InstallError(`${names.issuerKey} is not a readable private key: ${(e as Error).message}`, 'pass the unencrypted PEM key of the issuer (PKCS#8 or EC PRIVATE KEY)');
  }
  if (key.asymmetricKeyType !== 'ec' || key.asymmetricKeyDetails?.namedCurve !== 'prime256v1') {
    throw new InstallError(`${names.issuerKey} is a ${key.asymmetricKeyType ?? 'unknown'}${key.asymmetricKeyDetails?.namedCurve ? ` ${key.asymmetricKeyDetails.namedCurve}` : ''} key; Weft's issuer signs with ECDSA P-256`, `issue the issuer with an ECDSA P-256 key (--kty EC --crv P-256); ${GEN_HINT}`);
  }
  const spki = (k: ReturnType<typeof createPublicKey>) => k.export({ type: 'spki', format: 'der' }).toString('base64');
  if (spki(createPublicKey(key)) !== spki(issuer.publicKey)) {
    throw new InstallError(`${names.issuerKey} does not match ${names.issuerCert} (different public keys)`, 'pass the key that was generated together with the issuer certificate');
  }
  // Kept byte for byte (re-installing with the cluster's own files changes nothing), except a SEC1
  // key, which becomes PKCS#8: the identity service imports PKCS#8.
  const keyPem = /-----BEGIN PRIVATE KEY-----/.test(s.issuerKeyPem) ? s.issuerKeyPem : key.export({ type: 'pkcs8', format: 'pem' }).toString();
  return { trustAnchorsPem: s.trustAnchorsPem, issuer: { certPem: s.issuerCertPem, keyPem }, generated: false };
}

/** A fresh anchor and issuer (ECDSA P-256, one year), as `weft install` makes them when none is given. */
export async function generateIdentity(opts: { trustDomain?: string; now?: () => Date } = {}): Promise<IdentityMaterial> {
  const td = opts.trustDomain ?? DEFAULT_TRUST_DOMAIN;
  const anchor = await createTrustAnchor({ commonName: `root.weft.${td}`, now: opts.now });
  const issuer = await createIssuer(anchor, { commonName: `identity.weft.${td}`, now: opts.now });
  return { trustAnchorsPem: anchor.certPem, issuer, generated: true };
}
