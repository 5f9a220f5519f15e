/**
 * The header an outbound proxy sends first on an opaque mTLS connection, telling the inbound proxy
 * which application port to forward to (Linkerd's "opaque transport" header, in a simpler form):
 *   bytes 0-3 "weft", byte 4 version (1), byte 5 flags (0), bytes 6-7 port (big-endian).
 */
export const TRANSPORT_HEADER_LENGTH = 8;
export const ALPN_MESH_H2 = 'h2';
export const ALPN_MESH_TCP = 'weft.tcp/1';
const MAGIC = Buffer.from('weft', 'latin1');

export function encodeTransportHeader(port: number): Buffer {
  const b = Buffer.alloc(TRANSPORT_HEADER_LENGTH);
  MAGIC.copy(b, 0);
  b[4] = 1;
  b.writeUInt16BE(port, 6);
  return b;
}

export function decodeTransportHeader(buf: Buffer): { port: number } | 'need-more' | { error: string } {
  if (buf.length < TRANSPORT_HEADER_LENGTH) return 'need-more';
  if (!buf.subarray(0, 4).equals(MAGIC)) return { error: 'missing transport header' };
  if (buf[4] !== 1) return { error: `unsupported transport header version ${buf[4]}` };
  const port = buf.readUInt16BE(6);
  if (port === 0) return { error: 'transport header names port 0' };
  return { port };
}
