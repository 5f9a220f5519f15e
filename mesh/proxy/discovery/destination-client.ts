/**
 * Discovery from the control plane's destination service (mesh/control/destination/): one HTTP/2
 * session to the service, one long-lived `GET /v1/watch?authority=` stream per watched authority,
 * newline-delimited JSON answers. When the service is unreachable the client reconnects with
 * jittered exponential back-off and reports `error` to the handlers once per outage; it never
 * drops endpoints: the last-known answer stays (and is what a new watch of that authority gets).
 * A session that sends nothing (not even a heartbeat) for `heartbeatTimeoutMs` is treated as dead.
 */
import http2 from 'node:http2';
import { formatAddr, parseAddr, type DestinationUpdate, type Endpoint, type Discovery, type DiscoveryHandlers, type DiscoveryWatch, type SocketAddr } from './discovery';

/** Must match mesh/control/destination/destination-server.ts (the proxy does not import the control plane). */
const WATCH_PATH = '/v1/watch';
const STREAM_WINDOW_BYTES = 1 << 20;
const SESSION_WINDOW_BYTES = 16 << 20;

export interface DestinationClientOptions {
  /** The destination service, `host:port`. */
  addr: string;
  minBackoffMs?: number;
  maxBackoffMs?: number;
  /** No bytes on the session for this long (3 heartbeats and a half by default) → reconnect. */
  heartbeatTimeoutMs?: number;
  random?: () => number;
  now?: () => number;
  log?: (level: 'warn' | 'info', msg: string) => void;
}

/** Jittered exponential back-off: pure given `random` (in [0, 1)). */
export function backoffDelayMs(failures: number, minMs: number, maxMs: number, random: () => number): number {
  const base = Math.min(maxMs, minMs * 2 ** Math.min(failures, 30));
  return Math.round(base * (0.5 + 0.5 * random()));
}

type Answer = { kind: 'update'; update: DestinationUpdate } | { kind: 'notFound' };
type Delta = { kind: 'delta'; add: Endpoint[]; remove: string[] };

const isEndpoint = (e: Endpoint | undefined): boolean => !!e && typeof e.addr?.host === 'string' && typeof e.addr.port === 'number';

/** Pure: one line of the watch stream → an answer, a delta, a heartbeat, or an error message. */
export function parseWatchLine(line: string): Answer | Delta | 'heartbeat' | { error: string } {
  let msg: unknown;
  try {
    msg = JSON.parse(line);
  } catch {
    return { error: `destination service sent a line that is not JSON: ${line.slice(0, 80)}` };
  }
  if (typeof msg !== 'object' || msg === null) return { error: 'destination service sent a non-object line' };
  const m = msg as Record<string, unknown>;
  if (m['heartbeat'] === true) return 'heartbeat';
  if (m['notFound'] === true) return { kind: 'notFound' };
  const u = m['update'] as DestinationUpdate | undefined;
  if (u && Array.isArray(u.endpoints) && typeof u.profile === 'object' && u.profile !== null && u.endpoints.every(isEndpoint)) {
    return { kind: 'update', update: u };
  }
  const d = m['delta'] as { add?: Endpoint[]; remove?: unknown[] } | undefined;
  if (d && Array.isArray(d.add) && Array.isArray(d.remove) && d.add.every(isEndpoint) && d.remove.every((r) => typeof r === 'string')) {
    return { kind: 'delta', add: d.add, remove: d.remove as string[] };
  }
  return { error: 'destination service sent a malformed update' };
}

/** Pure: the update a delta makes of the previous one (endpoints replaced or added by address, removed by address). */
export function applyDelta(prev: DestinationUpdate, d: { add: Endpoint[]; remove: string[] }): DestinationUpdate {
  const byAddr = new Map(prev.endpoints.map((e) => [formatAddr(e.addr), e]));
  for (const r of d.remove) byAddr.delete(r);
  for (const e of d.add) byAddr.set(formatAddr(e.addr), e);
  return { endpoints: [...byAddr.values()], profile: prev.profile };
}

interface WatchState {
  authority: string;
  handlers: Set<DiscoveryHandlers>;
  stream?: http2.ClientHttp2Stream;
  buffer: string;
  last?: Answer;
  lastLine?: string;
  /** `error` was reported since the last good answer (the next answer is delivered even if unchanged). */
  inError: boolean;
  failures: number;
  retryTimer?: NodeJS.Timeout;
}

export class DestinationClient implements Discovery {
  private readonly target: SocketAddr;
  private session?: http2.ClientHttp2Session;
  private sessionFailures = 0;
  private reconnectTimer?: NodeJS.Timeout;
  private readonly watches = new Map<string, WatchState>();
  private outage?: Error;
  private lastDataAt = 0;
  private readonly watchdog: NodeJS.Timeout;
  private closed = false;
  /** Why the watchdog ended the current session, if it did. */
  private silenced?: Error;
  private readonly minMs: number;
  private readonly maxMs: number;
  private readonly random: () => number;
  private readonly now: () => number;

  constructor(private readonly o: DestinationClientOptions) {
    const t = parseAddr(o.addr);
    if (!t) throw new Error(`destination service address: expected host:port, got "${o.addr}"`);
    this.target = t;
    this.minMs = o.minBackoffMs ?? 100;
    this.maxMs = o.maxBackoffMs ?? 10_000;
    this.random = o.random ?? Math.random;
    this.now = o.now ?? Date.now;
    const silence = o.heartbeatTimeoutMs ?? 35_000;
    this.watchdog = setInterval(() => {
      const s = this.session;
      if (s && !s.destroyed && this.watches.size > 0 && this.now() - this.lastDataAt > silence) {
        this.silenced = new Error(`destination service ${o.addr} silent for ${silence} ms`);
        s.destroy(); // no error code: the server is told a plain goodbye
      }
    }, Math.max(10, Math.floor(silence / 4)));
    this.watchdog.unref();
  }

  watch(authority: string, handlers: DiscoveryHandlers): DiscoveryWatch {
    let w = this.watches.get(authority);
    if (!w) {
      w = { authority, handlers: new Set(), buffer: '', inError: false, failures: 0 };
      this.watches.set(authority, w);
      if (this.session) this.openStream(w, this.session);
      else this.ensureSession();
    }
    const state = w;
    state.handlers.add(handlers);
    queueMicrotask(() => {
      if (this.closed || !state.handlers.has(handlers)) return;
      if (state.last) deliver(state.last, handlers);
      if (this.outage) handlers.error(this.outage);
    });
    return {
      close: () => {
        state.handlers.delete(handlers);
        if (state.handlers.size > 0 || this.watches.get(authority) !== state) return;
        this.watches.delete(authority);
        clearTimeout(state.retryTimer);
        const s = state.stream;
        state.stream = undefined;
        if (s && !s.destroyed) s.close(http2.constants.NGHTTP2_CANCEL);
      },
    };
  }

  close(): void {
    this.closed = true;
    clearInterval(this.watchdog);
    clearTimeout(this.reconnectTimer);
    for (const w of this.watches.values()) clearTimeout(w.retryTimer);
    this.watches.clear();
    this.session?.destroy();
    this.session = undefined;
  }

  private ensureSession(): void {
    if (this.closed || this.session || this.reconnectTimer) return;
    this.connect();
  }

  private connect(): void {
    // Large answers (a service with 1,000 endpoints is ~170 KB) must not wait on HTTP/2's 64 KiB
    // default flow-control windows: one round trip per window would add up across watches.
    const s = http2.connect(`http://${formatAddr(this.target)}`, { settings: { initialWindowSize: STREAM_WINDOW_BYTES } });
    this.session = s;
    this.lastDataAt = this.now();
    let lastError: Error | undefined;
    this.silenced = undefined;
    s.on('error', (err) => (lastError = err));
    s.on('connect', () => {
      this.lastDataAt = this.now();
      s.setLocalWindowSize(SESSION_WINDOW_BYTES);
    });
    s.once('close', () => {
      if (this.session !== s) return;
      this.session = undefined;
      for (const w of this.watches.values()) {
        w.stream = undefined;
        clearTimeout(w.retryTimer);
        w.retryTimer = undefined;
      }
      if (this.closed) return;
      this.fail(new Error(`destination service ${this.o.addr} unreachable (${(lastError ?? this.silenced)?.message ?? 'connection closed'}); keeping last-known endpoints`));
      const delay = backoffDelayMs(this.sessionFailures++, this.minMs, this.maxMs, this.random);
      this.reconnectTimer = setTimeout(() => {
        this.reconnectTimer = undefined;
        if (this.watches.size > 0) this.ensureSession();
      }, delay);
    });
    for (const w of this.watches.values()) this.openStream(w, s);
  }

  private openStream(w: WatchState, s: http2.ClientHttp2Session): void {
    // A session already destroyed but not yet 'close'd: its close handler reopens every watch.
    if (s.destroyed || s.closed) return;
    let req: http2.ClientHttp2Stream;
    try {
      req = s.request({ ':method': 'GET', ':path': `${WATCH_PATH}?authority=${encodeURIComponent(w.authority)}&deltas=1` });
    } catch {
      s.destroy(); // e.g. out of stream ids: a new session starts them again
      return;
    }
    w.stream = req;
    w.buffer = '';
    let status = 0;
    req.setEncoding('utf8');
    req.on('response', (h) => (status = Number(h[':status'])));
    req.on('error', () => undefined);
    req.on('data', (chunk: string) => {
      this.lastDataAt = this.now();
      if (w.stream !== req) return;
      if (status !== 200) {
        w.buffer += chunk;
        return;
      }
      // Only the new chunk is searched for line ends: a 170 KB answer arrives in many chunks.
      let start = 0;
      let nl: number;
      while ((nl = chunk.indexOf('\n', start)) >= 0) {
        const line = w.buffer + chunk.slice(start, nl);
        w.buffer = '';
        start = nl + 1;
        if (line.trim() !== '') this.onLine(w, line);
      }
      w.buffer += chunk.slice(start);
    });
    req.once('close', () => {
      if (w.stream !== req) return;
      w.stream = undefined;
      // A closed session is handled (and all streams reopened) by its own close handler.
      if (this.closed || this.session !== s || s.closed || s.destroyed || this.watches.get(w.authority) !== w) return;
      const why = status !== 200 && status !== 0 ? `answered ${status}: ${w.buffer.trim().slice(0, 200)}` : 'ended the watch';
      this.failWatch(w, new Error(`destination service ${why} for ${w.authority}; keeping last-known endpoints`));
      w.retryTimer = setTimeout(() => {
        w.retryTimer = undefined;
        if (this.session && !this.session.closed && this.watches.get(w.authority) === w && !w.stream) this.openStream(w, this.session);
      }, backoffDelayMs(w.failures++, this.minMs, this.maxMs, this.random));
    });
  }

  private onLine(w: WatchState, line: string): void {
    const a = parseWatchLine(line);
    if (a === 'heartbeat') return;
    if ('error' in a) return this.failWatch(w, new Error(a.error));
    let answer: Answer;
    if (a.kind === 'delta') {
      if (w.last?.kind !== 'update') {
        // Out of step with the server: a new stream starts with a snapshot.
        this.failWatch(w, new Error(`destination service sent a delta without a base for ${w.authority}`));
        return void w.stream?.close(http2.constants.NGHTTP2_CANCEL);
      }
      answer = { kind: 'update', update: applyDelta(w.last.update, a) };
    } else answer = a;
    this.sessionFailures = 0;
    this.outage = undefined;
    w.failures = 0;
    const changed = a.kind === 'delta' || line !== w.lastLine || w.inError;
    w.inError = false;
    w.last = answer;
    w.lastLine = a.kind === 'delta' ? undefined : line;
    if (changed) for (const h of [...w.handlers]) deliver(answer, h);
  }

  private fail(err: Error): void {
    if (!this.outage) this.o.log?.('warn', err.message);
    this.outage = err;
    for (const w of this.watches.values()) this.failWatch(w, err);
  }

  private failWatch(w: WatchState, err: Error): void {
    if (w.inError) return;
    w.inError = true;
    for (const h of [...w.handlers]) h.error(err);
  }
}

function deliver(a: Answer, h: DiscoveryHandlers): void {
  if (a.kind === 'update') h.update(a.update);
  else h.notFound();
}
