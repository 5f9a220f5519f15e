// The Kubernetes token verifier: a proxy's projected ServiceAccount token (audience
// identity.weft.dev) is checked by the API server with a TokenReview, and the ServiceAccount and
// namespace are read from the authenticated user `system:serviceaccount:<ns>:<sa>`.
// Implements TokenVerifier (token.ts), so it plugs in where the local HMAC verifier does.
// The decision on a TokenReview's answer is a pure function (`verdictFromReview`); the class only
// posts the review. Refusals say why: unauthenticated (forged, expired, revoked), another
// audience, not a ServiceAccount; when the API server could not be asked the verdict is
// `unavailable` (no decision: the identity service answers 503, and proxies retry).
import type { AuthenticationV1Api, V1TokenReview } from '@kubernetes/client-node';
import { IDENTITY_TOKEN_AUDIENCE } from '../../config/identity';
import type { TokenVerdict, TokenVerifier } from './token';

const SA_PREFIX = 'system:serviceaccount:';
/** A DNS-1123 label (namespace) or subdomain (ServiceAccount name). */
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/;
/** Projected tokens are JWTs of a few hundred bytes to a few KiB; anything much larger is refused unsent. */
const MAX_TOKEN_LENGTH = 16 * 1024;

/** Pure: the verdict on a TokenReview's status for the audience asked for. */
export function verdictFromReview(status: V1TokenReview['status'], audience: string): TokenVerdict {
  if (!status?.authenticated) {
    const why = status?.error ? `: ${status.error}` : '';
    return { ok: false, reason: `the Kubernetes API did not authenticate the token (forged, expired or revoked)${why}` };
  }
  // The API server lists the audiences the token was accepted for; it must include ours.
  if (status.audiences !== undefined && !status.audiences.includes(audience)) {
    return { ok: false, reason: `the token is not for audience ${audience} (it is for ${JSON.stringify(status.audiences)})` };
  }
  const user = status.user?.username ?? '';
  if (!user.startsWith(SA_PREFIX)) {
    return { ok: false, reason: `the token belongs to ${JSON.stringify(user)}, not a ServiceAccount (want ${SA_PREFIX}<namespace>:<name>)` };
  }
  const [namespace, serviceAccount, ...rest] = user.slice(SA_PREFIX.length).split(':');
  if (rest.length > 0 || !namespace || !serviceAccount || !DNS_LABEL.test(namespace) || !DNS_SUBDOMAIN.test(serviceAccount)) {
    return { ok: false, reason: `the token's user ${JSON.stringify(user)} is not a valid ServiceAccount name` };
  }
  return { ok: true, namespace, serviceAccount };
}

export interface TokenReviewVerifierOptions {
  /** The audience the token must carry (default identity.weft.dev). */
  audience?: string;
  /** How long one TokenReview may take (default 5 s). */
  timeoutMs?: number;
}

/** Verifies projected ServiceAccount tokens with TokenReview (needs RBAC: create tokenreviews). */
export class TokenReviewVerifier implements TokenVerifier {
  private readonly audience: string;
  private readonly timeoutMs: number;

  constructor(
    private readonly authn: Pick<AuthenticationV1Api, 'createTokenReview'>,
    opts: TokenReviewVerifierOptions = {},
  ) {
    this.audience = opts.audience ?? IDENTITY_TOKEN_AUDIENCE;
    this.timeoutMs = opts.timeoutMs ?? 5000;
  }

  async verify(token: string, _now: Date): Promise<TokenVerdict> {
    if (typeof token !== 'string' || token.trim() === '') return { ok: false, reason: 'no token' };
    if (token.length > MAX_TOKEN_LENGTH) return { ok: false, reason: 'token is too long' };
    let timer: NodeJS.Timeout | undefined;
    try {
      const review = await Promise.race([
        this.authn.createTokenReview({ body: { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenReview', spec: { token: token.trim(), audiences: [this.audience] } } }),
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new Error(`no answer within ${this.timeoutMs} ms`)), this.timeoutMs);
        }),
      ]);
      return verdictFromReview(review.status, this.audience);
    } catch (err) {
      const e = err as { code?: number | string; message?: string; cause?: { code?: string } };
      const detail = typeof e.code === 'number' ? `HTTP ${e.code}${e.code === 403 ? ' (the identity service lacks RBAC to create tokenreviews)' : ''}` : (e.cause?.code ?? e.code ?? e.message ?? String(err));
      return { ok: false, unavailable: true, reason: `cannot check the token: the Kubernetes API TokenReview failed (${detail}); retry later` };
    } finally {
      clearTimeout(timer);
    }
  }
}
