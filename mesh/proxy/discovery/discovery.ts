/**
 * Discovery: "the endpoints, identities, protocol hints and routing settings of this target",
 * delivered as a stream of updates. The proxy depends only on this interface; a static file
 * implements it now, the control plane's destination service later.
 */

export interface SocketAddr {
  host: string;
  port: number;
}

export interface Endpoint {
  /** Where to connect: the peer proxy's inbound listener when meshed, else the app itself. */
  addr: SocketAddr;
  /** The TLS identity the peer must present; absent when the endpoint is not meshed. */
  identity?: string;
  /**
   * The application port on the far side. The server proxy forwards there; needed when `addr`
   * is a proxy listener rather than the original destination (explicit/local mode).
   */
  targetPort?: number;
  /** The endpoint speaks HTTP/2 natively (gRPC servers); absent means "detect". */
  protocolHint?: 'h2' | 'opaque';
  /** `dst_*` labels for metrics: pod, deployment, namespace, serviceaccount… (without the prefix). */
  labels: Record<string, string>;
}

export interface RetryPolicy {
  /** Extra attempts after the first. */
  limit: number;
  /** HTTP status classes and codes that are retried, e.g. ["5xx"], ["gateway-error"], ["503", "429"]. */
  http: string[];
  /** gRPC status names that are retried, e.g. ["unavailable"]. */
  grpc: string[];
  /** Per-attempt timeout in ms (0 = none). */
  timeoutMs: number;
}

export interface Timeouts {
  /** The whole request, retries included; 504 when exceeded. */
  requestMs?: number;
  /** Time to the response headers of one attempt. */
  responseMs?: number;
  /** No bytes either way for this long closes the stream. */
  idleMs?: number;
}

export interface WeightedBackend {
  /** A target authority resolved by discovery itself (e.g. `voting-canary.demo:8080`). */
  authority: string;
  weight: number;
}

export interface DestinationProfile {
  /** Skip protocol detection: the port carries opaque TCP (server-speaks-first). */
  opaque: boolean;
  retry?: RetryPolicy;
  timeouts: Timeouts;
  /** A traffic split (HTTPRoute backendRefs); absent or empty means the target's own endpoints. */
  backends?: WeightedBackend[];
  /** `dst_*` labels that hold for the whole service: service, namespace. */
  labels: Record<string, string>;
}

export interface DestinationUpdate {
  endpoints: Endpoint[];
  profile: DestinationProfile;
}

export interface DiscoveryWatch {
  close(): void;
}

export interface DiscoveryHandlers {
  update(u: DestinationUpdate): void;
  /** The target is unknown to discovery (not an error: the proxy forwards to the original address). */
  notFound(): void;
  /** The source failed; the proxy keeps its last-known endpoints. */
  error(err: Error): void;
}

export interface Discovery {
  /** Starts watching `authority` (`host:port`); the first answer arrives asynchronously. */
  watch(authority: string, handlers: DiscoveryHandlers): DiscoveryWatch;
  close(): void;
}

export function formatAddr(a: SocketAddr): string {
  return a.host.includes(':') ? `[${a.host}]:${a.port}` : `${a.host}:${a.port}`;
}

/** Parses `host:port` or `[v6]:port`; returns undefined for anything else. Port 0 only for listeners. */
export function parseAddr(s: string, opts: { allowPortZero?: boolean } = {}): SocketAddr | undefined {
  const m = /^\[([0-9a-fA-F:.]+)\]:(\d{1,5})$/.exec(s) ?? /^([^:[\]\s]+):(\d{1,5})$/.exec(s);
  if (!m) return undefined;
  const port = Number(m[2]);
  if (port > 65535 || (port === 0 && !opts.allowPortZero)) return undefined;
  return { host: m[1]!, port };
}
