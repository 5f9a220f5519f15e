/**
 * The original destination of a connection redirected by iptables/nftables REDIRECT:
 * getsockopt(fd, SOL_IP, SO_ORIGINAL_DST) (SOL_IPV6/IP6T_SO_ORIGINAL_DST for IPv6), called in libc
 * through koffi (a maintained FFI with prebuilt binaries; the `sockopt` package only reads integers).
 * Must be called synchronously in the connection callback, while the fd is certainly open.
 */
import { createRequire } from 'node:module';
import type { Socket } from 'node:net';
import type { SocketAddr } from '../discovery/discovery';

const SOL_IP = 0;
const SOL_IPV6 = 41;
const SO_ORIGINAL_DST = 80;
const AF_INET = 2;
const AF_INET6 = 10;

type GetSockOpt = (fd: number, level: number, name: number, buf: Buffer, len: number[]) => number;
let getsockopt: GetSockOpt | null | undefined;

function load(): GetSockOpt | null {
  if (getsockopt !== undefined) return getsockopt;
  getsockopt = null;
  if (process.platform !== 'linux') return null;
  try {
    const require = createRequire(import.meta.url);
    const koffi = require('koffi') as typeof import('koffi');
    const libc = koffi.load('libc.so.6');
    getsockopt = libc.func('int getsockopt(int, int, int, _Out_ uint8_t *buf, _Inout_ uint32_t *len)') as GetSockOpt;
  } catch {
    getsockopt = null;
  }
  return getsockopt;
}

/** The file descriptor behind a net.Socket (a libuv internal, stable across Node versions). */
export function socketFd(socket: Socket): number | undefined {
  const handle = (socket as unknown as { _handle?: { fd?: number } })._handle;
  return typeof handle?.fd === 'number' && handle.fd >= 0 ? handle.fd : undefined;
}

/** Decodes a sockaddr_in / sockaddr_in6 (pure; exported for tests). */
export function decodeSockaddr(buf: Buffer): SocketAddr | undefined {
  const family = buf.readUInt16LE(0);
  const port = buf.readUInt16BE(2);
  if (family === AF_INET && buf.length >= 8) {
    return { host: `${buf[4]}.${buf[5]}.${buf[6]}.${buf[7]}`, port };
  }
  if (family === AF_INET6 && buf.length >= 24) {
    const parts: string[] = [];
    for (let i = 0; i < 8; i++) parts.push(buf.readUInt16BE(8 + i * 2).toString(16));
    return { host: compressV6(parts), port };
  }
  return undefined;
}

function compressV6(parts: string[]): string {
  // Longest run of zero groups becomes "::" (RFC 5952).
  let best = -1;
  let bestLen = 1;
  for (let i = 0; i < parts.length; ) {
    if (parts[i] !== '0') {
      i++;
      continue;
    }
    let j = i;
    while (j < parts.length && parts[j] === '0') j++;
    if (j - i > bestLen) [best, bestLen] = [i, j - i];
    i = j;
  }
  if (best < 0) return parts.join(':');
  return `${parts.slice(0, best).join(':')}::${parts.slice(best + bestLen).join(':')}`;
}

/**
 * The original destination of a redirected connection; undefined when it cannot be learned (not
 * Linux, no redirect rule, or an fd that is gone). A connection that was NOT redirected reports its
 * own local address: callers must compare with the listener's address.
 */
export function originalDestination(socket: Socket): SocketAddr | undefined {
  const fn = load();
  const fd = socketFd(socket);
  if (!fn || fd === undefined) return undefined;
  // A v4 client on a dual-stack listener arrives v4-mapped and must be asked at SOL_IP.
  const local = socket.localAddress ?? '';
  const v6 = local.includes(':') && !local.startsWith('::ffff:');
  const buf = Buffer.alloc(v6 ? 28 : 16);
  const len = [buf.length];
  const rc = fn(fd, v6 ? SOL_IPV6 : SOL_IP, SO_ORIGINAL_DST, buf, len);
  if (rc !== 0) return undefined;
  return decodeSockaddr(buf);
}

export function originalDestinationSupported(): boolean {
  return load() !== null;
}
