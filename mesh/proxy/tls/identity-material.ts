// Validation of a proxy's identity material (chain, key, trust anchors), without I/O.
// Load and reload both go through validateIdentityMaterial; every failure names the file and the problem.
import { X509Certificate, createPrivateKey, type KeyObject } from 'node:crypto';
import { parseIdentityName } from '../../config/identity';

export interface IdentityMaterialPem {
  /** Leaf followed by its issuer(s). */
  certPem: string;
  keyPem: string;
  trustAnchorsPem: string;
}

/** Names used in error messages (usually the file base names: tls.crt, tls.key, ca.crt). */
export interface MaterialLabels {
  cert: string;
  key: string;
  trustAnchors: string;
}

export interface ValidatedIdentity {
  identity: string;
  notBefore: Date;
  notAfter: Date;
  leaf: X509Certificate;
}

const MAX_CHAIN_DEPTH = 4;

export function splitPem(pem: string): string[] {
  return pem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
}

function parseCerts(pem: string, label: string): X509Certificate[] {
  const blocks = splitPem(pem);
  if (blocks.length === 0) throw new Error(`${label}: no PEM certificate found`);
  return blocks.map((b, i) => {
    try {
      return new X509Certificate(b);
    } catch (err) {
      throw new Error(`${label}: certificate #${i + 1} cannot be parsed (${(err as Error).message})`);
    }
  });
}

/** DNS names in a subjectAltName string as Node prints it ("DNS:a, URI:b, …"). */
export function dnsNamesOf(subjectAltName: string | undefined): string[] {
  if (!subjectAltName) return [];
  return subjectAltName
    .split(/,\s*/)
    .filter((part) => part.startsWith('DNS:'))
    .map((part) => part.slice(4));
}

/** The Weft identity a certificate carries as a DNS SAN, or undefined. */
export function weftIdentityOf(cert: { subjectAltName?: string }): string | undefined {
  return dnsNamesOf(cert.subjectAltName).find((n) => parseIdentityName(n) !== undefined);
}

function checkTime(cert: X509Certificate, now: Date, label: string, what: string): void {
  const from = new Date(cert.validFrom);
  const to = new Date(cert.validTo);
  if (now.getTime() > to.getTime()) throw new Error(`${label}: ${what} expired at ${to.toISOString()}`);
  if (now.getTime() < from.getTime()) throw new Error(`${label}: ${what} is not valid before ${from.toISOString()}`);
}

function issuedBy(child: X509Certificate, parent: X509Certificate): boolean {
  return parent.ca && child.checkIssued(parent) && child.verify(parent.publicKey);
}

/**
 * Checks that the key matches the leaf, the leaf chains to one of the anchors through the bundled
 * intermediates, nothing in the path is expired, and the leaf's SAN is a Weft identity.
 * Throws an Error naming the file and the problem.
 */
export function validateIdentityMaterial(
  pem: IdentityMaterialPem,
  labels: MaterialLabels,
  now: Date = new Date(),
): ValidatedIdentity {
  const chain = parseCerts(pem.certPem, labels.cert);
  const anchors = parseCerts(pem.trustAnchorsPem, labels.trustAnchors);
  const leaf = chain[0];

  let key: KeyObject;
  try {
    key = createPrivateKey(pem.keyPem);
  } catch (err) {
    throw new Error(`${labels.key}: private key cannot be parsed (${(err as Error).message})`);
  }
  if (!leaf.checkPrivateKey(key)) {
    throw new Error(`${labels.key}: private key does not match the certificate in ${labels.cert}`);
  }

  const identity = weftIdentityOf(leaf);
  if (!identity) {
    throw new Error(
      `${labels.cert}: certificate carries no Weft identity as a DNS SAN (SAN: ${leaf.subjectAltName ?? 'none'})`,
    );
  }
  checkTime(leaf, now, labels.cert, 'certificate');

  // Walk up from the leaf through the bundled intermediates until an anchor signs the current certificate.
  const intermediates = chain.slice(1);
  let current = leaf;
  for (let depth = 0; ; depth++) {
    const anchor = anchors.find((a) => issuedBy(current, a));
    if (anchor) {
      checkTime(anchor, now, labels.trustAnchors, 'trust anchor');
      break;
    }
    const next = intermediates.find((c) => c !== current && issuedBy(current, c));
    if (!next || depth >= MAX_CHAIN_DEPTH) {
      throw new Error(
        `${labels.cert}: certificate chain does not lead to a trust anchor in ${labels.trustAnchors} ` +
          `(no signer found for "${current.subject.replace(/\n/g, ', ')}", issued by "${current.issuer.replace(/\n/g, ', ')}")`,
      );
    }
    checkTime(next, now, labels.cert, `issuer certificate "${next.subject.replace(/\n/g, ', ')}"`);
    current = next;
  }

  return { identity, notBefore: new Date(leaf.validFrom), notAfter: new Date(leaf.validTo), leaf };
}
