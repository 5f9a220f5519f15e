/**
 * The local mode's process supervisor: starts app processes, each in its own process group, adopts
 * the proxies started by spawnProxy, and stops everything (newest first) on request, on SIGINT or
 * SIGTERM, on an uncaught error and, as a last resort, synchronously at process exit. A thin shell:
 * it decides nothing beyond "stop what was started".
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';

export interface ExitInfo {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface Supervised {
  name: string;
  pid: number;
  /** True when the process is its own process group leader (signals go to the whole group). */
  group: boolean;
  /** Resolves when the process has exited. */
  exited: Promise<ExitInfo>;
  hasExited(): boolean;
  /** The last lines the process wrote (stdout and stderr), newest last. */
  tail(): string[];
}

export interface SpawnAppOptions {
  name: string;
  command: string;
  args: string[];
  env: Record<string, string>;
  cwd?: string;
}

export interface SupervisorOptions {
  /** Each output line of a supervised app, e.g. for a log file. */
  onLog?: (name: string, line: string) => void;
  /** A supervised process exited while the supervisor was not stopping. */
  onUnexpectedExit?: (p: Supervised, info: ExitInfo) => void;
  /** SIGTERM first, SIGKILL after this long. Default 3 s. */
  graceMs?: number;
}

const TAIL_LINES = 50;

interface Entry extends Supervised {
  stop: (graceMs: number) => Promise<void>;
}

function signalTarget(p: { pid: number; group: boolean }): number {
  return p.group ? -p.pid : p.pid;
}

function trySignal(target: number, signal: NodeJS.Signals): void {
  try {
    process.kill(target, signal);
  } catch {
    // Already gone (ESRCH): nothing to stop.
  }
}

/**
 * True while a process with this PID exists (signal 0 probes without signalling) and is not a
 * zombie: a dead process that its parent (often PID 1, for a detached supervisor) has not reaped
 * yet still answers signal 0, but it runs nothing.
 */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return true; // No /proc (not Linux), or it exited just now: signal 0 said it was there.
  }
}

export class Supervisor {
  private readonly entries: Entry[] = [];
  private stopping: Promise<void> | undefined;

  constructor(private readonly opts: SupervisorOptions = {}) {}

  /** Every process started or adopted, oldest first. */
  processes(): readonly Supervised[] {
    return this.entries;
  }

  isStopping(): boolean {
    return this.stopping !== undefined;
  }

  /**
   * Starts an app as the leader of a new process group (so stopping it stops whatever it forked),
   * with stdin as a pipe that closes when this process dies: the demo apps exit when it does.
   */
  spawnApp(o: SpawnAppOptions): Supervised {
    if (this.stopping) throw new Error(`cannot start ${o.name}: shutting down`);
    const child = spawn(o.command, o.args, { env: o.env, cwd: o.cwd, detached: true, stdio: ['pipe', 'pipe', 'pipe'] });
    const lines: string[] = [];
    const collect = (stream: NodeJS.ReadableStream | null): void => {
      if (!stream) return;
      let buf = '';
      stream.setEncoding('utf8');
      stream.on('data', (chunk: string) => {
        buf += chunk;
        let nl: number;
        while ((nl = buf.indexOf('\n')) >= 0) {
          const line = buf.slice(0, nl);
          buf = buf.slice(nl + 1);
          lines.push(line);
          if (lines.length > TAIL_LINES) lines.shift();
          this.opts.onLog?.(o.name, line);
        }
      });
    };
    collect(child.stdout);
    collect(child.stderr);
    // A failed spawn (ENOENT) has no pid and emits 'error' then 'exit'/'close'.
    child.stdin?.on('error', () => undefined);
    return this.track(o.name, child, true, () => lines.slice());
  }

  /** Supervises a process started elsewhere (a proxy from spawnProxy). `stop` ends it gracefully. */
  adopt(name: string, child: ChildProcess, stop?: (graceMs: number) => Promise<void>): Supervised {
    return this.track(name, child, false, () => [], stop);
  }

  private track(name: string, child: ChildProcess, group: boolean, tail: () => string[], stop?: (graceMs: number) => Promise<void>): Supervised {
    let done = false;
    const exited = new Promise<ExitInfo>((resolve) => {
      const finish = (code: number | null, signal: NodeJS.Signals | null): void => {
        if (done) return;
        done = true;
        resolve({ code, signal });
      };
      if (child.exitCode !== null || child.signalCode !== null) finish(child.exitCode, child.signalCode);
      child.once('exit', finish);
      child.once('error', () => {
        if (child.pid === undefined) finish(null, null);
      });
    });
    const entry: Entry = {
      name,
      pid: child.pid ?? -1,
      group,
      exited,
      hasExited: () => done,
      tail,
      stop: async (graceMs) => {
        if (done || entry.pid < 0) return;
        if (stop) {
          await stop(graceMs);
          // The process is gone; a group leader's stragglers are not.
        } else {
          trySignal(signalTarget(entry), 'SIGTERM');
          const t = setTimeout(() => trySignal(signalTarget(entry), 'SIGKILL'), graceMs);
          await exited;
          clearTimeout(t);
        }
        if (group) trySignal(-entry.pid, 'SIGKILL');
      },
    };
    this.entries.push(entry);
    void exited.then((info) => {
      if (!this.stopping) this.opts.onUnexpectedExit?.(entry, info);
    });
    return entry;
  }

  /** Stops every process, newest first, each with SIGTERM then SIGKILL after the grace period. Idempotent. */
  stopAll(graceMs = this.opts.graceMs ?? 3_000): Promise<void> {
    this.stopping ??= (async () => {
      for (const e of [...this.entries].reverse()) await e.stop(graceMs).catch(() => undefined);
    })();
    return this.stopping;
  }

  /** Synchronous last resort (for process 'exit'): SIGKILL to every process and group still there. */
  killAllNow(): void {
    for (const e of this.entries) {
      if (e.pid < 0) continue;
      if (!e.hasExited()) trySignal(e.pid, 'SIGKILL');
      if (e.group) trySignal(-e.pid, 'SIGKILL');
    }
  }
}

/**
 * Routes SIGINT, SIGTERM, uncaught exceptions and unhandled rejections to `shutdown` (once), and
 * kills what is left synchronously at exit. Returns a function that removes the handlers.
 */
export function installShutdownHandlers(supervisor: Supervisor, shutdown: (reason: string, error?: unknown) => void): () => void {
  const onSignal = (signal: NodeJS.Signals): void => shutdown(signal);
  const onError = (err: unknown): void => shutdown('error', err);
  const onExit = (): void => supervisor.killAllNow();
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  process.on('SIGHUP', onSignal);
  process.on('uncaughtException', onError);
  process.on('unhandledRejection', onError);
  process.on('exit', onExit);
  return () => {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    process.off('SIGHUP', onSignal);
    process.off('uncaughtException', onError);
    process.off('unhandledRejection', onError);
    process.off('exit', onExit);
  };
}
