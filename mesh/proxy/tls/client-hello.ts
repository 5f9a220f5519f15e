// Pure parser of a TLS ClientHello from the first bytes of a connection: is it TLS, and which SNI and ALPN
// does it carry? The inbound proxy uses the SNI to tell mesh TLS (SNI = its own identity) from app TLS.
// Handles a ClientHello fragmented over several TLS records.

export interface ClientHelloInfo {
  sni?: string;
  alpn?: string[];
}

const CONTENT_HANDSHAKE = 0x16;
const HANDSHAKE_CLIENT_HELLO = 0x01;
const EXT_SERVER_NAME = 0x0000;
const EXT_ALPN = 0x0010;
const MAX_RECORD = 16_384 + 2_048;
/** A ClientHello larger than this is not something we wait for (real ones are < 2 KiB, < 8 KiB with PQ shares). */
const MAX_CLIENT_HELLO = 64 * 1024;

class Malformed extends Error {}

class Reader {
  constructor(
    private readonly b: Buffer,
    public pos = 0,
    private readonly end = b.length,
  ) {}
  need(n: number): void {
    if (this.pos + n > this.end) throw new Malformed();
  }
  u8(): number {
    this.need(1);
    return this.b[this.pos++];
  }
  u16(): number {
    this.need(2);
    const v = this.b.readUInt16BE(this.pos);
    this.pos += 2;
    return v;
  }
  bytes(n: number): Buffer {
    this.need(n);
    const v = this.b.subarray(this.pos, this.pos + n);
    this.pos += n;
    return v;
  }
  sub(n: number): Reader {
    this.need(n);
    const r = new Reader(this.b, this.pos, this.pos + n);
    this.pos += n;
    return r;
  }
  get remaining(): number {
    return this.end - this.pos;
  }
}

/**
 * Given the first bytes of a connection: 'not-tls' if they cannot start a TLS ClientHello, 'need-more' if they
 * are a prefix of one that is not complete yet, else the SNI and ALPN it carries (each absent if not sent).
 */
export function parseClientHello(buf: Buffer): ClientHelloInfo | 'not-tls' | 'need-more' {
  // Reassemble the handshake message from as many records as needed.
  const fragments: Buffer[] = [];
  let have = 0;
  let needed = -1; // length of the whole handshake message (4-byte header + body), once known
  let pos = 0;
  for (;;) {
    if (buf.length - pos < 1) return 'need-more';
    if (buf[pos] !== CONTENT_HANDSHAKE) return 'not-tls';
    if (buf.length - pos < 2) return 'need-more';
    if (buf[pos + 1] !== 0x03) return 'not-tls';
    if (buf.length - pos < 3) return 'need-more';
    if (buf[pos + 2] > 0x04) return 'not-tls';
    if (buf.length - pos < 5) return 'need-more';
    const len = buf.readUInt16BE(pos + 3);
    if (len === 0 || len > MAX_RECORD) return 'not-tls';
    const body = buf.subarray(pos + 5, Math.min(buf.length, pos + 5 + len));
    fragments.push(body);
    have += body.length;
    if (needed < 0 && have >= 1 && fragments[0][0] !== HANDSHAKE_CLIENT_HELLO) return 'not-tls';
    if (needed < 0 && have >= 4) {
      const head = Buffer.concat(fragments).subarray(0, 4);
      needed = 4 + head.readUIntBE(1, 3);
      if (needed > MAX_CLIENT_HELLO || needed < 4 + 38) return 'not-tls';
    }
    if (needed >= 0 && have >= needed) break;
    if (body.length < len) return 'need-more'; // this record is still arriving
    pos += 5 + len;
  }
  const message = Buffer.concat(fragments).subarray(0, needed);
  try {
    return readClientHelloBody(new Reader(message, 4));
  } catch (err) {
    if (err instanceof Malformed) return 'not-tls';
    throw err;
  }
}

function readClientHelloBody(r: Reader): ClientHelloInfo {
  r.bytes(2); // legacy_version
  r.bytes(32); // random
  r.bytes(r.u8()); // legacy_session_id
  r.bytes(r.u16()); // cipher_suites
  r.bytes(r.u8()); // legacy_compression_methods
  const info: ClientHelloInfo = {};
  if (r.remaining === 0) return info; // no extensions (very old clients)
  const exts = r.sub(r.u16());
  while (exts.remaining > 0) {
    const type = exts.u16();
    const data = exts.sub(exts.u16());
    if (type === EXT_SERVER_NAME) {
      const list = data.sub(data.u16());
      while (list.remaining > 0) {
        const nameType = list.u8();
        const name = list.bytes(list.u16());
        if (nameType === 0 && info.sni === undefined) info.sni = name.toString('latin1');
      }
    } else if (type === EXT_ALPN) {
      const list = data.sub(data.u16());
      const protocols: string[] = [];
      while (list.remaining > 0) protocols.push(list.bytes(list.u8()).toString('latin1'));
      info.alpn = protocols;
    }
  }
  return info;
}
