/**
 * The proxy's admin server (port 4191 by default): GET /metrics (Prometheus text), /ready, /live.
 * A thin node:http shell; routing is the pure `adminRoute` below.
 */
import http from 'node:http';
import net from 'node:net';
import type { SocketAddr } from '../discovery/discovery';
import { listenAll } from '../listeners';
import { silentLogger, type Logger } from '../log';
import type { ProxyMetrics } from '../metrics/proxy-metrics';

export type AdminHandler = (req: http.IncomingMessage, res: http.ServerResponse) => void;

export interface AdminServerOptions {
  host: string;
  /** 0 picks a free port. */
  port: number;
  /** More addresses served the same (dual stack: ../listeners.ts); needs `log` for the ones skipped. */
  alsoListen?: readonly SocketAddr[];
  log?: Logger;
  metrics: ProxyMetrics;
  ready: () => boolean;
  /** More paths (exact match). The built-in paths win over these. */
  extraRoutes?: Record<string, AdminHandler>;
}

export interface AdminServer {
  address: { host: string; port: number };
  /** Every address served, the first one first. */
  addresses: SocketAddr[];
  close(): Promise<void>;
}

export type AdminRoute = 'metrics' | 'ready' | 'live' | 'extra' | 'not-found' | 'method-not-allowed';

const BUILTIN: Record<string, AdminRoute> = { '/metrics': 'metrics', '/ready': 'ready', '/live': 'live' };

/** Which handler a request goes to. Built-in paths answer GET and HEAD only. */
export function adminRoute(method: string | undefined, url: string | undefined, extra: ReadonlySet<string>): AdminRoute {
  const raw = url ?? '/';
  const q = raw.indexOf('?');
  const path = q === -1 ? raw : raw.slice(0, q);
  const builtin = Object.hasOwn(BUILTIN, path) ? BUILTIN[path] : undefined;
  if (builtin) return method === 'GET' || method === 'HEAD' ? builtin : 'method-not-allowed';
  return extra.has(path) ? 'extra' : 'not-found';
}

function text(res: http.ServerResponse, status: number, body: string, headers: http.OutgoingHttpHeaders = {}): void {
  res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', 'content-length': Buffer.byteLength(body), ...headers });
  res.end(res.req.method === 'HEAD' ? undefined : body);
}

export async function startAdminServer(opts: AdminServerOptions): Promise<AdminServer> {
  const extra = opts.extraRoutes ?? {};
  const extraPaths = new Set(Object.keys(extra));

  const server = http.createServer((req, res) => {
    const route = adminRoute(req.method, req.url, extraPaths);
    switch (route) {
      case 'metrics':
        opts.metrics.metricsText().then(
          (body) => {
            res.writeHead(200, { 'content-type': opts.metrics.contentType, 'content-length': Buffer.byteLength(body) });
            res.end(req.method === 'HEAD' ? undefined : body);
          },
          (err: unknown) => text(res, 500, `metrics failed: ${err instanceof Error ? err.message : String(err)}\n`),
        );
        return;
      case 'ready': {
        let ok = false;
        try {
          ok = opts.ready();
        } catch {
          ok = false;
        }
        text(res, ok ? 200 : 503, ok ? 'ready\n' : 'not ready\n');
        return;
      }
      case 'live':
        text(res, 200, 'live\n');
        return;
      case 'extra': {
        const path = (req.url ?? '/').split('?')[0]!;
        try {
          extra[path]!(req, res);
        } catch (err) {
          if (!res.headersSent) text(res, 500, `${err instanceof Error ? err.message : String(err)}\n`);
          else res.destroy();
        }
        return;
      }
      case 'method-not-allowed':
        text(res, 405, 'method not allowed\n', { allow: 'GET, HEAD' });
        return;
      case 'not-found':
        text(res, 404, 'not found\n');
        return;
    }
  });

  // The HTTP server listens on the first address; further ones are plain TCP listeners whose
  // connections it takes as its own (its header and request timeouts apply to them too).
  let made = 0;
  const { bound, servers } = await listenAll(
    [{ host: opts.host, port: opts.port }, ...(opts.alsoListen ?? [])],
    () => (made++ === 0 ? server : net.createServer((socket) => server.emit('connection', socket))),
    opts.log ?? silentLogger,
    'admin server',
  );
  return {
    address: bound[0]!,
    addresses: bound,
    close: () =>
      new Promise<void>((done, fail) => {
        for (const s of servers.slice(1)) s.close();
        server.close((err) => (err ? fail(err) : done()));
        server.closeAllConnections();
      }),
  };
}
