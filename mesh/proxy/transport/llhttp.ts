/**
 * Node's own HTTP/1 parser (llhttp, the C parser behind node:http), used directly by the proxy's
 * lean HTTP/1.1 paths. node:http builds an IncomingMessage, a ServerResponse and several streams
 * per request around it; a proxy that only moves heads and bytes does not need them (measured here:
 * about a third of the CPU per proxied request). The binding is internal to Node, so this module is
 * the one place that knows its shape; the proxy's integration tests run every path through it, on
 * the Node version the project pins (package.json engines).
 */
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

/** What node:_http_common exports that is used here (Node 20). */
interface HttpCommon {
  HTTPParser: HTTPParserClass;
  methods: string[];
}

export interface HTTPParserClass {
  new (): HTTPParser;
  readonly REQUEST: number;
  readonly RESPONSE: number;
  readonly kOnMessageBegin: number;
  readonly kOnHeaders: number;
  readonly kOnHeadersComplete: number;
  readonly kOnBody: number;
  readonly kOnMessageComplete: number;
  readonly kOnExecute: number;
  readonly kLenientNone: number;
}

/**
 * Callbacks are set by index (HTTPParser.kOn*). onHeadersComplete receives
 * (versionMajor, versionMinor, rawHeaders | undefined, method index, url, statusCode, statusMessage,
 * upgrade, shouldKeepAlive) and may return 1 to say "this message has no body" (HEAD, 1xx).
 */
export interface HTTPParser {
  [callback: number]: unknown;
  initialize(type: number, resource: object, maxHeaderSize: number, lenient: number): void;
  execute(data: Buffer): number | Error;
  finish(): number | Error | undefined;
  remove(): void;
  close(): void;
}

export type OnHeadersComplete = (
  versionMajor: number,
  versionMinor: number,
  rawHeaders: string[] | undefined,
  method: number,
  url: string | undefined,
  statusCode: number,
  statusMessage: string | undefined,
  upgrade: boolean,
  shouldKeepAlive: boolean,
) => number | undefined;

const common = require('_http_common') as HttpCommon;

export const HTTPParser: HTTPParserClass = common.HTTPParser;
/** llhttp's method index → name. */
export const METHODS: readonly string[] = common.methods;

/**
 * Whether the binding behaves as this module expects, checked once by parsing a request and a
 * response. When a Node version changes it, the proxy serves HTTP/1.1 with node:http on both sides
 * instead (slower, same behaviour) and says so at start.
 */
export const LLHTTP_USABLE: boolean = selfTest();

function selfTest(): boolean {
  try {
    const seen: string[] = [];
    const req = new HTTPParser();
    req.initialize(HTTPParser.REQUEST, {}, 0, HTTPParser.kLenientNone);
    // Typed as present; a Node version without it fails here.
    if (typeof HTTPParser.kOnMessageBegin !== 'number') return false;
    req[HTTPParser.kOnMessageBegin] = () => seen.push('begin');
    req[HTTPParser.kOnHeadersComplete] = ((maj, min, raw, m, url, _s, _m, up, ka) => {
      seen.push(`${maj}.${min} ${METHODS[m]} ${url} ${raw?.join('=')} ${up} ${ka}`);
      return 0;
    }) satisfies OnHeadersComplete;
    req[HTTPParser.kOnBody] = (b: Buffer) => seen.push(`body ${b.toString()}`);
    req[HTTPParser.kOnMessageComplete] = () => seen.push('end');
    const n = req.execute(Buffer.from('POST /a HTTP/1.1\r\nHost: h\r\nContent-Length: 2\r\n\r\nhi'));
    const res = new HTTPParser();
    res.initialize(HTTPParser.RESPONSE, {}, 0, HTTPParser.kLenientNone);
    res[HTTPParser.kOnHeadersComplete] = ((_maj, _min, raw, _m, _u, status, msg) => {
      seen.push(`${status} ${msg} ${raw?.join('=')}`);
      return 0;
    }) satisfies OnHeadersComplete;
    res[HTTPParser.kOnBody] = (b: Buffer) => seen.push(`body ${b.toString()}`);
    res[HTTPParser.kOnMessageComplete] = () => seen.push('end');
    const m = res.execute(Buffer.from('HTTP/1.1 404 Not Found\r\nContent-Length: 1\r\n\r\nx'));
    return (
      n === 50 &&
      m === 46 &&
      seen.join('|') === 'begin|1.1 POST /a Host=h=Content-Length=2 false true|body hi|end|404 Not Found Content-Length=1|body x|end'
    );
  } catch {
    return false;
  }
}

/** A parser error's code (HPE_*) as node:http reports it. */
export function parserErrorCode(e: Error): string {
  return (e as Error & { code?: string }).code ?? 'HPE_INVALID';
}
