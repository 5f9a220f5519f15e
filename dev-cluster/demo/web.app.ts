/**
 * The demo's `web` front end (HTTP/1.1): every page view calls `api` through the local proxy's
 * upstream listener and renders the emoji it got. When `api` fails, the page fails with 502.
 */
import http from 'node:http';

export interface WebOptions {
  /** Base URL of the api service as this app reaches it (the proxy's upstream listener). */
  apiUrl: string;
  /** Host header sent to the api (its service authority), so metrics name the service. */
  apiAuthority?: string;
}

interface ApiAnswer {
  status: number;
  body: string;
}

function callApi(o: WebOptions, agent: http.Agent): Promise<ApiAnswer> {
  return new Promise((resolve, reject) => {
    const url = new URL('/emoji', o.apiUrl);
    const req = http.get(url, { agent, headers: o.apiAuthority ? { host: o.apiAuthority } : {} }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      res.on('error', reject);
    });
    req.setTimeout(5_000, () => req.destroy(new Error('api timed out')));
    req.on('error', reject);
  });
}

function page(emoji: string, caller: unknown): string {
  return `<!doctype html><meta charset="utf-8"><title>Weft demo</title>
<h1 style="font-size:6em;margin:0">${emoji}</h1>
<p>Served by <b>web</b>, emoji from <b>api</b> over mTLS through two Weft proxies.</p>
<p>api saw the caller as <code>${String(caller ?? 'unknown')}</code>.</p>\n`;
}

export function createWebServer(o: WebOptions): http.Server {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 32 });
  const server = http.createServer((req, res) => {
    req.resume();
    if (req.url === '/healthz') {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end('ok\n');
      return;
    }
    callApi(o, agent).then(
      (a) => {
        if (a.status !== 200) {
          res.writeHead(502, { 'content-type': 'text/plain' });
          res.end(`api answered ${a.status}\n`);
          return;
        }
        let parsed: { emoji?: string; caller?: unknown } = {};
        try {
          parsed = JSON.parse(a.body) as typeof parsed;
        } catch {
          // Rendered as "?" below.
        }
        const html = page(parsed.emoji ?? '?', parsed.caller);
        res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'content-length': Buffer.byteLength(html) });
        res.end(html);
      },
      (e: Error) => {
        res.writeHead(502, { 'content-type': 'text/plain' });
        res.end(`api unreachable: ${e.message}\n`);
      },
    );
  });
  server.on('close', () => agent.destroy());
  return server;
}
