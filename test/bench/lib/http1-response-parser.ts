/**
 * A minimal HTTP/1.1 response framer for the load generator: it is fed the bytes of one keep-alive
 * connection and reports each complete final response (its status code). It knows Content-Length,
 * chunked bodies (with trailers), bodiless statuses (1xx, 204, 304) and interim 1xx responses. A
 * response delimited by connection close is not supported (a benchmark backend never sends one):
 * it is reported as an error. Pure: no I/O, no clock.
 */

type State = 'head' | 'body' | 'chunk-size' | 'chunk-data' | 'trailers';

const CRLF = Buffer.from('\r\n');
const HEAD_END = Buffer.from('\r\n\r\n');
/** A head larger than this is not a response we expect: report it instead of buffering forever. */
const MAX_HEAD_BYTES = 64 * 1024;

export class Http1FramingError extends Error {}

export class Http1ResponseFramer {
  private pending: Buffer = Buffer.alloc(0);
  private state: State = 'head';
  private remaining = 0;
  private status = 0;

  /** Consumes a chunk; returns the status codes of the final responses that it completed, in order. */
  feed(chunk: Buffer): number[] {
    const done: number[] = [];
    let buf = this.pending.length > 0 ? Buffer.concat([this.pending, chunk]) : chunk;
    for (;;) {
      if (this.state === 'head') {
        const end = buf.indexOf(HEAD_END);
        if (end < 0) {
          if (buf.length > MAX_HEAD_BYTES) throw new Http1FramingError(`response head larger than ${MAX_HEAD_BYTES} bytes`);
          break;
        }
        const head = buf.subarray(0, end).toString('latin1');
        buf = buf.subarray(end + HEAD_END.length);
        this.startResponse(head, done);
      } else if (this.state === 'body') {
        const n = Math.min(this.remaining, buf.length);
        buf = buf.subarray(n);
        this.remaining -= n;
        if (this.remaining > 0) break;
        this.finish(done);
      } else if (this.state === 'chunk-size' || this.state === 'trailers') {
        const eol = buf.indexOf(CRLF);
        if (eol < 0) break;
        const line = buf.subarray(0, eol).toString('latin1');
        buf = buf.subarray(eol + CRLF.length);
        if (this.state === 'trailers') {
          if (line === '') this.finish(done);
          continue;
        }
        const size = Number.parseInt(line.split(';')[0]!.trim(), 16);
        if (!Number.isFinite(size) || size < 0) throw new Http1FramingError(`bad chunk size line "${line}"`);
        if (size === 0) this.state = 'trailers';
        else {
          this.state = 'chunk-data';
          this.remaining = size + CRLF.length;
        }
      } else {
        // chunk-data: the chunk's bytes and its closing CRLF
        const n = Math.min(this.remaining, buf.length);
        buf = buf.subarray(n);
        this.remaining -= n;
        if (this.remaining > 0) break;
        this.state = 'chunk-size';
      }
      if (buf.length === 0) break;
    }
    this.pending = buf.length > 0 ? Buffer.from(buf) : Buffer.alloc(0);
    return done;
  }

  private startResponse(head: string, done: number[]): void {
    const lines = head.split('\r\n');
    const m = /^HTTP\/1\.[01] (\d{3})/.exec(lines[0] ?? '');
    if (!m) throw new Http1FramingError(`not an HTTP/1.x status line: "${lines[0] ?? ''}"`);
    const status = Number(m[1]);
    if (status >= 100 && status < 200) return; // interim response; the final one follows
    this.status = status;
    let contentLength: number | undefined;
    let chunked = false;
    for (const line of lines.slice(1)) {
      const colon = line.indexOf(':');
      if (colon <= 0) continue;
      const name = line.slice(0, colon).trim().toLowerCase();
      const value = line.slice(colon + 1).trim().toLowerCase();
      if (name === 'content-length') contentLength = Number(value);
      else if (name === 'transfer-encoding') chunked = value.split(',').map((s) => s.trim()).includes('chunked');
    }
    if (status === 204 || status === 304) return this.finish(done);
    if (chunked) {
      this.state = 'chunk-size';
      return;
    }
    if (contentLength === undefined || !Number.isInteger(contentLength) || contentLength < 0) {
      throw new Http1FramingError(`response ${status} has neither a valid Content-Length nor chunked encoding`);
    }
    if (contentLength === 0) return this.finish(done);
    this.state = 'body';
    this.remaining = contentLength;
  }

  private finish(done: number[]): void {
    done.push(this.status);
    this.state = 'head';
    this.remaining = 0;
  }
}
