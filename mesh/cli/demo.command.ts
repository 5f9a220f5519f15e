/**
 * `weft demo`: an emojivoto-like app on the mesh in local mode — `weft local up` with the demo's
 * topology (dev-cluster/demo/demo-topology.ts): emoji and voting (gRPC, voting split 90/10 with a
 * canary), web (HTTP/1.1), vote-bot. In the foreground it prints the web URL and refreshes the
 * `weft stat` table from the metrics API; Ctrl-C (or --duration) stops everything. --detach starts
 * it and returns (`weft demo --stop` or `weft local down` stops it). `weft demo --app NAME` is the
 * entry of one demo app process.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, open, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { StringDecoder } from 'node:string_decoder';
import { parseArgs } from 'node:util';
import { parseDuration } from '../proxy/reliability/retry-policy';
import { parseWindow } from '../control/metrics-api/api-query';
import type { Edge } from '../control/metrics-api/aggregate';
import { renderTable } from '../metrics-view/stat-table';

export interface DemoOptions {
  durationMs: number | undefined;
  tty: boolean | undefined;
  port: number;
  rps: number;
  intervalMs: number;
  window: string;
  detach: boolean;
  stop: boolean;
  printTopology: boolean;
  app: string | undefined;
  help: boolean;
}

export const DEMO_USAGE = `usage: weft demo [options]

Runs an emojivoto-like app on the mesh, on this machine (no Docker): web (HTTP/1.1) calls emoji
and voting (gRPC); voting is split 90/10 with a canary (v2); a vote for 💩 always fails; vote-bot
votes steadily. Every workload has its own Weft proxy and identity; every hop is mTLS. Prints the
web URL and refreshes the \`weft stat\` table. Ctrl-C stops everything.

options:
  --port N            port of web's proxy inbound listener on 127.0.0.1 (default 0: any free port)
  --rps N             votes per second vote-bot sends (default 10)
  --duration D        stop after D (e.g. 30s, 2m); default: run until Ctrl-C
  --interval D        refresh period of the table (default 5s, the metrics API's scrape period)
  --window D          window of the table's rates and percentiles (default 30s, at least 15s)
  --no-tty            plain output: append each table instead of redrawing the screen
  --detach            start, print the web URL, state dir and metrics API, and return;
                      stop it with \`weft demo --stop\` (or \`weft local down\`)
  --stop              stop a detached demo
  --print-topology    print the local-mode topology the demo runs, and exit

State: .weft/local/ under the current directory, or $WEFT_STATE_DIR (as \`weft local\`).
`;

const DEFAULTS: Omit<DemoOptions, 'tty' | 'durationMs' | 'app'> = { port: 0, rps: 10, intervalMs: 5_000, window: '30s', detach: false, stop: false, printTopology: false, help: false };

/** Parses the command line (node:util parseArgs); every value problem is reported, none thrown. */
export function parseDemoArgs(args: readonly string[]): { ok: true; options: DemoOptions } | { ok: false; errors: string[] } {
  let values: Record<string, string | boolean | undefined>;
  try {
    values = parseArgs({
      args: [...args],
      strict: true,
      allowPositionals: false,
      options: {
        help: { type: 'boolean', short: 'h' },
        port: { type: 'string' },
        rps: { type: 'string' },
        duration: { type: 'string' },
        interval: { type: 'string' },
        window: { type: 'string' },
        tty: { type: 'boolean' },
        'no-tty': { type: 'boolean' },
        detach: { type: 'boolean', short: 'd' },
        stop: { type: 'boolean' },
        'print-topology': { type: 'boolean' },
        app: { type: 'string' },
      },
    }).values;
  } catch (e) {
    // parseArgs' messages name the option; drop its advice about positionals, which do not apply.
    return { ok: false, errors: [(e as Error).message.replace(/\. To specify a positional argument.*$/s, '')] };
  }
  const o: DemoOptions = { ...DEFAULTS, durationMs: undefined, tty: undefined, app: undefined };
  const errors: string[] = [];
  const str = (k: string): string | undefined => (typeof values[k] === 'string' ? (values[k] as string) : undefined);
  const duration = (k: string, min: number): number | undefined => {
    const v = str(k);
    if (v === undefined) return undefined;
    const d = parseDuration(v);
    if (!d.ok) return void errors.push(`--${k}: ${d.error}`);
    if (d.ms < min) return void errors.push(`--${k}: at least ${min} ms, got "${v}"`);
    return d.ms;
  };
  const number = (k: string, ok: (n: number) => boolean, what: string): number | undefined => {
    const v = str(k);
    if (v === undefined) return undefined;
    const n = Number(v);
    if (v.trim() === '' || !Number.isFinite(n) || !ok(n)) return void errors.push(`--${k}: expected ${what}, got "${v}"`);
    return n;
  };
  o.help = values['help'] === true;
  o.port = number('port', (n) => Number.isInteger(n) && n >= 0 && n <= 65535, 'a port 0..65535') ?? o.port;
  o.rps = number('rps', (n) => n > 0 && n <= 1_000, 'a rate above 0 and at most 1000') ?? o.rps;
  o.durationMs = duration('duration', 1);
  o.intervalMs = duration('interval', 500) ?? o.intervalMs;
  const w = str('window');
  if (w !== undefined) {
    const pw = parseWindow(w);
    if (!pw.ok) errors.push(`--${pw.error}`);
    else o.window = w;
  }
  if (values['tty'] === true && values['no-tty'] === true) errors.push('--tty and --no-tty contradict each other');
  o.tty = values['no-tty'] === true ? false : values['tty'] === true ? true : undefined;
  o.detach = values['detach'] === true;
  o.stop = values['stop'] === true;
  o.printTopology = values['print-topology'] === true;
  o.app = str('app');
  if (o.detach && o.stop) errors.push('--detach and --stop contradict each other');
  if (o.detach && o.durationMs !== undefined) errors.push('--duration applies to a foreground demo, not to --detach');
  return errors.length ? { ok: false, errors } : { ok: true, options: o };
}

/** The generated topology file's name; `weft demo --stop` recognizes the demo's run by it. */
const TOPOLOGY_FILE = 'demo-topology.yaml';
const TOPOLOGY_DIR_PREFIX = 'weft-demo-';

/** Whether a run's recorded topology file is one `weft demo` wrote. Pure. */
export function isDemoTopologyFile(path: string): boolean {
  return basename(path) === TOPOLOGY_FILE && basename(dirname(path)).startsWith(TOPOLOGY_DIR_PREFIX);
}

/** `weft edges`, narrowed to fit a terminal under the stat table: who calls whom, over mTLS or not. Pure. */
export function renderDemoEdges(edges: readonly Edge[]): string {
  const secured = (e: Edge): string => (e.mtls === 'yes' ? '√ mTLS' : e.mtls === 'mixed' ? 'partly' : 'no');
  return renderTable(['SRC', 'DST', 'SECURED', 'REQUESTS'], edges.map((e) => [e.srcWorkload, e.dstService, secured(e), String(e.requests)]), new Set([3]));
}

const CLEAR = '\x1b[2J\x1b[H';

/** New complete lines of a file another process appends to. */
class FileTail {
  private offset = 0;
  private partial = '';
  private readonly decoder = new StringDecoder('utf8');
  constructor(private readonly path: string) {}

  async lines(): Promise<string[]> {
    let fh;
    try {
      fh = await open(this.path, 'r');
    } catch {
      return [];
    }
    try {
      const { size } = await fh.stat();
      if (size <= this.offset) return [];
      const buf = Buffer.alloc(size - this.offset);
      const { bytesRead } = await fh.read(buf, 0, buf.length, this.offset);
      this.offset += bytesRead;
      const parts = (this.partial + this.decoder.write(buf.subarray(0, bytesRead))).split('\n');
      this.partial = parts.pop() ?? '';
      return parts;
    } finally {
      await fh.close();
    }
  }
}

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
  if (o.stop) return stopDetached();
  if (o.printTopology) {
    process.stdout.write(await topologyText(o));
    return 0;
  }
  return o.detach ? startDetached(o) : runForeground(o);
}

async function topologyText(o: DemoOptions): Promise<string> {
  const { demoTopologyYaml } = await import('../../dev-cluster/demo/demo-topology');
  const { pickFreePort } = await import('../../dev-cluster/local/port-check');
  const [emoji, voting, votingCanary, web] = await Promise.all([0, 1, 2, 3].map(() => pickFreePort('127.0.0.1')));
  return demoTopologyYaml({ nodePath: process.execPath, weftEntry: process.argv[1]!, appPorts: { emoji: emoji!, voting: voting!, votingCanary: votingCanary!, web: web! }, webInboundPort: o.port, rps: o.rps });
}

/** Writes the topology into a fresh temp folder; answers the file. */
async function writeTopology(o: DemoOptions): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), TOPOLOGY_DIR_PREFIX));
  const file = join(dir, TOPOLOGY_FILE);
  await writeFile(file, await topologyText(o));
  return file;
}

interface Where {
  web: string | undefined;
  metricsApi: string | undefined;
  stateDir: string;
}

async function whereOf(dir: string): Promise<Where> {
  const { readState } = await import('../../dev-cluster/local/local-state');
  const s = await readState(dir);
  const web = s?.workloads.find((w) => w.workload === 'web')?.proxy.inbound;
  return { web: web ? `http://${web}/` : undefined, metricsApi: s?.metricsApi, stateDir: dir };
}

function whereLines(w: Where): string {
  return `web:         ${w.web ?? '?'}   (through web's proxy)\nmetrics API: ${w.metricsApi ?? '?'}   (weft stat, weft edges)\nstate:       ${w.stateDir}\n`;
}

async function startDetached(o: DemoOptions): Promise<number> {
  const { stateDir } = await import('../../dev-cluster/local/local-state');
  const local = await import('./local.command');
  const file = await writeTopology(o);
  const code = await local.run(['up', '-f', file, '--detach']);
  // The supervisor has read the file by now (or failed): nothing to leave behind for `weft local down`.
  await rm(dirname(file), { recursive: true, force: true });
  if (code !== 0) return code;
  process.stdout.write(`\nweft demo runs in the background\n${whereLines(await whereOf(stateDir()))}stop:        weft demo --stop   (or weft local down)\n`);
  return 0;
}

async function stopDetached(): Promise<number> {
  const { stateDir, readState } = await import('../../dev-cluster/local/local-state');
  const dir = stateDir();
  const s = await readState(dir);
  if (!s) {
    process.stdout.write(`no demo running (no state in ${dir})\n`);
    return 0;
  }
  if (!isDemoTopologyFile(s.topologyFile)) {
    process.stderr.write(`weft demo: the local mesh in ${dir} runs ${s.topologyFile}, not the demo; stop it with \`weft local down\`\n`);
    return 1;
  }
  const code = await (await import('./local.command')).run(['down']);
  if (code === 0) await rm(dirname(s.topologyFile), { recursive: true, force: true });
  return code;
}

/** Runs `weft local up -f FILE` as a child that stops itself if this process dies, and shows the table until stopped. */
async function runForeground(o: DemoOptions): Promise<number> {
  const { stateDir, readState, recordedPids } = await import('../../dev-cluster/local/local-state');
  const { isAlive } = await import('../../dev-cluster/local/supervisor');
  const { EXIT_WITH_PARENT_PRELOAD } = await import('../../dev-cluster/local/local-mesh');
  const { fetchEdges, fetchStat } = await import('../control/metrics-api/client');
  const { renderStatTable } = await import('../metrics-view/stat-table');
  const { DEMO_NAMESPACE } = await import('../../dev-cluster/demo/demo-topology');
  const out = process.stdout;
  const tty = o.tty ?? out.isTTY === true;
  const say = (line: string): void => void out.write(`${line}\n`);
  const dir = stateDir();

  let stop = false;
  let interrupted = false;
  let wake: () => void = () => undefined;
  const requestStop = (why: 'signal' | 'child' | 'duration'): void => {
    if (why === 'signal') interrupted = true;
    stop = true;
    wake();
  };
  const onSignal = (): void => requestStop('signal');
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  process.on('SIGHUP', onSignal);

  const file = await writeTopology(o);
  say('weft demo: starting the mesh in local mode (no Docker): weft local up with the demo topology');
  // local up writes to files, not pipes: if this process dies, its writes must not fail (EPIPE).
  const outFile = join(dirname(file), 'local-up.out');
  const errFile = join(dirname(file), 'local-up.err');
  const [outFh, errFh] = await Promise.all([open(outFile, 'a'), open(errFile, 'a')]);
  const child: ChildProcess = spawn(process.execPath, ['--import', EXIT_WITH_PARENT_PRELOAD, process.argv[1]!, 'local', 'up', '-f', file], {
    stdio: ['ignore', outFh.fd, errFh.fd],
    env: { ...process.env, WEFT_STATE_DIR: dir },
  });
  await Promise.all([outFh.close(), errFh.close()]);
  let childExit: number | undefined;
  const childExited = new Promise<number>((resolve) =>
    child.once('exit', (code, signal) => {
      childExit = code ?? (signal ? 1 : 0);
      resolve(childExit);
      requestStop('child');
    }),
  );
  // Before the mesh runs, local up's progress goes straight to the terminal; afterwards its lines
  // (an app that exited, "stopping…") are kept and shown under the table.
  let running = false;
  const notices: string[] = [];
  const outTail = new FileTail(outFile);
  const errTail = new FileTail(errFile);
  const pump = async (): Promise<void> => {
    const [text, err] = await Promise.all([outTail.lines(), errTail.lines()]);
    if (err.length) process.stderr.write(`${err.join('\n')}\n`);
    if (!running) {
      if (text.length) out.write(`${text.join('\n')}\n`);
      return;
    }
    notices.push(...text.filter((l) => l.trim() && !/Ctrl-C to stop/.test(l)));
    if (notices.length > 5) notices.splice(0, notices.length - 5);
  };

  const sleep = (ms: number): Promise<void> =>
    new Promise((resolve) => {
      const t = setTimeout(resolve, ms);
      wake = () => {
        clearTimeout(t);
        resolve();
      };
    });

  // Up: the state says running, written by our child.
  let state: Awaited<ReturnType<typeof readState>>;
  while (!stop) {
    await pump();
    const s = await readState(dir);
    if (s?.status === 'running' && s.supervisorPid === child.pid) {
      state = s;
      break;
    }
    await sleep(150);
  }
  let exitCode = 0;
  if (state) {
    running = true;
    const where = await whereOf(dir);
    say('');
    out.write(whereLines(where));
    say(`logs:        weft local logs WORKLOAD${dir === stateDir({}) ? '' : ` (with WEFT_STATE_DIR=${dir})`}`);
    say(`the table below is \`weft stat -n ${DEMO_NAMESPACE} --window ${o.window}\`, every ${o.intervalMs / 1000}s; Ctrl-C to stop${o.durationMs ? ` (or after ${o.durationMs / 1000}s)` : ''}`);
    say('');
    const started = Date.now();
    const deadline = o.durationMs ? started + o.durationMs : Infinity;
    const api = state.metricsApi!;
    while (!stop) {
      const wait = Math.min(o.intervalMs, deadline - Date.now());
      if (wait <= 0) {
        requestStop('duration');
        break;
      }
      await sleep(wait);
      if (stop) break;
      await pump();
      const [st, ed] = await Promise.all([fetchStat(api, { kind: 'workload', namespace: DEMO_NAMESPACE, window: o.window }), fetchEdges(api, { namespace: DEMO_NAMESPACE, window: o.window })]);
      const t = ((Date.now() - started) / 1000).toFixed(0);
      const head = `weft stat -n ${DEMO_NAMESPACE} (last ${o.window}, t=${t}s) — web: ${where.web ?? '?'}`;
      const table = st.ok ? renderStatTable(st.body.rows, false) : `(metrics API: ${st.error})\n`;
      const edges = ed.ok ? (ed.body.edges.length ? renderDemoEdges(ed.body.edges) : 'no edges yet\n') : '';
      const extra = notices.length ? `\n${notices.join('\n')}\n` : '';
      out.write(tty ? `${CLEAR}${head}\n\n${table}\n${edges}${extra}\nCtrl-C to stop\n` : `${head}\n${table}\n${edges}${extra}\n`);
    }
  }
  if (childExit !== undefined && !interrupted) {
    await pump(); // local up's last words first
    process.stderr.write(`weft demo: weft local up exited (code ${childExit})${state ? ' while the demo ran (stopped from elsewhere, e.g. weft local down?)' : ' before the demo was up'}\n`);
    exitCode = childExit || 1;
  }
  if (interrupted) say('interrupted');
  say('stopping…');
  // Ctrl-C in a terminal reached our child too; SIGTERM covers every other way we were stopped.
  if (childExit === undefined) child.kill('SIGTERM');
  const code = await Promise.race([childExited, new Promise<undefined>((r) => setTimeout(() => r(undefined), 30_000).unref())]);
  if (code === undefined) {
    process.stderr.write('weft demo: weft local up did not stop within 30 s; running weft local down\n');
    child.kill('SIGKILL');
    await (await import('./local.command')).run(['down']);
    exitCode = 1;
  } else if (code !== 0 && exitCode === 0) exitCode = code; // local up could not stop cleanly: its message is in stderr
  await pump();
  process.off('SIGINT', onSignal);
  process.off('SIGTERM', onSignal);
  process.off('SIGHUP', onSignal);
  await rm(dirname(file), { recursive: true, force: true });
  const left = state ? recordedPids(state).filter((p) => isAlive(p.pid)) : [];
  if (left.length === 0) say('stopped; nothing left running');
  else {
    process.stderr.write(`weft demo: still running after stop: ${left.map((p) => `${p.name} (pid ${p.pid})`).join(', ')}\n`);
    exitCode = 1;
  }
  return exitCode;
}
