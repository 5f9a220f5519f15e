/**
 * Helpers for the `weft local` integration tests (test/integration/local-*.test.ts): the real CLI
 * (bin/weft.js, built), a test directory whose every process is ended whatever happens, free
 * ports, the run's state.json, proxy metrics. Needs `npm run build` first.
 */
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { LocalState } from '../../dev-cluster/local/local-state';

/**
 * The CLI under test: bin/weft.js (dist/), or $WEFT_TEST_CLI, e.g. a copy of dist/ inside the
 * repository (`cp -r dist .cli-snapshot/dist`, then WEFT_TEST_CLI=$PWD/.cli-snapshot/dist/weft.js)
 * so that a rebuild of dist/ during a long run does not pull files from under it.
 */
export const BIN = process.env['WEFT_TEST_CLI'] || fileURLToPath(new URL('../../bin/weft.js', import.meta.url));

export interface Result {
  code: number | null;
  stdout: string;
  stderr: string;
}

export function weft(args: string[], env: Record<string, string>, timeoutMs = 90_000): Promise<Result> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (c: string) => (stdout += c));
    child.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
    const t = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`weft ${args.join(' ')} timed out; stdout: ${stdout}; stderr: ${stderr}`));
    }, timeoutMs);
    child.once('exit', (code) => {
      clearTimeout(t);
      resolve({ code, stdout, stderr });
    });
  });
}

/** Running: signal 0 answers and /proc does not show a zombie (an exited, unreaped process). */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

export async function waitGone(pid: number, ms = 5_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (alive(pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
}

/** Polls `cond` every 50 ms until it holds or `ms` pass; returns its last value. */
export async function until<T>(cond: () => T | Promise<T>, ms = 10_000, everyMs = 50): Promise<T> {
  const deadline = Date.now() + ms;
  let v = await cond();
  while (!v && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, everyMs));
    v = await cond();
  }
  return v;
}

/** PIDs of processes whose command line or environment mentions `marker` (the test's temp dir). */
export function processesMentioning(marker: string): number[] {
  const out: number[] = [];
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d) || Number(d) === process.pid) continue;
    try {
      const text = readFileSync(`/proc/${d}/cmdline`, 'utf8') + readFileSync(`/proc/${d}/environ`, 'utf8');
      if (text.includes(marker)) out.push(Number(d));
    } catch {
      // gone, or not ours to read
    }
  }
  return out;
}

export async function waitNoneLeft(marker: string, ms = 5_000): Promise<number[]> {
  const deadline = Date.now() + ms;
  let left = processesMentioning(marker);
  while (left.length > 0 && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 100));
    left = processesMentioning(marker);
  }
  return left;
}

/** A free loopback port `p` with `p + 1 … p + extra` free too. */
export async function freePorts(extra = 0): Promise<number> {
  for (;;) {
    const port = await new Promise<number>((resolve, reject) => {
      const s = net.createServer().once('error', reject);
      s.listen(0, '127.0.0.1', () => {
        const p = (s.address() as net.AddressInfo).port;
        s.close(() => resolve(p));
      });
    });
    if (port + extra > 65535) continue;
    const ok = await Promise.all(
      Array.from(
        { length: extra },
        (_, i) =>
          new Promise<boolean>((resolve) => {
            const s = net.createServer().once('error', () => resolve(false));
            s.listen(port + i + 1, '127.0.0.1', () => s.close(() => resolve(true)));
          }),
      ),
    );
    if (ok.every(Boolean)) return port;
  }
}

/** A test directory and, whatever happens, the end of every process that mentions it. */
export async function withDir(fn: (dir: string, env: Record<string, string>) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'weft-local-it-'));
  const env = { WEFT_STATE_DIR: join(dir, 'state') };
  try {
    await fn(dir, env);
  } finally {
    // `down` knows every recorded pid and process group (apps do not mention the directory); then
    // anything else that still mentions it (a supervisor that never recorded its state).
    await weft(['local', 'down'], env).catch(() => undefined);
    for (const pid of processesMentioning(dir)) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    await rm(dir, { recursive: true, force: true });
  }
}

export async function readRunState(env: Record<string, string>): Promise<LocalState> {
  return JSON.parse(await readFile(join(env['WEFT_STATE_DIR']!, 'state.json'), 'utf8')) as LocalState;
}

/** The value of an unlabelled (or first-labelled) sample in a proxy's /metrics. */
export async function proxyMetric(admin: string, name: string): Promise<number | undefined> {
  const text = await (await fetch(`http://${admin}/metrics`)).text();
  const m = new RegExp(`^${name}(?:\\{[^}]*\\})? ([0-9.e+-]+)$`, 'm').exec(text);
  return m ? Number(m[1]) : undefined;
}

/** An HTTP server app for a topology: answers `<label> <PORT> from <weft-client-id>`. */
export const echoServer = (label: string): string =>
  `require('http').createServer((q,s)=>s.end('${label} '+process.env.PORT+' from '+(q.headers['weft-client-id']||'none'))).listen(+process.env.PORT,'127.0.0.1',()=>console.log('listening on '+process.env.PORT))`;

/**
 * An HTTP server app that counts what it serves: GET /count (asked directly, not through the mesh)
 * answers the count; every other request is counted and answered `<label>`, or 500 for every
 * `failEvery`-th one (1-based: with 4, requests 4, 8, 12, … fail).
 */
export const countingServer = (label: string, failEvery = 0): string =>
  `let n=0;require('http').createServer((q,s)=>{if(q.url==='/count')return s.end(String(n));n++;if(${failEvery}>0&&n%${failEvery}===0){s.statusCode=500;return s.end('${label} failed')}s.end('${label}')}).listen(+process.env.PORT,'127.0.0.1')`;

/** An app that does nothing (a client whose requests the test itself sends through its proxy). */
export const IDLE_APP = 'setInterval(()=>{},1<<30)';
