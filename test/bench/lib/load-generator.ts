/**
 * The load generator, run as its own process (forkScript from child-script.ts). It keeps a pool of
 * keep-alive HTTP/1.1 connections over raw sockets (one request in flight per connection) and
 * either
 *  - open loop: sends requests at fixed intervals (OpenLoopSchedule) and times each from its INTENDED
 *    start into an hdr-histogram (µs); a request that finds no idle connection waits in a queue, and
 *    that wait is charged to it; or
 *  - closed loop: every connection sends its next request as soon as the previous response arrived
 *    (maximum throughput).
 * Config: JSON in argv[2] (GeneratorConfig). Result: one GeneratorResult message over IPC.
 */
import * as net from 'node:net';
import * as hdr from 'hdr-histogram-js';
import { Http1ResponseFramer } from './http1-response-parser';
import { OpenLoopSchedule, nextWake } from './open-loop-schedule';

export interface GeneratorConfig {
  mode: 'open' | 'closed';
  host: string;
  port: number;
  /** Host header (the authority the proxy routes by). */
  authority: string;
  path?: string;
  connections: number;
  seconds: number;
  /** Open loop: requests per second. */
  rps?: number;
  /** Requests in the first warmupSeconds are sent but not recorded. */
  warmupSeconds: number;
  /** Open loop: spin on setImmediate this close (µs) to each intended start; 0 = timers only. */
  spinUs?: number;
}

export interface LatencySummary {
  count: number;
  p50: number;
  p90: number;
  p99: number;
  p999: number;
  max: number;
  mean: number;
}

export interface GeneratorResult {
  mode: 'open' | 'closed';
  /** Requests sent, warm-up included (for CPU per request). */
  sent: number;
  /** Recorded requests (after warm-up) with a 2xx answer. */
  ok: number;
  /** Non-2xx answers, socket errors and requests never answered. */
  errors: number;
  firstError?: string;
  /** Measured seconds (after warm-up). */
  seconds: number;
  rps: number;
  /** From the intended start (open loop) or from the send (closed loop), µs. */
  latencyUs: LatencySummary;
  /** Open loop: how late requests left the generator (send − intended), µs; the generator's own error. */
  sendLagUs?: LatencySummary;
}

function histogram(): hdr.Histogram {
  return hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 60_000_000, numberOfSignificantValueDigits: 3 });
}

function summary(h: hdr.Histogram): LatencySummary {
  return {
    count: h.totalCount,
    p50: h.getValueAtPercentile(50),
    p90: h.getValueAtPercentile(90),
    p99: h.getValueAtPercentile(99),
    p999: h.getValueAtPercentile(99.9),
    max: h.maxValue,
    mean: h.mean,
  };
}

const nowNs = (): number => Number(process.hrtime.bigint());

interface Conn {
  socket: net.Socket;
  framer: Http1ResponseFramer;
  busy: boolean;
  /** Timing origin of the request in flight (intended start in open loop, send time in closed loop). */
  originNs: number;
  sentNs: number;
  record: boolean;
}

function connectAll(cfg: GeneratorConfig): Promise<net.Socket[]> {
  return Promise.all(
    Array.from(
      { length: cfg.connections },
      () =>
        new Promise<net.Socket>((resolve, reject) => {
          const s = net.connect({ host: cfg.host, port: cfg.port });
          s.setNoDelay(true);
          s.once('connect', () => {
            s.off('error', reject);
            resolve(s);
          });
          s.once('error', reject);
        }),
    ),
  );
}

export async function runGenerator(cfg: GeneratorConfig): Promise<GeneratorResult> {
  const request = Buffer.from(`GET ${cfg.path ?? '/'} HTTP/1.1\r\nHost: ${cfg.authority}\r\nUser-Agent: weft-bench\r\n\r\n`);
  const sockets = await connectAll(cfg);
  const lat = histogram();
  const lag = histogram();
  let ok = 0;
  let sent = 0;
  let errors = 0;
  let firstError: string | undefined;
  const fail = (msg: string, record: boolean): void => {
    if (record) errors++;
    firstError ??= msg;
  };

  const conns: Conn[] = sockets.map((socket) => ({ socket, framer: new Http1ResponseFramer(), busy: false, originNs: 0, sentNs: 0, record: false }));
  const idle: Conn[] = [...conns];
  const queue: number[] = []; // open loop: intended starts waiting for a connection
  let queueHead = 0;
  let onIdle: (c: Conn) => void = () => undefined;

  const send = (c: Conn, originNs: number, record: boolean): void => {
    c.busy = true;
    c.originNs = originNs;
    c.record = record;
    c.sentNs = nowNs();
    sent++;
    c.socket.write(request);
  };

  for (const c of conns) {
    c.socket.on('data', (chunk: Buffer) => {
      let statuses: number[];
      try {
        statuses = c.framer.feed(chunk);
      } catch (err) {
        fail(`framing: ${(err as Error).message}`, true);
        c.socket.destroy();
        return;
      }
      for (const status of statuses) {
        const t = nowNs();
        if (!c.busy) {
          fail(`unexpected response ${status}`, true);
          continue;
        }
        c.busy = false;
        if (c.record) {
          if (status >= 200 && status < 300) {
            ok++;
            lat.recordValue(Math.max(1, Math.round((t - c.originNs) / 1000)));
          } else fail(`status ${status}`, true);
        }
        onIdle(c);
      }
    });
    c.socket.on('error', (err) => fail(`socket: ${err.message}`, c.busy && c.record));
    c.socket.on('close', () => {
      const i = idle.indexOf(c);
      if (i >= 0) idle.splice(i, 1);
      if (c.busy && c.record) fail('connection closed with a request in flight', true);
      c.busy = true; // never used again
    });
  }

  const warmupNs = cfg.warmupSeconds * 1e9;
  const totalNs = (cfg.warmupSeconds + cfg.seconds) * 1e9;
  const start = nowNs() + 20e6;

  if (cfg.mode === 'closed') {
    const measureFrom = start + warmupNs;
    const end = start + totalNs;
    await new Promise<void>((resolve) => {
      let open = conns.length;
      onIdle = (c) => {
        const t = nowNs();
        if (t >= end) {
          if (--open === 0) resolve();
          return;
        }
        send(c, t, t >= measureFrom);
      };
      setTimeout(() => {
        for (const c of conns) onIdle(c);
      }, 20);
      // Whatever is still in flight long after the end is an error, not a hang.
      setTimeout(() => resolve(), (totalNs + 5e9) / 1e6 + 20).unref();
    });
    for (const s of sockets) s.destroy();
    return { mode: 'closed', sent, ok, errors, firstError, seconds: cfg.seconds, rps: ok / cfg.seconds, latencyUs: summary(lat) };
  }

  const rps = cfg.rps ?? 100;
  const schedule = new OpenLoopSchedule(start, rps, Math.round(rps * (cfg.warmupSeconds + cfg.seconds)));
  const recordFrom = start + warmupNs;
  const spinNs = (cfg.spinUs ?? 0) * 1000;
  let completed = 0;
  await new Promise<void>((resolve) => {
    const maybeDone = (): void => {
      if (completed === schedule.total) resolve();
    };
    const dispatch = (): void => {
      while (queueHead < queue.length && idle.length > 0) {
        const c = idle.pop()!;
        const intended = queue[queueHead++]!;
        const record = intended >= recordFrom;
        send(c, intended, record);
        if (record) lag.recordValue(Math.max(1, Math.round((c.sentNs - intended) / 1000)));
      }
      if (queueHead > 4096 && queueHead === queue.length) {
        queue.length = 0;
        queueHead = 0;
      }
    };
    onIdle = (c) => {
      completed++;
      idle.push(c);
      dispatch();
      maybeDone();
    };
    const tick = (): void => {
      const t = nowNs();
      for (const intended of schedule.takeDue(t)) queue.push(intended);
      dispatch();
      const w = nextWake(schedule.nextDueNs(), nowNs(), spinNs);
      if (w.kind === 'spin') setImmediate(tick);
      else if (w.kind === 'timer') setTimeout(tick, w.ms);
    };
    setTimeout(tick, 20);
    setTimeout(() => resolve(), (totalNs + 5e9) / 1e6 + 20).unref();
  });
  const unanswered = schedule.total - completed;
  if (unanswered > 0) fail(`${unanswered} requests unanswered at the end`, true);
  errors += Math.max(0, unanswered - 1);
  for (const s of sockets) s.destroy();
  return { mode: 'open', sent, ok, errors, firstError, seconds: cfg.seconds, rps: ok / cfg.seconds, latencyUs: summary(lat), sendLagUs: summary(lag) };
}

// Run as a child process: config in argv[2], result over IPC.
if (process.send && process.argv[2]) {
  const cfg = JSON.parse(process.argv[2]) as GeneratorConfig;
  runGenerator(cfg).then(
    (result) => process.send!({ type: 'result', result }, () => process.exit(0)),
    (err: Error) => process.send!({ type: 'error', message: err.message }, () => process.exit(1)),
  );
}
