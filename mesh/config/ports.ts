/** Proxy and control-plane ports. The one place these numbers live. */
export const PROXY_INBOUND_PORT = 4143;
/** Outbound listener; bound to loopback only. */
export const PROXY_OUTBOUND_PORT = 4140;
export const PROXY_ADMIN_PORT = 4191;
/** The name of the admin port on the injected `weft-proxy` container (the metrics API scrapes it). */
export const PROXY_ADMIN_PORT_NAME = 'weft-admin';
/** Ports the inbound redirect never captures (admin, and Linkerd's tap port). */
export const PROXY_INBOUND_IGNORED_PORTS = [4190, 4191] as const;
/** The UID the proxy runs as; excluded from outbound redirection. */
export const PROXY_UID = 2102;

export const CONTROL_PLANE_PORTS = {
  identity: 8080,
  destination: 8086,
  policy: 8090,
  webhook: 8443,
  metricsApi: 8085,
} as const;
