/**
 * The local mode's state directory (`.weft/local/` under the working directory, or
 * $WEFT_STATE_DIR): state.json records what `weft local up` started (PIDs, ports, log paths) so
 * that `status`, `logs` and `down` can find it from another process. Reading and writing only.
 */
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { isAbsolute, join, resolve } from 'node:path';

export const STATE_DIR_ENV = 'WEFT_STATE_DIR';
export const DEFAULT_STATE_DIR = join('.weft', 'local');
export const STATE_FILE = 'state.json';

export interface StateWorkload {
  /** The process name (`api`, or `api-0`, `api-1` for replicas). */
  name: string;
  workload: string;
  namespace: string;
  identity: string;
  app: { pid: number; log: string; command: string[] };
  proxy: { pid: number; log: string; admin: string; inbound?: string };
  /** Ports the app serves on 127.0.0.1. */
  ports: number[];
  /** Service authority → the local listener its proxy bound for the app. */
  upstreams: Record<string, string>;
}

/** A control-plane process (`weft-identity`, `weft-destination`, `weft-policy`): a process group like an app. */
export interface StateControlPlane {
  name: string;
  pid: number;
  /** Where it listens (host:port). */
  addr: string;
  log: string;
}

export interface LocalState {
  version: 1;
  status: 'starting' | 'running';
  /** The process that supervises everything; SIGTERM to it stops the whole run. */
  supervisorPid: number;
  topologyFile: string;
  startedAt: string;
  supervisorLog: string;
  workloads: StateWorkload[];
  /** The metrics API serving this run (`weft stat` finds it here). */
  metricsApi?: string;
  /** The identity and destination services the proxies use, and the policy service when the topology has policy settings. */
  controlPlane?: StateControlPlane[];
}

export function stateDir(env: NodeJS.ProcessEnv = process.env, cwd = process.cwd()): string {
  const given = env[STATE_DIR_ENV];
  if (given) return isAbsolute(given) ? given : resolve(cwd, given);
  return resolve(cwd, DEFAULT_STATE_DIR);
}

export async function readState(dir: string): Promise<LocalState | undefined> {
  let text: string;
  try {
    text = await readFile(join(dir, STATE_FILE), 'utf8');
  } catch {
    return undefined;
  }
  try {
    const s = JSON.parse(text) as LocalState;
    return s.version === 1 && typeof s.supervisorPid === 'number' && Array.isArray(s.workloads) ? s : undefined;
  } catch {
    return undefined;
  }
}

export async function writeState(dir: string, state: LocalState): Promise<void> {
  await mkdir(dir, { recursive: true });
  const path = join(dir, STATE_FILE);
  await writeFile(`${path}.tmp`, `${JSON.stringify(state, null, 2)}\n`);
  await rename(`${path}.tmp`, path);
}

/** Every PID a state records, with whether it leads a process group (apps do). */
export function recordedPids(s: LocalState): { name: string; pid: number; group: boolean }[] {
  const out = [{ name: 'supervisor', pid: s.supervisorPid, group: false }];
  for (const c of s.controlPlane ?? []) if (c.pid > 0) out.push({ name: c.name, pid: c.pid, group: true });
  for (const w of s.workloads) {
    if (w.app.pid > 0) out.push({ name: w.name, pid: w.app.pid, group: true });
    if (w.proxy.pid > 0) out.push({ name: `${w.name}-proxy`, pid: w.proxy.pid, group: false });
  }
  return out;
}

export interface StatusRow {
  name: string;
  app: string;
  proxy: string;
  ready: string;
  ports: string;
  inbound: string;
}

/**
 * The `weft local status` table. Pure: liveness and readiness are given (`ready` by workload name,
 * and by control-plane name: it accepts connections).
 */
export function renderStatus(s: LocalState, alive: (pid: number) => boolean, ready: ReadonlyMap<string, boolean>): string {
  const rows: StatusRow[] = s.workloads.map((w) => ({
    name: w.name,
    app: `${w.app.pid} ${alive(w.app.pid) ? 'running' : 'exited'}`,
    proxy: `${w.proxy.pid} ${alive(w.proxy.pid) ? 'running' : 'exited'}`,
    ready: ready.get(w.name) ? 'yes' : 'no',
    ports: w.ports.join(',') || '-',
    inbound: w.proxy.inbound ?? '-',
  }));
  const head: StatusRow = { name: 'WORKLOAD', app: 'APP PID', proxy: 'PROXY PID', ready: 'READY', ports: 'PORTS', inbound: 'PROXY INBOUND' };
  const cols = Object.keys(head) as (keyof StatusRow)[];
  const width = (k: keyof StatusRow): number => Math.max(...[head, ...rows].map((r) => r[k].length));
  const line = (r: StatusRow): string =>
    cols
      .map((k) => r[k].padEnd(width(k)))
      .join('  ')
      .trimEnd();
  const sup = `supervisor pid ${s.supervisorPid} ${alive(s.supervisorPid) ? 'running' : 'NOT RUNNING'} · ${s.status} since ${s.startedAt} · ${s.topologyFile}`;
  const cp = (s.controlPlane ?? []).map((c) => `${c.name} pid ${c.pid} ${alive(c.pid) ? 'running' : 'NOT RUNNING'} · ${c.addr} · ${ready.get(c.name) ? 'listening' : 'NOT LISTENING'}`);
  return `${[sup, ...cp].join('\n')}\n${[head, ...rows].map(line).join('\n')}\n`;
}
