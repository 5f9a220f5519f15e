/**
 * The labels every golden metric carries, and their conversion to Prometheus labels in
 * linkerd2-proxy's order. Pure; computed once per label set, never per request.
 */
import { LABEL } from './metric-names';

export interface TrafficLabels {
  direction: 'inbound' | 'outbound';
  /** `host:port` the request (or connection) was for. */
  authority: string;
  /** The address the proxy forwards to (`ip:port`). */
  target_addr: string;
  tls: 'true' | 'no_identity';
  /** Outbound with TLS: the identity the server presented. */
  server_id?: string;
  /** Inbound with TLS: the client's identity. */
  client_id?: string;
  /** Why there is no TLS, e.g. `not_provided_by_service_discovery`, `no_tls_from_remote`. */
  no_tls_reason?: string;
  /** TCP metrics only: which side of the proxy the connection faces (Linkerd's `peer`). */
  peer?: 'src' | 'dst';
  /** Discovery metadata; keys WITHOUT the `dst_` prefix (service, namespace, pod, deployment…). */
  dst?: Record<string, string>;
}

/** Well-known values of `no_tls_reason`, as Linkerd spells them. */
export const NO_TLS_REASON = {
  notProvidedByServiceDiscovery: 'not_provided_by_service_discovery',
  noTlsFromRemote: 'no_tls_from_remote',
  loopback: 'loopback',
  disabled: 'disabled',
} as const;

const INVALID_LABEL_CHARS = /[^a-zA-Z0-9_]/g;

/** `dst_` + the key made a valid Prometheus label name (`pod-template-hash` → `dst_pod_template_hash`). */
export function dstLabelName(key: string): string {
  return LABEL.dstPrefix + key.replace(INVALID_LABEL_CHARS, '_');
}

/**
 * Prometheus labels for a label set, in Linkerd's order: direction, authority, target_addr, peer,
 * tls, server_id/client_id, no_tls_reason, then dst_* sorted by name. Absent fields are omitted;
 * `server_id`/`client_id` only appear with `tls="true"`, `no_tls_reason` only without it.
 */
export function toPromLabels(l: TrafficLabels): Record<string, string> {
  const out: Record<string, string> = {
    [LABEL.direction]: l.direction,
    [LABEL.authority]: l.authority,
    [LABEL.targetAddr]: l.target_addr,
  };
  if (l.peer) out[LABEL.peer] = l.peer;
  out[LABEL.tls] = l.tls;
  if (l.tls === 'true') {
    if (l.server_id) out[LABEL.serverId] = l.server_id;
    if (l.client_id) out[LABEL.clientId] = l.client_id;
  } else if (l.no_tls_reason) {
    out[LABEL.noTlsReason] = l.no_tls_reason;
  }
  if (l.dst) {
    const keys = Object.keys(l.dst).map((k) => [dstLabelName(k), l.dst![k]!] as const);
    keys.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
    for (const [name, value] of keys) out[name] = value;
  }
  return out;
}

/** A string that identifies a label set: equal labels, equal keys, whatever object holds them. */
export function labelKey(labels: Readonly<Record<string, string>>): string {
  let key = '';
  for (const name in labels) key += `${name}\u0001${labels[name]}\u0002`;
  return key;
}
