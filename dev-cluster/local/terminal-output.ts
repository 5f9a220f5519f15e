/**
 * The terminal of `weft local`: writes to stdout and stderr that survive the reader going away.
 * When stdout or stderr fails (EPIPE: `weft local up | head` after head exited; EIO: the terminal
 * closed), the stream is marked closed, later writes to it are dropped, and `onClosed` is called
 * once, so the caller decides what a lost terminal means (the foreground supervisor stops cleanly; a
 * detached one keeps running and logging to files). Without this, Node turns the write error into
 * an uncaught exception whose report is itself a failing write: a busy loop.
 */
import type { Writable } from 'node:stream';

export type StreamName = 'stdout' | 'stderr';

export interface Terminal {
  out(text: string | Uint8Array): void;
  err(text: string | Uint8Array): void;
  /** True once that stream failed (writes to it are dropped). */
  closed(stream: StreamName): boolean;
  /** Removes the error listeners. */
  dispose(): void;
}

export function guardTerminal(onClosed: (stream: StreamName, error: NodeJS.ErrnoException) => void = () => undefined, streams: Record<StreamName, Writable> = { stdout: process.stdout, stderr: process.stderr }): Terminal {
  const closed = new Set<StreamName>();
  let told = false;
  const listeners = (['stdout', 'stderr'] as const).map((name) => {
    const onError = (e: NodeJS.ErrnoException): void => {
      closed.add(name);
      if (told) return;
      told = true;
      onClosed(name, e);
    };
    streams[name].on('error', onError);
    return { name, onError };
  });
  const write = (name: StreamName, text: string | Uint8Array): void => {
    const s = streams[name];
    if (closed.has(name) || s.destroyed || s.writableEnded) return;
    try {
      s.write(text);
    } catch (e) {
      // A synchronous failure (a destroyed stream): the same as an 'error' event.
      closed.add(name);
      for (const l of listeners) if (l.name === name) l.onError(e as NodeJS.ErrnoException);
    }
  };
  return {
    out: (text) => write('stdout', text),
    err: (text) => write('stderr', text),
    closed: (name) => closed.has(name),
    dispose: () => {
      for (const l of listeners) streams[l.name].off('error', l.onError);
    },
  };
}
