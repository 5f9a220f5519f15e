/**
 * Header handling between HTTP/1.1 and HTTP/2 hops, as RFC 9110 §7.6.1 and RFC 9113 §8.2.2 say:
 * connection-specific fields (and those the Connection header names) are dropped at every hop;
 * HTTP/1's Host becomes :authority and back; a parser's flat field list becomes a header object by
 * node:http's rules. Pure functions over plain header objects.
 */
import type { IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http';

/** Internal headers between Weft proxies; never reach an application except weft-client-id. */
export const H_ORIG_PROTO = 'weft-orig-proto';
export const H_DST_PORT = 'weft-dst-port';
export const H_CLIENT_ID = 'weft-client-id';
export const H_PROXY_ERROR = 'weft-proxy-error';

const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'proxy-authenticate',
  'proxy-authorization',
  'transfer-encoding',
  'upgrade',
  'te',
  'trailer',
  'host',
  'http2-settings',
]);

export type HeaderMap = Record<string, string | string[]>;

function connectionTokens(headers: IncomingHttpHeaders): Set<string> | undefined {
  const c = headers['connection'];
  if (!c) return undefined;
  // The common values name only fields that are hop-by-hop anyway: no set to build per message.
  if (typeof c === 'string') {
    const l = c.length === 10 || c.length === 5 ? c.toLowerCase() : '';
    if (l === 'keep-alive' || l === 'close') return undefined;
  }
  const v = Array.isArray(c) ? c.join(',') : c;
  return new Set(v.split(',').map((t) => t.trim().toLowerCase()).filter(Boolean));
}

/**
 * Headers of a request or response to send on the next hop: hop-by-hop fields, pseudo-headers and
 * Weft's internal fields removed (`keepInternal` keeps them, for the mesh hop itself).
 * `te: trailers` survives (gRPC needs it on HTTP/2).
 */
export function forwardableHeaders(headers: IncomingHttpHeaders, keepInternal = false): HeaderMap {
  const named = connectionTokens(headers);
  const out: HeaderMap = {};
  for (const key in headers) {
    const v = headers[key];
    if (v === undefined || key.charCodeAt(0) === 58 /* ':' */) continue;
    if (HOP_BY_HOP.has(key) || named?.has(key)) {
      if (key === 'te' && typeof v === 'string' && v.toLowerCase().includes('trailers')) out['te'] = 'trailers';
      continue;
    }
    if (!keepInternal && key.startsWith('weft-')) continue;
    out[key] = v;
  }
  return out;
}

/** The authority of an HTTP/1 or HTTP/2 request: :authority, else Host. */
export function requestAuthority(headers: IncomingHttpHeaders): string | undefined {
  const a = headers[':authority'] ?? headers['host'];
  return typeof a === 'string' ? a : undefined;
}

/** Whether a response to `method` with `status` has no body (RFC 9110 §6.4.1). */
export function responseHasNoBody(method: string, status: number): boolean {
  return method === 'HEAD' || status === 204 || status === 304 || (status >= 100 && status < 200);
}

/**
 * Serialises an HTTP/1.1 request head, for tunnelling an Upgrade request over a raw byte stream.
 * Weft's internal `weft-*` fields are dropped, so a client cannot forge `weft-client-id` this way.
 */
export function serializeRequestHead(method: string, url: string, rawHeaders: string[]): Buffer {
  let s = `${method} ${url} HTTP/1.1\r\n`;
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
    if (rawHeaders[i]!.toLowerCase().startsWith('weft-')) continue;
    s += `${rawHeaders[i]}: ${rawHeaders[i + 1]}\r\n`;
  }
  return Buffer.from(`${s}\r\n`, 'latin1');
}

/** Trailers from an HTTP/1 IncomingMessage or HTTP/2 'trailers' event, cleaned for the next hop. */
export function forwardableTrailers(trailers: IncomingHttpHeaders | undefined): OutgoingHttpHeaders | undefined {
  if (!trailers) return undefined;
  const out: OutgoingHttpHeaders = {};
  let any = false;
  for (const key in trailers) {
    if (key.charCodeAt(0) === 58 || HOP_BY_HOP.has(key)) continue;
    const v = trailers[key];
    if (v === undefined) continue;
    out[key] = v;
    any = true;
  }
  return any ? out : undefined;
}

/**
 * A reason made safe for a header value (`weft-proxy-error`, `grpc-message`): printable ASCII only,
 * white space folded, at most 200 characters. Reasons can quote what a peer sent (a TLS error that
 * echoes an app's plaintext answer), and an invalid header would fail the response itself.
 */
export function headerSafe(reason: string): string {
  const s = reason.replace(/[^\x20-\x7e]+/g, ' ').replace(/\s+/g, ' ').trim();
  return s.length > 200 ? `${s.slice(0, 197)}...` : s;
}

/** Fields node:http keeps only the first of when repeated (IncomingMessage's rules). */
const FIRST_ONLY = new Set([
  'age',
  'authorization',
  'content-length',
  'content-type',
  'etag',
  'expires',
  'from',
  'host',
  'if-modified-since',
  'if-unmodified-since',
  'last-modified',
  'location',
  'max-forwards',
  'proxy-authorization',
  'referer',
  'retry-after',
  'server',
  'user-agent',
]);

/**
 * A header object from llhttp's flat [name, value, …] list, with node:http's rules so both HTTP/1
 * paths agree: names lower-cased; repeated set-cookie becomes an array, cookie is joined with "; ",
 * the singletons above keep their first value, any other repeated field is joined with ", ".
 */
export function headerObject(raw: readonly string[]): IncomingHttpHeaders {
  const out: Record<string, string | string[]> = {};
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const k = raw[i]!.toLowerCase();
    const v = raw[i + 1]!;
    const prev = out[k];
    if (prev === undefined) out[k] = k === 'set-cookie' ? [v] : v;
    else if (Array.isArray(prev)) prev.push(v);
    else if (FIRST_ONLY.has(k)) continue;
    else out[k] = `${prev}${k === 'cookie' ? '; ' : ', '}${v}`;
  }
  return out as IncomingHttpHeaders;
}
