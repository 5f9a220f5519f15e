// Workload tokens the identity service accepts as proof of a ServiceAccount.
// TokenVerifier is the seam: the local mode verifies HMAC-signed tokens minted by the local runner; a Kubernetes
// TokenReview verifier (audience IDENTITY_TOKEN_AUDIENCE) implements the same interface later.
import { createHmac, timingSafeEqual } from 'node:crypto';

/** Who a token proves the bearer to be. */
export interface TokenSubject {
  serviceAccount: string;
  namespace: string;
}

/**
 * A refusal, or no decision: `unavailable` says the verifier could not ask what it relies on (the
 * Kubernetes API did not answer), so the token was neither accepted nor rejected and a retry may work.
 */
export type TokenVerdict = ({ ok: true } & TokenSubject) | { ok: false; reason: string; unavailable?: true };

export interface TokenVerifier {
  /** Never throws: a refused token is a verdict with a reason that can be shown to the caller. */
  verify(token: string, now: Date): Promise<TokenVerdict>;
}

/** Claims of a local-mode token: ServiceAccount, namespace, expiry in seconds since the epoch. */
export interface LocalTokenClaims {
  sa: string;
  ns: string;
  exp: number;
}

/** Local tokens are at most this long; anything longer is refused before any parsing. */
const MAX_TOKEN_LENGTH = 4096;
/** Refuse secrets too short to be a key (HMAC-SHA256 wants at least 32 bytes). */
export const MIN_LOCAL_SECRET_BYTES = 32;

function toKey(secret: string | Uint8Array): Buffer {
  const key = typeof secret === 'string' ? Buffer.from(secret, 'utf8') : Buffer.from(secret);
  if (key.length < MIN_LOCAL_SECRET_BYTES) {
    throw new Error(`token signing secret is too short (${key.length} bytes, need at least ${MIN_LOCAL_SECRET_BYTES})`);
  }
  return key;
}

function sign(key: Buffer, payload: string): string {
  return createHmac('sha256', key).update(payload).digest('base64url');
}

/**
 * Mints a local-mode token `base64url(JSON{sa,ns,exp}).base64url(HMAC-SHA256)` for a workload.
 * `ttl` is in seconds; `now` is injectable for tests.
 */
export function mintLocalToken(
  secret: string | Uint8Array,
  claims: { sa: string; ns: string; ttl: number },
  now: Date = new Date(),
): string {
  if (!claims.sa || !claims.ns) throw new Error('a token needs a ServiceAccount and a namespace');
  if (!(claims.ttl > 0)) throw new Error(`token ttl must be positive, got ${claims.ttl}`);
  const body: LocalTokenClaims = { sa: claims.sa, ns: claims.ns, exp: Math.floor(now.getTime() / 1000 + claims.ttl) };
  const payload = Buffer.from(JSON.stringify(body), 'utf8').toString('base64url');
  return `${payload}.${sign(toKey(secret), payload)}`;
}

function isClaims(v: unknown): v is LocalTokenClaims {
  if (typeof v !== 'object' || v === null) return false;
  const o = v as Record<string, unknown>;
  return typeof o.sa === 'string' && o.sa !== '' && typeof o.ns === 'string' && o.ns !== '' && Number.isFinite(o.exp);
}

/** Verifies tokens minted by mintLocalToken with the same secret: signature first, then claims, then expiry. */
export class LocalTokenVerifier implements TokenVerifier {
  private readonly key: Buffer;

  constructor(secret: string | Uint8Array) {
    this.key = toKey(secret);
  }

  verify(token: string, now: Date): Promise<TokenVerdict> {
    return Promise.resolve(this.verifySync(token, now));
  }

  verifySync(token: string, now: Date): TokenVerdict {
    if (typeof token !== 'string' || token.length === 0) return { ok: false, reason: 'no token' };
    if (token.length > MAX_TOKEN_LENGTH) return { ok: false, reason: 'token is too long' };
    const dot = token.indexOf('.');
    if (dot <= 0 || dot !== token.lastIndexOf('.')) return { ok: false, reason: 'token is malformed (want payload.signature)' };
    const payload = token.slice(0, dot);
    const given = Buffer.from(token.slice(dot + 1), 'base64url');
    const expected = Buffer.from(sign(this.key, payload), 'base64url');
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
      return { ok: false, reason: 'token signature is invalid' };
    }
    let claims: unknown;
    try {
      claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'));
    } catch {
      return { ok: false, reason: 'token payload is not JSON' };
    }
    if (!isClaims(claims)) return { ok: false, reason: 'token payload lacks sa, ns or exp' };
    if (claims.exp * 1000 <= now.getTime()) {
      return { ok: false, reason: `token expired at ${new Date(claims.exp * 1000).toISOString()}` };
    }
    return { ok: true, serviceAccount: claims.sa, namespace: claims.ns };
  }
}
