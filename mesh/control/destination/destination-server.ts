/**
 * The destination service's thin server: HTTP/2 (h2c on loopback in local mode), one long-lived
 * stream per watch. `GET /v1/watch?authority=host:port` answers 200 with newline-delimited JSON:
 * `{"update": DestinationUpdate}` or `{"notFound": true}` at once and again on every change of that
 * authority, and `{"heartbeat": true}` every `heartbeatMs` (10 s) so clients can tell a dead peer.
 * With `&deltas=1`, a change that touches few endpoints comes as `{"delta":{"add":[Endpoint…],
 * "remove":["host:port"…]}}` on top of the previous answer (the first answer is always a snapshot).
 * Decisions live in DestinationIndex; this file only moves lines.
 */
import http2 from 'node:http2';
import { parseAddr } from '../../proxy/discovery/discovery';
import { DestinationIndex, type MeshModel } from './destination-model';
import type { ModelSource } from './model-source';
import { listen, streamServer } from '../listen';

export const DESTINATION_WATCH_PATH = '/v1/watch';
export const DESTINATION_HEARTBEAT_MS = 10_000;
export const HEARTBEAT_LINE = '{"heartbeat":true}\n';

export interface DestinationServerOptions {
  host: string;
  /** 0 picks a free port. */
  port: number;
  source: ModelSource;
  heartbeatMs?: number;
  /**
   * A watch whose unsent bytes exceed this (a stalled proxy) is closed rather than buffered without
   * bound: every answer is a full snapshot, so the proxy loses nothing by reconnecting (4 MiB).
   */
  maxBufferedBytes?: number;
  log?: (level: 'info' | 'warn', msg: string) => void;
}

export interface DestinationServer {
  host: string;
  port: number;
  /** Open watch streams. */
  watchCount(): number;
  /** Stops listening and ends every stream and session (clients see the service go away). */
  close(): Promise<void>;
}

export async function startDestinationServer(o: DestinationServerOptions): Promise<DestinationServer> {
  const index = new DestinationIndex();
  index.apply(o.source.current());
  const watches = new Map<string, Set<http2.ServerHttp2Stream>>();
  const deltaWatchers = new WeakSet<http2.ServerHttp2Stream>();
  const maxBuffered = o.maxBufferedBytes ?? 4 << 20;
  const send = (s: http2.ServerHttp2Stream, bytes: Buffer): void => {
    if (s.destroyed || s.closed) return;
    if (s.writableLength + bytes.length > maxBuffered) {
      o.log?.('warn', `closing a stalled watch (${s.writableLength} bytes unsent); the proxy will reconnect`);
      return void s.close(http2.constants.NGHTTP2_ENHANCE_YOUR_CALM);
    }
    s.write(bytes);
  };
  let count = 0;

  // Changes that arrive together (an informer's burst, a rolling restart) are applied once, on the
  // next turn of the event loop: proxies get the latest answer, not every intermediate one.
  let pending: MeshModel | undefined;
  let flush: NodeJS.Immediate | undefined;
  const unsubscribe = o.source.subscribe((model) => {
    pending = model;
    flush ??= setImmediate(() => {
      flush = undefined;
      const m = pending!;
      pending = undefined;
      for (const authority of index.apply(m)) {
        const set = watches.get(authority);
        if (!set) continue;
        // Encoded once for every watcher; watchers that asked for deltas get the (small) delta.
        const line = Buffer.from(index.line(authority));
        const delta = index.deltaLine(authority);
        const deltaBytes = delta === undefined ? line : Buffer.from(delta);
        for (const s of set) send(s, deltaWatchers.has(s) ? deltaBytes : line);
      }
    });
  });

  const { server, close: closeServer } = streamServer();
  server.on('stream', (stream, headers) => {
    stream.on('error', () => undefined);
    if (stream.destroyed) return;
    const url = new URL(String(headers[':path'] ?? '/'), 'http://destination');
    if (headers[':method'] !== 'GET' || url.pathname !== DESTINATION_WATCH_PATH) {
      stream.respond({ ':status': 404, 'content-type': 'text/plain' });
      return void stream.end(`not found: ${String(headers[':method'])} ${url.pathname} (try GET ${DESTINATION_WATCH_PATH}?authority=host:port)\n`);
    }
    const authority = url.searchParams.get('authority') ?? '';
    if (!parseAddr(authority)) {
      stream.respond({ ':status': 400, 'content-type': 'text/plain' });
      return void stream.end(`authority: expected host:port, got "${authority}"\n`);
    }
    stream.respond({ ':status': 200, 'content-type': 'application/x-ndjson', 'cache-control': 'no-store' });
    let set = watches.get(authority);
    if (!set) watches.set(authority, (set = new Set()));
    set.add(stream);
    if (url.searchParams.get('deltas') === '1') deltaWatchers.add(stream);
    count++;
    stream.write(index.line(authority));
    stream.once('close', () => {
      count--;
      set.delete(stream);
      if (set.size === 0 && watches.get(authority) === set) watches.delete(authority);
    });
  });

  const heartbeatBytes = Buffer.from(HEARTBEAT_LINE);
  const heartbeat = setInterval(() => {
    for (const set of watches.values()) for (const s of set) send(s, heartbeatBytes);
  }, o.heartbeatMs ?? DESTINATION_HEARTBEAT_MS);
  heartbeat.unref();

  const port = await listen(server, o.port, o.host);
  o.log?.('info', `destination service listening on ${o.host}:${port} (h2c)`);

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
