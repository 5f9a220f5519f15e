/** Starts a control-plane server listening: resolves with the bound port (0 picks a free one), rejects on EADDRINUSE and the like. */
import type { Server } from 'node:net';

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
