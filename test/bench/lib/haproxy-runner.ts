/**
 * HAProxy (Debian's 2.6, /usr/sbin/haproxy) as the native reference: our own foreground instance (-db)
 * with a temporary config, one process and one thread (nbthread 1), HTTP mode with keep-alive on both
 * sides and server connection reuse. Never the system service.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import * as net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const HAPROXY_BIN = '/usr/sbin/haproxy';

export interface HaproxyProcess {
  pid: number;
  port: number;
  child: ChildProcess;
  stop(): Promise<void>;
}

/** The configuration of a one-hop HTTP reverse proxy to the backend (pure). */
export function haproxyConfig(listenPort: number, backendPort: number): string {
  return [
    'global',
    '  nbthread 1',
    '  maxconn 4096',
    'defaults',
    '  mode http',
    '  timeout connect 5s',
    '  timeout client 600s',
    '  timeout server 600s',
    '  timeout http-keep-alive 600s',
    '  option http-keep-alive',
    '  http-reuse always',
    'frontend bench',
    `  bind 127.0.0.1:${listenPort}`,
    '  default_backend app',
    'backend app',
    `  server app1 127.0.0.1:${backendPort}`,
    '',
  ].join('\n');
}

/** A free loopback port (HAProxy cannot report a port 0 it bound): bind 0, read, close. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

function waitForPort(port: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  return new Promise((resolve, reject) => {
    const attempt = (): void => {
      const s = net.connect({ host: '127.0.0.1', port });
      s.once('connect', () => {
        s.destroy();
        resolve();
      });
      s.once('error', () => {
        s.destroy();
        if (Date.now() > deadline) reject(new Error(`haproxy did not listen on ${port} within ${timeoutMs} ms`));
        else setTimeout(attempt, 50);
      });
    };
    attempt();
  });
}

export async function startHaproxy(backendPort: number, opts: { core?: number } = {}): Promise<HaproxyProcess> {
  if (!existsSync(HAPROXY_BIN)) throw new Error(`${HAPROXY_BIN} is missing: apt-get install haproxy`);
  const dir = await mkdtemp(join(tmpdir(), 'weft-bench-haproxy-'));
  const port = await freePort();
  const cfgFile = join(dir, 'haproxy.cfg');
  await writeFile(cfgFile, haproxyConfig(port, backendPort));
  const argv = [HAPROXY_BIN, '-db', '-f', cfgFile];
  // taskset execs haproxy, so the pid is haproxy's.
  const child =
    opts.core !== undefined
      ? spawn('taskset', ['-c', String(opts.core), ...argv], { stdio: ['ignore', 'ignore', 'pipe'] })
      : spawn(argv[0]!, argv.slice(1), { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4000)));
  let exited = false;
  const exitPromise = new Promise<void>((r) => child.once('exit', () => ((exited = true), r())));
  const cleanup = (): Promise<void> => rm(dir, { recursive: true, force: true });
  try {
    await Promise.race([
      waitForPort(port, 5_000),
      exitPromise.then(() => {
        throw new Error(`haproxy exited at start: ${stderr.trim()}`);
      }),
    ]);
  } catch (err) {
    child.kill('SIGKILL');
    await cleanup();
    throw err;
  }
  return {
    pid: child.pid!,
    port,
    child,
    async stop() {
      if (!exited) {
        child.kill('SIGTERM');
        const t = setTimeout(() => child.kill('SIGKILL'), 3_000);
        await exitPromise;
        clearTimeout(t);
      }
      await cleanup();
    },
  };
}
