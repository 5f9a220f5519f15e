/**
 * The inbound side: every connection to the pod's app arrives here (redirected, or addressed to the
 * inbound port by peer proxies). Mesh mTLS (SNI = our identity) is terminated and its HTTP/2
 * streams or opaque stream go to the app; anything else is detected and forwarded in plaintext,
 * labelled `tls="no_identity"`. The client's identity reaches the app as `weft-client-id`.
 * The inbound policy (../policy/authorizer.ts) is asked per opaque connection (denied: closed) and
 * per HTTP request (denied: 403, or grpc-status 7 for gRPC) before anything reaches the app.
 */
import http2 from 'node:http2';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import tls from 'node:tls';
import { formatAddr, type SocketAddr } from '../discovery/discovery';
import { detectProtocol, peek } from '../detect';
import { h2Downstream, type Downstream } from '../http/downstream';
import { forwardOnce } from '../http/forward-once';
import { H_CLIENT_ID, H_DST_PORT, H_ORIG_PROTO, serializeRequestHead } from '../http/headers';
import { HttpFront, type HttpFrontLimits } from '../http/http-front';
import { throttledLog, type Logger } from '../log';
import { countConnection, type ProxyMetrics, type TrafficLabels } from '../metrics/proxy-metrics';
import { LabelCache } from '../metrics/label-cache';
import { NO_TLS_REASON } from '../metrics/traffic-labels';
import { originalDestination } from '../original-dst/original-dst';
import { splice } from '../outbound/outbound-tcp';
import type { ConnectionAuthz, InboundAuthorizer } from '../policy/authorizer';
import type { IdentityCerts } from '../tls/identity-certs';
import { parseClientHello } from '../tls/client-hello';
import { attachRotation, peerIdentityResult, serverTlsOptions } from '../tls/mtls';
import { ALPN_MESH_H2, ALPN_MESH_TCP, decodeTransportHeader, TRANSPORT_HEADER_LENGTH } from '../transport/transport-header';
import type { UpstreamPools } from '../transport/upstream-pools';

export interface InboundOptions extends HttpFrontLimits {
  certs: IdentityCerts | undefined;
  pools: UpstreamPools;
  metrics: ProxyMetrics;
  log: Logger;
  appHost: string;
  /** App port for plaintext that arrives without an original destination (explicit mode). */
  appPort: number | undefined;
  opaquePorts: Set<number>;
  detectTimeoutMs: number;
  /** The inbound policy; absent: everything is allowed and nothing is counted. */
  authz?: InboundAuthorizer;
}

interface ConnInfo {
  /** Verified client identity; undefined for plaintext. */
  clientId: string | undefined;
  /** App port for this connection; mesh streams name theirs in a header. */
  port: number | undefined;
  authz: ConnectionAuthz | undefined;
}

export class Inbound {
  private readonly front: HttpFront<ConnInfo>;
  private readonly labelCache = new LabelCache();
  /** The port mesh connections are labelled with (the first listener's). */
  private listenPort = 0;
  /** Every port the inbound listeners are bound to: a connection to one of them was not redirected. */
  private listenPorts = new Set<number>();
  /** Terminates mesh mTLS; never listens, is handed raw sockets whose ClientHello names our identity. */
  private readonly meshTls: tls.Server | undefined;
  private readonly detachRotation: (() => void) | undefined;
  private readonly logOnce: ReturnType<typeof throttledLog>;

  constructor(private readonly o: InboundOptions) {
    this.logOnce = throttledLog(o.log);
    this.front = new HttpFront<ConnInfo>('inbound', o, {
      request: (ds, info) => {
        if (!info.port) return ds.fail(502, 'no destination port for this connection');
        const denied = this.deniedRequest(info, info.port, ds.method, ds.path, ds.headers['content-type']);
        if (denied !== undefined) return ds.fail(403, denied);
        void this.toApp(ds, info.port, 'h1', info.clientId);
      },
      upgrade: (req, socket, head, info) => {
        if (!info.port) return void socket.destroy();
        const denied = this.deniedRequest(info, info.port, req.method ?? 'GET', req.url ?? '/', undefined);
        if (denied !== undefined) {
          const body = `${denied}\n`;
          socket.end(`HTTP/1.1 403 Forbidden\r\ncontent-type: text/plain\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`);
          return;
        }
        const prefix = Buffer.concat([serializeRequestHead(req.method ?? 'GET', req.url ?? '/', req.rawHeaders), head]);
        void this.spliceToApp(socket, info.port, info.clientId, prefix);
      },
      stream: (stream, headers, info) => {
        // Only an authenticated peer proxy may name the app port and the original protocol.
        const meshed = info.clientId !== undefined;
        const dstPort = meshed ? Number(headers[H_DST_PORT]) : NaN;
        const port = Number.isInteger(dstPort) && dstPort > 0 && dstPort < 65536 ? dstPort : info.port;
        if (!port) return void stream.close(http2.constants.NGHTTP2_REFUSED_STREAM);
        const proto = meshed && headers[H_ORIG_PROTO] === 'HTTP/1.1' ? 'h1' : 'h2';
        const ds = h2Downstream(stream, headers);
        const denied = this.deniedRequest(info, port, ds.method, ds.path, headers['content-type']);
        if (denied !== undefined) return ds.fail(403, denied);
        void this.toApp(ds, port, proto, info.clientId);
      },
    }, o.log);
    if (o.certs) {
      const alpn = [ALPN_MESH_H2, ALPN_MESH_TCP];
      const server = tls.createServer(serverTlsOptions(o.certs, alpn));
      this.detachRotation = attachRotation(server, o.certs, alpn);
      server.on('secureConnection', (s: tls.TLSSocket) => this.onMeshSecure(s));
      server.on('tlsClientError', (e: Error, s: tls.TLSSocket) => {
        o.log.info('inbound: TLS handshake failed', { from: s.remoteAddress, error: e.message });
        s.destroy();
      });
      this.meshTls = server;
    }
  }

  setListenPorts(ports: readonly number[]): void {
    this.listenPort = ports[0] ?? 0;
    this.listenPorts = new Set(ports);
  }

  async accept(socket: Socket): Promise<void> {
    this.front.track(socket);
    const od = originalDestination(socket);
    const redirected = od !== undefined && !this.listenPorts.has(od.port);
    const port = redirected ? od.port : this.o.appPort;
    if (redirected && (this.o.opaquePorts.has(port!) || this.o.authz?.isOpaquePort(port!))) {
      if (!this.allowedTcp(socket, port!, undefined, socket.remoteAddress)) return;
      return this.spliceToApp(socket, port!, undefined);
    }
    const d = await detectProtocol(socket, this.o.detectTimeoutMs);
    if (socket.destroyed) return;
    if (d.protocol === 'tls' && this.meshTls) {
      let hello = parseClientHello(d.bytes);
      if (hello === 'need-more') {
        // Take back what detection gave back, and read on until the whole ClientHello is here.
        socket.read();
        const head = d.bytes;
        const more = await peek(socket, (b) => parseClientHello(Buffer.concat([head, b])), this.o.detectTimeoutMs);
        socket.unshift(Buffer.concat([head, more.bytes]));
        hello = more.result ?? 'not-tls';
      }
      if (typeof hello === 'object' && hello.sni === this.o.certs!.identity) {
        // Mesh connections close when the peer closes: the listener's half-open mode (kept for
        // HTTP/1 clients that shut their write side after a request) would leave them in CLOSE-WAIT.
        socket.allowHalfOpen = false;
        return void this.meshTls.emit('connection', socket);
      }
      // The app's own TLS (or a client expecting another identity) passes through untouched.
    }
    if (port === undefined) {
      this.o.log.info('inbound: plaintext connection with no destination port refused', { from: socket.remoteAddress });
      socket.destroy();
      return;
    }
    const info: ConnInfo = { clientId: undefined, port, authz: this.o.authz?.connection(undefined, socket.remoteAddress) };
    if (d.protocol === 'opaque' || d.protocol === 'tls') {
      if (!this.allowedTcp(socket, port, undefined, socket.remoteAddress, info.authz)) return;
      return this.spliceToApp(socket, port, undefined);
    }
    const app = { host: this.o.appHost, port };
    countConnection(this.o.metrics, socket, this.labels(formatAddr(app), app, undefined));
    if (d.protocol === 'http1') this.front.serveH1(socket, info);
    else this.front.serveH2(socket, info);
  }

  /** A mesh TLS handshake completed (tls.Server's 'secureConnection'). */
  private onMeshSecure(tlsSocket: tls.TLSSocket): void {
    this.front.track(tlsSocket);
    const peer = peerIdentityResult(tlsSocket);
    if (peer.kind === 'rejected') {
      this.o.log.info('inbound: TLS client refused', { from: tlsSocket.remoteAddress, reason: peer.reason });
      tlsSocket.destroy();
      return;
    }
    const clientId = peer.kind === 'verified' ? peer.identity : undefined;
    // Mesh streams name their app port (weft-dst-port, transport header); the configured port is the fallback.
    if (tlsSocket.alpnProtocol === ALPN_MESH_H2) {
      countConnection(this.o.metrics, tlsSocket, this.meshConnectionLabels(clientId));
      return this.front.serveH2(tlsSocket, { clientId, port: this.o.appPort, authz: this.o.authz?.connection(clientId, tlsSocket.remoteAddress) });
    }
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
    if (!this.allowedTcp(tlsSocket, h.result.port, clientId, tlsSocket.remoteAddress)) return;
    return this.spliceToApp(tlsSocket, h.result.port, clientId);
  }

  /** The policy's answer for an opaque connection; a denied one is closed here. */
  private allowedTcp(client: Duplex, port: number, clientId: string | undefined, clientIp: string | undefined, authz?: ConnectionAuthz): boolean {
    if (!this.o.authz) return true;
    const d = (authz ?? this.o.authz.connection(clientId, clientIp)).tcp(port, formatAddr({ host: this.o.appHost, port }));
    if (!d.allow) client.destroy();
    return d.allow;
  }

  /** The reason when the policy denies this request; undefined when it is allowed. */
  private deniedRequest(info: ConnInfo, port: number, method: string, path: string, contentType: string | string[] | undefined): string | undefined {
    if (!info.authz) return undefined;
    const grpc = typeof contentType === 'string' && contentType.startsWith('application/grpc');
    const d = info.authz.http({ port, method, path, grpc, targetAddr: formatAddr({ host: this.o.appHost, port }) });
    return d.allow ? undefined : d.reason;
  }

  private toApp(ds: Downstream, port: number, proto: 'h1' | 'h2', clientId: string | undefined): Promise<void> {
    const app: SocketAddr = { host: this.o.appHost, port };
    const rec = this.o.metrics.httpStream(this.labels(ds.authority, app, clientId));
    // forwardableHeaders drops every incoming weft-* field, so a client cannot forge its identity.
    const extraHeaders = clientId ? { [H_CLIENT_ID]: clientId } : undefined;
    return forwardOnce({
      ds,
      addr: app,
      proto,
      pools: this.o.pools,
      rec,
      extraHeaders,
      what: `app on port ${port}`,
      onUnreachable: (message) => this.logOnce('warn', `app:${port}`, `inbound: ${message}`),
    });
  }

  private async spliceToApp(client: Duplex, port: number, clientId: string | undefined, prefix?: Buffer): Promise<void> {
    const app: SocketAddr = { host: this.o.appHost, port };
    let upstream: Socket;
    try {
      upstream = await this.o.pools.plainTcp(app);
    } catch (e) {
      this.logOnce('warn', `app:${port}`, `inbound: app on port ${port} is unreachable: ${(e as Error).message}`);
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

  /** A mesh HTTP/2 connection carries streams for any app port: its target is the inbound listener. */
  private meshConnectionLabels(clientId: string | undefined): TrafficLabels {
    const listener = { host: '0.0.0.0', port: this.listenPort };
    return this.labels(formatAddr(listener), listener, clientId);
  }

  private labels(authority: string, app: SocketAddr, clientId: string | undefined): TrafficLabels {
    const key = `${authority}|${app.port}|${clientId ?? ''}`;
    return this.labelCache.get(key, () =>
      clientId
        ? { direction: 'inbound', authority, target_addr: formatAddr(app), tls: 'true', client_id: clientId }
        : { direction: 'inbound', authority, target_addr: formatAddr(app), tls: 'no_identity', no_tls_reason: NO_TLS_REASON.noTlsFromRemote },
    );
  }

  drain(): void {
    this.front.drain();
  }

  get openConnections(): number {
    return this.front.openConnections;
  }

  destroyAll(): void {
    this.front.destroyAll();
    this.detachRotation?.();
  }
}
