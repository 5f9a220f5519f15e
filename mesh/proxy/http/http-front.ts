/**
 * The HTTP front both sides of the proxy share: connections whose protocol detection already ran go
 * to the lean HTTP/1.1 server (./h1-lean-server.ts), which hands what it does not serve to a
 * never-listening node:http server, or to a never-listening HTTP/2 server; a per-connection context,
 * connection tracking, and graceful drain. HTTP/2 sessions expose a proxy object as their socket, so
 * HTTP/2 contexts are keyed by session.
 */
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import http2, { type IncomingHttpHeaders, type ServerHttp2Session, type ServerHttp2Stream } from 'node:http2';
import { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { Logger } from '../log';
import { h1Downstream, type H1Downstream } from './downstream';
import { LeanConnection } from './h1-lean-server';

export interface HttpFrontHandlers<Ctx> {
  request(ds: H1Downstream, ctx: Ctx): void;
  /** An HTTP/1 Upgrade request (WebSocket…): the handler owns the socket from here. */
  upgrade(req: IncomingMessage, socket: Duplex, head: Buffer, ctx: Ctx): void;
  /** A CONNECT request; absent: refused. */
  connect?(req: IncomingMessage, socket: Duplex, head: Buffer, ctx: Ctx): void;
  stream(stream: ServerHttp2Stream, headers: IncomingHttpHeaders, ctx: Ctx): void;
}

export interface HttpFrontLimits {
  maxHeaderBytes: number;
  headerTimeoutMs: number;
  idleTimeoutMs: number;
  /** Serve HTTP/1 on the lean path (default), else every connection on node:http. */
  leanHttp1?: boolean;
}

const H2_SETTINGS: http2.Settings = { initialWindowSize: 1 << 20, maxConcurrentStreams: 1000 };

export class HttpFront<Ctx> {
  private readonly h1: http.Server;
  private readonly h2: http2.Http2Server;
  private readonly ctx = new WeakMap<Duplex, Ctx>();
  private readonly sessionCtx = new WeakMap<http2.Http2Session, Ctx>();
  private readonly sessions = new Set<ServerHttp2Session>();
  private readonly sockets = new Set<Duplex>();
  private pendingH2: Ctx | undefined;
  private readonly answered = new WeakSet<Duplex>();
  private readonly lean = new Set<LeanConnection<Ctx>>();
  private sweeper: NodeJS.Timeout | undefined;
  private readonly leanHooks;

  constructor(
    side: 'inbound' | 'outbound',
    private readonly limits: HttpFrontLimits,
    handlers: HttpFrontHandlers<Ctx>,
    log: Logger,
  ) {
    this.leanHooks = {
      request: handlers.request,
      handOff: (socket: Socket, ctx: Ctx) => this.serveNodeH1(socket, ctx),
      badRequest: (code: string) => log.info(`${side}: bad HTTP request`, { error: code }),
      maxHeaderBytes: limits.maxHeaderBytes,
    };
    this.h1 = http.createServer({
      maxHeaderSize: limits.maxHeaderBytes,
      headersTimeout: limits.headerTimeoutMs,
      requestTimeout: 0,
      keepAliveTimeout: limits.idleTimeoutMs,
      // How often Node looks for clients that have not finished their headers (they get 408).
      connectionsCheckingInterval: Math.max(100, Math.min(1_000, Math.floor(limits.headerTimeoutMs / 4))),
    });
    // Node starts its header-timeout checks on 'listening'; this server never listens (it is handed
    // detected connections), so start them the same way Node does.
    this.h1.emit('listening');
    // A client that shuts its write side after its request still gets the response (RFC 9112 §9.6).
    (this.h1 as http.Server & { httpAllowHalfOpen: boolean }).httpAllowHalfOpen = true;
    this.h1.on('request', (req: IncomingMessage, res: ServerResponse) => {
      const c = this.ctx.get(req.socket);
      if (c === undefined) return void res.destroy();
      handlers.request(h1Downstream(req, res), c);
    });
    this.h1.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
      const c = this.ctx.get(socket);
      if (c === undefined) return void socket.destroy();
      handlers.upgrade(req, socket, head, c);
    });
    this.h1.on('connect', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
      const c = this.ctx.get(socket);
      if (c === undefined || !handlers.connect) {
        socket.end('HTTP/1.1 405 Method Not Allowed\r\ncontent-length: 0\r\n\r\n');
        return;
      }
      handlers.connect(req, socket, head, c);
    });
    this.h1.on('clientError', (err: NodeJS.ErrnoException, socket: Duplex) => {
      // One answer and one log line per bad connection (after a 408 the client's EOF is a second parse error).
      if (this.answered.has(socket)) return void socket.destroy();
      this.answered.add(socket);
      log.info(`${side}: bad HTTP request`, { error: err.code ?? err.message });
      clientErrorResponse(err, socket);
    });
    this.h2 = http2.createServer({ settings: H2_SETTINGS });
    this.h2.on('session', (session: ServerHttp2Session) => {
      if (this.pendingH2 !== undefined) this.sessionCtx.set(session, this.pendingH2);
      this.sessions.add(session);
      session.once('close', () => this.sessions.delete(session));
    });
    this.h2.on('stream', (stream: ServerHttp2Stream, headers: IncomingHttpHeaders) => {
      const c = stream.session ? this.sessionCtx.get(stream.session) : undefined;
      if (c === undefined) return void stream.close(http2.constants.NGHTTP2_REFUSED_STREAM);
      handlers.stream(stream, headers, c);
    });
    this.h2.on('sessionError', (e: Error) => log.debug(`${side}: HTTP/2 session error`, { error: e.message }));
  }

  /** Counts a connection as open until it closes (for drain), and keeps its errors from throwing. */
  track(socket: Duplex): void {
    this.sockets.add(socket);
    socket.once('close', () => this.sockets.delete(socket));
    socket.on('error', () => undefined);
  }

  /** An HTTP/1 connection: the lean server for plain sockets, node:http for anything else. */
  serveH1(socket: Duplex, ctx: Ctx): void {
    if (this.limits.leanHttp1 === false || !(socket instanceof Socket)) return this.serveNodeH1(socket, ctx);
    const c = new LeanConnection(socket, ctx, this.leanHooks, (gone) => this.lean.delete(gone));
    this.lean.add(c);
    this.startSweeper();
  }

  private serveNodeH1(socket: Duplex, ctx: Ctx): void {
    this.ctx.set(socket, ctx);
    this.h1.emit('connection', socket);
    socket.resume();
  }

  /** Idle keep-alive connections and stuck heads on the lean path, checked as node:http checks its own. */
  private startSweeper(): void {
    if (this.sweeper) return;
    const { idleTimeoutMs, headerTimeoutMs } = this.limits;
    const every = Math.max(100, Math.min(1_000, Math.floor(Math.min(idleTimeoutMs || 1_000, headerTimeoutMs || 1_000) / 4)));
    this.sweeper = setInterval(() => {
      if (this.lean.size === 0) {
        clearInterval(this.sweeper);
        this.sweeper = undefined;
        return;
      }
      const now = performance.now();
      for (const c of this.lean) c.sweep(now, idleTimeoutMs, headerTimeoutMs);
    }, every);
    this.sweeper.unref();
  }

  serveH2(socket: Duplex, ctx: Ctx): void {
    // An HTTP/2 connection closes when the peer closes (the listener's half-open mode is for HTTP/1).
    if (socket instanceof Socket) socket.allowHalfOpen = false;
    this.pendingH2 = ctx;
    this.h2.emit('connection', socket);
    this.pendingH2 = undefined;
  }

  /** Graceful drain: idle HTTP/1 connections close, HTTP/2 sessions get GOAWAY; in-flight requests finish. */
  drain(): void {
    this.h1.closeIdleConnections();
    for (const c of this.lean) c.drain();
    for (const s of this.sessions) if (!s.closed) s.close();
  }

  get openConnections(): number {
    return this.sockets.size;
  }

  destroyAll(): void {
    for (const s of this.sockets) s.destroy();
    if (this.sweeper) clearInterval(this.sweeper);
    this.sweeper = undefined;
    // Stops the header-timeout checker started in the constructor.
    this.h1.close();
  }
}

/** The answer to a malformed request: 431 for oversized headers, 408 for a header timeout, else 400. */
export function clientErrorResponse(err: NodeJS.ErrnoException, socket: Duplex): void {
  if (!socket.writable || socket.destroyed) return void socket.destroy();
  const status =
    err.code === 'HPE_HEADER_OVERFLOW' ? '431 Request Header Fields Too Large' : err.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? '408 Request Timeout' : '400 Bad Request';
  socket.end(`HTTP/1.1 ${status}\r\nconnection: close\r\ncontent-length: 0\r\n\r\n`);
}
