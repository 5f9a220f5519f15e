// Leaf certificates for CSR keys, written as DER from a per-issuer template and signed with node:crypto.
// Same profile as ca.ts issueLeaf (a test checks the extensions are byte-identical), ~10× cheaper than building
// them through an ASN.1 object model: the identity service issues one per proxy per day, in bursts at rollout.
import { X509Certificate, createHash, createPrivateKey, randomBytes, sign, type KeyObject } from 'node:crypto';
import { parseIdentityName } from '../../config/identity';
import { CLOCK_SKEW_ALLOWANCE_MS, DEFAULT_LEAF_LIFETIME_MS, splitPemCertificates, type KeyPairPem } from './ca';
import { TAG, bytesOf, children, contentOf, oid, readTlv, sameBytes, time, tlv, toPem } from './der';

const ECDSA_SHA256 = tlv(TAG.sequence, oid('1.2.840.10045.4.3.2'));
const OID_SKI = oid('2.5.29.14');
const OID_CN = oid('2.5.4.3');
const VERSION_3 = tlv(0xa0, tlv(TAG.integer, Buffer.from([2])));
const TRUE = tlv(TAG.boolean, Buffer.from([0xff]));

/** basicConstraints (critical, not a CA), keyUsage (critical, digitalSignature + keyAgreement), EKU server + client. */
const FIXED_EXTENSIONS = Buffer.concat([
  tlv(TAG.sequence, oid('2.5.29.19'), TRUE, tlv(TAG.octetString, tlv(TAG.sequence))),
  tlv(TAG.sequence, oid('2.5.29.15'), TRUE, tlv(TAG.octetString, tlv(TAG.bitString, Buffer.from([0x03, 0x88])))),
  tlv(
    TAG.sequence,
    oid('2.5.29.37'),
    tlv(TAG.octetString, tlv(TAG.sequence, oid('1.3.6.1.5.5.7.3.1'), oid('1.3.6.1.5.5.7.3.2'))),
  ),
]);

export interface SignedLeaf {
  /** Leaf followed by the issuer certificate. */
  chainPem: string;
  notBefore: Date;
  notAfter: Date;
}

function serialNumber(): Buffer {
  const bytes = randomBytes(16);
  bytes[0]! &= 0x7f; // positive INTEGER
  if (bytes[0] === 0) bytes[0] = 1; // minimal encoding
  return tlv(TAG.integer, bytes);
}

/** The issuer's subject Name (DER) and key identifier, read from its certificate. */
function issuerFacts(certDer: Uint8Array): { subject: Uint8Array; keyId: Uint8Array } {
  const cert = readTlv(certDer, 0);
  const tbs = children(certDer, cert)[0]!;
  const f = children(certDer, tbs);
  const i = f[0]?.tag === 0xa0 ? 1 : 0; // explicit version present
  const subject = bytesOf(certDer, f[i + 4]!);
  const spki = f[i + 5]!;
  let keyId: Uint8Array | undefined;
  const extsWrapper = f.find((t) => t.tag === 0xa3);
  if (extsWrapper) {
    for (const ext of children(certDer, children(certDer, extsWrapper)[0]!)) {
      const parts = children(certDer, ext);
      if (parts[0] && sameBytes(bytesOf(certDer, parts[0]), OID_SKI)) {
        const inner = contentOf(certDer, parts.at(-1)!);
        keyId = contentOf(inner, readTlv(inner, 0));
      }
    }
  }
  if (!keyId) {
    // RFC 5280 §4.2.1.2 method 1: SHA-1 of the subjectPublicKey BIT STRING (without its unused-bits byte).
    const bits = children(certDer, spki)[1]!;
    keyId = createHash('sha1').update(contentOf(certDer, bits).subarray(1)).digest();
  }
  return { subject, keyId };
}

/** Signs leaves for one issuer; build once and reuse (the issuer key and name are prepared here). */
export class LeafSigner {
  private readonly key: KeyObject;
  private readonly issuerName: Uint8Array;
  private readonly authorityKeyId: Buffer;
  private readonly issuerPem: string;
  private readonly issuerNotAfter: Date;

  constructor(issuer: KeyPairPem) {
    const first = splitPemCertificates(issuer.certPem)[0];
    if (!first) throw new Error('issuer: no certificate in PEM');
    const cert = new X509Certificate(first);
    if (!cert.ca) throw new Error(`issuer ${cert.subject} is not a CA certificate`);
    this.key = createPrivateKey(issuer.keyPem);
    if (!cert.checkPrivateKey(this.key)) throw new Error('issuer key does not match the issuer certificate');
    const facts = issuerFacts(cert.raw);
    this.issuerName = facts.subject;
    this.authorityKeyId = tlv(TAG.sequence, oid('2.5.29.35'), tlv(TAG.octetString, tlv(TAG.sequence, tlv(0x80, facts.keyId))));
    this.issuerPem = toPem(cert.raw, 'CERTIFICATE');
    this.issuerNotAfter = new Date(cert.validTo);
  }

  /**
   * A leaf for `identity` over `spkiDer` (DNS SAN = identity, URI SAN = SPIFFE ID), valid from a minute before
   * `now` for `lifetimeMs`, never past the issuer's own expiry.
   */
  sign(identity: string, spkiDer: Uint8Array, now: Date, lifetimeMs = DEFAULT_LEAF_LIFETIME_MS): SignedLeaf {
    const id = parseIdentityName(identity);
    if (!id) throw new Error(`not a Weft identity: ${JSON.stringify(identity)}`);
    if (!(lifetimeMs > 0)) throw new Error(`certificate lifetime must be positive, got ${lifetimeMs} ms`);
    const notBefore = new Date(now.getTime() - CLOCK_SKEW_ALLOWANCE_MS);
    const notAfter = new Date(Math.min(now.getTime() + lifetimeMs, this.issuerNotAfter.getTime()));
    const spiffe = `spiffe://${id.trustDomain}/ns/${id.namespace}/sa/${id.serviceAccount}`;
    const san = tlv(
      TAG.sequence,
      oid('2.5.29.17'),
      tlv(TAG.octetString, tlv(TAG.sequence, tlv(0x82, Buffer.from(identity, 'ascii')), tlv(0x86, Buffer.from(spiffe, 'ascii')))),
    );
    const tbs = tlv(
      TAG.sequence,
      VERSION_3,
      serialNumber(),
      ECDSA_SHA256,
      this.issuerName,
      tlv(TAG.sequence, time(notBefore), time(notAfter)),
      tlv(TAG.sequence, tlv(TAG.set, tlv(TAG.sequence, OID_CN, tlv(TAG.utf8String, Buffer.from(identity, 'utf8'))))),
      spkiDer,
      tlv(0xa3, tlv(TAG.sequence, FIXED_EXTENSIONS, san, this.authorityKeyId)),
    );
    const signature = sign('sha256', tbs, { key: this.key, dsaEncoding: 'der' });
    const cert = tlv(TAG.sequence, tbs, ECDSA_SHA256, tlv(TAG.bitString, Buffer.from([0]), signature));
    // Times in the certificate are whole seconds: report what it says.
    const second = (d: Date): Date => new Date(Math.floor(d.getTime() / 1000) * 1000);
    return { chainPem: toPem(cert, 'CERTIFICATE') + this.issuerPem, notBefore: second(notBefore), notAfter: second(notAfter) };
  }
}

const signers = new Map<string, LeafSigner>();
/** One LeafSigner per issuer (by PEM), so the key and name are prepared once. */
export function leafSignerFor(issuer: KeyPairPem): LeafSigner {
  const k = issuer.certPem + issuer.keyPem;
  let s = signers.get(k);
  if (!s) {
    s = new LeafSigner(issuer);
    if (signers.size > 16) signers.clear();
    signers.set(k, s);
  }
  return s;
}
