/**
 * The proxy's HTTP/1.1 client for upstreams (the local app, endpoints that are not meshed): keep-alive
 * connections per origin, the request head written in one piece, responses read with Node's llhttp
 * parser (./llhttp.ts) into a plain Readable body. It replaces undici on the hot path: undici's
 * request API builds a request object, a handler, an AbortSignal chain and a body stream class per
 * request, which cost about a quarter of a proxied request's CPU here. What it does not do (request
 * trailers, `Expect`) stays with Node's http client (../http/exchange.ts routes those).
 *
 * Connection reuse follows RFC 9112 §9: a connection goes back to the pool only after its response
 * ended cleanly and both sides allow keep-alive; it leaves the pool after `keepAliveTimeoutMs` idle
 * (or the server's `Keep-Alive: timeout` hint, less a second), or when the server closes it. A request
 * that fails on a reused connection before any byte of response arrived (the server closed it as we
 * wrote) is sent once more on a new connection when its body can be replayed.
 */
import net from 'node:net';
import { Readable } from 'node:stream';
import type { IncomingHttpHeaders } from 'node:http';
import { formatAddr, type SocketAddr } from '../discovery/discovery';
import type { Cancel } from '../http/cancel';
import { headerObject } from '../http/headers';
import { HTTPParser, parserErrorCode, type HTTPParser as Parser, type OnHeadersComplete } from './llhttp';

export interface LeanRequest {
  method: string;
  path: string;
  /** Sent as Host. */
  authority: string;
  /** Forwardable fields only (no hop-by-hop, no Host); framing fields are set here. */
  headers: Record<string, string | string[]>;
  body: Readable | Buffer | null;
  /** Cancelling closes the connection (the exchange then fails, or its body errors). */
  cancel?: Cancel;
}

export interface LeanResponse {
  /** The whole body when it has already arrived (taken), else undefined. */
  takeBody(): Buffer | undefined;
  status: number;
  headers: IncomingHttpHeaders;
  body: Readable;
  /** Resolves when the body has ended, with its trailers (undefined when none or cut). */
  trailers: Promise<IncomingHttpHeaders | undefined>;
  /** Cancels the exchange (the connection is closed, never reused). */
  cancel(): void;
}

export class LeanRequestError extends Error {
  constructor(
    message: string,
    /** 'connect': the request never reached the server (safe to send elsewhere). */
    readonly kind: 'connect' | 'reset',
    readonly code: string | undefined,
  ) {
    super(message);
  }
}

export interface LeanClientOptions {
  keepAliveTimeoutMs: number;
  connectTimeoutMs: number;
  /** Largest response head accepted (bytes); 0: Node's default (16 KiB). */
  maxHeaderBytes?: number;
}

const { kOnHeaders, kOnHeadersComplete, kOnBody, kOnMessageComplete } = HTTPParser;
const CONNECT_CODES = new Set(['ECONNREFUSED', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EADDRNOTAVAIL', 'ETIMEDOUT']);
const BODYLESS_METHODS = new Set(['GET', 'HEAD', 'DELETE', 'OPTIONS', 'TRACE', 'CONNECT']);

/** The request head, with framing: Content-Length for known sizes, chunked for streams without one. */
export function requestHead(req: LeanRequest): { head: string; chunked: boolean } {
  let s = `${req.method} ${req.path} HTTP/1.1\r\nhost: ${req.authority}\r\n`;
  const h = req.headers;
  let hasLength = false;
  for (const k in h) {
    if (k === 'content-length') {
      hasLength = true;
      if (req.body === null || Buffer.isBuffer(req.body)) continue; // written below from the actual size
    }
    const v = h[k]!;
    if (typeof v === 'string') s += `${k}: ${v}\r\n`;
    else for (const x of v) s += `${k}: ${x}\r\n`;
  }
  let chunked = false;
  if (Buffer.isBuffer(req.body)) s += `content-length: ${req.body.length}\r\n`;
  else if (req.body === null) {
    if (hasLength || !BODYLESS_METHODS.has(req.method)) s += 'content-length: 0\r\n';
  } else if (!hasLength) {
    s += 'transfer-encoding: chunked\r\n';
    chunked = true;
  }
  return { head: `${s}\r\n`, chunked };
}

/** Milliseconds from a `Keep-Alive: timeout=N` response field, if any (an app sends the same one every time: the last is remembered). */
let lastHint: { value: string; ms: number | undefined } = { value: '', ms: undefined };
function keepAliveHintMs(v: string | string[] | undefined): number | undefined {
  if (typeof v !== 'string') return undefined;
  if (v === lastHint.value) return lastHint.ms;
  const m = /timeout\s*=\s*(\d+)/i.exec(v);
  lastHint = { value: v, ms: m ? Number(m[1]) * 1000 : undefined };
  return lastHint.ms;
}

class ResponseBody extends Readable {
  /** The end of the body has been pushed. */
  eof = false;
  constructor(private readonly onRead: () => void) {
    super();
    // The connection can fail before the caller attaches its own listeners: never an uncaught error.
    this.on('error', () => undefined);
  }
  override _read(): void {
    this.onRead();
  }
  /** Everything, when the body is complete and nobody reads it yet. */
  takeIfComplete(): Buffer | undefined {
    if (!this.eof || this.readableFlowing || this.destroyed) return undefined;
    return (this.read() as Buffer | null) ?? EMPTY;
  }
}

const EMPTY = Buffer.alloc(0);

/** One in-flight exchange on a connection. */
interface Exchange {
  req: LeanRequest;
  resolve(r: LeanResponse): void;
  reject(e: LeanRequestError): void;
  /** The response head arrived (so the request reached the server). */
  responded: boolean;
  /** Any byte of response arrived. */
  gotBytes: boolean;
  body: ResponseBody | undefined;
  settleTrailers: ((t: IncomingHttpHeaders | undefined) => void) | undefined;
  keepAlive: boolean;
  hintMs: number | undefined;
  /** The caller may replay this request on a fresh connection (body null or a Buffer, not yet retried). */
  replayable: boolean;
  /** The request body has been written completely (else the connection cannot be reused). */
  bodySent: boolean;
  conn: Connection | undefined;
  aborted: boolean;
}

class Connection {
  readonly parser: Parser;
  current: Exchange | undefined;
  idleSince = 0;
  idleLimitMs: number;
  reused = false;
  private pendingHeaders: string[] = [];

  constructor(
    readonly socket: net.Socket,
    private readonly pool: OriginPool,
    maxHeaderBytes: number,
  ) {
    this.idleLimitMs = pool.client.keepAliveTimeoutMs;
    const p = (this.parser = new HTTPParser());
    p.initialize(HTTPParser.RESPONSE, {}, maxHeaderBytes, HTTPParser.kLenientNone);
    p[kOnHeaders] = (raw: string[]) => {
      for (const x of raw) this.pendingHeaders.push(x);
    };
    p[kOnHeadersComplete] = ((_maj, _min, raw, _m, _u, status, _msg, _up, keepAlive) => this.onHead(raw, status, keepAlive)) satisfies OnHeadersComplete;
    p[kOnBody] = (b: Buffer) => {
      const body = this.current?.body;
      if (body && !body.push(b)) socket.pause();
    };
    p[kOnMessageComplete] = () => this.onComplete();
    socket.on('data', (d: Buffer) => this.onData(d));
    socket.on('end', () => this.onEnd());
    socket.on('error', (e: NodeJS.ErrnoException) => this.fail(e.code ?? e.message, e.code));
    socket.on('close', () => {
      this.fail('connection closed', 'ECONNRESET');
      this.pool.forget(this);
      this.parser.remove();
      this.parser.close();
    });
  }

  send(x: Exchange): void {
    this.current = x;
    x.conn = this;
    this.pendingHeaders = [];
    const { head, chunked } = requestHead(x.req);
    const body = x.req.body;
    const s = this.socket;
    if (body === null) {
      s.write(head, 'latin1');
      x.bodySent = true;
    } else if (Buffer.isBuffer(body)) {
      s.cork();
      s.write(head, 'latin1');
      if (body.length > 0) s.write(body);
      s.uncork();
      x.bodySent = true;
    } else {
      s.write(head, 'latin1');
      this.streamBody(x, body, chunked);
    }
  }

  private streamBody(x: Exchange, body: Readable, chunked: boolean): void {
    const s = this.socket;
    const onData = (c: Buffer): void => {
      if (c.length === 0) return;
      const ok = chunked ? (s.cork(), s.write(`${c.length.toString(16)}\r\n`), s.write(c), s.write('\r\n'), s.uncork(), !s.writableNeedDrain) : s.write(c);
      if (!ok) {
        body.pause();
        s.once('drain', () => body.resume());
      }
    };
    const done = (): void => {
      body.removeListener('data', onData);
      body.removeListener('end', onEnd);
      body.removeListener('error', onError);
      s.removeListener('close', done);
    };
    const onEnd = (): void => {
      done();
      x.bodySent = true;
      if (chunked && !s.destroyed) s.write('0\r\n\r\n');
    };
    const onError = (): void => {
      done();
      s.destroy();
    };
    body.on('data', onData);
    body.once('end', onEnd);
    body.once('error', onError);
    s.once('close', done);
  }

  private onHead(raw: string[] | undefined, status: number, keepAlive: boolean): number {
    const x = this.current;
    if (!x) return 0;
    const list = raw ?? this.pendingHeaders;
    this.pendingHeaders = [];
    // 1xx (100 Continue, 103 Early Hints): informational, the real response follows.
    if (status >= 100 && status < 200) return 1;
    x.responded = true;
    x.keepAlive = keepAlive;
    const headers = headerObject(list);
    x.hintMs = keepAliveHintMs(headers['keep-alive']);
    const body = (x.body = new ResponseBody(() => this.socket.resume()));
    const trailers = new Promise<IncomingHttpHeaders | undefined>((r) => (x.settleTrailers = r));
    x.resolve({
      takeBody: () => body.takeIfComplete(),
      status,
      headers,
      body,
      trailers,
      cancel: () => {
        if (this.current === x) this.socket.destroy();
        if (!body.readableEnded) body.destroy();
      },
    });
    return x.req.method === 'HEAD' || status === 204 || status === 304 ? 1 : 0;
  }

  private onComplete(): void {
    const x = this.current;
    if (!x || !x.responded) return;
    this.current = undefined;
    const t = this.pendingHeaders.length > 0 ? headerObject(this.pendingHeaders) : undefined;
    this.pendingHeaders = [];
    x.body!.eof = true;
    x.body!.push(null);
    x.settleTrailers!(t);
    // A response that came before the whole request body was sent: the connection is not reusable.
    if (x.keepAlive && x.bodySent && !this.socket.destroyed) {
      if (x.hintMs !== undefined) this.idleLimitMs = Math.min(this.pool.client.keepAliveTimeoutMs, Math.max(0, x.hintMs - 1000));
      this.pool.release(this);
    } else this.socket.destroy();
  }

  private onData(d: Buffer): void {
    const x = this.current;
    if (!x) {
      // Bytes on an idle connection: the server broke the protocol; never reuse it.
      this.socket.destroy();
      return;
    }
    x.gotBytes = true;
    const r = this.parser.execute(d);
    if (r instanceof Error) {
      const code = parserErrorCode(r);
      this.fail(`bad response: ${code}`, code);
      this.socket.destroy();
    }
  }

  private onEnd(): void {
    // A close-delimited body ends here; finish() completes the message.
    if (this.current?.responded) {
      const r = this.parser.finish();
      if (r instanceof Error) this.fail(`bad response: ${parserErrorCode(r)}`, parserErrorCode(r));
    }
    this.socket.destroy();
  }

  /** The connection failed: settle the exchange in flight, if any. */
  private fail(message: string, code: string | undefined): void {
    const x = this.current;
    if (!x) return;
    this.current = undefined;
    if (x.responded) {
      x.body!.destroy(new Error(`upstream ${message}`));
      x.settleTrailers!(undefined);
      return;
    }
    // Nothing came back on a reused connection: the server closed it as we wrote. Once more, fresh.
    if (this.reused && !x.gotBytes && x.replayable && !x.aborted) {
      x.replayable = false;
      this.pool.sendFresh(x);
      return;
    }
    const kind = code !== undefined && CONNECT_CODES.has(code) ? 'connect' : 'reset';
    x.reject(new LeanRequestError(`upstream ${this.pool.origin}: ${message}`, kind, code));
  }
}

class OriginPool {
  private readonly idle: Connection[] = [];
  private readonly all = new Set<Connection>();

  constructor(
    readonly client: LeanH1Client,
    readonly host: string,
    readonly port: number,
    readonly origin: string,
  ) {}

  get size(): number {
    return this.all.size;
  }

  request(x: Exchange): void {
    let c: Connection | undefined;
    while ((c = this.idle.pop()) !== undefined) {
      if (!c.socket.destroyed && c.current === undefined) {
        c.reused = true;
        c.socket.resume();
        return c.send(x);
      }
    }
    this.sendFresh(x);
  }

  sendFresh(x: Exchange): void {
    const socket = net.connect({ host: this.host, port: this.port, noDelay: true });
    const c = new Connection(socket, this, this.client.maxHeaderBytes);
    this.all.add(c);
    x.conn = c;
    const timer = setTimeout(() => socket.destroy(Object.assign(new Error('connect timed out'), { code: 'ETIMEDOUT' })), this.client.connectTimeoutMs);
    // The exchange is attached now so a refused connection settles it (with a 'connect' error).
    c.current = x;
    socket.once('connect', () => {
      clearTimeout(timer);
      c.send(x);
    });
    socket.once('close', () => clearTimeout(timer));
  }

  release(c: Connection): void {
    c.idleSince = performance.now();
    this.idle.push(c);
    this.client.scheduleSweep();
  }

  forget(c: Connection): void {
    this.all.delete(c);
    const i = this.idle.indexOf(c);
    if (i >= 0) this.idle.splice(i, 1);
    if (this.all.size === 0) this.client.dropPool(this);
  }

  /** Closes connections idle past their limit. */
  sweep(now: number): void {
    for (const c of [...this.idle]) if (now - c.idleSince >= c.idleLimitMs) c.socket.destroy();
  }

  get idleCount(): number {
    return this.idle.length;
  }

  destroy(): void {
    for (const c of [...this.all]) c.socket.destroy();
  }
}

export class LeanH1Client {
  readonly keepAliveTimeoutMs: number;
  readonly connectTimeoutMs: number;
  readonly maxHeaderBytes: number;
  private readonly pools = new Map<string, OriginPool>();
  private sweeper: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(opts: LeanClientOptions) {
    this.keepAliveTimeoutMs = opts.keepAliveTimeoutMs;
    this.connectTimeoutMs = opts.connectTimeoutMs;
    this.maxHeaderBytes = opts.maxHeaderBytes ?? 0;
  }

  /** Sends `req` to `addr`; resolves at the response head. */
  request(addr: SocketAddr, req: LeanRequest): Promise<LeanResponse> {
    if (this.closed) return Promise.reject(new LeanRequestError('the HTTP/1.1 client is closed', 'connect', undefined));
    const origin = formatAddr(addr);
    let pool = this.pools.get(origin);
    if (!pool) this.pools.set(origin, (pool = new OriginPool(this, addr.host, addr.port, origin)));
    const p = pool;
    const cancel = req.cancel;
    return new Promise<LeanResponse>((resolve, reject) => {
      const x: Exchange = {
        req,
        resolve,
        reject,
        responded: false,
        gotBytes: false,
        body: undefined,
        settleTrailers: undefined,
        keepAlive: false,
        hintMs: undefined,
        replayable: req.body === null || Buffer.isBuffer(req.body),
        bodySent: false,
        conn: undefined,
        aborted: false,
      };
      if (cancel) {
        if (cancel.aborted) return reject(new LeanRequestError('cancelled', 'reset', undefined));
        const settle = cancel.onAbort(() => {
          x.aborted = true;
          x.conn?.socket.destroy();
        });
        x.resolve = (r) => {
          // Still cancellable while the body flows: the listener goes when the trailers settle.
          void r.trailers.then(settle);
          resolve(r);
        };
        x.reject = (e) => {
          settle();
          reject(e);
        };
      }
      p.request(x);
    });
  }

  /** Open connections (idle and busy) over all origins. */
  get connectionCount(): number {
    let n = 0;
    for (const p of this.pools.values()) n += p.size;
    return n;
  }

  get idleConnectionCount(): number {
    let n = 0;
    for (const p of this.pools.values()) n += p.idleCount;
    return n;
  }

  /** @internal */
  scheduleSweep(): void {
    if (this.sweeper || this.closed) return;
    const every = Math.max(50, Math.min(1_000, this.keepAliveTimeoutMs / 4));
    this.sweeper = setInterval(() => {
      const now = performance.now();
      let idle = 0;
      for (const p of this.pools.values()) {
        p.sweep(now);
        idle += p.idleCount;
      }
      if (idle === 0 && this.sweeper) {
        clearInterval(this.sweeper);
        this.sweeper = undefined;
      }
    }, every);
    this.sweeper.unref();
  }

  /** @internal */
  dropPool(p: OriginPool): void {
    if (this.pools.get(p.origin) === p) this.pools.delete(p.origin);
  }

  close(): Promise<void> {
    this.closed = true;
    if (this.sweeper) clearInterval(this.sweeper);
    this.sweeper = undefined;
    for (const p of [...this.pools.values()]) p.destroy();
    return Promise.resolve();
  }
}
