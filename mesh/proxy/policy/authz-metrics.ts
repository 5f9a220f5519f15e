/**
 * Authorization metrics, named and labelled as linkerd2-proxy's (so Linkerd's PromQL works):
 * `inbound_http_authz_allow_total`, `inbound_http_authz_deny_total` (per request) and
 * `inbound_tcp_authz_allow_total`, `inbound_tcp_authz_deny_total` (per opaque connection), with
 * target_addr, srv_group/srv_kind/srv_name, route_group/route_kind/route_name (HTTP),
 * authz_group/authz_kind/authz_name (allows), and tls with client_id or no_tls_reason as the other
 * inbound series. Series are the hot-path objects of ../metrics/series (a number bumped).
 */
import { POLICY_API_GROUP } from '../../config/names';
import type { AuthzDecision } from '../../control/policy/authorize';
import { GATEWAY_API_GROUP } from '../../control/policy/resources';
import type { ProxyMetrics } from '../metrics/proxy-metrics';
import { CounterFamily, type CounterSeries } from '../metrics/series';
import { labelKey, NO_TLS_REASON } from '../metrics/traffic-labels';

/** Linkerd's names (linkerd/app/inbound/src/policy/authorize/metrics… in linkerd2-proxy). */
export const AUTHZ_METRIC = {
  httpAllow: 'inbound_http_authz_allow_total',
  httpDeny: 'inbound_http_authz_deny_total',
  tcpAllow: 'inbound_tcp_authz_allow_total',
  tcpDeny: 'inbound_tcp_authz_deny_total',
} as const;

export class AuthzMetrics {
  readonly httpAllow = new CounterFamily(AUTHZ_METRIC.httpAllow, 'The total number of inbound HTTP requests that were authorized');
  readonly httpDeny = new CounterFamily(AUTHZ_METRIC.httpDeny, 'The total number of inbound HTTP requests that were denied by the inbound policy');
  readonly tcpAllow = new CounterFamily(AUTHZ_METRIC.tcpAllow, 'The total number of inbound TCP connections that were authorized');
  readonly tcpDeny = new CounterFamily(AUTHZ_METRIC.tcpDeny, 'The total number of inbound TCP connections that were denied by the inbound policy');

  constructor(metrics: ProxyMetrics) {
    for (const f of [this.httpAllow, this.httpDeny, this.tcpAllow, this.tcpDeny]) f.registerIn(metrics.registry);
  }

  /** The series for a decision (resolved once per distinct label set; callers cache it per connection). */
  series(kind: 'http' | 'tcp', d: AuthzDecision, targetAddr: string, clientId: string | undefined): CounterSeries {
    const labels = authzLabels(kind, d, targetAddr, clientId);
    const family = kind === 'http' ? (d.allow ? this.httpAllow : this.httpDeny) : d.allow ? this.tcpAllow : this.tcpDeny;
    return family.child(labelKey(labels), labels);
  }
}

/** Prometheus labels for a decision, in linkerd2-proxy's order. Names drop the namespace (it is the pod's). */
export function authzLabels(kind: 'http' | 'tcp', d: AuthzDecision, targetAddr: string, clientId: string | undefined): Record<string, string> {
  const srv = d.server ?? { kind: 'default', name: 'unknown' };
  const out: Record<string, string> = {
    target_addr: targetAddr,
    srv_group: srv.kind === 'server' ? POLICY_API_GROUP : '',
    srv_kind: srv.kind,
    srv_name: srv.name,
  };
  if (kind === 'http') {
    const route = d.route;
    out['route_group'] = route ? GATEWAY_API_GROUP : '';
    out['route_kind'] = route ? 'HTTPRoute' : 'default';
    out['route_name'] = route ? route.slice(route.indexOf('/') + 1) : 'default';
  }
  if (d.allow && d.authorization) {
    const a = d.authorization;
    if (a.kind === 'authorizationpolicy') {
      out['authz_group'] = POLICY_API_GROUP;
      out['authz_kind'] = 'authorizationpolicy';
      out['authz_name'] = a.name.slice(a.name.indexOf('/') + 1);
    } else {
      // A default policy, a probe, or a Server's accessPolicy ("shop/api accessPolicy audit"): Linkerd's `default:<policy>`.
      out['authz_group'] = '';
      out['authz_kind'] = 'default';
      out['authz_name'] = a.kind === 'server' ? a.name.slice(a.name.lastIndexOf(' ') + 1) : a.name;
    }
  }
  out['tls'] = clientId ? 'true' : 'no_identity';
  if (clientId) out['client_id'] = clientId;
  else out['no_tls_reason'] = NO_TLS_REASON.noTlsFromRemote;
  return out;
}
