// The identity service's decision: given a CSR and a workload token, issue a leaf or refuse with a reason.
// No I/O: the issuer material, the token verifier and the clock are passed in; the HTTPS server wraps it.
import 'reflect-metadata';
import { webcrypto } from 'node:crypto';
import * as x509 from '@peculiar/x509';
import { identityName, parseIdentityName } from '../../config/identity';
import { DEFAULT_TRUST_DOMAIN } from '../../config/names';
import { DEFAULT_LEAF_LIFETIME_MS, issueLeafForPublicKey, type KeyPairPem } from './ca';
import type { TokenVerifier } from './token';

x509.cryptoProvider.set(webcrypto as unknown as Crypto);

export interface CertifyRequest {
  /** PKCS#10 CSR, PEM. */
  csrPem: string;
  /** The workload's token (local mode: mintLocalToken; Kubernetes: projected ServiceAccount token). */
  token: string;
  now: Date;
}

export interface CertifyOptions {
  /** Lifetime of issued leaves (default 24 h). */
  leafLifetimeMs?: number;
  /** The only trust domain this service issues for (default cluster.local). */
  trustDomain?: string;
}

/** Why a request was refused; stable strings, sent to the client in the JSON error. */
export type CertifyRefusal = 'bad-csr' | 'bad-identity' | 'bad-token' | 'identity-mismatch';

export type CertifyResult =
  | { ok: true; identity: string; certificateChainPem: string; notBefore: Date; notAfter: Date }
  | { ok: false; status: 400 | 403; code: CertifyRefusal; reason: string };

const SAN_OID = '2.5.29.17';
const MAX_CSR_LENGTH = 16_384;

function refuse(status: 400 | 403, code: CertifyRefusal, reason: string): CertifyResult {
  return { ok: false, status, code, reason };
}

/** The CSR's key and requested identity, or why it is not acceptable (before its signature is checked). */
function readCsr(csrPem: string): { csr: x509.Pkcs10CertificateRequest; name: string } | { reason: string; code: CertifyRefusal } {
  if (typeof csrPem !== 'string' || !csrPem.includes('-----BEGIN CERTIFICATE REQUEST-----')) {
    return { code: 'bad-csr', reason: 'csr is not a PEM certificate request' };
  }
  if (csrPem.length > MAX_CSR_LENGTH) return { code: 'bad-csr', reason: 'csr is too large' };
  let csr: x509.Pkcs10CertificateRequest;
  try {
    csr = new x509.Pkcs10CertificateRequest(csrPem);
  } catch (err) {
    return { code: 'bad-csr', reason: `csr cannot be parsed (${(err as Error).message})` };
  }
  const alg = csr.publicKey.algorithm as EcKeyAlgorithm;
  if (alg.name !== 'ECDSA' || alg.namedCurve !== 'P-256') {
    const what = alg.namedCurve ? `${alg.name} ${alg.namedCurve}` : alg.name;
    return { code: 'bad-csr', reason: `csr key must be ECDSA P-256, got ${what}` };
  }
  const sans = csr.extensions.filter((e) => e.type === SAN_OID);
  if (sans.length !== 1) return { code: 'bad-csr', reason: 'csr must carry exactly one subjectAltName extension' };
  let names: { type: string; value: string }[];
  try {
    names = new x509.SubjectAlternativeNameExtension(sans[0]!.rawData).names.items.map((n) => ({ type: n.type, value: n.value }));
  } catch (err) {
    return { code: 'bad-csr', reason: `csr subjectAltName cannot be parsed (${(err as Error).message})` };
  }
  if (names.length !== 1 || names[0]!.type !== 'dns') {
    const got = names.map((n) => `${n.type}:${n.value}`).join(', ') || 'none';
    return { code: 'bad-csr', reason: `csr must name exactly one DNS subjectAltName (got ${got})` };
  }
  return { csr, name: names[0]!.value };
}

/**
 * Checks the CSR (ECDSA P-256, valid self-signature, exactly one DNS SAN that is a Weft identity of our trust
 * domain), checks that the token proves that identity's ServiceAccount and namespace, then issues a leaf for the
 * CSR's key. Never throws for bad input: refusals are values (400 for a bad request, 403 for a bad token or a
 * name the token does not prove).
 */
export async function certify(
  req: CertifyRequest,
  issuer: KeyPairPem,
  verifier: TokenVerifier,
  opts: CertifyOptions = {},
): Promise<CertifyResult> {
  const read = readCsr(req.csrPem);
  if ('reason' in read) return refuse(400, read.code, read.reason);
  const trustDomain = opts.trustDomain ?? DEFAULT_TRUST_DOMAIN;
  const wanted = parseIdentityName(read.name);
  if (!wanted) {
    return refuse(400, 'bad-identity', `csr name ${JSON.stringify(read.name)} is not a Weft identity (<sa>.<ns>.serviceaccount.identity.weft.<trust-domain>)`);
  }
  if (wanted.trustDomain !== trustDomain) {
    return refuse(403, 'bad-identity', `csr name ${read.name} is outside trust domain ${trustDomain}`);
  }
  if (typeof req.token !== 'string' || req.token === '') return refuse(403, 'bad-token', 'token refused: no token');
  const verdict = await verifier.verify(req.token, req.now);
  if (!verdict.ok) return refuse(403, 'bad-token', `token refused: ${verdict.reason}`);
  if (verdict.serviceAccount !== wanted.serviceAccount || verdict.namespace !== wanted.namespace) {
    const proven = identityName({ serviceAccount: verdict.serviceAccount, namespace: verdict.namespace, trustDomain });
    return refuse(403, 'identity-mismatch', `csr asks for ${read.name} but the token is for ServiceAccount ${verdict.namespace}/${verdict.serviceAccount} (${proven})`);
  }
  let signed: boolean;
  try {
    signed = await read.csr.verify();
  } catch {
    signed = false;
  }
  if (!signed) return refuse(400, 'bad-csr', 'csr self-signature does not verify');
  const chain = await issueLeafForPublicKey(issuer, read.name, read.csr.publicKey, {
    lifetimeMs: opts.leafLifetimeMs ?? DEFAULT_LEAF_LIFETIME_MS,
    now: () => req.now,
  });
  return { ok: true, identity: read.name, certificateChainPem: chain.certPem, notBefore: chain.notBefore, notAfter: chain.notAfter };
}
