/**
 * The outbound side's front door. Connections arrive three ways — transparently redirected
 * (SO_ORIGINAL_DST), on a named upstream listener, or as HTTP forward-proxy requests — and each is
 * classified (opaque port, profile hint, or detection) and handed to the HTTP or TCP path.
 */
import http, { type IncomingMessage } from 'node:http';
import http2 from 'node:http2';
import net, { type Socket } from 'node:net';
import { formatAddr, parseAddr, type SocketAddr } from '../discovery/discovery';
import { detectProtocol } from '../detect';
import { h1Downstream, h2Downstream } from '../http/downstream';
import { serializeRequestHead } from '../http/headers';
import type { Logger } from '../log';
import { originalDestination } from '../original-dst/original-dst';
import type { OutboundHttp } from './outbound-http';
import type { OutboundTcp } from './outbound-tcp';
import type { Destinations } from './destinations';

interface ConnTarget {
  /** What discovery is asked; undefined on the forward-proxy port (per request). */
  authority: string | undefined;
  fallback: SocketAddr | undefined;
  /** A named upstream listener: the app addressed 127.0.0.1:PORT, the request is for `authority`. */
  named: boolean;
}

export interface OutboundOptions {
  http: OutboundHttp;
  tcp: OutboundTcp;
  destinations: Destinations;
  log: Logger;
  opaquePorts: Set<number>;
  detectTimeoutMs: number;
  maxHeaderBytes: number;
  headerTimeoutMs: number;
  idleTimeoutMs: number;
}

export class Outbound {
  private readonly targets = new WeakMap<Socket, ConnTarget>();
  readonly h1: http.Server;
  readonly h2: http2.Http2Server;
  private readonly sockets = new Set<Socket>();
  /** HTTP/2 sessions expose a proxy object as their socket: contexts are keyed by session instead. */
  private readonly sessionTargets = new WeakMap<http2.Http2Session, ConnTarget>();
  private readonly h2Sessions = new Set<http2.ServerHttp2Session>();
  private pendingH2: ConnTarget | undefined;

  constructor(private readonly o: OutboundOptions) {
    this.h1 = http.createServer({
      maxHeaderSize: o.maxHeaderBytes,
      headersTimeout: o.headerTimeoutMs,
      requestTimeout: 0,
      keepAliveTimeout: o.idleTimeoutMs,
    });
    this.h1.on('request', (req, res) => {
      const t = this.targets.get(req.socket);
      if (!t) return void res.destroy();
      if (t.authority === undefined) {
        const fp = forwardProxyTarget(req);
        if (!fp) {
          res.writeHead(400, { 'content-type': 'text/plain' }).end('forward proxy: the request names no host\n');
          return;
        }
        req.url = fp.path;
        void o.http.handle(h1Downstream(req, res, fp.authority), fp.authority, parseAddr(fp.authority));
        return;
      }
      void o.http.handle(h1Downstream(req, res, t.named ? t.authority : undefined), t.authority, t.fallback);
    });
    this.h1.on('upgrade', (req: IncomingMessage, socket: Socket, head: Buffer) => {
      const t = this.targets.get(socket);
      const authority = t?.authority ?? forwardProxyTarget(req)?.authority;
      if (!authority) return void socket.destroy();
      // Upgrades (WebSocket…) leave HTTP: the request head and the rest of the stream ride an opaque tunnel.
      const prefix = Buffer.concat([serializeRequestHead(req.method ?? 'GET', req.url ?? '/', req.rawHeaders), head]);
      void o.tcp.forward(socket, authority, t?.fallback, prefix);
    });
    this.h1.on('connect', (req: IncomingMessage, socket: Socket, head: Buffer) => {
      const authority = req.url ?? '';
      const addr = parseAddr(authority);
      if (!addr) {
        socket.end('HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\n\r\n');
        return;
      }
      socket.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      void o.tcp.forward(socket, authority, addr, head);
    });
    this.h1.on('clientError', (err: NodeJS.ErrnoException, socket: Socket) => {
      o.log.info('outbound: bad HTTP request', { error: err.code ?? err.message });
      clientErrorResponse(err, socket);
    });
    this.h2 = http2.createServer({ maxSessionMemory: 64, settings: { initialWindowSize: 1 << 20, maxConcurrentStreams: 1000 } });
    this.h2.on('session', (session: http2.ServerHttp2Session) => {
      if (this.pendingH2) this.sessionTargets.set(session, this.pendingH2);
      this.h2Sessions.add(session);
      session.once('close', () => this.h2Sessions.delete(session));
    });
    this.h2.on('stream', (stream, headers) => {
      const t = stream.session ? this.sessionTargets.get(stream.session) : undefined;
      if (!t?.authority) return void stream.close(http2.constants.NGHTTP2_REFUSED_STREAM);
      void o.http.handle(h2Downstream(stream, headers, t.named ? t.authority : undefined), t.authority, t.fallback);
    });
    this.h2.on('sessionError', (e: Error) => o.log.debug('outbound h2 session error', { error: e.message }));
  }

  /** A connection whose target is known (transparent or named upstream). */
  async accept(socket: Socket, authority: string, fallback: SocketAddr | undefined, named = false): Promise<void> {
    this.track(socket);
    const port = fallback?.port ?? parseAddr(authority)?.port;
    if (port !== undefined && this.o.opaquePorts.has(port)) return this.o.tcp.forward(socket, authority, fallback);
    const target = this.o.destinations.get(authority);
    if (target.state === 'pending') await target.ready;
    if (target.profile?.opaque) return this.o.tcp.forward(socket, authority, fallback);
    const d = await detectProtocol(socket, this.o.detectTimeoutMs);
    if (socket.destroyed) return;
    if (d.timedOut) this.o.log.debug('detection timed out; treating as opaque', { target: authority });
    this.targets.set(socket, { authority, fallback, named });
    if (d.protocol === 'http1') {
      socket.resume();
      this.h1.emit('connection', socket);
    } else if (d.protocol === 'h2') {
      this.pendingH2 = { authority, fallback, named };
      this.h2.emit('connection', socket);
      this.pendingH2 = undefined;
    } else return this.o.tcp.forward(socket, authority, fallback);
  }

  /** A connection on the HTTP forward-proxy port: the target is named per request. */
  acceptForwardProxy(socket: Socket): void {
    this.track(socket);
    this.targets.set(socket, { authority: undefined, fallback: undefined, named: false });
    this.h1.emit('connection', socket);
  }

  /** A transparently redirected connection: the target is its original destination. */
  acceptTransparent(socket: Socket, listener: SocketAddr): void {
    const od = originalDestination(socket);
    if (!od || (od.port === listener.port && (od.host === socket.localAddress || listener.host === '0.0.0.0'))) {
      this.o.log.info('outbound: connection without an original destination refused (not redirected?)', { from: `${socket.remoteAddress}:${socket.remotePort}` });
      socket.destroy();
      return;
    }
    void this.accept(socket, formatAddr(od), od);
  }

  private track(socket: Socket): void {
    this.sockets.add(socket);
    socket.once('close', () => this.sockets.delete(socket));
    socket.on('error', () => undefined);
  }

  /** Graceful drain: idle HTTP/1 connections close, HTTP/2 sessions get GOAWAY; in-flight requests finish. */
  drain(): void {
    this.h1.closeIdleConnections();
    for (const s of this.h2Sessions) if (!s.closed) s.close();
  }

  get openConnections(): number {
    return this.sockets.size;
  }

  destroyAll(): void {
    for (const s of this.sockets) s.destroy();
  }
}

/** A forward-proxy request's target: absolute-form URI (`http://host:port/path`) or Host header. */
export function forwardProxyTarget(req: IncomingMessage): { authority: string; path: string } | undefined {
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

/** The answer to a malformed request: 431 for oversized headers, 408 for a header timeout, else 400. */
export function clientErrorResponse(err: NodeJS.ErrnoException, socket: Socket | import('node:stream').Duplex): void {
  if (!socket.writable || (socket as Socket).destroyed) return void socket.destroy();
  const status =
    err.code === 'HPE_HEADER_OVERFLOW' ? '431 Request Header Fields Too Large' : err.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? '408 Request Timeout' : '400 Bad Request';
  socket.end(`HTTP/1.1 ${status}\r\nconnection: close\r\ncontent-length: 0\r\n\r\n`);
}

export function listen(server: net.Server, addr: SocketAddr): Promise<SocketAddr> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host: addr.host, port: addr.port }, () => {
      server.removeListener('error', reject);
      const a = server.address() as net.AddressInfo;
      resolve({ host: addr.host, port: a.port });
    });
  });
}
