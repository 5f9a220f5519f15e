/**
 * `weft demo`: the mesh and a small demo app in local mode (web → api, steady traffic, mTLS from a
 * throwaway CA), with live golden metrics from every proxy refreshed every few seconds. Ctrl-C
 * (or --duration) stops everything. `weft demo --app NAME` is the entry of one demo app process.
 */
import { mkdtemp, rm, appendFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseDuration } from '../proxy/reliability/retry-policy';
import { formatAddr } from '../proxy/discovery/discovery';
import { parsePromText, type Sample } from '../metrics-view/prom-text';
import { goldenRows, type GoldenRow } from '../metrics-view/golden-metrics';
import { renderGoldenTable } from '../metrics-view/golden-table';

export interface DemoOptions {
  durationMs: number | undefined;
  tty: boolean | undefined;
  port: number;
  rps: number;
  failureRate: number;
  intervalMs: number;
  app: string | undefined;
  help: boolean;
}

export const DEMO_USAGE = `usage: weft demo [options]

Runs the mesh and a demo app on this machine (no Docker): web → api (fails ~5 %), a traffic
generator at ~20 RPS, one proxy each, mTLS from a throwaway CA; prints the golden metrics of
every proxy every 2 s. Ctrl-C stops everything.

options:
  --port N            port of web's inbound listener on 127.0.0.1 (default 0: any free port)
  --duration D        stop after D (e.g. 30s, 2m); default: run until Ctrl-C
  --interval D        refresh period of the table (default 2s)
  --rps N             requests per second sent to web (default 20)
  --failure-rate F    share of api requests that fail with 500, 0..1 (default 0.05)
  --no-tty            plain output: append each table instead of redrawing the screen
`;

/** Parses the command line; every problem is reported, none thrown. */
export function parseDemoArgs(args: readonly string[]): { ok: true; options: DemoOptions } | { ok: false; errors: string[] } {
  const o: DemoOptions = { durationMs: undefined, tty: undefined, port: 0, rps: 20, failureRate: 0.05, intervalMs: 2_000, app: undefined, help: false };
  const errors: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    const eq = arg.indexOf('=');
    const flag = arg.startsWith('--') && eq > 0 ? arg.slice(0, eq) : arg;
    const value = (): string | undefined => {
      if (arg.startsWith('--') && eq > 0) return arg.slice(eq + 1);
      const v = args[i + 1];
      if (v === undefined || v.startsWith('--')) {
        errors.push(`${flag} needs a value`);
        return undefined;
      }
      i++;
      return v;
    };
    const duration = (min: number): number | undefined => {
      const v = value();
      if (v === undefined) return undefined;
      const d = parseDuration(v);
      if (!d.ok) return void errors.push(`${flag}: ${d.error}`);
      if (d.ms < min) return void errors.push(`${flag}: at least ${min} ms`);
      return d.ms;
    };
    const number = (ok: (n: number) => boolean, what: string): number | undefined => {
      const v = value();
      if (v === undefined) return undefined;
      const n = Number(v);
      if (v.trim() === '' || !Number.isFinite(n) || !ok(n)) return void errors.push(`${flag}: expected ${what}, got "${v}"`);
      return n;
    };
    switch (flag) {
      case '--help':
      case '-h':
        o.help = true;
        break;
      case '--no-tty':
        o.tty = false;
        break;
      case '--tty':
        o.tty = true;
        break;
      case '--duration':
        o.durationMs = duration(1) ?? o.durationMs;
        break;
      case '--interval':
        o.intervalMs = duration(100) ?? o.intervalMs;
        break;
      case '--port':
        o.port = number((n) => Number.isInteger(n) && n >= 0 && n <= 65535, 'a port 0..65535') ?? o.port;
        break;
      case '--rps':
        o.rps = number((n) => n > 0 && n <= 10_000, 'a rate between 0 and 10000') ?? o.rps;
        break;
      case '--failure-rate':
        o.failureRate = number((n) => n >= 0 && n <= 1, 'a share between 0 and 1') ?? o.failureRate;
        break;
      case '--app':
        o.app = value();
        break;
      default:
        errors.push(`unknown option ${arg}`);
    }
  }
  return errors.length ? { ok: false, errors } : { ok: true, options: o };
}

interface Scraped {
  workload: string;
  samples: Sample[] | undefined;
  at: number;
}

async function scrape(url: string): Promise<Sample[] | undefined> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(5_000) });
    if (!res.ok) return undefined;
    return parsePromText(await res.text()).samples;
  } catch {
    return undefined;
  }
}

const CLEAR = '\x1b[2J\x1b[H';

export async function run(args: string[]): Promise<number> {
  const parsed = parseDemoArgs(args);
  if (!parsed.ok) {
    process.stderr.write(`weft demo: ${parsed.errors.join('; ')}\n\n${DEMO_USAGE}`);
    return 2;
  }
  const o = parsed.options;
  if (o.help) {
    process.stdout.write(DEMO_USAGE);
    return 0;
  }
  if (o.app !== undefined) {
    const { runDemoApp } = await import('../../dev-cluster/demo/demo-app-main');
    const code = await runDemoApp(o.app).catch((e: Error) => {
      process.stderr.write(`demo app ${o.app}: ${e.message}\n`);
      return 1;
    });
    process.exit(code);
  }
  return runDemo(o);
}

async function runDemo(o: DemoOptions): Promise<number> {
  const { Supervisor, installShutdownHandlers, isAlive } = await import('../../dev-cluster/local/supervisor');
  const { startLocalMesh } = await import('../../dev-cluster/local/local-mesh');
  const { demoTopology, DEMO_SERVICES } = await import('../../dev-cluster/demo/demo-topology');
  const out = process.stdout;
  const tty = o.tty ?? out.isTTY === true;
  const say = (line: string): void => void out.write(`${line}\n`);

  const workDir = await mkdtemp(join(tmpdir(), 'weft-demo-'));
  const logFile = join(workDir, 'demo.log');
  let logChain = Promise.resolve();
  const log = (source: string, line: string): void => {
    logChain = logChain.then(() => appendFile(logFile, `${source}: ${line}\n`)).catch(() => undefined);
  };

  let exitCode = 0;
  let resolveStop!: () => void;
  const stopRequested = new Promise<void>((r) => (resolveStop = r));
  const supervisor = new Supervisor({
    onLog: log,
    graceMs: 3_000,
    onUnexpectedExit: (p, info) => {
      if (interrupted) return; // Ctrl-C reached the proxies too: they are stopping on their own.
      process.stderr.write(`weft demo: ${p.name} exited unexpectedly (${info.signal ?? `code ${info.code}`})${p.tail().length ? `; last output: ${p.tail().slice(-3).join(' | ')}` : ''}\n`);
      exitCode = 1;
      resolveStop();
    },
  });
  let interrupted = false;
  const removeHandlers = installShutdownHandlers(supervisor, (reason, error) => {
    if (reason === 'error') {
      process.stderr.write(`weft demo: unexpected error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
      exitCode = 1;
    } else interrupted = true;
    resolveStop();
  });

  const finish = async (): Promise<number> => {
    if (tty) out.write('\n');
    say('stopping…');
    await supervisor.stopAll();
    await logChain;
    await rm(workDir, { recursive: true, force: true });
    removeHandlers();
    const left = supervisor.processes().filter((p) => p.pid > 0 && isAlive(p.pid));
    if (left.length === 0) say('stopped; nothing left running');
    else {
      process.stderr.write(`weft demo: still running after stop: ${left.map((p) => `${p.name} (pid ${p.pid})`).join(', ')}\n`);
      exitCode = 1;
    }
    return exitCode;
  };

  const topology = demoTopology({ weftEntry: process.argv[1]!, nodePath: process.execPath, webPort: o.port, rps: o.rps, failureRate: o.failureRate });
  say('weft demo: starting the mesh in local mode (no Docker)');
  let running;
  try {
    running = await Promise.race([
      startLocalMesh(topology, { workDir: join(workDir, 'mesh'), supervisor, onLog: log, onProgress: (m) => say(`  ${m}`) }),
      stopRequested.then(() => undefined),
    ]);
  } catch (e) {
    process.stderr.write(`weft demo: ${(e as Error).message}\n`);
    exitCode = 1;
    return finish();
  }
  if (!running) return finish();

  const web = running.find((r) => r.workload.serves === DEMO_SERVICES.web)!;
  say('');
  for (const r of running) say(`  ${r.workload.name.padEnd(8)} app pid ${r.app.pid}, proxy pid ${r.proxy.pid}, identity ${r.identity}, metrics http://${formatAddr(r.proxy.admin)}/metrics`);
  say('');
  say(`web:     http://${formatAddr(web.proxy.inbound!)}/   (through web's proxy)`);
  say(`logs:    ${logFile}`);
  say(`metrics: every ${o.intervalMs / 1000}s from each proxy's /metrics; Ctrl-C to stop${o.durationMs ? ` (or after ${o.durationMs / 1000}s)` : ''}`);
  say('');

  const targets = running.map((r) => ({ workload: r.workload.name, url: `http://${formatAddr(r.proxy.admin)}/metrics` }));
  const takeScrapes = (): Promise<Scraped[]> => Promise.all(targets.map(async (t) => ({ workload: t.workload, samples: await scrape(t.url), at: Date.now() })));
  let previous = await takeScrapes();
  const started = Date.now();
  const deadline = o.durationMs ? started + o.durationMs : Infinity;
  let stop = false;
  void stopRequested.then(() => (stop = true));

  while (!stop) {
    const wait = Math.min(o.intervalMs, deadline - Date.now());
    if (wait <= 0) break;
    await Promise.race([new Promise((r) => setTimeout(r, wait)), stopRequested]);
    if (stop) break;
    const current = await takeScrapes();
    const intervalS = (current[0]!.at - previous[0]!.at) / 1000;
    const rows: GoldenRow[] = [];
    const missing: string[] = [];
    // A failed scrape keeps the last good one as the base, so the next interval is not counted from the proxy's start.
    previous = current.map((c, i) => {
      const p = previous[i]!;
      if (!c.samples) {
        missing.push(c.workload);
        return p;
      }
      rows.push(...goldenRows(c.workload, p.samples, c.samples, (c.at - p.at) / 1000));
      return c;
    });
    const elapsed = ((Date.now() - started) / 1000).toFixed(0);
    const head = `golden metrics over the last ${intervalS.toFixed(1)}s (t=${elapsed}s) — web: http://${formatAddr(web.proxy.inbound!)}/`;
    const table = renderGoldenTable(rows) + (missing.length ? `(no metrics from ${missing.join(', ')})\n` : '');
    out.write(tty ? `${CLEAR}${head}\n\n${table}\nCtrl-C to stop\n` : `${head}\n${table}\n`);
    if (Date.now() >= deadline) break;
  }
  if (interrupted) say('interrupted');
  return finish();
}
