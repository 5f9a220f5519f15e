/**
 * The proxy's golden metrics (Linkerd-compatible names, labels and buckets) and the recorders the
 * data plane calls per request and per connection. Hot path: a recorder holds resolved series and
 * bumps numbers; label sets are resolved once per TrafficLabels object (WeakMap) and once per
 * distinct label set (bounded Map), never per request.
 */
import * as prom from './prom';
import { classifyResponse } from './classify';
import { HELP, LABEL, LATENCY_BUCKETS_MS, METRIC } from './metric-names';
import {
  CounterFamily,
  GaugeFamily,
  HistogramFamily,
  type CounterSeries,
  type GaugeSeries,
  type HistogramSeries,
} from './series';
import { labelKey, toPromLabels, type TrafficLabels } from './traffic-labels';

export type { TrafficLabels } from './traffic-labels';

export interface HttpStreamRecorder {
  /** Response headers arrived: observe response_latency_ms (time since httpStream()). Once per stream. */
  responseHeaders(statusCode: number): void;
  /** Stream ended (after trailers): response_total with classification. Once per stream. */
  end(outcome: { grpcStatus?: number; error?: boolean }): void;
}

/**
 * Counts an HTTP connection in the tcp_* metrics: open now, bytes and close when it closes. Bytes
 * come from the socket's own counters at close, so the HTTP parser's fast path is not disturbed by a
 * 'data' listener (long keep-alive connections report their bytes when they end).
 */
export function countConnection(metrics: ProxyMetrics, socket: import('node:stream').Duplex & { bytesRead?: number; bytesWritten?: number }, labels: TrafficLabels): void {
  const rec = metrics.tcpConnection(labels);
  socket.once('close', (hadError: boolean) => {
    rec.read(socket.bytesRead ?? 0);
    rec.wrote(socket.bytesWritten ?? 0);
    rec.close(hadError ? 'EIO' : undefined);
  });
}

export interface TcpRecorder {
  read(bytes: number): void;
  wrote(bytes: number): void;
  /** The connection closed; `errno` (e.g. `ECONNRESET`) when it ended in an error. Once per connection. */
  close(errno?: string): void;
}

export interface ProxyMetricsOptions {
  /** Monotonic clock in milliseconds (default performance.now). */
  now?: () => number;
  /** How many distinct label sets keep resolved series cached (default 10,000). */
  maxCachedTargets?: number;
  /** Register prom-client's default process metrics (default true). */
  processMetrics?: boolean;
}

interface StatusSeries {
  readonly key: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly latency: HistogramSeries;
  /** response_total series by (grpc status, classification): key `(grpc ?? -1) * 2 + (failure ? 1 : 0)`. */
  readonly responses: Map<number, CounterSeries>;
}

interface TcpSeries {
  readonly open: CounterSeries;
  readonly openConnections: GaugeSeries;
  readonly read: CounterSeries;
  readonly write: CounterSeries;
  /** Close series by errno ('' for a clean close). */
  readonly close: Map<string, { total: CounterSeries; duration: HistogramSeries }>;
}

/** Everything resolved for one label set. */
interface Target {
  readonly key: string;
  readonly labels: Readonly<Record<string, string>>;
  /** Resolved on first HTTP use, so TCP-only label sets export no request_total series. */
  requestTotal: CounterSeries | undefined;
  /** By HTTP status; 0 = no response head. */
  readonly byStatus: Map<number, StatusSeries>;
  tcp: TcpSeries | undefined;
}

const NO_STATUS = 0;
const DEFAULT_MAX_CACHED_TARGETS = 10_000;

export class ProxyMetrics {
  readonly registry: prom.Registry;
  readonly contentType: string;

  readonly requestTotal: CounterFamily;
  readonly responseTotal: CounterFamily;
  readonly responseLatencyMs: HistogramFamily;
  readonly tcpOpenTotal: CounterFamily;
  readonly tcpCloseTotal: CounterFamily;
  readonly tcpOpenConnections: GaugeFamily;
  readonly tcpReadBytesTotal: CounterFamily;
  readonly tcpWriteBytesTotal: CounterFamily;
  readonly tcpConnectionDurationMs: HistogramFamily;

  /** @internal clock shared with recorders. */
  readonly now: () => number;
  private readonly byObject = new WeakMap<TrafficLabels, Target>();
  private readonly byKey = new Map<string, Target>();
  private readonly maxCachedTargets: number;

  constructor(registry?: prom.Registry, options: ProxyMetricsOptions = {}) {
    this.registry = registry ?? new prom.Registry();
    this.contentType = this.registry.contentType;
    this.now = options.now ?? (() => performance.now());
    this.maxCachedTargets = Math.max(1, options.maxCachedTargets ?? DEFAULT_MAX_CACHED_TARGETS);

    const r = this.registry;
    this.requestTotal = new CounterFamily(METRIC.requestTotal, HELP.request_total).registerIn(r);
    this.responseLatencyMs = new HistogramFamily(
      METRIC.responseLatencyMs,
      HELP.response_latency_ms,
      LATENCY_BUCKETS_MS,
    ).registerIn(r);
    this.responseTotal = new CounterFamily(METRIC.responseTotal, HELP.response_total).registerIn(r);
    this.tcpOpenTotal = new CounterFamily(METRIC.tcpOpenTotal, HELP.tcp_open_total).registerIn(r);
    this.tcpCloseTotal = new CounterFamily(METRIC.tcpCloseTotal, HELP.tcp_close_total).registerIn(r);
    this.tcpOpenConnections = new GaugeFamily(METRIC.tcpOpenConnections, HELP.tcp_open_connections).registerIn(r);
    this.tcpReadBytesTotal = new CounterFamily(METRIC.tcpReadBytesTotal, HELP.tcp_read_bytes_total).registerIn(r);
    this.tcpWriteBytesTotal = new CounterFamily(METRIC.tcpWriteBytesTotal, HELP.tcp_write_bytes_total).registerIn(r);
    this.tcpConnectionDurationMs = new HistogramFamily(
      METRIC.tcpConnectionDurationMs,
      HELP.tcp_connection_duration_ms,
      LATENCY_BUCKETS_MS,
    ).registerIn(r);

    if (options.processMetrics ?? true) prom.registerProcessMetrics(this.registry);
  }

  /** Start of an HTTP request/stream: counts request_total now. */
  httpStream(labels: TrafficLabels): HttpStreamRecorder {
    const t = this.target(labels);
    (t.requestTotal ?? (t.requestTotal = this.requestTotal.child(t.key, t.labels))).value++;
    return new HttpStream(this, t, this.now());
  }

  /** A TCP connection opened: counts tcp_open_total and tcp_open_connections now. */
  tcpConnection(labels: TrafficLabels): TcpRecorder {
    const t = this.target(labels);
    const tcp = t.tcp ?? (t.tcp = this.tcpSeries(t));
    tcp.open.value++;
    tcp.openConnections.value++;
    return new TcpConnection(this, t, tcp, this.now());
  }

  metricsText(): Promise<string> {
    return this.registry.metrics();
  }

  /** How many label sets currently have resolved series cached (bounded by maxCachedTargets). */
  get cachedTargets(): number {
    return this.byKey.size;
  }

  /** @internal */
  statusSeries(t: Target, status: number): StatusSeries {
    let s = t.byStatus.get(status);
    if (!s) {
      const labels = status === NO_STATUS ? t.labels : { ...t.labels, [LABEL.statusCode]: String(status) };
      const key = status === NO_STATUS ? t.key : labelKey(labels);
      s = { key, labels, latency: this.responseLatencyMs.child(key, labels), responses: new Map() };
      t.byStatus.set(status, s);
    }
    return s;
  }

  /** @internal */
  responseSeries(s: StatusSeries, grpcStatus: number | undefined, failure: boolean): CounterSeries {
    const k = (grpcStatus ?? -1) * 2 + (failure ? 1 : 0);
    let c = s.responses.get(k);
    if (!c) {
      const labels: Record<string, string> = { ...s.labels, [LABEL.classification]: failure ? 'failure' : 'success' };
      if (grpcStatus !== undefined) {
        labels[LABEL.grpcStatusCode] = String(grpcStatus);
        labels[LABEL.grpcStatus] = String(grpcStatus);
      }
      c = this.responseTotal.child(labelKey(labels), labels);
      s.responses.set(k, c);
    }
    return c;
  }

  /** @internal */
  closeSeries(t: Target, tcp: TcpSeries, errno: string): { total: CounterSeries; duration: HistogramSeries } {
    let c = tcp.close.get(errno);
    if (!c) {
      const labels = { ...t.labels, [LABEL.errno]: errno };
      const key = labelKey(labels);
      c = { total: this.tcpCloseTotal.child(key, labels), duration: this.tcpConnectionDurationMs.child(key, labels) };
      tcp.close.set(errno, c);
    }
    return c;
  }

  private tcpSeries(t: Target): TcpSeries {
    return {
      open: this.tcpOpenTotal.child(t.key, t.labels),
      openConnections: this.tcpOpenConnections.child(t.key, t.labels),
      read: this.tcpReadBytesTotal.child(t.key, t.labels),
      write: this.tcpWriteBytesTotal.child(t.key, t.labels),
      close: new Map(),
    };
  }

  private target(labels: TrafficLabels): Target {
    const hit = this.byObject.get(labels);
    if (hit) return hit;
    const prom = toPromLabels(labels);
    const key = labelKey(prom);
    let t = this.byKey.get(key);
    if (t) {
      // Refresh its place in the eviction order.
      this.byKey.delete(key);
    } else {
      t = { key, labels: prom, requestTotal: undefined, byStatus: new Map(), tcp: undefined };
      if (this.byKey.size >= this.maxCachedTargets) {
        // Evict the least recently resolved label set. Its series stay in the families (they are
        // the exported data); only the cached resolution goes, and is rebuilt if the set returns.
        const oldest = this.byKey.keys().next().value as string;
        this.byKey.delete(oldest);
      }
    }
    this.byKey.set(key, t);
    this.byObject.set(labels, t);
    return t;
  }
}

class HttpStream implements HttpStreamRecorder {
  private status: StatusSeries | undefined;
  private statusCode: number | undefined;
  private ended = false;

  constructor(
    private readonly m: ProxyMetrics,
    private readonly t: Target,
    private readonly start: number,
  ) {}

  responseHeaders(statusCode: number): void {
    if (this.status || this.ended) return;
    this.statusCode = statusCode;
    this.status = this.m.statusSeries(this.t, statusCode);
    this.status.latency.observe(this.m.now() - this.start);
  }

  end(outcome: { grpcStatus?: number; error?: boolean }): void {
    if (this.ended) return;
    this.ended = true;
    const s = this.status ?? this.m.statusSeries(this.t, NO_STATUS);
    const cls = classifyResponse({ status: this.statusCode, grpcStatus: outcome.grpcStatus, error: outcome.error });
    this.m.responseSeries(s, outcome.grpcStatus, cls === 'failure').value++;
  }
}

class TcpConnection implements TcpRecorder {
  private closed = false;

  constructor(
    private readonly m: ProxyMetrics,
    private readonly t: Target,
    private readonly tcp: TcpSeries,
    private readonly opened: number,
  ) {}

  read(bytes: number): void {
    if (bytes > 0) this.tcp.read.value += bytes;
  }

  wrote(bytes: number): void {
    if (bytes > 0) this.tcp.write.value += bytes;
  }

  close(errno?: string): void {
    if (this.closed) return;
    this.closed = true;
    this.tcp.openConnections.value--;
    const c = this.m.closeSeries(this.t, this.tcp, errno ?? '');
    c.total.value++;
    c.duration.observe(this.m.now() - this.opened);
  }
}
