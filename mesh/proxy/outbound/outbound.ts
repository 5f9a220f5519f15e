/**
 * The outbound side's front door. Connections arrive three ways — transparently redirected
 * (SO_ORIGINAL_DST), on a named upstream listener, or as HTTP forward-proxy requests — and each is
 * classified (opaque port, profile hint, or detection) and handed to the HTTP or TCP path.
 */
import type { IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import { formatAddr, parseAddr, type SocketAddr } from '../discovery/discovery';
import { detectProtocol } from '../detect';
import { h2Downstream } from '../http/downstream';
import { serializeRequestHead } from '../http/headers';
import { HttpFront, type HttpFrontLimits } from '../http/http-front';
import type { Logger } from '../log';
import { countConnection, type ProxyMetrics, type TrafficLabels } from '../metrics/proxy-metrics';
import { LabelCache } from '../metrics/label-cache';
import { NO_TLS_REASON } from '../metrics/traffic-labels';
import { originalDestination } from '../original-dst/original-dst';
import type { Destinations } from './destinations';
import type { OutboundHttp } from './outbound-http';
import type { OutboundTcp } from './outbound-tcp';

interface ConnTarget {
  /** What discovery is asked; undefined on the forward-proxy port (per request). */
  authority: string | undefined;
  fallback: SocketAddr | undefined;
  /** A named upstream listener: the app addressed 127.0.0.1:PORT, the request is for `authority`. */
  named: boolean;
}

export interface OutboundOptions extends HttpFrontLimits {
  metrics: ProxyMetrics;
  http: OutboundHttp;
  tcp: OutboundTcp;
  destinations: Destinations;
  log: Logger;
  opaquePorts: Set<number>;
  detectTimeoutMs: number;
}

export class Outbound {
  private readonly front: HttpFront<ConnTarget>;
  private readonly connLabels = new LabelCache();

  constructor(private readonly o: OutboundOptions) {
    this.front = new HttpFront<ConnTarget>('outbound', o, {
      request: (ds, t) => {
        if (t.authority === undefined) {
          const fp = forwardProxyTarget({ url: ds.url, headers: ds.headers });
          if (!fp) return ds.fail(400, 'forward proxy: the request names no host');
          ds.retarget(fp.authority, fp.path);
          void o.http.handle(ds, fp.authority, parseAddr(fp.authority));
          return;
        }
        if (t.named) ds.retarget(t.authority, ds.path);
        void o.http.handle(ds, t.authority, t.fallback);
      },
      upgrade: (req, socket, head, t) => {
        const authority = t.authority ?? forwardProxyTarget(req)?.authority;
        if (!authority) return void socket.destroy();
        // Upgrades (WebSocket…) leave HTTP: the request head and the rest of the stream ride an opaque tunnel.
        const prefix = Buffer.concat([serializeRequestHead(req.method ?? 'GET', req.url ?? '/', req.rawHeaders), head]);
        void o.tcp.forward(socket, authority, t.fallback, prefix);
      },
      connect: (req, socket, head) => {
        const authority = req.url ?? '';
        const addr = parseAddr(authority);
        if (!addr) {
          socket.end('HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\n\r\n');
          return;
        }
        socket.write('HTTP/1.1 200 Connection Established\r\n\r\n');
        void o.tcp.forward(socket, authority, addr, head);
      },
      stream: (stream, headers, t) => {
        if (t.authority === undefined) return void stream.close();
        void o.http.handle(h2Downstream(stream, headers, t.named ? t.authority : undefined), t.authority, t.fallback);
      },
    }, o.log);
  }

  /** A connection whose target is known (transparent or named upstream). */
  async accept(socket: Socket, authority: string, fallback: SocketAddr | undefined, named = false): Promise<void> {
    this.front.track(socket);
    const port = fallback?.port ?? parseAddr(authority)?.port;
    if (port !== undefined && this.o.opaquePorts.has(port)) return this.o.tcp.forward(socket, authority, fallback);
    const target = this.o.destinations.get(authority);
    if (target.state === 'pending') await target.ready;
    if (target.profile?.opaque) return this.o.tcp.forward(socket, authority, fallback);
    const d = await detectProtocol(socket, this.o.detectTimeoutMs);
    if (socket.destroyed) return;
    if (d.timedOut) this.o.log.debug('detection timed out; treating as opaque', { target: authority });
    if (d.protocol !== 'http1' && d.protocol !== 'h2') return this.o.tcp.forward(socket, authority, fallback);
    countConnection(this.o.metrics, socket, this.appConnectionLabels(authority, fallback));
    if (d.protocol === 'http1') this.front.serveH1(socket, { authority, fallback, named });
    else this.front.serveH2(socket, { authority, fallback, named });
  }

  /** A connection on the HTTP forward-proxy port: the target is named per request. */
  acceptForwardProxy(socket: Socket): void {
    this.front.track(socket);
    this.front.serveH1(socket, { authority: undefined, fallback: undefined, named: false });
  }

  /** A transparently redirected connection: the target is its original destination. */
  acceptTransparent(socket: Socket, listener: SocketAddr): void {
    const od = originalDestination(socket);
    if (!od || (od.port === listener.port && (od.host === socket.localAddress || listener.host === '0.0.0.0' || listener.host === '::'))) {
      this.o.log.info('outbound: connection without an original destination refused (not redirected?)', { from: `${socket.remoteAddress}:${socket.remotePort}` });
      socket.destroy();
      return;
    }
    void this.accept(socket, formatAddr(od), od);
  }

  /** The app's own connection to this proxy, for the tcp_* metrics (requests are balanced one by one). */
  private appConnectionLabels(authority: string, fallback: SocketAddr | undefined): TrafficLabels {
    return this.connLabels.get(authority, () => ({
      direction: 'outbound',
      authority,
      target_addr: fallback ? formatAddr(fallback) : authority,
      tls: 'no_identity',
      no_tls_reason: NO_TLS_REASON.loopback,
    }));
  }

  drain(): void {
    this.front.drain();
  }

  get openConnections(): number {
    return this.front.openConnections;
  }

  destroyAll(): void {
    this.front.destroyAll();
  }
}

/** A forward-proxy request's target: absolute-form URI (`http://host:port/path`) or Host header. */
export function forwardProxyTarget(req: Pick<IncomingMessage, 'url' | 'headers'>): { authority: string; path: string } | undefined {
  const url = req.url ?? '/';
  if (/^https?:\/\//i.test(url)) {
    try {
      const u = new URL(url);
      const port = u.port || (u.protocol === 'https:' ? '443' : '80');
      // URL keeps IPv6 hosts in brackets, as an authority needs them.
      return { authority: `${u.hostname}:${port}`, path: `${u.pathname}${u.search}` };
    } catch {
      return undefined;
    }
  }
  const host = req.headers.host;
  if (!host) return undefined;
  return { authority: parseAddr(host) ? host : `${host}:80`, path: url };
}

