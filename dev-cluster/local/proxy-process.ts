/**
 * Runs `weft proxy` as a child process and learns its bound addresses from its JSON "proxy ready"
 * log line. Used by the local mode, the demo, the integration tests and the benchmarks.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { PROXY_RUNTIME_ENV } from '../../mesh/config/proxy-runtime';
import { parseAddr, type SocketAddr } from '../../mesh/proxy/discovery/discovery';

// From source this module is dev-cluster/local/; bundled into dist/weft.js it is dist/ itself.
export const WEFT_ENTRY = fileURLToPath(new URL(/\/dist\/[^/]+$/.test(import.meta.url) ? './weft.js' : '../../dist/weft.js', import.meta.url));

/**
 * Preloaded into each proxy and control-plane process (node --import): when the runner dies without
 * stopping it (SIGKILL), the process is re-parented; it notices within half a second and shuts down
 * gracefully by itself.
 */
export const EXIT_WITH_PARENT_PRELOAD =
  'data:text/javascript,const p=process.ppid;setInterval(()=>{if(process.ppid!==p)process.kill(process.pid,"SIGTERM")},500).unref();';

export interface ProxyProcess {
  name: string;
  pid: number;
  child: ChildProcess;
  inbound: SocketAddr | undefined;
  outbound: SocketAddr | undefined;
  admin: SocketAddr;
  /** Every address of each listener (the ones above first; more for dual stack). */
  listening: { inbound: SocketAddr[]; outbound: SocketAddr[]; admin: SocketAddr[] };
  httpProxy: SocketAddr | undefined;
  /** Upstream listeners by service authority. */
  upstreams: Map<string, SocketAddr>;
  identity: string | undefined;
  /** Every log line the proxy wrote (JSON objects), newest last; bounded. */
  logs: Record<string, unknown>[];
  /** SIGTERM, then SIGKILL after `graceMs`; resolves when the process has exited. */
  stop(graceMs?: number): Promise<void>;
}

export interface SpawnProxyOptions {
  name: string;
  /** WEFT_PROXY_* variables; listeners default to off except what is given. PROXY_RUNTIME_ENV comes first. */
  env: Record<string, string>;
  startTimeoutMs?: number;
  /** Extra sink for each raw log line (e.g. the demo's log file). */
  onLog?: (line: string) => void;
  nodeArgs?: string[];
  /**
   * Preload EXIT_WITH_PARENT_PRELOAD (default true): the proxy stops by itself when the process that
   * spawned it dies without stopping it (a killed test runner, demo or benchmark leaves nothing behind).
   */
  exitWithParent?: boolean;
  /** A command that runs node for the proxy (e.g. `ip netns exec NS setpriv --reuid=2102 …`); default: none. */
  launcher?: string[];
}

const MAX_LOGS = 2000;

export function spawnProxy(opts: SpawnProxyOptions): Promise<ProxyProcess> {
  if (!existsSync(WEFT_ENTRY)) return Promise.reject(new Error(`${WEFT_ENTRY} is missing: run \`npm run build\` first`));
  const env = {
    PATH: process.env['PATH'] ?? '/usr/bin:/bin',
    // The runtime settings every launch path of the proxy uses (a caller's env may override them).
    ...PROXY_RUNTIME_ENV,
    WEFT_PROXY_INBOUND_ADDR: 'off',
    WEFT_PROXY_OUTBOUND_ADDR: 'off',
    WEFT_PROXY_ADMIN_ADDR: '127.0.0.1:0',
    ...opts.env,
    WEFT_PROXY_LOG_FORMAT: 'json',
  };
  const [cmd, ...pre] = [...(opts.launcher ?? []), process.execPath];
  const preload = opts.exitWithParent === false ? [] : ['--import', EXIT_WITH_PARENT_PRELOAD];
  const child = spawn(cmd!, [...pre, ...preload, ...(opts.nodeArgs ?? []), WEFT_ENTRY, 'proxy'], { env, stdio: ['ignore', 'inherit', 'pipe'] });
  const logs: Record<string, unknown>[] = [];
  let exited = false;
  const exitPromise = new Promise<void>((r) => child.once('exit', () => ((exited = true), r())));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`proxy ${opts.name} did not become ready in time; last log: ${JSON.stringify(logs.slice(-3))}`));
    }, opts.startTimeoutMs ?? 15_000);
    let buf = '';
    child.stderr!.setEncoding('utf8');
    child.stderr!.on('data', (chunk: string) => {
      buf += chunk;
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        opts.onLog?.(line);
        let rec: Record<string, unknown>;
        try {
          rec = JSON.parse(line) as Record<string, unknown>;
        } catch {
          rec = { level: 'info', msg: line };
        }
        logs.push(rec);
        if (logs.length > MAX_LOGS) logs.shift();
        if (rec['msg'] === 'proxy ready') {
          clearTimeout(timer);
          // A listener's addresses are a comma list (dual stack); the first is the primary one.
          const addrs = (k: string): SocketAddr[] =>
            typeof rec[k] === 'string' && rec[k] !== 'off' ? (rec[k] as string).split(',').flatMap((s) => parseAddr(s) ?? []) : [];
          const addr = (k: string): SocketAddr | undefined => addrs(k)[0];
          const upstreams = new Map<string, SocketAddr>();
          if (typeof rec['upstreams'] === 'string') {
            for (const item of (rec['upstreams'] as string).split(',')) {
              const eq = item.lastIndexOf('=');
              const a = parseAddr(item.slice(eq + 1));
              if (a) upstreams.set(item.slice(0, eq), a);
            }
          }
          resolve({
            name: opts.name,
            pid: child.pid!,
            child,
            inbound: addr('inbound'),
            outbound: addr('outbound'),
            admin: addr('admin')!,
            listening: { inbound: addrs('inbound'), outbound: addrs('outbound'), admin: addrs('admin') },
            httpProxy: addr('httpProxy'),
            upstreams,
            identity: rec['identity'] === 'none' ? undefined : (rec['identity'] as string),
            logs,
            stop: async (graceMs = 5_000) => {
              if (exited) return;
              child.kill('SIGTERM');
              const t = setTimeout(() => child.kill('SIGKILL'), graceMs);
              await exitPromise;
              clearTimeout(t);
            },
          });
        }
      }
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`proxy ${opts.name} exited before it was ready (${signal ?? `code ${code}`}): ${logs.map((l) => l['msg']).join(' | ')}`));
    });
  });
}
