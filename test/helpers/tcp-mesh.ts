/**
 * A small two-proxy mesh for the TCP, bad-input and shutdown suites: a server-side proxy (inbound,
 * mTLS) in front of local apps and a client-side proxy whose named upstream listeners lead to it,
 * both real `weft proxy` processes (run `npm run build` first). Everything it starts is stopped,
 * and its temp dir removed, by `close()` — also when setup fails half-way.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import http from 'node:http';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { identityName } from '../../mesh/config/identity';
import { createDevCa } from '../../mesh/control/identity/ca';
import { formatAddr, type SocketAddr } from '../../mesh/proxy/discovery/discovery';
import { spawnProxy, type ProxyProcess } from '../../dev-cluster/local/proxy-process';

export const CLIENT_ID = identityName({ serviceAccount: 'client', namespace: 'tcptest' });
export const SERVER_ID = identityName({ serviceAccount: 'server', namespace: 'tcptest' });

export interface MeshDestination {
  /** What the client app calls, `host:port`; the client proxy gets an upstream listener for it. */
  authority: string;
  /** The app's port behind the server proxy. */
  appPort: number;
  opaque?: boolean;
}

export interface TcpMesh {
  server: ProxyProcess;
  client: ProxyProcess;
  /** The client proxy's local listener for `authority`. */
  upstream(authority: string): SocketAddr;
  close(): Promise<void>;
}

/** Kills every child on exit, in case a test process dies before its `after` hooks. */
const live = new Set<ProxyProcess>();
process.once('exit', () => {
  for (const p of live) p.child.kill('SIGKILL');
});

export async function track(p: Promise<ProxyProcess>): Promise<ProxyProcess> {
  const proc = await p;
  live.add(proc);
  proc.child.once('exit', () => live.delete(proc));
  return proc;
}

export async function startTcpMesh(opts: {
  destinations: MeshDestination[];
  clientEnv?: Record<string, string>;
  serverEnv?: Record<string, string>;
}): Promise<TcpMesh> {
  const dir = await mkdtemp(join(tmpdir(), 'weft-tcp-mesh-'));
  const procs: ProxyProcess[] = [];
  const close = async (): Promise<void> => {
    await Promise.all(procs.map((p) => p.stop(3_000)));
    await rm(dir, { recursive: true, force: true });
  };
  try {
    const ca = await createDevCa();
    await ca.writeIdentity(join(dir, 'server'), SERVER_ID);
    await ca.writeIdentity(join(dir, 'client'), CLIENT_ID);
    const server = await track(
      spawnProxy({
        name: 'server',
        env: { WEFT_PROXY_INBOUND_ADDR: '127.0.0.1:0', WEFT_PROXY_IDENTITY_DIR: join(dir, 'server'), ...opts.serverEnv },
      }),
    );
    procs.push(server);
    const destFile = join(dir, 'destinations.json');
    await writeFile(
      destFile,
      JSON.stringify({
        destinations: opts.destinations.map((d) => ({
          authority: d.authority,
          opaque: d.opaque ?? false,
          labels: { service: d.authority.split('.')[0] },
          endpoints: [{ addr: formatAddr(server.inbound!), identity: SERVER_ID, targetPort: d.appPort, labels: { pod: 'server-0' } }],
        })),
      }),
    );
    const client = await track(
      spawnProxy({
        name: 'client',
        env: {
          WEFT_PROXY_IDENTITY_DIR: join(dir, 'client'),
          WEFT_PROXY_DESTINATION_FILE: destFile,
          WEFT_PROXY_UPSTREAMS: opts.destinations.map((d) => `${d.authority}=127.0.0.1:0`).join(','),
          ...opts.clientEnv,
        },
      }),
    );
    procs.push(client);
    return {
      server,
      client,
      upstream: (authority) => {
        const a = client.upstreams.get(authority);
        if (!a) throw new Error(`no upstream listener for ${authority}`);
        return a;
      },
      close,
    };
  } catch (e) {
    await close();
    throw e;
  }
}

// ---- small loopback tools ----

export async function listenServer<S extends net.Server>(server: S): Promise<{ server: S; port: number; close(): Promise<void> }> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as net.AddressInfo).port;
  const sockets = new Set<net.Socket>();
  server.on('connection', (s: net.Socket) => {
    sockets.add(s);
    s.once('close', () => sockets.delete(s));
  });
  return {
    server,
    port,
    close: () =>
      new Promise<void>((r) => {
        for (const s of sockets) s.destroy();
        if ('closeAllConnections' in server) (server as unknown as http.Server).closeAllConnections();
        server.close(() => r());
      }),
  };
}

/** A port nothing listens on (bound, then released). */
export async function deadPort(): Promise<number> {
  const l = await listenServer(net.createServer());
  await l.close();
  return l.port;
}

export interface RawReply {
  data: Buffer;
  /** How the connection ended: 'end' (FIN), 'error' (reset…), or 'timeout' (still open). */
  how: 'end' | 'error' | 'timeout';
  error?: string;
  ms: number;
}

/**
 * Connects, writes `send` (each item after `gapMs`), optionally half-closes, and collects the reply
 * until the connection ends or `timeoutMs` passes.
 */
export function rawExchange(
  addr: SocketAddr,
  send: (string | Buffer)[],
  opts: { halfClose?: boolean; timeoutMs?: number; gapMs?: number; until?: (data: Buffer) => boolean } = {},
): Promise<RawReply> {
  return new Promise((resolve) => {
    const started = performance.now();
    const chunks: Buffer[] = [];
    const sock = net.connect({ host: addr.host, port: addr.port, allowHalfOpen: true });
    let done = false;
    const finish = (how: RawReply['how'], error?: string): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      sock.destroy();
      resolve({ data: Buffer.concat(chunks), how, error, ms: performance.now() - started });
    };
    const timer = setTimeout(() => finish('timeout'), opts.timeoutMs ?? 5_000);
    sock.on('data', (c: Buffer) => {
      chunks.push(c);
      if (opts.until?.(Buffer.concat(chunks))) finish('end');
    });
    sock.on('end', () => finish('end'));
    sock.on('error', (e: NodeJS.ErrnoException) => finish('error', e.code ?? e.message));
    sock.on('connect', async () => {
      for (let i = 0; i < send.length; i++) {
        if (i > 0 && opts.gapMs) await new Promise((r) => setTimeout(r, opts.gapMs));
        if (sock.destroyed) return;
        sock.write(send[i]!);
      }
      if (opts.halfClose) sock.end();
    });
  });
}

export interface HttpReply {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/** One HTTP/1.1 request on a fresh connection (no keep-alive pool). */
export function httpGet(addr: SocketAddr, path = '/', headers: Record<string, string> = {}, timeoutMs = 5_000): Promise<HttpReply> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: addr.host, port: addr.port, path, headers, agent: false, timeout: timeoutMs }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`no answer in ${timeoutMs} ms`)));
    req.on('error', reject);
    req.end();
  });
}

/** The admin server's /metrics text. */
export async function scrape(p: ProxyProcess): Promise<string> {
  const r = await httpGet(p.admin, '/metrics');
  return r.body;
}

/**
 * Sum of the samples of `name` whose labels include every pair of `match` (Prometheus text format).
 */
export function metricSum(text: string, name: string, match: Record<string, string> = {}): number {
  let sum = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    const m = /^[^{\s]+(?:\{(.*)\})?\s+(\S+)/.exec(line);
    if (!m) continue;
    const labels: Record<string, string> = {};
    for (const l of (m[1] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]!] = l[2]!;
    if (Object.entries(match).every(([k, v]) => labels[k] === v)) sum += Number(m[2]);
  }
  return sum;
}

/** Polls `check` until it returns true (or throws its last failure after `timeoutMs`). */
export async function eventually(check: () => Promise<boolean> | boolean, timeoutMs = 5_000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Log lines a proxy wrote after index `from` whose message contains `text`. */
export function logsMatching(p: ProxyProcess, text: string, from = 0): Record<string, unknown>[] {
  return p.logs.slice(from).filter((l) => String(l['msg']).includes(text));
}
