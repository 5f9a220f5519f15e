/**
 * The inbound side: every connection to the pod's app arrives here (redirected, or addressed to the
 * inbound port by peer proxies). Mesh mTLS (SNI = our identity) is terminated and its HTTP/2
 * streams or opaque stream go to the app; anything else is detected and forwarded in plaintext,
 * labelled `tls="no_identity"`. The client's identity reaches the app as `weft-client-id`.
 */
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import http2, { type IncomingHttpHeaders, type ServerHttp2Stream } from 'node:http2';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import tls from 'node:tls';
import { formatAddr, type SocketAddr } from '../discovery/discovery';
import { detectProtocol, peek } from '../detect';
import { h1Downstream, h2Downstream, type Downstream } from '../http/downstream';
import { sendH1, sendH2, type UpstreamRequest, type UpstreamResponse } from '../http/exchange';
import { forwardableHeaders, H_CLIENT_ID, H_DST_PORT, H_ORIG_PROTO, serializeRequestHead } from '../http/headers';
import type { Logger } from '../log';
import type { ProxyMetrics, TrafficLabels } from '../metrics/proxy-metrics';
import { originalDestination } from '../original-dst/original-dst';
import { clientErrorResponse } from '../outbound/outbound';
import { splice } from '../outbound/outbound-tcp';
import type { IdentityCerts } from '../tls/identity-certs';
import { parseClientHello } from '../tls/client-hello';
import { attachRotation, peerIdentityResult, serverTlsOptions } from '../tls/mtls';
import { ALPN_MESH_H2, ALPN_MESH_TCP, decodeTransportHeader, TRANSPORT_HEADER_LENGTH } from '../transport/transport-header';
import type { UpstreamPools } from '../transport/upstream-pools';

export interface InboundOptions {
  certs: IdentityCerts | undefined;
  pools: UpstreamPools;
  metrics: ProxyMetrics;
  log: Logger;
  appHost: string;
  /** App port for plaintext that arrives without an original destination (explicit mode). */
  appPort: number | undefined;
  opaquePorts: Set<number>;
  detectTimeoutMs: number;
  maxHeaderBytes: number;
  headerTimeoutMs: number;
  idleTimeoutMs: number;
}

interface ConnInfo {
  /** Verified client identity; undefined for plaintext. */
  clientId: string | undefined;
  /** App port for this connection (plaintext); mesh streams carry theirs in a header. */
  port: number | undefined;
}

export class Inbound {
  private readonly h1: http.Server;
  private readonly h2: http2.Http2Server;
  private readonly conns = new WeakMap<Duplex, ConnInfo>();
  private readonly sessionInfo = new WeakMap<http2.Http2Session, ConnInfo>();
  private readonly h2Sessions = new Set<http2.ServerHttp2Session>();
  private pendingH2: ConnInfo | undefined;
  private readonly sockets = new Set<Duplex>();
  private readonly labelCache = new Map<string, TrafficLabels>();
  private listenPort = 0;
  /** Terminates mesh mTLS; never listens, is handed raw sockets whose ClientHello names our identity. */
  private readonly meshTls: tls.Server | undefined;

  constructor(private readonly o: InboundOptions) {
    this.h1 = http.createServer({ maxHeaderSize: o.maxHeaderBytes, headersTimeout: o.headerTimeoutMs, requestTimeout: 0, keepAliveTimeout: o.idleTimeoutMs });
    this.h1.on('request', (req: IncomingMessage, res: ServerResponse) => {
      const info = this.conns.get(req.socket);
      if (!info?.port) return void res.destroy();
      void this.toApp(h1Downstream(req, res), info.port, 'h1', info.clientId);
    });
    this.h1.on('upgrade', (req: IncomingMessage, socket: Socket, head: Buffer) => {
      const info = this.conns.get(socket);
      if (!info?.port) return void socket.destroy();
      const prefix = Buffer.concat([serializeRequestHead(req.method ?? 'GET', req.url ?? '/', req.rawHeaders), head]);
      void this.spliceToApp(socket, info.port, info.clientId, prefix);
    });
    this.h1.on('clientError', (err: NodeJS.ErrnoException, socket: Duplex) => {
      o.log.info('inbound: bad HTTP request', { error: err.code ?? err.message });
      clientErrorResponse(err, socket);
    });
    this.h2 = http2.createServer({ settings: { initialWindowSize: 1 << 20, maxConcurrentStreams: 1000 } });
    this.h2.on('session', (session: http2.ServerHttp2Session) => {
      if (this.pendingH2) this.sessionInfo.set(session, this.pendingH2);
      this.h2Sessions.add(session);
      session.once('close', () => this.h2Sessions.delete(session));
    });
    this.h2.on('stream', (stream: ServerHttp2Stream, headers: IncomingHttpHeaders) => {
      const info = stream.session ? this.sessionInfo.get(stream.session) : undefined;
      if (!info) return void stream.close(http2.constants.NGHTTP2_REFUSED_STREAM);
      const dstPort = info.clientId !== undefined ? Number(headers[H_DST_PORT]) : NaN;
      const port = Number.isInteger(dstPort) && dstPort > 0 ? dstPort : info.port;
      if (!port) return void stream.close(http2.constants.NGHTTP2_REFUSED_STREAM);
      const proto = info.clientId !== undefined && headers[H_ORIG_PROTO] === 'HTTP/1.1' ? 'h1' : 'h2';
      void this.toApp(h2Downstream(stream, headers), port, proto, info.clientId);
    });
    this.h2.on('sessionError', (e: Error) => o.log.debug('inbound h2 session error', { error: e.message }));
    if (o.certs) {
      const alpn = [ALPN_MESH_H2, ALPN_MESH_TCP];
      const server = tls.createServer(serverTlsOptions(o.certs, alpn));
      this.detachRotation = attachRotation(server, o.certs, alpn);
      server.on('secureConnection', (s: tls.TLSSocket) => this.onMeshSecure(s));
      server.on('tlsClientError', (e: Error, s: tls.TLSSocket) => {
        o.log.info('inbound: TLS handshake failed', { from: s.remoteAddress, error: e.message });
        s.destroy();
      });
      server.setMaxListeners(0);
      this.meshTls = server;
    }
  }

  private readonly detachRotation: (() => void) | undefined;

  setListenPort(port: number): void {
    this.listenPort = port;
  }

  async accept(socket: Socket): Promise<void> {
    this.track(socket);
    const od = originalDestination(socket);
    const redirected = od !== undefined && od.port !== this.listenPort;
    const port = redirected ? od.port : this.o.appPort;
    if (redirected && this.o.opaquePorts.has(port!)) return this.spliceToApp(socket, port!, undefined);
    const d = await detectProtocol(socket, this.o.detectTimeoutMs);
    if (socket.destroyed) return;
    if (d.protocol === 'tls' && this.o.certs) {
      let hello = parseClientHello(d.bytes);
      if (hello === 'need-more') {
        // Take back what detection gave back, and read on until the whole ClientHello is here.
        socket.read();
        const head = d.bytes;
        const more = await peek(socket, (b) => parseClientHello(Buffer.concat([head, b])), this.o.detectTimeoutMs);
        socket.unshift(Buffer.concat([head, more.bytes]));
        hello = more.result ?? 'not-tls';
      }
      return this.acceptTls(socket, typeof hello === 'object' ? hello.sni : undefined, port);
    }
    if (port === undefined) {
      this.o.log.info('inbound: plaintext connection with no destination port refused', { from: socket.remoteAddress });
      socket.destroy();
      return;
    }
    const info: ConnInfo = { clientId: undefined, port };
    if (d.protocol === 'http1') {
      this.conns.set(socket, info);
      this.h1.emit('connection', socket);
      socket.resume();
    } else if (d.protocol === 'h2') {
      this.attachH2(socket, info);
    } else return this.spliceToApp(socket, port, undefined);
  }

  private acceptTls(socket: Socket, sni: string | undefined, port: number | undefined): void {
    const certs = this.o.certs!;
    if (sni !== certs.identity || !this.meshTls) {
      // The app's own TLS (or a proxy that expects another identity): pass it through untouched.
      if (port === undefined) return void socket.destroy();
      return void this.spliceToApp(socket, port, undefined);
    }
    this.meshTls.emit('connection', socket);
  }

  /** A mesh TLS handshake completed (tls.Server's 'secureConnection'). */
  private onMeshSecure(tlsSocket: tls.TLSSocket): void {
    this.track(tlsSocket);
    const peer = peerIdentityResult(tlsSocket);
    if (peer.kind === 'rejected') {
      this.o.log.info('inbound: TLS client refused', { from: tlsSocket.remoteAddress, reason: peer.reason });
      tlsSocket.destroy();
      return;
    }
    const clientId = peer.kind === 'verified' ? peer.identity : undefined;
    // Mesh streams name their app port (weft-dst-port, transport header); the configured port is the fallback.
    if (tlsSocket.alpnProtocol === ALPN_MESH_H2) return this.attachH2(tlsSocket, { clientId, port: this.o.appPort });
    if (tlsSocket.alpnProtocol === ALPN_MESH_TCP) return void this.acceptMeshTcp(tlsSocket, clientId);
    this.o.log.info('inbound: TLS client without a mesh protocol refused', { alpn: String(tlsSocket.alpnProtocol) });
    tlsSocket.destroy();
  }

  private async acceptMeshTcp(tlsSocket: tls.TLSSocket, clientId: string | undefined): Promise<void> {
    const h = await peek(tlsSocket, decodeTransportHeader, this.o.detectTimeoutMs);
    if (!h.result || 'error' in h.result) {
      this.o.log.info('inbound: opaque mesh connection refused', { reason: h.result && 'error' in h.result ? h.result.error : 'no transport header' });
      tlsSocket.destroy();
      return;
    }
    const rest = h.bytes.subarray(TRANSPORT_HEADER_LENGTH);
    // Stay paused: splice() pipes (and so resumes) once the app connection exists; resuming here
    // would emit the client's first bytes while nothing listens, and lose them.
    if (rest.length > 0) tlsSocket.unshift(rest);
    return this.spliceToApp(tlsSocket, h.result.port, clientId);
  }

  private attachH2(socket: Duplex, info: ConnInfo): void {
    this.pendingH2 = info;
    this.h2.emit('connection', socket);
    this.pendingH2 = undefined;
  }

  private async toApp(ds: Downstream, port: number, proto: 'h1' | 'h2', clientId: string | undefined): Promise<void> {
    const app: SocketAddr = { host: this.o.appHost, port };
    const rec = this.o.metrics.httpStream(this.labels(ds.authority, app, clientId));
    const headers = forwardableHeaders(ds.headers);
    if (clientId) headers[H_CLIENT_ID] = clientId;
    const req: UpstreamRequest = {
      method: ds.method,
      path: ds.path,
      authority: ds.authority || formatAddr(app),
      headers,
      body: ds.body,
      trailers: ds.trailers,
      expectTrailers: ds.expectTrailers,
    };
    const ctl = new AbortController();
    ds.onAbort(() => ctl.abort(new Error('client went away')));
    req.signal = ctl.signal;
    let res: UpstreamResponse;
    try {
      res = proto === 'h1' ? await sendH1(this.o.pools.h1Agent, app, req) : await this.o.pools.plainSession(app).then((s) => sendH2(s, req));
    } catch (e) {
      rec.end({ error: true });
      this.o.log.debug('inbound: app unreachable', { port, error: (e as Error).message });
      return ds.fail(502, `app on port ${port} is unreachable: ${(e as Error).message}`);
    }
    rec.responseHeaders(res.status);
    const completed = await ds.respond(res);
    const trailers = completed ? await res.trailers : undefined;
    const g = trailers?.['grpc-status'] ?? res.headers['grpc-status'];
    rec.end({ grpcStatus: g === undefined ? undefined : Number(g), error: !completed });
  }

  private async spliceToApp(client: Duplex, port: number, clientId: string | undefined, prefix?: Buffer): Promise<void> {
    const app: SocketAddr = { host: this.o.appHost, port };
    let upstream: Socket;
    try {
      upstream = await this.o.pools.plainTcp(app);
    } catch (e) {
      this.o.log.info('inbound: app unreachable', { port, error: (e as Error).message });
      client.destroy();
      return;
    }
    const rec = this.o.metrics.tcpConnection(this.labels(formatAddr(app), app, clientId));
    if (prefix && prefix.length > 0) {
      upstream.write(prefix);
      rec.read(prefix.length);
    }
    splice(client, upstream, rec);
  }

  private labels(authority: string, app: SocketAddr, clientId: string | undefined): TrafficLabels {
    const key = `${authority}|${app.port}|${clientId ?? ''}`;
    let l = this.labelCache.get(key);
    if (!l) {
      l = clientId
        ? { direction: 'inbound', authority, target_addr: formatAddr(app), tls: 'true', client_id: clientId }
        : { direction: 'inbound', authority, target_addr: formatAddr(app), tls: 'no_identity', no_tls_reason: 'no_tls_from_remote' };
      if (this.labelCache.size > 10_000) this.labelCache.clear();
      this.labelCache.set(key, l);
    }
    return l;
  }

  private track(socket: Duplex): void {
    this.sockets.add(socket);
    socket.once('close', () => this.sockets.delete(socket));
    socket.on('error', () => undefined);
  }

  drain(): void {
    this.h1.closeIdleConnections();
    for (const s of this.h2Sessions) if (!s.closed) s.close();
  }

  get openConnections(): number {
    return this.sockets.size;
  }

  destroyAll(): void {
    for (const s of this.sockets) s.destroy();
    this.detachRotation?.();
  }
}

