// The identity service's decision: given a CSR and a workload token, issue a leaf or refuse with a reason.
// No I/O: the issuer material, the token verifier and the clock are passed in; the HTTPS server wraps it.
import { identityName, parseIdentityName } from '../../config/identity';
import { DEFAULT_TRUST_DOMAIN } from '../../config/names';
import { DEFAULT_LEAF_LIFETIME_MS, type KeyPairPem } from './ca';
import { parseCsr, type ParsedCsr } from './csr';
import { leafSignerFor } from './leaf-signer';
import type { TokenVerifier } from './token';

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
export type CertifyRefusal = 'bad-csr' | 'bad-identity' | 'bad-token' | 'identity-mismatch' | 'token-check-unavailable';

export type CertifyResult =
  | { ok: true; identity: string; certificateChainPem: string; notBefore: Date; notAfter: Date }
  | { ok: false; status: 400 | 403 | 503; code: CertifyRefusal; reason: string };

const MAX_CSR_LENGTH = 16_384;

function refuse(status: 400 | 403 | 503, code: CertifyRefusal, reason: string): CertifyResult {
  return { ok: false, status, code, reason };
}

/** The CSR and its one requested name, or why it is not acceptable (before its signature is checked). */
function readCsr(csrPem: string): { csr: ParsedCsr; name: string } | { reason: string } {
  if (typeof csrPem !== 'string' || !csrPem.includes('-----BEGIN CERTIFICATE REQUEST-----')) {
    return { reason: 'csr is not a PEM certificate request' };
  }
  if (csrPem.length > MAX_CSR_LENGTH) return { reason: 'csr is too large' };
  let csr: ParsedCsr;
  try {
    csr = parseCsr(csrPem);
  } catch (err) {
    return { reason: `csr cannot be parsed (${(err as Error).message})` };
  }
  if (csr.keyType !== 'ec' || csr.namedCurve !== 'prime256v1') {
    const what = csr.namedCurve ? `${csr.keyType} ${csr.namedCurve}` : csr.keyType;
    return { reason: `csr key must be ECDSA P-256, got ${what}` };
  }
  if (csr.sanExtensions !== 1) return { reason: 'csr must carry exactly one subjectAltName extension' };
  if (csr.names.length !== 1 || csr.names[0]!.type !== 'dns') {
    const got = csr.names.map((n) => `${n.type}:${n.value}`).join(', ') || 'none';
    return { reason: `csr must name exactly one DNS subjectAltName (got ${got})` };
  }
  return { csr, name: csr.names[0]!.value };
}

/**
 * Checks the CSR (ECDSA P-256, valid self-signature, exactly one DNS SAN that is a Weft identity of our trust
 * domain), checks that the token proves that identity's ServiceAccount and namespace, then issues a leaf for the
 * CSR's key. Never throws for bad input: refusals are values (400 for a bad request, 403 for a bad token or a
 * name the token does not prove, 503 when the token could not be checked at all).
 */
export async function certify(
  req: CertifyRequest,
  issuer: KeyPairPem,
  verifier: TokenVerifier,
  opts: CertifyOptions = {},
): Promise<CertifyResult> {
  const read = readCsr(req.csrPem);
  if ('reason' in read) return refuse(400, 'bad-csr', read.reason);
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
  if (!verdict.ok) {
    // No decision on the token (its verifier's backend did not answer) is not a refusal of it.
    if (verdict.unavailable) return refuse(503, 'token-check-unavailable', `token not checked: ${verdict.reason}`);
    return refuse(403, 'bad-token', `token refused: ${verdict.reason}`);
  }
  if (verdict.serviceAccount !== wanted.serviceAccount || verdict.namespace !== wanted.namespace) {
    const proven = identityName({ serviceAccount: verdict.serviceAccount, namespace: verdict.namespace, trustDomain });
    return refuse(403, 'identity-mismatch', `csr asks for ${read.name} but the token is for ServiceAccount ${verdict.namespace}/${verdict.serviceAccount} (${proven})`);
  }
  if (!read.csr.signatureValid()) return refuse(400, 'bad-csr', 'csr self-signature does not verify (or is not ECDSA-SHA256)');
  const leaf = leafSignerFor(issuer).sign(read.name, read.csr.spkiDer, req.now, opts.leafLifetimeMs ?? DEFAULT_LEAF_LIFETIME_MS);
  return { ok: true, identity: read.name, certificateChainPem: leaf.chainPem, notBefore: leaf.notBefore, notAfter: leaf.notAfter };
}
