/**
 * Protocol detection: the first bytes of a connection say HTTP/1.x, HTTP/2 (prior knowledge),
 * a TLS ClientHello, or anything else (opaque). Pure classifier plus a thin socket reader that
 * gives the bytes back to the socket afterwards.
 */
import type { Duplex } from 'node:stream';

export type Detected = 'http1' | 'h2' | 'tls' | 'opaque';

const H2_PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');
/** Longest request line we wait for before calling the connection opaque. */
const MAX_REQUEST_LINE = 8192;
const METHOD_CHAR = (c: number): boolean => (c >= 0x41 && c <= 0x5a) || c === 0x2d || c === 0x5f; // A-Z - _
const REQUEST_LINE = /^[A-Z_-]+ [^\s]+ HTTP\/1\.[01]$/;

/** Classifies a connection's first bytes; 'need-more' while the answer is not yet certain. */
export function classifyPrefix(buf: Buffer): Detected | 'need-more' {
  if (buf.length === 0) return 'need-more';
  // TLS handshake record: type 22, version 3.x.
  if (buf[0] === 0x16) {
    if (buf.length < 3) return 'need-more';
    return buf[1] === 0x03 && buf[2]! <= 0x04 ? 'tls' : 'opaque';
  }
  // HTTP/2 connection preface (prior knowledge, h2c).
  const n = Math.min(buf.length, H2_PREFACE.length);
  if (buf.subarray(0, n).equals(H2_PREFACE.subarray(0, n))) return n === H2_PREFACE.length ? 'h2' : 'need-more';
  // HTTP/1.x request line: METHOD SP target SP HTTP/1.x CRLF.
  let i = 0;
  while (i < buf.length && METHOD_CHAR(buf[i]!)) i++;
  if (i === buf.length) return i > 20 ? 'opaque' : 'need-more';
  if (i === 0 || buf[i] !== 0x20) return 'opaque';
  const eol = buf.indexOf('\r\n', i, 'latin1');
  if (eol < 0) {
    if (buf.length > MAX_REQUEST_LINE) return 'opaque';
    // Anything that cannot be part of a request line settles it early.
    // A CR as the very last byte may be a line end whose LF is still in flight.
    for (let j = i + 1; j < buf.length; j++) {
      const c = buf[j]!;
      if ((c < 0x20 && !(c === 0x0d && j === buf.length - 1)) || c === 0x7f) return 'opaque';
    }
    return 'need-more';
  }
  return REQUEST_LINE.test(buf.toString('latin1', 0, eol)) ? 'http1' : 'opaque';
}

export interface Detection {
  protocol: Detected;
  /** True when the timeout fired before the bytes said anything (server-speaks-first, idle clients). */
  timedOut: boolean;
}

/**
 * Reads from `stream` until `decide` answers (or `timeoutMs` passes, or the stream ends), pauses
 * it, and returns the answer with every byte read. Nothing is given back: call `stream.unshift`
 * with what the next consumer must see.
 */
export function peek<T>(
  stream: Duplex,
  decide: (buf: Buffer) => T | 'need-more',
  timeoutMs: number,
): Promise<{ result: T | undefined; bytes: Buffer; timedOut: boolean }> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let settled = false;
    const finish = (result: T | undefined, timedOut: boolean): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      stream.removeListener('data', onData);
      stream.removeListener('end', onEnd);
      stream.removeListener('close', onEnd);
      stream.pause();
      resolve({ result, bytes: chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size), timedOut });
    };
    const onData = (chunk: Buffer): void => {
      chunks.push(chunk);
      size += chunk.length;
      const r = decide(chunks.length === 1 ? chunk : Buffer.concat(chunks, size));
      if (r !== 'need-more') finish(r, false);
    };
    const onEnd = (): void => finish(undefined, false);
    const timer = setTimeout(() => finish(undefined, true), timeoutMs);
    stream.on('data', onData);
    stream.once('end', onEnd);
    stream.once('close', onEnd);
  });
}

/**
 * Detects the protocol of `socket` within `timeoutMs` (after which it is opaque) and puts the
 * bytes read back, so the next consumer sees the whole stream.
 */
export async function detectProtocol(socket: Duplex, timeoutMs: number): Promise<Detection & { bytes: Buffer }> {
  const r = await peek(socket, classifyPrefix, timeoutMs);
  if (r.bytes.length > 0) socket.unshift(r.bytes);
  return { protocol: r.result ?? 'opaque', timedOut: r.timedOut, bytes: r.bytes };
}
