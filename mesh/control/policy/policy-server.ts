/**
 * The policy service's thin server: HTTP/2 (h2c on loopback in local mode), one long-lived stream
 * per proxy. `POST /v1/inbound` with a JSON body `{namespace, name, labels?, ports?, annotations?,
 * probes?}` (the workload the proxy serves; `GET /v1/inbound?namespace=&name=` works too, for curl)
 * answers 200 with newline-delimited JSON: `{"policy": {"table": WireTable, "workload": {…}}}` at
 * once and again whenever that workload's compiled table changes, and `{"heartbeat": true}` every
 * `heartbeatMs` (10 s) so a proxy can tell a dead peer. A bad request gets 400 and a sentence.
 * Compiling is pure (policy-model.ts `answerLine`); this file only moves lines.
 *
 * ## The source contract (for mesh/platform/kube-policy-source.ts and any other feeder)
 *
 * A source implements `PolicyModelSource` (policy-model.ts):
 *
 *   interface PolicyModelSource {
 *     current(): PolicyModel;                                   // the whole model, now
 *     subscribe(listener: (m: PolicyModel) => void): () => void; // after every change; returns unsubscribe
 *   }
 *   interface PolicyModel {
 *     resources: PolicyResources;   // parsePolicyResources(objects) of resources.ts: Servers,
 *                                   // AuthorizationPolicies, MeshTLS/NetworkAuthentications, HTTPRoutes
 *     namespaces: ReadonlyMap<string, Record<string, string>>;   // namespace name → its annotations
 *     workloads: ReadonlyMap<string, WorkloadRecord>;           // `${namespace}/${name}` → facts
 *     meshDefaults: MeshPolicyDefaults;   // default inbound policy, cluster networks, trust domain
 *   }
 *
 * Rules: treat models as immutable (build a new one, or new maps, and pass it to the listeners; the
 * server keeps the one it got); call listeners as often as you like (bursts are coalesced to one
 * recompile per event-loop turn, and proxies only hear of tables that actually changed).
 * `workloads` is keyed by what proxies send as `namespace` and `name` (WEFT_PROXY_POLICY_WORKLOAD);
 * in Kubernetes that is the pod's namespace and name, and `workloadFromObject(pod)` (policy-file.ts)
 * turns a Pod into a WorkloadRecord (labels, container ports, annotations, HTTP probes). A workload
 * the source does not know is compiled from the facts the proxy sent. `MemoryPolicySource` is the
 * ready-made holder (tests; `weft policy -f` re-reads its files into one).
 */
import http2 from 'node:http2';
import { answerLine, parseWorkloadRequest, type PolicyModel, type PolicyModelSource, type WorkloadRequest } from './policy-model';
import { listen, streamServer } from '../listen';

export const POLICY_INBOUND_PATH = '/v1/inbound';
export const POLICY_HEARTBEAT_MS = 10_000;
const HEARTBEAT_LINE = Buffer.from('{"heartbeat":true}\n');
const MAX_BODY_BYTES = 64 * 1024;

export interface PolicyServerOptions {
  host: string;
  /** 0 picks a free port. */
  port: number;
  source: PolicyModelSource;
  heartbeatMs?: number;
  log?: (level: 'info' | 'warn', msg: string) => void;
}

export interface PolicyServer {
  host: string;
  port: number;
  /** Open policy streams. */
  watchCount(): number;
  /** Stops listening and ends every stream (proxies keep their last-known tables). */
  close(): Promise<void>;
}

/** The watchers of one request (same workload, same facts): compiled once per model change. */
interface Group {
  request: WorkloadRequest;
  streams: Set<http2.ServerHttp2Stream>;
  line: string;
}

/** A request's identity: equal requests share one compile. Keys are sorted so that order does not matter. */
function requestKey(r: WorkloadRequest): string {
  return JSON.stringify(r, (_k, v: unknown) => (v && typeof v === 'object' && !Array.isArray(v) ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => a.localeCompare(b))) : v));
}

export async function startPolicyServer(o: PolicyServerOptions): Promise<PolicyServer> {
  let model: PolicyModel = o.source.current();
  const groups = new Map<string, Group>();
  let count = 0;

  const compile = (request: WorkloadRequest): string | Error => {
    try {
      return answerLine(model, request);
    } catch (e) {
      return e as Error;
    }
  };

  let flush: NodeJS.Immediate | undefined;
  const unsubscribe = o.source.subscribe((m) => {
    model = m;
    flush ??= setImmediate(() => {
      flush = undefined;
      for (const g of groups.values()) {
        const line = compile(g.request);
        if (line instanceof Error) {
          o.log?.('warn', `policy for ${g.request.namespace}/${g.request.name} not recompiled (${line.message}); proxies keep the previous table`);
          continue;
        }
        if (line === g.line) continue;
        g.line = line;
        const bytes = Buffer.from(line);
        for (const s of g.streams) if (!s.destroyed && !s.closed) s.write(bytes);
      }
    });
  });

  const fail = (stream: http2.ServerHttp2Stream, status: number, msg: string): void => {
    if (stream.destroyed || stream.headersSent) return;
    stream.respond({ ':status': status, 'content-type': 'text/plain' });
    stream.end(`${msg}\n`);
  };

  const serve = (stream: http2.ServerHttp2Stream, body: unknown): void => {
    const parsed = parseWorkloadRequest(body);
    if (!parsed.ok) return fail(stream, 400, `bad policy request: ${parsed.errors.join('; ')}`);
    const key = requestKey(parsed.request);
    let g = groups.get(key);
    if (!g) {
      const line = compile(parsed.request);
      if (line instanceof Error) return fail(stream, 500, `policy for ${parsed.request.namespace}/${parsed.request.name} could not be compiled: ${line.message}`);
      g = { request: parsed.request, streams: new Set(), line };
      groups.set(key, g);
    }
    const group = g;
    if (stream.destroyed) return;
    stream.respond({ ':status': 200, 'content-type': 'application/x-ndjson', 'cache-control': 'no-store' });
    group.streams.add(stream);
    count++;
    stream.write(group.line);
    stream.once('close', () => {
      count--;
      group.streams.delete(stream);
      if (group.streams.size === 0 && groups.get(key) === group) groups.delete(key);
    });
  };

  const { server, close: closeServer } = streamServer();
  server.on('stream', (stream, headers) => {
    stream.on('error', () => undefined);
    const url = new URL(String(headers[':path'] ?? '/'), 'http://policy');
    const method = headers[':method'];
    if (url.pathname !== POLICY_INBOUND_PATH || (method !== 'POST' && method !== 'GET')) {
      return fail(stream, 404, `not found: ${String(method)} ${url.pathname} (try POST ${POLICY_INBOUND_PATH} with {"namespace": …, "name": …})`);
    }
    if (method === 'GET') {
      return serve(stream, { namespace: url.searchParams.get('namespace') ?? undefined, name: url.searchParams.get('name') ?? undefined });
    }
    const chunks: Buffer[] = [];
    let size = 0;
    stream.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY_BYTES) return fail(stream, 413, `policy request larger than ${MAX_BODY_BYTES} bytes`);
      chunks.push(c);
    });
    stream.once('end', () => {
      if (size > MAX_BODY_BYTES) return;
      let body: unknown;
      try {
        body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
      } catch {
        return fail(stream, 400, 'bad policy request: the body is not JSON');
      }
      serve(stream, body);
    });
  });

  const heartbeat = setInterval(() => {
    for (const g of groups.values()) for (const s of g.streams) if (!s.destroyed && !s.closed) s.write(HEARTBEAT_LINE);
  }, o.heartbeatMs ?? POLICY_HEARTBEAT_MS);
  heartbeat.unref();

  const port = await listen(server, o.port, o.host);
  o.log?.('info', `policy service listening on ${o.host}:${port} (h2c)`);

  let closing: Promise<void> | undefined;
  return {
    host: o.host,
    port,
    watchCount: () => count,
    close() {
      if (!closing) {
        unsubscribe();
        if (flush) clearImmediate(flush);
        clearInterval(heartbeat);
        closing = closeServer();
      }
      return closing;
    },
  };
}
