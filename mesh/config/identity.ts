import { DEFAULT_TRUST_DOMAIN } from './names';

/** A workload identity: `<sa>.<ns>.serviceaccount.identity.weft.<trust-domain>`. */
export interface WorkloadIdentity {
  serviceAccount: string;
  namespace: string;
  trustDomain: string;
}

const SUFFIX = '.serviceaccount.identity.weft.';

export function identityName(id: { serviceAccount: string; namespace: string; trustDomain?: string }): string {
  return `${id.serviceAccount}.${id.namespace}${SUFFIX}${id.trustDomain ?? DEFAULT_TRUST_DOMAIN}`;
}

/** Parses an identity name; returns undefined when it is not of Weft's form. */
export function parseIdentityName(name: string): WorkloadIdentity | undefined {
  const at = name.indexOf(SUFFIX);
  if (at <= 0) return undefined;
  const head = name.slice(0, at).split('.');
  const trustDomain = name.slice(at + SUFFIX.length);
  if (head.length !== 2 || !head[0] || !head[1] || !trustDomain) return undefined;
  return { serviceAccount: head[0], namespace: head[1], trustDomain };
}

/** Audience of the projected ServiceAccount token a proxy shows the identity service. */
export const IDENTITY_TOKEN_AUDIENCE = 'identity.weft.dev';
/** Lifetime asked for that token (the kubelet refreshes it before it expires). */
export const IDENTITY_TOKEN_EXPIRATION_SECONDS = 86_400;

/** ServiceAccount of the identity service (namespace CONTROL_PLANE_NAMESPACE); its TLS certificate carries that identity. */
export const IDENTITY_SERVICE_ACCOUNT = 'weft-identity';
/** Leaves are renewed when this fraction of their lifetime (from receipt) has passed (Linkerd: 70 %). */
export const IDENTITY_REFRESH_FRACTION = 0.7;
