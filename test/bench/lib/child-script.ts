/**
 * Runs one of the benchmark's TypeScript scripts (backend, load generator, handshake loop) as its own
 * Node process through tsx, with an IPC channel: the child answers with one message of
 * `{ type: 'ready' | 'result' | 'error', ... }`. Children exit when the parent goes away.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { pinToCore } from './process-stats';

export interface ChildMessage {
  type: 'ready' | 'result' | 'error';
  message?: string;
  [k: string]: unknown;
}

export interface ScriptProcess {
  child: ChildProcess;
  pid: number;
  /** The next message from the child (rejects on an 'error' message or an early exit). */
  next<T extends ChildMessage>(timeoutMs?: number): Promise<T>;
  stop(): Promise<void>;
}

export function scriptPath(name: string): string {
  return fileURLToPath(new URL(`./${name}`, import.meta.url));
}

export function forkScript(name: string, arg: unknown, opts: { core?: number; nodeArgs?: string[] } = {}): ScriptProcess {
  const child = fork(scriptPath(name), [JSON.stringify(arg)], {
    execArgv: ['--import', 'tsx', ...(opts.nodeArgs ?? [])],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  if (opts.core !== undefined && child.pid) pinToCore(child.pid, opts.core);
  const inbox: ChildMessage[] = [];
  const waiters: ((m: ChildMessage | Error) => void)[] = [];
  let exited = false;
  const exitPromise = new Promise<void>((r) => child.once('exit', () => ((exited = true), r())));
  child.on('message', (m: ChildMessage) => {
    const w = waiters.shift();
    if (w) w(m);
    else inbox.push(m);
  });
  child.once('exit', (code, signal) => {
    for (const w of waiters.splice(0)) w(new Error(`${name} exited (${signal ?? `code ${code}`}) before answering`));
  });
  return {
    child,
    pid: child.pid!,
    next<T extends ChildMessage>(timeoutMs = 120_000): Promise<T> {
      return new Promise<T>((resolve, reject) => {
        const settle = (m: ChildMessage | Error): void => {
          clearTimeout(timer);
          if (m instanceof Error) reject(m);
          else if (m.type === 'error') reject(new Error(`${name}: ${m.message ?? 'failed'}`));
          else resolve(m as T);
        };
        const timer = setTimeout(() => {
          const i = waiters.indexOf(settle);
          if (i >= 0) waiters.splice(i, 1);
          reject(new Error(`${name}: no answer within ${timeoutMs} ms`));
        }, timeoutMs);
        const queued = inbox.shift();
        if (queued) settle(queued);
        else if (exited) settle(new Error(`${name} has exited`));
        else waiters.push(settle);
      });
    },
    async stop() {
      if (exited) return;
      child.kill('SIGTERM');
      const t = setTimeout(() => child.kill('SIGKILL'), 3_000);
      await exitPromise;
      clearTimeout(t);
    },
  };
}
