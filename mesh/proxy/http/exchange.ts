/**
 * One HTTP exchange with an upstream, over an HTTP/2 session (mesh or h2c) or HTTP/1.1, and the
 * writing of its response to a downstream HTTP/1.1 response or HTTP/2 stream. Bodies stream with
 * backpressure (pipe); trailers and cancellation travel both ways.
 */
import http, { type IncomingHttpHeaders, type OutgoingHttpHeaders, type ServerResponse } from 'node:http';
import http2, { type ClientHttp2Session, type ServerHttp2Stream } from 'node:http2';
import { Readable } from 'node:stream';
import type { Cancel } from './cancel';
import { LeanRequestError, type LeanH1Client } from '../transport/h1-lean-client';
import { formatAddr, type SocketAddr } from '../discovery/discovery';
import { forwardableHeaders, forwardableTrailers, H_PROXY_ERROR, type HeaderMap } from './headers';

/** Response headers for the next hop: the forwardable ones, plus a peer proxy's weft-proxy-error (the client must learn why). */
export function responseHeaders(up: UpstreamResponse): HeaderMap {
  const h = forwardableHeaders(up.headers);
  const reason = up.headers[H_PROXY_ERROR];
  if (reason !== undefined) h[H_PROXY_ERROR] = reason;
  return h;
}

export interface UpstreamRequest {
  method: string;
  path: string;
  authority: string;
  headers: HeaderMap;
  /** A live stream, a buffered body (replayable for retries), or nothing. */
  body: Readable | Buffer | null;
  /** Request trailers, read once the body has ended (HTTP/1 chunked trailers or HTTP/2 trailers). */
  trailers?: () => OutgoingHttpHeaders | undefined;
  /** The request declares trailers (so the upstream stream must wait for them). */
  expectTrailers?: boolean;
  /** Cancelling ends the exchange at any point (client gone, timeout). */
  cancel?: Cancel;
}

export interface UpstreamResponse {
  status: number;
  headers: IncomingHttpHeaders;
  body: Readable;
  /** Resolves when the body has ended, with its trailers (undefined when none). */
  trailers: Promise<IncomingHttpHeaders | undefined>;
  /** Cancels the upstream exchange (client went away, timeout). */
  cancel(): void;
  /** HTTP/2: the response HEADERS frame carried END_STREAM (no body, no trailers; gRPC's trailers-only). */
  endedWithHeaders?: boolean;
  /**
   * The whole body, taken at once, when it has already arrived (else undefined and nothing is taken):
   * lets a writer send head and body together with no stream plumbing (most responses are small).
   */
  takeBody?(): Buffer | undefined;
}

export class UpstreamError extends Error {
  constructor(
    message: string,
    readonly kind: 'connect' | 'reset' | 'timeout' | 'cancelled',
  ) {
    super(message);
  }
}

const { NGHTTP2_CANCEL } = http2.constants;

function abortReason(cancel: Cancel | undefined): string {
  return cancel?.reason ?? 'cancelled';
}

function sendBody(body: UpstreamRequest['body'], sink: NodeJS.WritableStream & { end(): void }): void {
  if (body === null) sink.end();
  else if (Buffer.isBuffer(body)) sink.end(body);
  else body.pipe(sink);
}

/** Sends a request on an HTTP/2 session; resolves at the response headers. */
export function sendH2(session: ClientHttp2Session, req: UpstreamRequest, extra?: HeaderMap): Promise<UpstreamResponse> {
  return new Promise((resolve, reject) => {
    const headers: OutgoingHttpHeaders = {
      ...req.headers,
      ...extra,
      ':method': req.method,
      ':path': req.path,
      ':authority': req.authority,
      ':scheme': 'http',
    };
    const noBody = req.body === null || (Buffer.isBuffer(req.body) && req.body.length === 0 && !req.expectTrailers);
    let stream: http2.ClientHttp2Stream;
    try {
      stream = session.request(headers, { endStream: noBody, waitForTrailers: !!req.expectTrailers });
    } catch (e) {
      reject(new UpstreamError(`HTTP/2 request failed: ${(e as Error).message}`, 'connect'));
      return;
    }
    if (req.expectTrailers) stream.once('wantTrailers', () => stream.sendTrailers(req.trailers?.() ?? {}));
    if (!noBody) sendBody(req.body, stream);
    let responded = false;
    let resolveTrailers: ((t: IncomingHttpHeaders | undefined) => void) | undefined;
    let got: IncomingHttpHeaders | undefined;
    let offCancel: (() => void) | undefined;
    const onAbort = (): void => {
      if (!stream.closed) stream.close(NGHTTP2_CANCEL);
      if (!responded) reject(new UpstreamError(abortReason(req.cancel), 'cancelled'));
    };
    if (req.cancel) {
      if (req.cancel.aborted) return onAbort();
      offCancel = req.cancel.onAbort(onAbort);
    }
    // One listener per event (listeners are a measurable part of a stream's cost).
    stream.once('close', () => {
      offCancel?.();
      if (responded) resolveTrailers!(got);
      else reject(new UpstreamError(`upstream reset the stream (code ${stream.rstCode})`, 'reset'));
    });
    stream.once('response', (h, flags: number) => {
      responded = true;
      const trailers = new Promise<IncomingHttpHeaders | undefined>((r) => (resolveTrailers = r));
      stream.once('trailers', (t) => (got = t));
      stream.once('end', () => resolveTrailers!(got));
      resolve({
        status: Number(h[':status']),
        headers: h,
        body: stream,
        trailers,
        cancel: () => {
          if (!stream.closed) stream.close(NGHTTP2_CANCEL);
        },
        endedWithHeaders: (flags & http2.constants.NGHTTP2_FLAG_END_STREAM) !== 0,
      });
    });
    stream.once('error', (e: Error) => {
      if (!responded) reject(new UpstreamError(`upstream stream failed: ${e.message}`, 'reset'));
    });
  });
}

/** The HTTP/1.1 clients of one proxy: the lean client for nearly every request, Node's http for the rest. */
export interface H1Clients {
  /** Absent: every request goes through Node's http client (WEFT_PROXY_HTTP1_ENGINE=node). */
  lean: LeanH1Client | undefined;
  /**
   * Requests with trailers or an `Expect` field (rare) go through Node's http client, which
   * implements both, so they are still forwarded as RFC 9110 asks of a proxy.
   */
  nodeHttp: http.Agent;
}

function h1ErrorKind(e: NodeJS.ErrnoException): UpstreamError['kind'] {
  const c = e.code ?? '';
  return c === 'ECONNREFUSED' || c === 'EHOSTUNREACH' || c === 'ENOTFOUND' ? 'connect' : 'reset';
}

/** Sends a request over HTTP/1.1 on a keep-alive connection; resolves at the response headers. */
export async function sendH1(clients: H1Clients, addr: SocketAddr, req: UpstreamRequest): Promise<UpstreamResponse> {
  const lean = clients.lean;
  if (!lean || req.expectTrailers || req.headers['expect'] !== undefined) return sendH1NodeHttp(clients.nodeHttp, addr, req);
  try {
    return await lean.request(addr, {
      method: req.method,
      path: req.path,
      authority: req.authority,
      headers: req.headers,
      body: req.body,
      cancel: req.cancel,
    });
  } catch (e) {
    if (req.cancel?.aborted) throw new UpstreamError(abortReason(req.cancel), 'cancelled');
    if (e instanceof LeanRequestError) throw new UpstreamError(e.message, e.kind);
    throw new UpstreamError(`upstream ${formatAddr(addr)}: ${(e as Error).message}`, 'reset');
  }
}

function sendH1NodeHttp(agent: http.Agent, addr: SocketAddr, req: UpstreamRequest): Promise<UpstreamResponse> {
  return new Promise((resolve, reject) => {
    const headers: OutgoingHttpHeaders = { ...req.headers, host: req.authority };
    if (req.expectTrailers) {
      headers['transfer-encoding'] = 'chunked';
      delete headers['content-length'];
    }
    const out = http.request({ host: addr.host, port: addr.port, method: req.method, path: req.path, headers, agent, setHost: false });
    let responded = false;
    const onAbort = (): void => {
      out.destroy();
      if (!responded) reject(new UpstreamError(abortReason(req.cancel), 'cancelled'));
    };
    if (req.cancel) {
      if (req.cancel.aborted) return onAbort();
      out.once('close', req.cancel.onAbort(onAbort));
    }
    out.once('response', (res) => {
      responded = true;
      const trailers = new Promise<IncomingHttpHeaders | undefined>((r) => {
        res.once('end', () => r(Object.keys(res.trailers).length > 0 ? res.trailers : undefined));
        res.once('close', () => r(undefined));
      });
      resolve({ status: res.statusCode ?? 502, headers: res.headers, body: res, trailers, cancel: () => out.destroy() });
    });
    out.once('error', (e: NodeJS.ErrnoException) => {
      if (!responded) reject(new UpstreamError(`upstream ${formatAddr(addr)}: ${e.code ?? e.message}`, h1ErrorKind(e)));
    });
    if (req.body === null) out.end();
    else if (Buffer.isBuffer(req.body)) out.end(req.body);
    else {
      const body = req.body;
      body.pipe(out, { end: false });
      body.once('end', () => {
        const t = req.trailers?.();
        if (t) out.addTrailers(t);
        out.end();
      });
    }
  });
}

/** Copies an upstream response to an HTTP/1.1 downstream. Resolves when done (true) or cut (false). */
export function writeToH1(res: ServerResponse, up: UpstreamResponse, extraHeaders?: HeaderMap): Promise<boolean> {
  const headers = responseHeaders(up);
  if (extraHeaders) Object.assign(headers, extraHeaders);
  res.writeHead(up.status, headers);
  return new Promise((resolve) => {
    up.body.pipe(res, { end: false });
    up.body.once('end', () => {
      void up.trailers.then((t) => {
        const ft = forwardableTrailers(t);
        if (ft && !res.hasHeader('content-length')) res.addTrailers(ft);
        res.end();
        resolve(true);
      });
    });
    up.body.once('error', () => {
      res.destroy();
      resolve(false);
    });
    res.once('close', () => {
      if (!res.writableFinished) {
        up.cancel();
        resolve(false);
      }
    });
  });
}

/** Copies an upstream response to an HTTP/2 downstream stream. Resolves when done (true) or cut (false). */
export function writeToH2(stream: ServerHttp2Stream, up: UpstreamResponse, extraHeaders?: HeaderMap): Promise<boolean> {
  const headers: OutgoingHttpHeaders = responseHeaders(up);
  if (extraHeaders) Object.assign(headers, extraHeaders);
  headers[':status'] = up.status;
  const ct = up.headers['content-type'];
  const expectTrailers = (typeof ct === 'string' && ct.startsWith('application/grpc')) || up.headers['trailer'] !== undefined;
  return new Promise((resolve) => {
    if (stream.destroyed || stream.closed) {
      up.cancel();
      resolve(false);
      return;
    }
    if (up.endedWithHeaders) {
      // The upstream ended the stream on its HEADERS frame (gRPC's trailers-only response: grpc-status
      // is in those headers): keep END_STREAM there, or gRPC clients see a call with no status.
      stream.respond(headers, { endStream: true });
      up.body.resume();
      stream.once('close', () => resolve(stream.rstCode === http2.constants.NGHTTP2_NO_ERROR));
      return;
    }
    const whole = expectTrailers ? undefined : up.takeBody?.();
    if (whole !== undefined) {
      stream.respond(headers, { endStream: whole.length === 0 });
      if (whole.length > 0) stream.end(whole);
      stream.once('close', () => resolve(stream.rstCode === http2.constants.NGHTTP2_NO_ERROR));
      return;
    }
    stream.respond(headers, { waitForTrailers: expectTrailers });
    if (expectTrailers) {
      stream.once('wantTrailers', () => {
        void up.trailers.then((t) => {
          if (!stream.destroyed) stream.sendTrailers(forwardableTrailers(t) ?? {});
        });
      });
    }
    up.body.pipe(stream);
    up.body.once('error', () => {
      if (!stream.destroyed) stream.close(http2.constants.NGHTTP2_INTERNAL_ERROR);
      resolve(false);
    });
    stream.once('close', () => {
      const ok = stream.rstCode === http2.constants.NGHTTP2_NO_ERROR && up.body.readableEnded;
      if (!ok) up.cancel();
      resolve(ok);
    });
  });
}

/** A plain readable for a body already in memory (used for proxy-generated error responses). */
export function bufferBody(b: Buffer): Readable {
  return Readable.from(b.length > 0 ? [b] : []);
}
