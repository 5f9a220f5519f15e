/**
 * The client side of an HTTP exchange, the same shape whether it arrived over HTTP/1.1 or HTTP/2,
 * so routing, retries and metrics are written once.
 */
import type { IncomingHttpHeaders, IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import http2, { type ServerHttp2Stream } from 'node:http2';
import type { Readable } from 'node:stream';
import { bufferBody, writeToH1, writeToH2, type UpstreamResponse } from './exchange';
import { forwardableTrailers, H_PROXY_ERROR, headerSafe, requestAuthority, type HeaderMap } from './headers';

export interface Downstream {
  readonly proto: 'h1' | 'h2';
  readonly method: string;
  readonly path: string;
  readonly authority: string;
  readonly headers: IncomingHttpHeaders;
  /** Null when the request has no body. */
  readonly body: Readable | null;
  readonly expectTrailers: boolean;
  trailers(): OutgoingHttpHeaders | undefined;
  /** Writes an upstream response; true when it completed. */
  respond(up: UpstreamResponse, extra?: HeaderMap): Promise<boolean>;
  /** A response made by the proxy itself, with `weft-proxy-error: <reason>`. */
  fail(status: number, reason: string): void;
  /** Called once if the client goes away before the response is complete. */
  onAbort(cb: () => void): void;
  readonly aborted: boolean;
}

/** An HTTP/1 request: its Downstream, plus the request-target as sent and a way to re-aim it. */
export interface H1Downstream extends Downstream {
  readonly proto: 'h1';
  /** The request-target as the client sent it (absolute-form on the forward-proxy port). */
  readonly url: string;
  /** Names the request's authority and path (named upstream listeners, forward-proxy requests). */
  retarget(authority: string, path: string): void;
}

function h1HasBody(req: IncomingMessage): boolean {
  const cl = req.headers['content-length'];
  return req.headers['transfer-encoding'] !== undefined || (cl !== undefined && cl !== '0');
}

/** The Downstream of a request node:http parsed (the connections the lean server hands over). */
export function h1Downstream(req: IncomingMessage, res: ServerResponse): H1Downstream {
  let aborted = false;
  const abortCbs: (() => void)[] = [];
  res.once('close', () => {
    if (!res.writableFinished) {
      aborted = true;
      for (const cb of abortCbs) cb();
    }
  });
  const url = req.url ?? '/';
  let path = url;
  let authority = requestAuthority(req.headers) ?? '';
  return {
    proto: 'h1',
    method: req.method ?? 'GET',
    url,
    get path() {
      return path;
    },
    get authority() {
      return authority;
    },
    retarget(a: string, p: string) {
      authority = a;
      path = p;
    },
    headers: req.headers,
    body: h1HasBody(req) ? req : null,
    expectTrailers: req.headers['trailer'] !== undefined,
    trailers: () => forwardableTrailers(req.trailers),
    respond: (up, extra) => writeToH1(res, up, extra),
    fail: (status, raw) => {
      const reason = headerSafe(raw);
      if (res.headersSent) {
        res.destroy();
        return;
      }
      const body = `${reason}\n`;
      res.writeHead(status, { 'content-type': 'text/plain', 'content-length': Buffer.byteLength(body), [H_PROXY_ERROR]: reason });
      res.end(body);
    },
    onAbort: (cb) => void abortCbs.push(cb),
    get aborted() {
      return aborted;
    },
  };
}

export function h2Downstream(stream: ServerHttp2Stream, headers: IncomingHttpHeaders, authorityOverride?: string): Downstream {
  let aborted = false;
  const abortCbs: (() => void)[] = [];
  let trailers: IncomingHttpHeaders | undefined;
  stream.once('trailers', (t) => (trailers = t));
  stream.once('close', () => {
    if (stream.rstCode !== http2.constants.NGHTTP2_NO_ERROR || !stream.writableFinished) {
      aborted = true;
      for (const cb of abortCbs) cb();
    }
  });
  const ct = headers['content-type'];
  const grpc = typeof ct === 'string' && ct.startsWith('application/grpc');
  return {
    proto: 'h2',
    method: String(headers[':method'] ?? 'GET'),
    path: String(headers[':path'] ?? '/'),
    authority: authorityOverride ?? requestAuthority(headers) ?? '',
    headers,
    body: stream.endAfterHeaders ? null : stream,
    expectTrailers: false,
    trailers: () => forwardableTrailers(trailers),
    respond: (up, extra) => writeToH2(stream, up, extra),
    fail: (status, raw) => {
      const reason = headerSafe(raw);
      if (stream.destroyed || stream.closed) return;
      if (stream.headersSent) {
        stream.close(http2.constants.NGHTTP2_INTERNAL_ERROR);
        return;
      }
      if (grpc) {
        // gRPC clients read the outcome from grpc-status; a trailers-only response carries it.
        const code = status === 504 ? 4 /* DEADLINE_EXCEEDED */ : status === 403 ? 7 /* PERMISSION_DENIED */ : 14; /* UNAVAILABLE */
        stream.respond({ ':status': 200, 'content-type': 'application/grpc', 'grpc-status': code, 'grpc-message': encodeURIComponent(reason), [H_PROXY_ERROR]: reason }, { endStream: true });
        return;
      }
      stream.respond({ ':status': status, 'content-type': 'text/plain', [H_PROXY_ERROR]: reason });
      stream.end(`${reason}\n`);
    },
    onAbort: (cb) => void abortCbs.push(cb),
    get aborted() {
      return aborted;
    },
  };
}

/** Reads up to `limit` bytes of a body; returns the buffer, or the chunks read so far when it is larger. */
export function bufferUpTo(body: Readable, limit: number): Promise<{ complete: true; data: Buffer } | { complete: false; head: Buffer[] }> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (c: Buffer): void => {
      chunks.push(c);
      size += c.length;
      if (size > limit) {
        cleanup();
        body.pause();
        resolve({ complete: false, head: chunks });
      }
    };
    const onEnd = (): void => {
      cleanup();
      resolve({ complete: true, data: Buffer.concat(chunks, size) });
    };
    const onError = (e: Error): void => {
      cleanup();
      reject(e);
    };
    const cleanup = (): void => {
      body.removeListener('data', onData);
      body.removeListener('end', onEnd);
      body.removeListener('error', onError);
    };
    body.on('data', onData);
    body.once('end', onEnd);
    body.once('error', onError);
  });
}

export { bufferBody };
