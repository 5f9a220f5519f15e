/**
 * The proxy's golden metric names, label names and histogram bounds, kept identical to
 * linkerd2-proxy's so that Linkerd dashboards and PromQL work on Weft proxies unchanged.
 */

export const METRIC = {
  requestTotal: 'request_total',
  responseTotal: 'response_total',
  responseLatencyMs: 'response_latency_ms',
  tcpOpenTotal: 'tcp_open_total',
  tcpCloseTotal: 'tcp_close_total',
  tcpOpenConnections: 'tcp_open_connections',
  tcpReadBytesTotal: 'tcp_read_bytes_total',
  tcpWriteBytesTotal: 'tcp_write_bytes_total',
  tcpConnectionDurationMs: 'tcp_connection_duration_ms',
} as const;

export const HELP: Record<(typeof METRIC)[keyof typeof METRIC], string> = {
  request_total: 'Total count of HTTP requests.',
  response_total: 'Total count of HTTP responses.',
  response_latency_ms: "Elapsed times between a request's headers being received and its response's first byte (headers).",
  tcp_open_total: 'Total count of opened connections',
  tcp_close_total: 'Total count of closed connections',
  tcp_open_connections: 'Number of currently-open connections',
  tcp_read_bytes_total: 'Total count of bytes read from peers',
  tcp_write_bytes_total: 'Total count of bytes written to peers',
  tcp_connection_duration_ms: 'Connection lifetimes',
};

export const LABEL = {
  direction: 'direction',
  authority: 'authority',
  targetAddr: 'target_addr',
  peer: 'peer',
  tls: 'tls',
  serverId: 'server_id',
  clientId: 'client_id',
  noTlsReason: 'no_tls_reason',
  dstPrefix: 'dst_',
  statusCode: 'status_code',
  classification: 'classification',
  /** Linkerd's documented name for the gRPC status label. */
  grpcStatusCode: 'grpc_status_code',
  /** The name linkerd2-proxy actually renders (`Class::Grpc`); Weft emits both, same value. */
  grpcStatus: 'grpc_status',
  errno: 'errno',
  le: 'le',
} as const;

/**
 * Upper bounds (inclusive, ms) of every latency histogram: linkerd2-proxy's `latency::BOUNDS`
 * (linkerd/metrics/src/latency.rs), plus the implicit +Inf bucket.
 */
export const LATENCY_BUCKETS_MS: readonly number[] = Object.freeze([
  1, 2, 3, 4, 5, 10, 20, 30, 40, 50, 100, 200, 300, 400, 500, 1_000, 2_000, 3_000, 4_000, 5_000, 10_000, 20_000,
  30_000, 40_000, 50_000,
]);

/** `dst_*` label keys Linkerd's destination service hands out (without the prefix). Others pass too. */
export const KNOWN_DST_LABELS: readonly string[] = Object.freeze([
  'service', 'namespace', 'pod', 'deployment', 'daemonset', 'statefulset', 'replicaset', 'job', 'cronjob',
  'replicationcontroller', 'serviceaccount', 'pod_template_hash', 'control_plane_ns', 'zone', 'zone_locality',
]);
