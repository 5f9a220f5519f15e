/** Checks that a loopback port can be bound before a run depends on it, for a clear "port taken" error. */
import net from 'node:net';

export type PortCheck = { ok: true } | { ok: false; reason: string };

/** Port 0 (any free port) is always fine. */
export function checkPortFree(host: string, port: number): Promise<PortCheck> {
  if (port === 0) return Promise.resolve({ ok: true });
  return new Promise((resolve) => {
    const srv = net.createServer();
    srv.once('error', (e: NodeJS.ErrnoException) =>
      resolve({
        ok: false,
        reason: e.code === 'EADDRINUSE' ? `port ${port} on ${host} is already in use` : e.code === 'EACCES' ? `port ${port} needs privileges` : `cannot listen on ${host}:${port}: ${e.message}`,
      }),
    );
    srv.listen({ host, port, exclusive: true }, () => srv.close(() => resolve({ ok: true })));
  });
}

/** Picks a free port on `host` (the OS chooses; released before return, so a small race remains). */
export function pickFreePort(host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen({ host, port: 0 }, () => {
      const port = (srv.address() as net.AddressInfo).port;
      srv.close(() => resolve(port));
    });
  });
}
