/**
 * `weft local up|status|logs|down`: the mesh from a topology file (docs/local-mode.md) as processes
 * on this machine. `up` runs the supervisor in the foreground (Ctrl-C stops all) or, with --detach,
 * starts it as a background process and returns once everything is up. State lives in
 * `.weft/local/` (or $WEFT_STATE_DIR). A thin shell over topology-file.ts and local-mesh.ts.
 */
import { spawn } from 'node:child_process';
import { unwatchFile, watchFile } from 'node:fs';
import { appendFile, mkdir, open, readFile, rm, stat } from 'node:fs/promises';
import net from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { guardTerminal, type StreamName, type Terminal } from '../../dev-cluster/local/terminal-output';
import { parseDuration } from '../proxy/reliability/retry-policy';

export const LOCAL_USAGE = `usage: weft local <command>

  up -f FILE [--detach]     start the control plane (identity, destination, and policy when the
                            file asks for it) and every workload of the topology file with its
                            proxy (mTLS); in the foreground Ctrl-C
                            stops all; --detach returns and leaves a supervisor running; edits
                            to the file's services (weights, retries, timeouts) and to its
                            policy files apply live
     [--cert-lifetime D]    advanced: proxies' certificate lifetime (default 24h; e.g. 10s)
  status                    control plane and workloads: PIDs alive, proxy ready, ports
  logs WORKLOAD [--proxy] [-f]   the app's output (or its proxy's log); -f follows; also
                            weft-identity, weft-destination and weft-policy
  down                      stop everything that up started and remove the state

State: .weft/local/ under the current directory, or $WEFT_STATE_DIR. Format: docs/local-mode.md
`;

const SUPERVISE_FLAG = '--supervise';
const SETTLE_MS = 400;

/** What a lost stdout or stderr means (EPIPE: `weft local up | head`); the foreground supervisor stops. */
let onTerminalClosed: (stream: StreamName, error: NodeJS.ErrnoException) => void = () => undefined;
let term: Terminal | undefined;
/** stdout and stderr, guarded: a closed pipe drops the writes instead of raising in a loop. */
const terminal = (): Terminal => (term ??= guardTerminal((s, e) => onTerminalClosed(s, e)));
const out = (text: string | Uint8Array): void => terminal().out(text);
const err = (text: string | Uint8Array): void => terminal().err(text);

function fail(msg: string, code = 1): number {
  err(`weft local: ${msg}\n`);
  return code;
}

export async function run(args: string[]): Promise<number> {
  const [sub, ...rest] = args;
  if (rest.some((a) => a === '--isolation' || a.startsWith('--isolation='))) return (await import('../../dev-cluster/netns/netns-command')).run(sub ?? '', rest);
  switch (sub) {
    case 'up':
      return up(rest);
    case 'status':
      return status();
    case 'logs':
      return logs(rest);
    case 'down':
      return down();
    case undefined:
    case 'help':
    case '--help':
    case '-h':
      out(LOCAL_USAGE);
      return sub === undefined ? 2 : 0;
    default:
      return fail(`unknown command '${sub}'\n\n${LOCAL_USAGE}`, 2);
  }
}

interface UpArgs {
  file: string;
  detach: boolean;
  supervise: boolean;
  /** --cert-lifetime: the leaves' lifetime; absent: the identity service's default (24 h). */
  certLifetimeMs?: number;
}

export function parseUpArgs(args: readonly string[]): { ok: true; value: UpArgs } | { ok: false; error: string } {
  let file: string | undefined;
  let detach = false;
  let supervise = false;
  let certLifetimeMs: number | undefined;
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === '--cert-lifetime' || a.startsWith('--cert-lifetime=')) {
      const v = a.includes('=') ? a.slice(a.indexOf('=') + 1) : args[++i];
      if (v === undefined) return { ok: false, error: '--cert-lifetime needs a duration, e.g. 10s' };
      const d = parseDuration(v);
      if (!d.ok) return { ok: false, error: `--cert-lifetime: ${d.error}` };
      if (d.ms < 1000) return { ok: false, error: '--cert-lifetime: at least 1s' };
      certLifetimeMs = d.ms;
    } else if (a === '-f' || a === '--file') {
      file = args[++i];
      if (file === undefined) return { ok: false, error: `${a} needs a file` };
    } else if (a.startsWith('--file=')) file = a.slice(7);
    else if (a === '--detach' || a === '-d') detach = true;
    else if (a === SUPERVISE_FLAG) supervise = true;
    else return { ok: false, error: `unknown option ${a}` };
  }
  if (file === undefined) return { ok: false, error: 'no topology file: weft local up -f topology.yaml' };
  return { ok: true, value: { file, detach, supervise, ...(certLifetimeMs !== undefined ? { certLifetimeMs } : {}) } };
}

async function isAliveFn(): Promise<(pid: number) => boolean> {
  return (await import('../../dev-cluster/local/supervisor')).isAlive;
}

async function up(args: string[]): Promise<number> {
  const parsed = parseUpArgs(args);
  if (!parsed.ok) return fail(`${parsed.error}\n\n${LOCAL_USAGE}`, 2);
  const { file, detach, supervise, certLifetimeMs } = parsed.value;
  const { readTopologyFile, toLocalTopology } = await import('../../dev-cluster/local/topology-file');
  const { stateDir, readState } = await import('../../dev-cluster/local/local-state');
  const isAlive = await isAliveFn();

  const topo = await readTopologyFile(file);
  if (!topo.ok) {
    if (topo.exitCode === 1) return fail(topo.message);
    err(`weft local: ${topo.message}`);
    return 2;
  }
  const dir = stateDir();
  if (!supervise) {
    const existing = await readState(dir);
    if (existing && isAlive(existing.supervisorPid)) return fail(`already running (supervisor pid ${existing.supervisorPid}, ${existing.topologyFile}); \`weft local down\` first`);
    if (existing) {
      err('weft local: cleaning up after a previous run that did not stop cleanly\n');
      await stopRecorded(dir);
    }
  }
  const extra = certLifetimeMs !== undefined ? ['--cert-lifetime', `${certLifetimeMs}ms`] : [];
  if (detach && !supervise) return upDetached(resolve(file), dir, extra);
  return supervisor(resolve(file), dir, toLocalTopology(topo.topology, dirname(resolve(file))), supervise, certLifetimeMs);
}

/** Starts the supervisor in the background (`up --supervise`) and waits until it is up or has failed. */
async function upDetached(file: string, dir: string, extraArgs: string[]): Promise<number> {
  const { readState } = await import('../../dev-cluster/local/local-state');
  await rm(dir, { recursive: true, force: true });
  await mkdir(dir, { recursive: true });
  const supervisorLog = join(dir, 'supervisor.log');
  const fh = await open(supervisorLog, 'a');
  const child = spawn(process.execPath, [process.argv[1]!, 'local', 'up', '-f', file, ...extraArgs, SUPERVISE_FLAG], {
    detached: true,
    stdio: ['ignore', fh.fd, fh.fd],
    env: { ...process.env, WEFT_STATE_DIR: dir },
  });
  await fh.close();
  let exited: number | null | undefined;
  child.once('exit', (code) => (exited = code ?? 1));
  child.unref();
  const deadline = Date.now() + 90_000;
  while (Date.now() < deadline) {
    const s = await readState(dir);
    if (s?.status === 'running') {
      out(await readFile(supervisorLog, 'utf8').catch(() => ''));
      out(`supervisor pid ${s.supervisorPid} runs in the background: \`weft local status\`, \`weft local logs WORKLOAD\`, \`weft local down\`\n`);
      return 0;
    }
    if (exited !== undefined) {
      const out = await readFile(supervisorLog, 'utf8').catch(() => '');
      err(out);
      return exited || 1;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  process.kill(child.pid!, 'SIGTERM');
  return fail(`the supervisor did not report ready in time; see ${supervisorLog}`);
}

/** Runs the topology until SIGINT/SIGTERM; on any start failure stops everything it started. */
async function supervisor(file: string, dir: string, topology: import('../../dev-cluster/local/local-mesh').LocalTopology, background: boolean, certLifetimeMs?: number): Promise<number> {
  const { Supervisor, installShutdownHandlers, isAlive } = await import('../../dev-cluster/local/supervisor');
  const { startLocalRun } = await import('../../dev-cluster/local/local-mesh');
  const { IDENTITY_ADDR_ENV, DESTINATION_ADDR_ENV, POLICY_ADDR_ENV } = await import('../../dev-cluster/local/control-plane');
  const { writeState } = await import('../../dev-cluster/local/local-state');
  const { formatAddr } = await import('../proxy/discovery/discovery');
  const say = (line: string): void => void out(`${line}\n`);

  if (!background) await rm(dir, { recursive: true, force: true });
  const logDir = join(dir, 'logs');
  await mkdir(logDir, { recursive: true });
  const logPath = (name: string): string => join(logDir, `${name}.log`);
  let logChain = Promise.resolve();
  const log = (source: string, line: string): void => {
    logChain = logChain.then(() => appendFile(logPath(source), `${line}\n`)).catch(() => undefined);
  };

  let exitCode = 0;
  let resolveStop!: () => void;
  const stopRequested = new Promise<void>((r) => (resolveStop = r));
  let running = false;
  const sup = new Supervisor({
    onLog: log,
    graceMs: 3_000,
    onUnexpectedExit: (p, info) => {
      say(`${new Date().toISOString()} ${p.name} exited (${info.signal ?? `code ${info.code}`})${p.tail().length ? `; last output: ${p.tail().slice(-3).join(' | ')}` : ''}`);
    },
  });
  const removeHandlers = installShutdownHandlers(sup, (reason, error) => {
    if (reason === 'error') {
      err(`weft local: unexpected error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
      exitCode = 1;
    }
    resolveStop();
  });
  // A lost terminal (`weft local up | head`, the terminal closed): in the foreground, stop everything
  // cleanly as Ctrl-C would (the pipeline ends, as with SIGPIPE); detached, stdout and stderr are
  // supervisor.log, so a failing write there only stops the writing, and the run goes on.
  onTerminalClosed = (stream, e) => {
    if (background) return;
    log('supervisor', `${new Date().toISOString()} ${stream} closed (${e.code ?? e.message}): stopping everything`);
    resolveStop();
  };
  const startedAt = new Date().toISOString();
  const base = { version: 1 as const, supervisorPid: process.pid, topologyFile: file, startedAt, supervisorLog: join(dir, 'supervisor.log') };
  await writeState(dir, { ...base, status: 'starting', workloads: [] });

  let controlPlane: import('../../dev-cluster/local/control-plane').RunningControlPlane | undefined;
  const controlPlaneState = (): import('../../dev-cluster/local/local-state').StateControlPlane[] =>
    controlPlane
      ? [controlPlane.identity, controlPlane.destination, ...(controlPlane.policy ? [controlPlane.policy] : [])].map((c) => ({ name: c.process.name, pid: c.process.pid, addr: formatAddr(c.addr), log: logPath(c.process.name) }))
      : [];
  let stateWrite = Promise.resolve();
  /** The start in progress: a stop requested meanwhile (Ctrl-C, a lost terminal) waits for it to end, so nothing is started after the stop. */
  let starting: Promise<import('../../dev-cluster/local/local-mesh').LocalRun> | undefined;
  const finish = async (removeLogs: boolean): Promise<number> => {
    unwatchFile(file);
    await starting?.catch(() => undefined);
    await stateWrite;
    controlPlane?.close();
    await sup.stopAll();
    await logChain;
    removeHandlers();
    const left = sup.processes().filter((p) => p.pid > 0 && isAlive(p.pid));
    if (left.length > 0) {
      err(`weft local: still running after stop: ${left.map((p) => `${p.name} (pid ${p.pid})`).join(', ')}\n`);
      exitCode = 1;
    }
    if (removeLogs) await rm(dir, { recursive: true, force: true });
    else {
      await rm(join(dir, 'mesh'), { recursive: true, force: true });
      await rm(join(dir, 'state.json'), { force: true });
    }
    return exitCode;
  };

  say(`weft local: starting ${topology.workloads.length} workload process${topology.workloads.length === 1 ? '' : 'es'} from ${file}`);
  let run;
  let started;
  try {
    starting = startLocalRun(topology, {
      workDir: join(dir, 'mesh'),
      supervisor: sup,
      onLog: log,
      onProgress: (m) => say(`  ${m}`),
      leafLifetimeMs: certLifetimeMs,
      identityAddr: process.env[IDENTITY_ADDR_ENV] || undefined,
      destinationAddr: process.env[DESTINATION_ADDR_ENV] || undefined,
      policyAddr: process.env[POLICY_ADDR_ENV] || undefined,
      onControlPlane: (cp) => {
        controlPlane = cp;
        // Recorded at once: `down` finds these PIDs even if the run dies before it is up.
        stateWrite = stateWrite.then(() => writeState(dir, { ...base, status: 'starting', workloads: [], controlPlane: controlPlaneState() })).catch(() => undefined);
      },
    });
    run = await Promise.race([starting, stopRequested.then(() => undefined)]);
    started = run?.workloads;
    if (started) {
      // An app that exits at once (a client with no port to wait for, a crash right after listening).
      await new Promise((r) => setTimeout(r, SETTLE_MS));
      const dead = started.find((r) => r.app.hasExited());
      if (dead) throw new Error(`${dead.workload.name} exited at start: ${dead.app.tail().slice(-5).join(' | ') || 'no output'} (log: ${logPath(dead.workload.name)})`);
    }
  } catch (e) {
    err(`weft local: ${(e as Error).message}\nweft local: stopped everything that had started; logs kept in ${logDir}\n`);
    exitCode = 1;
    return finish(false);
  }
  if (!started || !run || !controlPlane) return finish(true);
  const cp = controlPlane;
  const served = run.served;

  const workloads = started.map((r) => ({
    name: r.workload.name,
    workload: r.workload.workload ?? r.workload.name,
    namespace: r.workload.namespace ?? topology.namespace,
    identity: r.identity,
    app: { pid: r.app.pid, log: logPath(r.workload.name), command: [r.workload.command, ...r.workload.args] },
    proxy: { pid: r.proxy.pid, log: logPath(`${r.workload.name}-proxy`), admin: formatAddr(r.proxy.admin), ...(r.proxy.inbound ? { inbound: formatAddr(r.proxy.inbound) } : {}) },
    ports: r.ports.map((p) => p.appPort),
    upstreams: Object.fromEntries([...r.proxy.upstreams].map(([k, v]) => [k, formatAddr(v)])),
  }));
  // The metrics API for `weft stat`: its usual port when free, any port otherwise (several runs at once).
  const { startMetricsApi } = await import('../control/metrics-api/server');
  const { scrapeTargetsOf } = await import('../../dev-cluster/local/metrics-targets');
  const startedWorkloads = started; // a const for the closure below (started is reassigned above)
  const targets = (): ReturnType<typeof scrapeTargetsOf> => scrapeTargetsOf(startedWorkloads, topology);
  const metricsApi = await startMetricsApi({ host: '127.0.0.1', targets }).catch(() => startMetricsApi({ host: '127.0.0.1', port: 0, targets }));
  const stopApi = metricsApi.close.bind(metricsApi);
  // The summary is printed before the state says "running": `up --detach` shows the log at that moment.
  say('');
  for (const w of workloads) {
    say(`  ${w.name}: app pid ${w.app.pid}${w.ports.length ? ` on 127.0.0.1:${w.ports.join(',')}` : ''}, proxy pid ${w.proxy.pid}${w.proxy.inbound ? ` inbound ${w.proxy.inbound}` : ''}, identity ${w.identity}`);
    for (const [svc, addr] of Object.entries(w.upstreams)) say(`      → ${svc} at http://${addr}`);
  }
  say(`\nidentity service: https://${formatAddr(cp.identity.addr)} (pid ${cp.identity.process.pid}, leaves ${certLifetimeMs !== undefined ? `${certLifetimeMs / 1000}s` : '24h'})`);
  say(`destination service: ${formatAddr(cp.destination.addr)} (pid ${cp.destination.process.pid}; edits to ${file}'s services apply live)`);
  if (cp.policy && topology.policy) {
    const p = topology.policy;
    say(`policy service: ${formatAddr(cp.policy.addr)} (pid ${cp.policy.process.pid}; default ${p.defaultInboundPolicy ?? 'all-unauthenticated'}${p.files.length ? `; edits to ${p.files.join(', ')} apply live` : ''})`);
  }
  say(`metrics API: ${metricsApi.url}  (weft stat, weft edges)`);
  say(`state: ${join(dir, 'state.json')}  logs: ${logDir}`);
  await stateWrite;
  await writeState(dir, { ...base, status: 'running', workloads, metricsApi: metricsApi.url, controlPlane: controlPlaneState() });
  running = true;
  // Live edits: the file's services go to the destination service (which pushes them to the proxies).
  const { parseTopology, formatTopologyError, toLocalTopology } = await import('../../dev-cluster/local/topology-file');
  const { planReload, describeReload } = await import('../../dev-cluster/local/topology-reload');
  let reloading = Promise.resolve();
  watchFile(file, { interval: 500 }, (now, before) => {
    if (now.mtimeMs === before.mtimeMs && now.size === before.size) return;
    reloading = reloading.then(async () => {
      const text = await readFile(file, 'utf8').catch((e: NodeJS.ErrnoException) => new Error(e.code ?? e.message));
      if (text instanceof Error) return say(`${new Date().toISOString()} ${file} unreadable (${text.message}); keeping the running services`);
      const parsed = parseTopology(text, file);
      if (!parsed.ok) return say(`${new Date().toISOString()} ${file} has problems; keeping the running services:\n${parsed.errors.map((e) => `  ${formatTopologyError(e)}`).join('\n')}`);
      const plan = planReload(topology, toLocalTopology(parsed.topology, dirname(file)));
      if (plan.changedRoutes.length > 0) {
        topology.routes = plan.routes;
        await cp.updateModel(topology, served);
      }
      say(`${new Date().toISOString()} ${describeReload(file, plan)}`);
    });
  });
  if (!background) say('Ctrl-C to stop');
  await stopRequested;
  if (running) say('stopping…');
  await stopApi();
  const code = await finish(true);
  if (code === 0) say('stopped; nothing left running');
  return code;
}

async function readyOf(admin: string): Promise<boolean> {
  try {
    const res = await fetch(`http://${admin}/ready`, { signal: AbortSignal.timeout(1_000) });
    await res.arrayBuffer();
    return res.ok;
  } catch {
    return false;
  }
}

/** True when something accepts TCP connections at host:port within a second. */
function listening(addr: string): Promise<boolean> {
  const at = addr.lastIndexOf(':');
  return new Promise((resolve) => {
    const sock = net.connect({ host: addr.slice(0, at).replace(/^\[|\]$/g, ''), port: Number(addr.slice(at + 1)) });
    const done = (ok: boolean): void => {
      sock.destroy();
      resolve(ok);
    };
    sock.setTimeout(1_000, () => done(false));
    sock.once('connect', () => done(true));
    sock.once('error', () => done(false));
  });
}

async function status(): Promise<number> {
  const { stateDir, readState, renderStatus } = await import('../../dev-cluster/local/local-state');
  const isAlive = await isAliveFn();
  const dir = stateDir();
  const s = await readState(dir);
  if (!s) {
    out(`nothing running (no state in ${dir})\n`);
    return 1;
  }
  const ready = new Map(
    await Promise.all([
      ...s.workloads.map(async (w) => [w.name, isAlive(w.proxy.pid) && (await readyOf(w.proxy.admin))] as const),
      ...(s.controlPlane ?? []).map(async (c) => [c.name, isAlive(c.pid) && (await listening(c.addr))] as const),
    ]),
  );
  out(renderStatus(s, isAlive, ready));
  const healthy =
    isAlive(s.supervisorPid) && s.workloads.every((w) => isAlive(w.app.pid) && ready.get(w.name)) && (s.controlPlane ?? []).every((c) => isAlive(c.pid) && ready.get(c.name));
  return healthy ? 0 : 1;
}

async function logs(args: string[]): Promise<number> {
  const { stateDir, readState } = await import('../../dev-cluster/local/local-state');
  const isAlive = await isAliveFn();
  const names = args.filter((a) => !a.startsWith('-'));
  const unknown = args.filter((a) => a.startsWith('-') && !['--proxy', '-f', '--follow'].includes(a));
  if (names.length !== 1 || unknown.length > 0) return fail(`usage: weft local logs WORKLOAD [--proxy] [-f]${unknown.length ? ` (unknown option ${unknown[0]})` : ''}`, 2);
  const dir = stateDir();
  const s = await readState(dir);
  if (!s) return fail(`nothing running (no state in ${dir})`);
  const w = s.workloads.find((x) => x.name === names[0]);
  const c = (s.controlPlane ?? []).find((x) => x.name === names[0]);
  if (!w && !c) return fail(`no workload "${names[0]}" (running: ${[...s.workloads, ...(s.controlPlane ?? [])].map((x) => x.name).join(', ')})`);
  const path = w ? (args.includes('--proxy') ? w.proxy.log : w.app.log) : c!.log;
  const follow = args.includes('-f') || args.includes('--follow');
  let offset = 0;
  const pump = async (): Promise<void> => {
    const size = await stat(path).then((st) => st.size, () => 0);
    if (size <= offset) return;
    const fh = await open(path, 'r');
    try {
      const buf = Buffer.alloc(size - offset);
      await fh.read(buf, 0, buf.length, offset);
      offset = size;
      out(buf);
    } finally {
      await fh.close();
    }
  };
  await pump();
  if (!follow) return 0;
  let stop = false;
  const onSignal = (): void => void (stop = true);
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  while (!stop && isAlive(s.supervisorPid) && !terminal().closed('stdout')) {
    await new Promise((r) => setTimeout(r, 200));
    await pump();
  }
  await pump();
  process.off('SIGINT', onSignal);
  process.off('SIGTERM', onSignal);
  return 0;
}

/** Stops what a state records: the supervisor first (it stops the rest), then any straggler by PID. */
async function stopRecorded(dir: string): Promise<{ stopped: number; left: string[] }> {
  const { readState, recordedPids } = await import('../../dev-cluster/local/local-state');
  const isAlive = await isAliveFn();
  const s = await readState(dir);
  if (!s) return { stopped: 0, left: [] };
  const pids = recordedPids(s);
  const kill = (pid: number, sig: NodeJS.Signals): void => {
    try {
      process.kill(pid, sig);
    } catch {
      // gone already
    }
  };
  const waitGone = async (list: { pid: number }[], ms: number): Promise<void> => {
    const deadline = Date.now() + ms;
    while (Date.now() < deadline && list.some((p) => isAlive(p.pid))) await new Promise((r) => setTimeout(r, 50));
  };
  const wasAlive = pids.filter((p) => isAlive(p.pid));
  if (isAlive(s.supervisorPid)) {
    kill(s.supervisorPid, 'SIGTERM');
    await waitGone([{ pid: s.supervisorPid }], 15_000);
  }
  const rest = pids.filter((p) => p.pid !== s.supervisorPid && isAlive(p.pid));
  for (const p of rest) kill(p.pid, 'SIGTERM');
  await waitGone(rest, 3_000);
  for (const p of pids) {
    if (isAlive(p.pid)) kill(p.pid, 'SIGKILL');
    if (p.group) kill(-p.pid, 'SIGKILL');
  }
  await waitGone(pids, 2_000);
  const left = pids.filter((p) => isAlive(p.pid)).map((p) => `${p.name} (pid ${p.pid})`);
  if (left.length === 0) await rm(dir, { recursive: true, force: true });
  return { stopped: wasAlive.length, left };
}

async function down(): Promise<number> {
  const { stateDir, readState } = await import('../../dev-cluster/local/local-state');
  const dir = stateDir();
  if (!(await readState(dir))) {
    out(`nothing running (no state in ${dir})\n`);
    await rm(dir, { recursive: true, force: true });
    return 0;
  }
  const r = await stopRecorded(dir);
  if (r.left.length > 0) return fail(`still running after down: ${r.left.join(', ')}`);
  out(`stopped ${r.stopped} process${r.stopped === 1 ? '' : 'es'}; nothing left running; removed ${dir}\n`);
  return 0;
}
