/**
 * The ground of the policy suites (policy-*.test.ts): one app port that speaks HTTP/1.1, gRPC
 * (@grpc/grpc-js) and an opaque echo protocol (a tiny first-bytes multiplexer in front of three
 * real servers), one server proxy in front of it whose inbound policy comes from a policy service,
 * and meshed client proxies (each its own identity) with upstream listeners for the three
 * protocols. Unmeshed clients talk plaintext straight to the server proxy's inbound listener.
 * Every process, server and temp dir is removed by `close()`, also when setup fails half-way.
 *
 *   test ─► client proxy (identity X) ─mTLS─► server proxy ─► mux app (http | grpc | echo)
 *   test ────────── plaintext ───────────────►      ▲ policy from POLICY_ADDR (h2c stream)
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import http from 'node:http';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { createDevCa, type DevCa } from '../../mesh/control/identity/ca';
import { formatAddr, type SocketAddr } from '../../mesh/proxy/discovery/discovery';
import { spawnProxy, type ProxyProcess } from '../../dev-cluster/local/proxy-process';

export const HTTP_AUTHORITY = 'web-http.demo:8080';
export const GRPC_AUTHORITY = 'web-grpc.demo:9090';
export const TCP_AUTHORITY = 'web-tcp.demo:7000';
const PING = Buffer.from('\x00\x01ping\n', 'latin1');

const PROTO = fileURLToPath(new URL('../fixtures/grpc/echo.proto', import.meta.url));
const def = protoLoader.loadSync(PROTO, { keepCase: false, longs: Number, defaults: true });
const pkg = grpc.loadPackageDefinition(def) as unknown as { weft: { test: { Echo: grpc.ServiceClientConstructor } } };
const Echo = pkg.weft.test.Echo;
type UnaryCb = (err: grpc.ServiceError | null, reply?: { message: string; clientId: string }) => void;
interface EchoClient extends grpc.Client {
  unary(req: { message: string }, md: grpc.Metadata, opts: grpc.CallOptions, cb: UnaryCb): grpc.ClientUnaryCall;
}

/** Kills every child on exit, in case a test process dies before its `after` hooks. */
const live = new Set<ProxyProcess>();
process.once('exit', () => {
  for (const p of live) p.child.kill('SIGKILL');
});

async function listen(server: net.Server): Promise<number> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  return (server.address() as net.AddressInfo).port;
}

/** The app: one port, three protocols, chosen by the first bytes. */
export interface MuxApp {
  port: number;
  /** weft-client-id header values the HTTP app saw, newest last. */
  seenClientIds: string[];
  close(): Promise<void>;
}

export async function startMuxApp(): Promise<MuxApp> {
  const seenClientIds: string[] = [];
  const web = http.createServer((req, res) => {
    seenClientIds.push(String(req.headers['weft-client-id'] ?? ''));
    res.end(`ok ${req.url}`);
  });
  const webPort = await listen(web);
  const rpc = new grpc.Server();
  rpc.addService(Echo.service, {
    unary(call: grpc.ServerUnaryCall<{ message: string }, unknown>, cb: grpc.sendUnaryData<unknown>) {
      const id = call.metadata.get('weft-client-id')[0];
      cb(null, { message: `echo: ${call.request.message}`, index: 0, clientId: typeof id === 'string' ? id : '' });
    },
  });
  const rpcPort = await new Promise<number>((resolve, reject) => rpc.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p))));
  const sockets = new Set<net.Socket>();
  const mux = net.createServer((s) => {
    sockets.add(s);
    s.once('close', () => sockets.delete(s));
    s.on('error', () => undefined);
    s.once('data', (first: Buffer) => {
      const text = first.toString('latin1', 0, 16);
      const backend = text.startsWith('PRI * HTTP/2') ? rpcPort : /^[A-Z]+ /.test(text) ? webPort : undefined;
      if (backend === undefined) {
        // The opaque protocol: echo.
        s.write(first);
        s.pipe(s);
        return;
      }
      const up = net.connect(backend, '127.0.0.1');
      sockets.add(up);
      up.once('close', () => sockets.delete(up));
      up.on('error', () => s.destroy());
      s.on('error', () => up.destroy());
      up.write(first);
      s.pipe(up).pipe(s);
    });
  });
  const port = await listen(mux);
  return {
    port,
    seenClientIds,
    close: async () => {
      for (const s of sockets) s.destroy();
      web.closeAllConnections();
      rpc.forceShutdown();
      await Promise.all([new Promise((r) => mux.close(r)), new Promise((r) => web.close(r))]);
    },
  };
}

export interface PolicyMesh {
  ca: DevCa;
  dir: string;
  app: MuxApp;
  server: ProxyProcess;
  serverIdentity: string;
  /** Meshed client proxies by identity. */
  clients: Map<string, ProxyProcess>;
  close(): Promise<void>;
}

export interface PolicyMeshOptions {
  serverIdentity: string;
  clientIdentities: string[];
  /** WEFT_PROXY_POLICY_* and friends for the server proxy. */
  serverEnv: Record<string, string>;
}

export async function startPolicyMesh(o: PolicyMeshOptions & { app: MuxApp }): Promise<PolicyMesh> {
  const dir = await mkdtemp(join(tmpdir(), 'weft-policy-'));
  const procs: ProxyProcess[] = [];
  const track = async (p: Promise<ProxyProcess>): Promise<ProxyProcess> => {
    const proc = await p;
    procs.push(proc);
    live.add(proc);
    proc.child.once('exit', () => live.delete(proc));
    return proc;
  };
  const close = async (): Promise<void> => {
    await Promise.all(procs.map((p) => p.stop(3_000).catch(() => undefined)));
    await rm(dir, { recursive: true, force: true });
  };
  try {
    const ca = await createDevCa();
    await ca.writeIdentity(join(dir, 'server'), o.serverIdentity);
    const server = await track(
      spawnProxy({
        name: 'policy-server-proxy',
        env: { WEFT_PROXY_INBOUND_ADDR: '127.0.0.1:0', WEFT_PROXY_APP_PORT: String(o.app.port), WEFT_PROXY_IDENTITY_DIR: join(dir, 'server'), ...o.serverEnv },
        startTimeoutMs: 30_000,
      }),
    );
    const endpoint = (extra: Record<string, unknown> = {}): Record<string, unknown> => ({ addr: formatAddr(server.inbound!), identity: o.serverIdentity, targetPort: o.app.port, labels: { pod: 'web-0' }, ...extra });
    const destFile = join(dir, 'destinations.json');
    await writeFile(
      destFile,
      JSON.stringify({
        destinations: [
          { authority: HTTP_AUTHORITY, labels: { service: 'web-http' }, endpoints: [endpoint()] },
          { authority: GRPC_AUTHORITY, labels: { service: 'web-grpc' }, endpoints: [endpoint({ protocolHint: 'h2' })] },
          { authority: TCP_AUTHORITY, opaque: true, labels: { service: 'web-tcp' }, endpoints: [endpoint({ protocolHint: 'opaque' })] },
        ],
      }),
    );
    const clients = new Map<string, ProxyProcess>();
    await Promise.all(
      o.clientIdentities.map(async (id, i) => {
        await ca.writeIdentity(join(dir, `client-${i}`), id);
        const p = await track(
          spawnProxy({
            name: `policy-client-${i}`,
            env: {
              WEFT_PROXY_IDENTITY_DIR: join(dir, `client-${i}`),
              WEFT_PROXY_DESTINATION_FILE: destFile,
              WEFT_PROXY_UPSTREAMS: [HTTP_AUTHORITY, GRPC_AUTHORITY, TCP_AUTHORITY].map((a) => `${a}=127.0.0.1:0`).join(','),
            },
            startTimeoutMs: 30_000,
          }),
        );
        clients.set(id, p);
      }),
    );
    return { ca, dir, app: o.app, server, serverIdentity: o.serverIdentity, clients, close };
  } catch (e) {
    await close();
    throw e;
  }
}

/** Who calls: a meshed client proxy (its upstream listeners), or plaintext straight to the server proxy. */
export type Caller = { kind: 'meshed'; proxy: ProxyProcess } | { kind: 'plain'; inbound: SocketAddr };

function target(c: Caller, authority: string): SocketAddr {
  if (c.kind === 'plain') return c.inbound;
  const a = c.proxy.upstreams.get(authority);
  if (!a) throw new Error(`no upstream listener for ${authority}`);
  return a;
}

/** One HTTP/1.1 request on a fresh connection. */
export function httpGet(c: Caller, path: string): Promise<{ status: number; body: string; headers: http.IncomingHttpHeaders }> {
  const t = target(c, HTTP_AUTHORITY);
  return new Promise((resolve, reject) => {
    const req = http.get({ host: t.host, port: t.port, path, agent: false, headers: { host: HTTP_AUTHORITY }, timeout: 15_000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body, headers: res.headers }));
    });
    req.on('timeout', () => req.destroy(new Error(`GET ${path}: no answer in 15 s`)));
    req.on('error', reject);
  });
}

/** One gRPC unary call with a new grpc-js channel; resolves with the status code (0 = OK) and details. */
export function grpcCall(c: Caller): Promise<{ code: number; details: string }> {
  const t = target(c, GRPC_AUTHORITY);
  const client = new Echo(formatAddr(t), grpc.credentials.createInsecure()) as unknown as EchoClient;
  return new Promise((resolve) => {
    client.unary({ message: 'hi' }, new grpc.Metadata(), { deadline: Date.now() + 15_000 }, (err) => {
      client.close();
      resolve(err ? { code: err.code, details: err.details } : { code: 0, details: '' });
    });
  });
}

/** Opens a connection, sends the echo protocol's ping: 'echo' when it comes back, 'closed' when the connection ends first. */
export function tcpPing(c: Caller): Promise<'echo' | 'closed'> {
  const t = target(c, TCP_AUTHORITY);
  return new Promise((resolve, reject) => {
    const s = net.connect(t.port, t.host);
    let got = Buffer.alloc(0);
    const timer = setTimeout(() => {
      s.destroy();
      reject(new Error('tcp ping: neither an echo nor a close in 15 s'));
    }, 15_000);
    const done = (r: 'echo' | 'closed'): void => {
      clearTimeout(timer);
      s.destroy();
      resolve(r);
    };
    s.on('connect', () => s.write(PING));
    s.on('data', (d: Buffer) => {
      got = Buffer.concat([got, d]);
      if (got.length >= PING.length) done(got.subarray(0, PING.length).equals(PING) ? 'echo' : 'closed');
    });
    s.on('error', () => done('closed'));
    s.on('close', () => done('closed'));
  });
}

/** The value of one series of a Prometheus text exposition (labels matched as a subset), 0 when absent. */
export function metricValue(text: string, name: string, labels: Record<string, string>): number {
  let sum = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`)) continue;
    const close = line.lastIndexOf('}');
    const body = line.slice(name.length + 1, close);
    const have = new Map<string, string>();
    for (const m of body.matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) have.set(m[1]!, m[2]!);
    if (Object.entries(labels).every(([k, v]) => have.get(k) === v)) sum += Number(line.slice(close + 1).trim());
  }
  return sum;
}

export async function scrape(p: ProxyProcess): Promise<string> {
  const r = await fetch(`http://${formatAddr(p.admin)}/metrics`);
  return r.text();
}

/** Polls until `pred` holds (generous: the machine is shared). */
export async function waitFor(what: string, pred: () => boolean | Promise<boolean>, ms = 20_000): Promise<void> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await pred()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`timed out waiting for ${what}`);
}

/** The "policy: table applied" log lines so far. */
export function tablesApplied(p: ProxyProcess): Record<string, unknown>[] {
  return p.logs.filter((l) => l['msg'] === 'policy: table applied');
}

/** Runs `change`, then waits until the proxy has applied a new table (and it passes `check`, if given). */
export async function applyAndWait(p: ProxyProcess, change: () => void | Promise<void>, check: (log: Record<string, unknown>) => boolean = () => true): Promise<void> {
  const before = tablesApplied(p).length;
  await change();
  await waitFor('the proxy to apply the new policy table', () => {
    const t = tablesApplied(p);
    return t.length > before && check(t[t.length - 1]!);
  });
}
