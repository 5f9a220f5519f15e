/**
 * `weft demo` end to end: the real CLI (bin/weft.js, built), three proxies with mTLS, three apps,
 * the live table; then nothing left running, by PID. Needs `npm run build` first.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import net from 'node:net';
import { fileURLToPath } from 'node:url';

const BIN = fileURLToPath(new URL('../../bin/weft.js', import.meta.url));
const BUILT = fileURLToPath(new URL('../../dist/weft.js', import.meta.url));

interface Run {
  child: ChildProcess;
  stdout: () => string;
  stderr: () => string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

function runDemo(args: string[], opts: { detached?: boolean } = {}): Run {
  const child = spawn(process.execPath, [BIN, 'demo', ...args], { stdio: ['ignore', 'pipe', 'pipe'], detached: opts.detached ?? false });
  let out = '';
  let err = '';
  child.stdout!.setEncoding('utf8').on('data', (c: string) => (out += c));
  child.stderr!.setEncoding('utf8').on('data', (c: string) => (err += c));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((r) => child.once('exit', (code, signal) => r({ code, signal })));
  return { child, stdout: () => out, stderr: () => err, exited };
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Every PID the demo printed (`app pid N, proxy pid M`). */
function printedPids(out: string): number[] {
  return [...out.matchAll(/app pid (\d+), proxy pid (\d+)/g)].flatMap((m) => [Number(m[1]), Number(m[2])]);
}

interface TableRow {
  workload: string;
  direction: string;
  authority: string;
  success: number | undefined;
  rps: number;
  mtls: string;
}

function tables(out: string): TableRow[][] {
  return out
    .split(/^golden metrics over/m)
    .slice(1)
    .map((block) =>
      block
        .split('\n')
        .filter((l) => /^(api|web|traffic)\s+(inbound|outbound)\s/.test(l))
        .map((l) => {
          const c = l.trim().split(/\s+/);
          return { workload: c[0]!, direction: c[1]!, authority: c[2]!, success: c[3] === '-' ? undefined : parseFloat(c[3]!), rps: Number(c[4]), mtls: c[8]! };
        }),
    );
}

async function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let t: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([p, new Promise<T>((_, reject) => (t = setTimeout(() => reject(new Error(`${what} timed out`)), ms)))]);
  } finally {
    clearTimeout(t);
  }
}

/** Kills whatever a failed run left behind, so a failing test does not leak processes. */
function cleanup(run: Run): void {
  for (const pid of printedPids(run.stdout())) if (alive(pid)) process.kill(pid, 'SIGKILL');
  if (run.child.exitCode === null) run.child.kill('SIGKILL');
}

test('weft demo --duration 8s: live table with traffic to both services, failures on api, nothing left running', { skip: !existsSync(BUILT) && 'run `npm run build` first', timeout: 90_000 }, async () => {
  const run = runDemo(['--duration', '8s', '--no-tty', '--failure-rate', '0.3']);
  try {
    const { code } = await withTimeout(run.exited, 80_000, 'weft demo');
    const out = run.stdout();
    assert.equal(code, 0, `exit code; stderr: ${run.stderr()}\n${out}`);
    assert.match(out, /^web: {5}http:\/\/127\.0\.0\.1:\d+\/ /m, 'the web URL is printed');
    const ts = tables(out);
    assert.ok(ts.length >= 2, `at least two refreshes in 8 s:\n${out}`);
    const rows = ts.flat();
    const find = (w: string, d: string): TableRow[] => rows.filter((r) => r.workload === w && r.direction === d);
    assert.ok(find('api', 'inbound').some((r) => r.rps > 0), `api has traffic:\n${out}`);
    assert.ok(find('web', 'inbound').some((r) => r.rps > 0), `web has traffic:\n${out}`);
    assert.ok(find('api', 'inbound').some((r) => r.success !== undefined && r.success < 100), `api success below 100 %:\n${out}`);
    assert.ok(find('traffic', 'outbound').every((r) => r.authority === 'web.demo:80'));
    assert.ok(rows.filter((r) => r.rps > 0).every((r) => r.mtls === 'yes'), 'all meshed traffic is mTLS');
    assert.match(out, /stopped; nothing left running\n$/);
    const pids = printedPids(out);
    assert.equal(pids.length, 6, 'three apps and three proxies');
    assert.deepEqual(pids.filter(alive), [], 'no child process remains');
    const logs = /^logs: +(\S+)/m.exec(out)?.[1];
    assert.ok(logs && !existsSync(logs), 'the temp dir (CA, keys, logs) is removed');
  } finally {
    cleanup(run);
  }
});

test('Ctrl-C (SIGINT to the whole process group) stops everything', { skip: !existsSync(BUILT) && 'run `npm run build` first', timeout: 90_000 }, async () => {
  const run = runDemo(['--no-tty', '--interval', '1s'], { detached: true });
  try {
    await withTimeout(
      new Promise<void>((resolve) => {
        const check = setInterval(() => {
          if (run.stdout().includes('golden metrics over') || run.child.exitCode !== null) {
            clearInterval(check);
            resolve();
          }
        }, 100);
      }),
      60_000,
      'first table',
    );
    const pids = printedPids(run.stdout());
    assert.equal(pids.length, 6, run.stdout() + run.stderr());
    process.kill(-run.child.pid!, 'SIGINT');
    const { code } = await withTimeout(run.exited, 30_000, 'stop after SIGINT');
    assert.equal(code, 0, run.stderr());
    assert.match(run.stdout(), /stopped; nothing left running\n$/);
    assert.deepEqual(pids.filter(alive), []);
  } finally {
    cleanup(run);
  }
});

test('the runner killed with SIGKILL: apps and proxies notice and exit by themselves', { skip: !existsSync(BUILT) && 'run `npm run build` first', timeout: 90_000 }, async () => {
  const run = runDemo(['--no-tty', '--interval', '1s']);
  try {
    await withTimeout(
      new Promise<void>((resolve) => {
        const check = setInterval(() => {
          if (run.stdout().includes('golden metrics over') || run.child.exitCode !== null) {
            clearInterval(check);
            resolve();
          }
        }, 100);
      }),
      60_000,
      'first table',
    );
    const pids = printedPids(run.stdout());
    assert.equal(pids.length, 6, run.stdout() + run.stderr());
    run.child.kill('SIGKILL');
    await run.exited;
    const end = Date.now() + 10_000;
    while (pids.some(alive) && Date.now() < end) await new Promise((r) => setTimeout(r, 100));
    assert.deepEqual(pids.filter(alive), [], 'orphans exit within seconds');
  } finally {
    cleanup(run);
    const dir = /^logs: +(\S+)\/demo\.log/m.exec(run.stdout())?.[1];
    if (dir) await rm(dir, { recursive: true, force: true }); // no one left to remove it
  }
});

test('a port already taken: a clear error, exit 1, nothing started', { skip: !existsSync(BUILT) && 'run `npm run build` first', timeout: 30_000 }, async () => {
  const blocker = net.createServer();
  await new Promise<void>((r) => blocker.listen({ host: '127.0.0.1', port: 0 }, r));
  const port = (blocker.address() as net.AddressInfo).port;
  const run = runDemo(['--port', String(port), '--duration', '2s', '--no-tty']);
  try {
    const { code } = await withTimeout(run.exited, 25_000, 'weft demo');
    assert.equal(code, 1);
    assert.match(run.stderr(), new RegExp(`port ${port} on 127\\.0\\.0\\.1 is already in use.*choose another port`));
    assert.deepEqual(printedPids(run.stdout()), []);
    assert.match(run.stdout(), /stopped; nothing left running/);
  } finally {
    cleanup(run);
    blocker.close();
  }
});

test('a bad option: usage and exit 2', { skip: !existsSync(BUILT) && 'run `npm run build` first' }, async () => {
  const run = runDemo(['--rps', 'fast']);
  const { code } = await withTimeout(run.exited, 10_000, 'weft demo');
  assert.equal(code, 2);
  assert.match(run.stderr(), /--rps: expected a rate.*"fast"/);
  assert.match(run.stderr(), /usage: weft demo/);
});
