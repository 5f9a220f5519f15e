// Reading a PKCS#10 certificate request (RFC 2986) for the identity service: its key, its subjectAltNames and
// whether its self-signature holds. DER walked directly and verified with node:crypto (no ASN.1 object model):
// this is the identity service's hot path.
import { createPublicKey, verify, type KeyObject } from 'node:crypto';
import { TAG, bytesOf, children, contentOf, fromPem, oid, readTlv, sameBytes } from './der';

const OID_EXTENSION_REQUEST = oid('1.2.840.113549.1.9.14');
const OID_SAN = oid('2.5.29.17');
const OID_ECDSA_SHA256 = oid('1.2.840.10045.4.3.2');
const MAX_CSR_DER_BYTES = 8192;

/** A subjectAltName entry: dns, uri, ip, email, or other (any other GeneralName form). */
export interface CsrName {
  type: 'dns' | 'uri' | 'ip' | 'email' | 'other';
  value: string;
}

export interface ParsedCsr {
  /** SubjectPublicKeyInfo, DER, exactly as in the request (the leaf certifies these bytes). */
  spkiDer: Uint8Array;
  publicKey: KeyObject;
  /** Key type as node:crypto names it ('ec', 'rsa', 'ed25519', …) and the curve for EC keys ('prime256v1' = P-256). */
  keyType: string;
  namedCurve: string | undefined;
  /** Number of subjectAltName extensions in the request's extensionRequest attribute. */
  sanExtensions: number;
  /** Entries of the (first) subjectAltName extension. */
  names: CsrName[];
  /** True when the request is signed with ECDSA-SHA256 by the private half of its own key. */
  signatureValid(): boolean;
}

const GENERAL_NAME_TAGS: Record<number, CsrName['type']> = { 0x81: 'email', 0x82: 'dns', 0x86: 'uri', 0x87: 'ip' };

function readNames(der: Uint8Array): CsrName[] {
  const seq = readTlv(der, 0);
  if (seq.tag !== TAG.sequence || seq.end !== der.length) throw new Error('subjectAltName is not a SEQUENCE');
  return children(der, seq).map((n) => {
    const type = GENERAL_NAME_TAGS[n.tag] ?? 'other';
    const raw = contentOf(der, n);
    const value = type === 'ip' ? [...raw].join('.') : type === 'other' ? `[${n.tag & 0x1f}]` : Buffer.from(raw).toString('latin1');
    return { type, value };
  });
}

/** Parses a PEM CSR; throws an Error saying what is wrong with it. Does not check the signature (see signatureValid). */
export function parseCsr(csrPem: string): ParsedCsr {
  const der = fromPem(csrPem, 'CERTIFICATE REQUEST');
  if (!der || der.length === 0) throw new Error('no PEM certificate request');
  if (der.length > MAX_CSR_DER_BYTES) throw new Error('request is too large');
  const top = readTlv(der, 0);
  if (top.tag !== TAG.sequence || top.end !== der.length) throw new Error('not a DER SEQUENCE');
  const [info, sigAlg, sig, ...extra] = children(der, top);
  if (!info || !sigAlg || !sig || extra.length > 0 || info.tag !== TAG.sequence || sigAlg.tag !== TAG.sequence || sig.tag !== TAG.bitString) {
    throw new Error('not a CertificationRequest (info, algorithm, signature)');
  }
  const [version, subject, spki, attributes] = children(der, info);
  if (!version || version.tag !== TAG.integer || !subject || subject.tag !== TAG.sequence || !spki || spki.tag !== TAG.sequence) {
    throw new Error('malformed CertificationRequestInfo');
  }
  const spkiDer = bytesOf(der, spki);
  const publicKey = createPublicKey({ key: Buffer.from(spkiDer), format: 'der', type: 'spki' });

  let sanExtensions = 0;
  let names: CsrName[] = [];
  if (attributes) {
    if (attributes.tag !== 0xa0) throw new Error('malformed attributes');
    for (const attr of children(der, attributes)) {
      const [type, values] = children(der, attr);
      if (!type || !values || !sameBytes(bytesOf(der, type), OID_EXTENSION_REQUEST)) continue;
      for (const exts of children(der, values)) {
        for (const ext of children(der, exts)) {
          const parts = children(der, ext);
          if (!parts[0] || !sameBytes(bytesOf(der, parts[0]), OID_SAN)) continue;
          const value = parts.at(-1)!;
          if (value.tag !== TAG.octetString) throw new Error('malformed subjectAltName extension');
          sanExtensions++;
          if (sanExtensions === 1) names = readNames(contentOf(der, value));
        }
      }
    }
  }
  const sigBits = contentOf(der, sig);
  const details = publicKey.asymmetricKeyDetails;
  return {
    spkiDer,
    publicKey,
    keyType: publicKey.asymmetricKeyType ?? 'unknown',
    namedCurve: details?.namedCurve,
    sanExtensions,
    names,
    signatureValid: () => {
      if (!sameBytes(bytesOf(der, children(der, sigAlg)[0] ?? sigAlg), OID_ECDSA_SHA256)) return false;
      if (sigBits.length < 2 || sigBits[0] !== 0) return false;
      try {
        return verify('sha256', bytesOf(der, info), { key: publicKey, dsaEncoding: 'der' }, sigBits.subarray(1));
      } catch {
        return false;
      }
    },
  };
}
