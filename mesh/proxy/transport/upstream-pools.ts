/**
 * Connections to upstreams, reused: one multiplexed mTLS HTTP/2 session per meshed peer endpoint,
 * one h2c session per plaintext HTTP/2 endpoint, keep-alive HTTP/1.1 sockets otherwise, and a
 * dedicated mTLS connection per opaque TCP stream. No handshake per request in steady state.
 */
import http from 'node:http';
import http2, { type ClientHttp2Session } from 'node:http2';
import net from 'node:net';
import type tls from 'node:tls';
import { formatAddr, type SocketAddr } from '../discovery/discovery';
import type { Logger } from '../log';
import type { IdentityCerts } from '../tls/identity-certs';
import { connectMtls } from '../tls/mtls';
import { ALPN_MESH_H2, ALPN_MESH_TCP, encodeTransportHeader } from './transport-header';
import { UpstreamError, type H1Clients } from '../http/exchange';
import { LeanH1Client } from './h1-lean-client';

const H2_SETTINGS: http2.Settings = { initialWindowSize: 1 << 20, maxConcurrentStreams: 1000, enablePush: false };
const SESSION_WINDOW = 8 << 20;

function tuneSession(s: ClientHttp2Session): void {
  s.once('connect', () => {
    try {
      s.setLocalWindowSize(SESSION_WINDOW);
    } catch {
      /* the session closed before it could be tuned */
    }
  });
}

class SessionPool {
  private readonly sessions = new Map<string, Promise<ClientHttp2Session>>();
  /** The same sessions once connected, for callers that can go on without waiting a turn. */
  private readonly open = new Map<string, ClientHttp2Session>();

  constructor(private readonly log: Logger) {}

  /** The connected, usable session for `key`, if there is one. */
  now(key: string): ClientHttp2Session | undefined {
    const s = this.open.get(key);
    return s !== undefined && !s.closed && !s.destroyed ? s : undefined;
  }

  get(key: string, open: () => Promise<ClientHttp2Session>): Promise<ClientHttp2Session> {
    const existing = this.sessions.get(key);
    if (existing) return existing;
    const p = open().then(
      (s) => {
        const drop = (): void => {
          if (this.sessions.get(key) === p) this.sessions.delete(key);
          if (this.open.get(key) === s) this.open.delete(key);
        };
        this.open.set(key, s);
        s.once('close', drop);
        s.once('goaway', drop);
        s.once('error', (e: Error) => {
          this.log.debug('upstream session error', { peer: key, error: e.message });
          drop();
        });
        return s;
      },
      (e: unknown) => {
        this.sessions.delete(key);
        throw e;
      },
    );
    this.sessions.set(key, p);
    return p;
  }

  get size(): number {
    return this.sessions.size;
  }

  async closeAll(): Promise<void> {
    const all = [...this.sessions.values()];
    this.sessions.clear();
    this.open.clear();
    await Promise.all(
      all.map((p) =>
        p.then(
          (s) => new Promise<void>((r) => (s.closed ? r() : s.close(() => r()))),
          () => undefined,
        ),
      ),
    );
  }
}

export class UpstreamPools {
  private readonly mesh: SessionPool;
  private readonly plainH2: SessionPool;
  /** HTTP/1.1 upstreams (the local app, endpoints that are not meshed): keep-alive, no undici timeouts (ours apply). */
  readonly h1: H1Clients;

  constructor(
    private readonly certs: IdentityCerts | undefined,
    log: Logger,
    private readonly connectTimeoutMs = 3_000,
    /** The lean HTTP/1.1 client (default), else Node's http client for every HTTP/1.1 upstream. */
    leanHttp1 = true,
  ) {
    this.mesh = new SessionPool(log);
    this.plainH2 = new SessionPool(log);
    this.h1 = {
      lean: leanHttp1 ? new LeanH1Client({ keepAliveTimeoutMs: 30_000, connectTimeoutMs }) : undefined,
      nodeHttp: new http.Agent({ keepAlive: true, scheduling: 'lifo', keepAliveMsecs: 30_000 }),
    };
  }

  get meshEnabled(): boolean {
    return this.certs !== undefined;
  }

  /** The pooled mTLS HTTP/2 session to a peer, when it is already connected (no wait). */
  meshSessionNow(addr: SocketAddr, identity: string): ClientHttp2Session | undefined {
    return this.mesh.now(`${formatAddr(addr)}|${identity}`);
  }

  /** The pooled mTLS HTTP/2 session to a peer proxy presenting `identity`. */
  meshSession(addr: SocketAddr, identity: string): Promise<ClientHttp2Session> {
    const certs = this.certs;
    if (!certs) return Promise.reject(new UpstreamError('this proxy has no identity; cannot reach a meshed endpoint', 'connect'));
    const key = `${formatAddr(addr)}|${identity}`;
    return this.mesh.get(key, async () => {
      const socket = await connectMtls({
        host: addr.host,
        port: addr.port,
        expectedIdentity: identity,
        alpn: [ALPN_MESH_H2],
        certs,
        timeoutMs: this.connectTimeoutMs,
      }).catch((e: Error) => {
        throw new UpstreamError(`mTLS to ${formatAddr(addr)}: ${e.message}`, 'connect');
      });
      socket.setNoDelay(true);
      const s = http2.connect(`http://${formatAddr(addr)}`, { createConnection: () => socket, settings: H2_SETTINGS });
      tuneSession(s);
      return s;
    });
  }

  /** The pooled plaintext HTTP/2 (h2c) session to an endpoint that is not meshed (or to the local app). */
  plainSession(addr: SocketAddr): Promise<ClientHttp2Session> {
    const key = formatAddr(addr);
    return this.plainH2.get(
      key,
      () =>
        new Promise((resolve, reject) => {
          const s = http2.connect(`http://${key}`, { settings: H2_SETTINGS });
          tuneSession(s);
          const onError = (e: NodeJS.ErrnoException): void => reject(new UpstreamError(`h2c to ${key}: ${e.code ?? e.message}`, 'connect'));
          s.once('error', onError);
          s.once('connect', () => {
            s.removeListener('error', onError);
            resolve(s);
          });
        }),
    );
  }

  /** A new mTLS connection for one opaque TCP stream; the transport header names the app port. */
  async meshTcp(addr: SocketAddr, identity: string, targetPort: number): Promise<tls.TLSSocket> {
    if (!this.certs) throw new UpstreamError('this proxy has no identity; cannot reach a meshed endpoint', 'connect');
    const socket = await connectMtls({
      host: addr.host,
      port: addr.port,
      expectedIdentity: identity,
      alpn: [ALPN_MESH_TCP],
      certs: this.certs,
      timeoutMs: this.connectTimeoutMs,
    }).catch((e: Error) => {
      throw new UpstreamError(`mTLS to ${formatAddr(addr)}: ${e.message}`, 'connect');
    });
    socket.setNoDelay(true);
    socket.write(encodeTransportHeader(targetPort));
    return socket;
  }

  /** A plain TCP connection, resolved once connected. */
  plainTcp(addr: SocketAddr): Promise<net.Socket> {
    return new Promise((resolve, reject) => {
      const s = net.connect({ host: addr.host, port: addr.port, noDelay: true });
      const timer = setTimeout(() => {
        s.destroy();
        reject(new UpstreamError(`connect to ${formatAddr(addr)} timed out`, 'connect'));
      }, this.connectTimeoutMs);
      s.once('connect', () => {
        clearTimeout(timer);
        s.removeAllListeners('error');
        resolve(s);
      });
      s.once('error', (e: NodeJS.ErrnoException) => {
        clearTimeout(timer);
        reject(new UpstreamError(`connect to ${formatAddr(addr)}: ${e.code ?? e.message}`, 'connect'));
      });
    });
  }

  get sessionCount(): number {
    return this.mesh.size + this.plainH2.size;
  }

  async close(): Promise<void> {
    this.h1.nodeHttp.destroy();
    await this.h1.lean?.close();
    await Promise.all([this.mesh.closeAll(), this.plainH2.closeAll()]);
  }
}
