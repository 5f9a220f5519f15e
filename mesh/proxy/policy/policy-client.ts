/**
 * The inbound policy from the control plane's policy service (mesh/control/policy/policy-server.ts):
 * one HTTP/2 session, one long-lived `POST /v1/inbound` stream naming this proxy's workload,
 * newline-delimited JSON answers, each a whole compiled table. When the service is unreachable,
 * silent (no heartbeat for `heartbeatTimeoutMs`) or sends something malformed, the client keeps the
 * last good table in force and reconnects with jittered exponential back-off; it never falls back to
 * a more permissive policy.
 */
import http2 from 'node:http2';
import type { InboundPolicyTable } from '../../control/policy/inbound-policy';
import type { WorkloadRequest } from '../../control/policy/policy-model';
import { decodeTable } from '../../control/policy/policy-wire';
import { backoffDelayMs } from '../discovery/destination-client';
import { formatAddr, type SocketAddr } from '../discovery/discovery';
import type { InboundPolicySource } from './policy-source';

/** Must match POLICY_INBOUND_PATH of mesh/control/policy/policy-server.ts. */
const INBOUND_PATH = '/v1/inbound';

export interface PolicyClientOptions {
  addr: SocketAddr;
  workload: WorkloadRequest;
  minBackoffMs?: number;
  maxBackoffMs?: number;
  /** No bytes for this long (3 heartbeats and a half by default) → reconnect. */
  heartbeatTimeoutMs?: number;
  log?: (level: 'info' | 'warn', msg: string, fields?: Record<string, unknown>) => void;
}

/** Pure: one line of the stream → a table, a heartbeat, or an error message. */
export function parsePolicyLine(line: string): { table: InboundPolicyTable; known: boolean } | 'heartbeat' | { error: string } {
  let msg: unknown;
  try {
    msg = JSON.parse(line);
  } catch {
    return { error: `policy service sent a line that is not JSON: ${line.slice(0, 80)}` };
  }
  if (typeof msg !== 'object' || msg === null) return { error: 'policy service sent a non-object line' };
  const m = msg as Record<string, unknown>;
  if (m['heartbeat'] === true) return 'heartbeat';
  const p = m['policy'] as { table?: unknown; workload?: { known?: unknown } } | undefined;
  if (!p || typeof p !== 'object') return { error: 'policy service sent a line without a policy' };
  const d = decodeTable(p.table);
  if (!d.ok) return { error: `policy service sent a ${d.error}` };
  return { table: d.table, known: p.workload?.known === true };
}

export class PolicyClient implements InboundPolicySource {
  private table: InboundPolicyTable | undefined;
  private lastLine: string | undefined;
  private readonly listeners: ((t: InboundPolicyTable) => void)[] = [];
  private session: http2.ClientHttp2Session | undefined;
  private failures = 0;
  private retryTimer: NodeJS.Timeout | undefined;
  private lastDataAt = 0;
  private readonly watchdog: NodeJS.Timeout;
  private closed = false;
  private inOutage = false;
  private resolveReady!: () => void;
  readonly ready: Promise<void>;

  constructor(private readonly o: PolicyClientOptions) {
    this.ready = new Promise((r) => (this.resolveReady = r));
    const silence = o.heartbeatTimeoutMs ?? 35_000;
    this.watchdog = setInterval(() => {
      const s = this.session;
      if (s && !s.destroyed && Date.now() - this.lastDataAt > silence) {
        this.outage(`policy service ${formatAddr(o.addr)} silent for ${silence} ms`);
        s.destroy();
      }
    }, Math.max(10, Math.floor(silence / 4)));
    this.watchdog.unref();
    this.connect();
  }

  current(): InboundPolicyTable | undefined {
    return this.table;
  }

  onTable(cb: (t: InboundPolicyTable) => void): void {
    this.listeners.push(cb);
  }

  close(): void {
    this.closed = true;
    clearInterval(this.watchdog);
    clearTimeout(this.retryTimer);
    this.session?.destroy();
    this.session = undefined;
  }

  private outage(why: string): void {
    if (this.inOutage) return;
    this.inOutage = true;
    this.o.log?.('warn', `policy: ${why}; ${this.table ? 'keeping the last-known policy' : 'no policy yet: inbound connections wait'}`);
  }

  private retry(): void {
    if (this.closed || this.retryTimer) return;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      this.connect();
    }, backoffDelayMs(this.failures++, this.o.minBackoffMs ?? 100, this.o.maxBackoffMs ?? 10_000, Math.random));
  }

  private connect(): void {
    if (this.closed) return;
    const s = http2.connect(`http://${formatAddr(this.o.addr)}`);
    this.session = s;
    this.lastDataAt = Date.now();
    let lastError: Error | undefined;
    s.on('error', (e) => (lastError = e));
    s.once('close', () => {
      if (this.session === s) this.session = undefined;
      if (this.closed) return;
      this.outage(`policy service ${formatAddr(this.o.addr)} unreachable (${lastError?.message ?? 'connection closed'})`);
      this.retry();
    });
    let req: http2.ClientHttp2Stream;
    try {
      req = s.request({ ':method': 'POST', ':path': INBOUND_PATH, 'content-type': 'application/json' });
    } catch {
      s.destroy();
      return;
    }
    req.end(JSON.stringify(this.o.workload));
    req.setEncoding('utf8');
    let status = 0;
    let buffer = '';
    req.on('response', (h) => (status = Number(h[':status'])));
    req.on('error', () => undefined);
    req.on('data', (chunk: string) => {
      this.lastDataAt = Date.now();
      buffer += chunk;
      if (status !== 200) return;
      let nl: number;
      while ((nl = buffer.indexOf('\n')) >= 0) {
        const line = buffer.slice(0, nl);
        buffer = buffer.slice(nl + 1);
        if (line.trim() !== '') this.onLine(line, s);
      }
    });
    req.once('close', () => {
      if (this.closed || this.session !== s) return;
      const why = status !== 200 && status !== 0 ? `answered ${status}: ${buffer.trim().slice(0, 300)}` : 'ended the policy stream';
      this.outage(`policy service ${why}`);
      s.close();
    });
  }

  private onLine(line: string, s: http2.ClientHttp2Session): void {
    const r = parsePolicyLine(line);
    if (r === 'heartbeat') return;
    if ('error' in r) {
      this.outage(r.error);
      return void s.destroy();
    }
    this.failures = 0;
    if (this.inOutage) this.o.log?.('info', 'policy: policy service reachable again');
    this.inOutage = false;
    if (line === this.lastLine) return;
    this.lastLine = line;
    this.table = r.table;
    if (!r.known) this.o.log?.('info', `policy: the policy service does not know workload ${this.o.workload.namespace}/${this.o.workload.name}; the table is compiled from what this proxy sent`);
    for (const l of this.listeners) l(r.table);
    this.resolveReady();
  }
}
