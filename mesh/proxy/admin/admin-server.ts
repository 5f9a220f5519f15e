/**
 * The proxy's admin server (port 4191 by default): GET /metrics (Prometheus text), /ready, /live.
 * A thin node:http shell; routing is the pure `adminRoute` below.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { ProxyMetrics } from '../metrics/proxy-metrics';

export type AdminHandler = (req: http.IncomingMessage, res: http.ServerResponse) => void;

export interface AdminServerOptions {
  host: string;
  /** 0 picks a free port. */
  port: number;
  metrics: ProxyMetrics;
  ready: () => boolean;
  /** More paths (exact match). The built-in paths win over these. */
  extraRoutes?: Record<string, AdminHandler>;
}

export interface AdminServer {
  address: { host: string; port: number };
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

export function startAdminServer(opts: AdminServerOptions): Promise<AdminServer> {
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

  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host, () => {
      server.off('error', reject);
      const a = server.address() as AddressInfo;
      resolve({
        address: { host: a.address, port: a.port },
        close: () =>
          new Promise<void>((done, fail) => {
            server.close((err) => (err ? fail(err) : done()));
            server.closeAllConnections();
          }),
      });
    });
  });
}
