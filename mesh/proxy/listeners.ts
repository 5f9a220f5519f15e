/**
 * Listening on one or several addresses per listener. A listener's variable may list addresses
 * (`0.0.0.0:4143,[::]:4143`), as Linkerd's *_LISTEN_ADDRS do: a dual-stack pod serves IPv4 and IPv6
 * on separate sockets, because `iptables` REDIRECTs IPv4 connections to 127.0.0.1 / the pod's IPv4
 * address and `ip6tables` IPv6 ones to ::1 / its IPv6 address. With more than one address, IPv6
 * sockets are IPv6-only (else `[::]` would also take the IPv4 port and the IPv4 socket could not
 * bind). The first address must bind; a later IPv6 address the host cannot use (IPv6 disabled:
 * EAFNOSUPPORT, or ::1 missing: EADDRNOTAVAIL) is skipped with a warning, so one pod spec fits
 * single-stack and dual-stack clusters.
 */
import net from 'node:net';
import { formatAddr, type SocketAddr } from './discovery/discovery';
import type { Logger } from './log';

const IPV6_UNUSABLE = new Set(['EAFNOSUPPORT', 'EADDRNOTAVAIL']);

/** Binds `server` to `addr`; resolves with the port actually bound (when 0 was asked for). */
export function listen(server: net.Server, addr: SocketAddr, opts: { ipv6Only?: boolean } = {}): Promise<SocketAddr> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host: addr.host, port: addr.port, ipv6Only: opts.ipv6Only ?? false }, () => {
      server.removeListener('error', reject);
      const a = server.address() as net.AddressInfo;
      resolve({ host: addr.host, port: a.port });
    });
  });
}

/**
 * Binds one server per address (made by `make`), the first one first. Returns the addresses bound
 * (ports resolved) and every server, for closing.
 */
export async function listenAll(addrs: readonly SocketAddr[], make: () => net.Server, log: Logger, what: string): Promise<{ bound: SocketAddr[]; servers: net.Server[] }> {
  const several = addrs.length > 1;
  const bound: SocketAddr[] = [];
  const servers: net.Server[] = [];
  for (const [i, addr] of addrs.entries()) {
    const v6 = net.isIPv6(addr.host);
    const server = make();
    try {
      bound.push(await listen(server, addr, { ipv6Only: several && v6 }));
      servers.push(server);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code ?? '';
      if (i === 0 || !v6 || !IPV6_UNUSABLE.has(code)) {
        for (const s of servers) s.close();
        throw new Error(`${what} cannot listen on ${formatAddr(addr)}: ${(e as Error).message}`);
      }
      log.warn(`${what}: IPv6 address ${formatAddr(addr)} is not usable here (${code}); serving the other addresses`, { addr: formatAddr(addr) });
    }
  }
  return { bound, servers };
}
