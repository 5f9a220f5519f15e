/** Starting and stopping the control plane's servers. */
import http2 from 'node:http2';
import type { Server } from 'node:net';

/** Starts a server listening: resolves with the bound port (0 picks a free one), rejects on EADDRINUSE and the like. */
export function listen(server: Server, port: number, host: string): Promise<number> {
  return new Promise<number>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      const addr = server.address();
      resolve(typeof addr === 'object' && addr ? addr.port : port);
    });
  });
}

/**
 * An h2c server for the long-lived streams proxies hold (destination, policy), with its sessions
 * tracked: `close()` stops listening and ends every session, since `server.close()` alone would wait
 * for every proxy to leave.
 */
export function streamServer(): { server: http2.Http2Server; close(): Promise<void> } {
  const server = http2.createServer({ settings: { maxConcurrentStreams: 10_000 } });
  const sessions = new Set<http2.Http2Session>();
  server.on('session', (s) => {
    sessions.add(s);
    s.once('close', () => sessions.delete(s));
    s.on('error', () => undefined);
  });
  return {
    server,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const s of sessions) s.destroy();
      }),
  };
}
