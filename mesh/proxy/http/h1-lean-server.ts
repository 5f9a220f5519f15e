/**
 * The proxy's HTTP/1.1 server side for ordinary requests: Node's llhttp parser (../transport/llhttp.ts)
 * on the raw connection, a Downstream per request, the response written by hand (head and first
 * body bytes in one write). node:http's server builds an IncomingMessage, a ServerResponse and
 * their streams per request, which the proxy does not need.
 *
 * Everything unusual goes to node:http's server, which then owns the connection: Upgrade, CONNECT,
 * `Expect`, requests announcing trailers, bytes that do not parse, heads over the size limit and
 * heads that do not arrive in one read (slow clients meet node:http's header timeout there). The
 * hand-off gives back every byte since the request began, so node:http sees the connection as if
 * it had had it from that request on; it is possible whenever the request began at the start of a
 * read and nothing is in flight — in practice always. A pipelined request that cannot be handed
 * off this way gets 400 and the connection closes after the answers before it.
 *
 * Pipelined requests are served in parallel and answered in order (RFC 9112 §9.3.2).
 */
import { STATUS_CODES, type IncomingHttpHeaders, type OutgoingHttpHeaders } from 'node:http';
import type { Socket } from 'node:net';
import { Readable } from 'node:stream';
import { HTTPParser, METHODS, parserErrorCode, type HTTPParser as Parser, type OnHeadersComplete } from '../transport/llhttp';
import type { H1Downstream } from './downstream';
import { responseHeaders, type UpstreamResponse } from './exchange';
import { forwardableTrailers, H_PROXY_ERROR, headerObject, headerSafe, requestAuthority, type HeaderMap } from './headers';

export interface LeanServerHooks<Ctx> {
  request(ds: H1Downstream, ctx: Ctx): void;
  /** node:http takes the connection from here (the bytes of the current request are back in the socket). */
  handOff(socket: Socket, ctx: Ctx): void;
  /** One line for a request this side answered itself as malformed. */
  badRequest(code: string): void;
  maxHeaderBytes: number;
}

const { kOnMessageBegin, kOnHeaders, kOnHeadersComplete, kOnBody, kOnMessageComplete } = HTTPParser;

class RequestBody extends Readable {
  constructor(private readonly onRead: () => void) {
    super();
    // The client can go away before anyone reads the body: never an uncaught error.
    this.on('error', () => undefined);
  }
  override _read(): void {
    this.onRead();
  }
}

function headLines(headers: HeaderMap | OutgoingHttpHeaders): string {
  let s = '';
  for (const k in headers) {
    const v = headers[k];
    if (v === undefined) continue;
    if (Array.isArray(v)) for (const x of v) s += `${k}: ${x}\r\n`;
    else s += `${k}: ${v}\r\n`;
  }
  return s;
}

/** One request on a lean connection, from its head to the end of its response. */
class Exchange implements H1Downstream {
  readonly proto = 'h1' as const;
  path: string;
  authority: string;
  body: RequestBody | null = null;
  readonly expectTrailers = false;
  reqTrailers: IncomingHttpHeaders | undefined;
  /** The response started (head written). */
  started = false;
  done = false;
  aborted = false;
  private abortCbs: (() => void)[] | undefined;
  /** Set while waiting for the exchanges before it to finish. */
  private pending: (() => void) | undefined;

  constructor(
    private readonly conn: LeanConnection<unknown>,
    readonly method: string,
    readonly url: string,
    readonly headers: IncomingHttpHeaders,
    readonly keepAlive: boolean,
    readonly http10: boolean,
  ) {
    this.path = url;
    this.authority = requestAuthority(headers) ?? '';
  }

  retarget(authority: string, path: string): void {
    this.authority = authority;
    this.path = path;
  }

  trailers(): OutgoingHttpHeaders | undefined {
    return forwardableTrailers(this.reqTrailers);
  }

  onAbort(cb: () => void): void {
    if (this.aborted) return cb();
    (this.abortCbs ??= []).push(cb);
  }

  /** The connection went away before this exchange finished. */
  abort(): void {
    if (this.done || this.aborted) return;
    this.aborted = true;
    const cbs = this.abortCbs;
    this.abortCbs = undefined;
    if (cbs) for (const cb of cbs) cb();
    this.pending?.();
  }

  /** Runs `write` once every exchange before this one has finished (at once when the client is gone: it settles). */
  private whenFirst(write: () => void): void {
    if (this.aborted || this.conn.isFirst(this)) return write();
    this.pending = () => {
      this.pending = undefined;
      write();
    };
  }

  /** Called by the connection when this exchange becomes the first in line. */
  wake(): void {
    this.pending?.();
  }

  respond(up: UpstreamResponse, extra?: HeaderMap): Promise<boolean> {
    return new Promise<boolean>((resolve) => {
      this.whenFirst(() => {
        if (this.aborted || this.conn.socket.destroyed) {
          up.cancel();
          return resolve(false);
        }
        const headers = responseHeaders(up);
        if (extra) Object.assign(headers, extra);
        this.write(up.status, headers, up, resolve);
      });
    });
  }

  fail(status: number, raw: string): void {
    const reason = headerSafe(raw);
    this.whenFirst(() => {
      if (this.done || this.aborted) return;
      if (this.started) {
        this.conn.socket.destroy();
        return;
      }
      const body = Buffer.from(`${reason}\n`);
      this.write(status, { 'content-type': 'text/plain', 'content-length': String(body.length), [H_PROXY_ERROR]: reason }, body, () => undefined);
    });
  }

  private write(status: number, headers: HeaderMap, body: UpstreamResponse | Buffer, resolve: (completed: boolean) => void): void {
    const socket = this.conn.socket;
    this.started = true;
    const noBody = this.method === 'HEAD' || status === 204 || status === 304 || (status >= 100 && status < 200);
    let chunked = false;
    let closeAfter = !this.keepAlive || this.conn.closing;
    if (noBody) {
      // A HEAD response keeps the length of what GET would send; 204 and 1xx never carry one.
      if (status === 204 || status < 200) delete headers['content-length'];
    } else if (headers['content-length'] === undefined) {
      if (this.http10) closeAfter = true;
      else {
        headers['transfer-encoding'] = 'chunked';
        chunked = true;
      }
    }
    if (closeAfter) headers['connection'] = 'close';
    else if (this.http10) headers['connection'] = 'keep-alive';
    const head = `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'Unknown'}\r\n${headLines(headers)}\r\n`;
    const finish = (completed: boolean): void => {
      if (this.done) return;
      this.done = true;
      this.conn.finished(this, completed && !closeAfter);
      resolve(completed);
    };
    if (Buffer.isBuffer(body)) {
      socket.cork();
      socket.write(head, 'latin1');
      if (!noBody) socket.write(body);
      socket.uncork();
      return finish(true);
    }
    const up = body;
    if (noBody) {
      socket.write(head, 'latin1');
      up.body.resume();
      return finish(true);
    }
    const whole = chunked ? undefined : up.takeBody?.();
    if (whole !== undefined) {
      // The common case: the whole response is here; one write, no stream plumbing.
      socket.cork();
      socket.write(head, 'latin1');
      if (whole.length > 0) socket.write(whole);
      socket.uncork();
      return finish(true);
    }
    // Head and what the upstream already delivered in one write.
    socket.cork();
    socket.write(head, 'latin1');
    let c: Buffer | null;
    while ((c = up.body.read() as Buffer | null) !== null) writeChunk(c);
    socket.uncork();
    function writeChunk(b: Buffer): boolean {
      if (b.length === 0) return true;
      if (!chunked) return socket.write(b);
      socket.cork();
      socket.write(`${b.length.toString(16)}\r\n`, 'latin1');
      socket.write(b);
      const ok = socket.write('\r\n', 'latin1');
      socket.uncork();
      return ok;
    }
    const onData = (b: Buffer): void => {
      if (!writeChunk(b)) {
        up.body.pause();
        socket.once('drain', () => up.body.resume());
      }
    };
    const cleanup = (): void => {
      up.body.removeListener('data', onData);
      up.body.removeListener('end', onEnd);
      up.body.removeListener('error', onError);
    };
    const onEnd = (): void => {
      cleanup();
      if (!chunked) return finish(true);
      void up.trailers.then((t) => {
        if (this.aborted || socket.destroyed) return finish(false);
        const ft = forwardableTrailers(t);
        socket.write(`0\r\n${ft ? headLines(ft) : ''}\r\n`, 'latin1');
        finish(true);
      });
    };
    const onError = (): void => {
      cleanup();
      socket.destroy();
      finish(false);
    };
    this.onAbort(() => {
      cleanup();
      up.cancel();
      finish(false);
    });
    up.body.on('data', onData);
    up.body.once('end', onEnd);
    up.body.once('error', onError);
    if (up.body.readableEnded) onEnd();
  }
}

/** One client connection served by the lean path until it closes or is handed to node:http. */
export class LeanConnection<Ctx> {
  private readonly parser: Parser;
  private readonly queue: Exchange[] = [];
  /** The request being parsed. */
  private current: Exchange | undefined;
  private rawHeaders: string[] = [];
  /** Inside a message (from its first byte to its end). */
  private inMessage = false;
  private inHead = false;
  /** The reads since the current message began, when it began at the start of a read; else undefined. */
  private headReads: Buffer[] | undefined;
  private read: Buffer | undefined;
  private firstInRead = false;
  private handOffNow = false;
  private refuseNow = false;
  private clientEnded = false;
  /** A request this side cannot serve came pipelined: 400 once the answers before it are out. */
  private refused = false;
  closing = false;
  idleSince = performance.now();
  headSince = 0;
  private readonly onDataBound = (d: Buffer): void => this.onData(d);
  private readonly onEndBound = (): void => this.onEnd();
  private readonly onCloseBound = (): void => this.onClose();

  constructor(
    readonly socket: Socket,
    private readonly ctx: Ctx,
    private readonly hooks: LeanServerHooks<Ctx>,
    private readonly onGone: (c: LeanConnection<Ctx>) => void,
  ) {
    const p = (this.parser = new HTTPParser());
    p.initialize(HTTPParser.REQUEST, {}, hooks.maxHeaderBytes, HTTPParser.kLenientNone);
    p[kOnMessageBegin] = () => {
      this.inMessage = true;
      this.inHead = true;
      this.headSince = performance.now();
      this.rawHeaders = [];
      this.headReads = this.firstInRead && this.read ? [this.read] : undefined;
      this.firstInRead = false;
    };
    p[kOnHeaders] = (raw: string[]) => {
      for (const x of raw) this.rawHeaders.push(x);
    };
    p[kOnHeadersComplete] = ((maj, min, raw, method, url, _s, _m, upgrade, keepAlive) =>
      this.onHead(maj, min, raw ?? this.rawHeaders, method, url ?? '/', upgrade, keepAlive)) satisfies OnHeadersComplete;
    p[kOnBody] = (b: Buffer) => {
      const body = this.current?.body;
      if (body && !body.push(b)) this.socket.pause();
    };
    p[kOnMessageComplete] = () => this.onMessageEnd();
    socket.on('data', this.onDataBound);
    socket.on('end', this.onEndBound);
    socket.on('close', this.onCloseBound);
    socket.resume();
  }

  isFirst(x: Exchange): boolean {
    return this.queue[0] === x;
  }

  /** Idle: nothing in flight and no request begun. */
  get idle(): boolean {
    return this.queue.length === 0 && !this.inMessage;
  }

  private onData(d: Buffer): void {
    if (!this.inMessage) this.firstInRead = true;
    else if (this.inHead && this.headReads) this.headReads.push(d);
    this.read = d;
    const r = this.parser.execute(d);
    this.read = undefined;
    this.firstInRead = false;
    if (this.handOffNow) return this.handOff();
    if (r instanceof Error) {
      const code = parserErrorCode(r);
      // node:http answers malformed heads (400, 431) with its own log line.
      if (this.inHead && this.headReads && this.queue.length === 0) return this.handOff();
      this.current?.body?.destroy(new Error(`bad request body: ${code}`));
      return this.refuse(code);
    }
    if (this.refuseNow) return this.refuse('HPE_PIPELINED');
    if (this.inHead) {
      // A head split over reads: node:http (with its header timeout) takes over.
      if (this.headReads && this.queue.length === 0) return this.handOff();
    }
  }

  private onHead(maj: number, min: number, raw: string[], methodIndex: number, url: string, upgrade: boolean, keepAlive: boolean): number {
    this.inHead = false;
    if (this.handOffNow || this.refuseNow) return 0;
    const method = METHODS[methodIndex] ?? 'GET';
    const headers = headerObject(raw);
    const unusual = upgrade || method === 'CONNECT' || headers['expect'] !== undefined || headers['trailer'] !== undefined;
    if (unusual) {
      if (this.headReads && this.queue.length === 0) this.handOffNow = true;
      else this.refuseNow = true;
      return 0;
    }
    const x = new Exchange(this as LeanConnection<unknown>, method, url, headers, keepAlive, maj === 1 && min === 0);
    if (headers['transfer-encoding'] !== undefined || (headers['content-length'] !== undefined && headers['content-length'] !== '0')) {
      x.body = new RequestBody(() => this.socket.resume());
    }
    this.current = x;
    this.queue.push(x);
    this.hooks.request(x, this.ctx);
    return 0;
  }

  private onMessageEnd(): void {
    this.inMessage = false;
    const x = this.current;
    this.current = undefined;
    if (!x) return;
    if (this.rawHeaders.length > 0) x.reqTrailers = headerObject(this.rawHeaders);
    this.rawHeaders = [];
    x.body?.push(null);
  }

  /** An exchange finished: the next in line may write; close when asked or when the client is gone. */
  finished(x: Exchange, reusable: boolean): void {
    if (this.queue[0] === x) this.queue.shift();
    // A request body nobody reads (answered early: 403, a failure…) is read and dropped, as
    // node:http does, so the connection is not stalled by it and the next request can follow.
    const body = x.body;
    if (body && !body.readableEnded && body.listenerCount('data') === 0) body.resume();
    if (!reusable) this.closing = true;
    const next = this.queue[0];
    if (next) return next.wake();
    this.idleSince = performance.now();
    if (this.closing || this.clientEnded) this.end();
  }

  private refuse(code: string): void {
    if (this.refused) return;
    this.hooks.badRequest(code);
    this.refused = true;
    this.closing = true;
    this.socket.pause();
    if (this.queue.length === 0) this.end();
  }

  private handOff(): void {
    const bytes = this.headReads ?? [];
    this.detach();
    this.socket.pause();
    this.socket.unshift(bytes.length === 1 ? bytes[0]! : Buffer.concat(bytes));
    this.hooks.handOff(this.socket, this.ctx);
  }

  private detach(): void {
    this.socket.removeListener('data', this.onDataBound);
    this.socket.removeListener('end', this.onEndBound);
    this.socket.removeListener('close', this.onCloseBound);
    this.onGone(this);
    this.freeParser();
  }

  private freeParser(): void {
    // Not from inside execute(): the parser is freed on the next turn.
    const p = this.parser;
    setImmediate(() => {
      p.remove();
      p.close();
    });
  }

  private onEnd(): void {
    // The client shut its write side: answer what it asked, then close (RFC 9112 §9.6).
    this.clientEnded = true;
    if (this.queue.length === 0) this.end();
  }

  private end(): void {
    if (this.socket.destroyed) return;
    if (this.refused) this.socket.end('HTTP/1.1 400 Bad Request\r\nconnection: close\r\ncontent-length: 0\r\n\r\n');
    else this.socket.end();
  }

  private onClose(): void {
    for (const x of this.queue.splice(0)) x.abort();
    this.current?.body?.destroy(new Error('client went away'));
    this.detach();
  }

  /** Graceful drain: idle connections close now, busy ones after their responses (Connection: close). */
  drain(): void {
    this.closing = true;
    if (this.idle) this.end();
  }

  /** Closes a connection idle longer than `idleMs`, or stuck in a head longer than `headMs`. */
  sweep(now: number, idleMs: number, headMs: number): void {
    if (this.idle && idleMs > 0 && now - this.idleSince > idleMs) this.socket.destroy();
    else if (this.inHead && headMs > 0 && now - this.headSince > headMs && this.queue.length === 0) {
      this.hooks.badRequest('ERR_HTTP_REQUEST_TIMEOUT');
      this.socket.end('HTTP/1.1 408 Request Timeout\r\nconnection: close\r\ncontent-length: 0\r\n\r\n');
    }
  }
}
