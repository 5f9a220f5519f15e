// Destination service benchmark: endpoint-change propagation to N proxies' DestinationClients and the
// server's RSS with 1,000 endpoints. Run on demand: node --import tsx test/bench/destination.bench.ts
// The server runs in its own process (its RSS is its own); the clients share this process, each with
// its own HTTP/2 session, as N proxies would each have one. Propagation is timed from the IPC message
// that changes the model to the moment the last client's handler sees the new endpoints (IPC included).
// Targets (issue 3): propagation ≤ 100 ms, server RSS with 1,000 endpoints ≤ 150 MB.
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { loadavg, tmpdir } from 'node:os';
import { mkdtemp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { DestinationClient } from '../../mesh/proxy/discovery/destination-client';
import { median } from './lib/bench-report';
import { RssPeakSampler, rssMbOf } from './lib/process-stats';

const PROPAGATION_TARGET_MS = 100;
const RSS_TARGET_MB = 150;
const ROUNDS = 20;

interface Shape {
  label: string;
  services: number;
  endpointsPerService: number;
  /** Authorities each client watches (svc-0 … svc-(k-1)); propagation is timed on svc-0. */
  watchedPerClient: number;
  /** What each change moves: svc-0's first endpoint (a pod restarted), or every endpoint. */
  scope: 'one' | 'all';
}

/**
 * The server process runs from an esbuild bundle (as `weft` ships), not through tsx, whose loader
 * would add ~25 MB to the RSS measured. Falls back to tsx if bundling fails.
 */
async function serverEntry(): Promise<{ file: string; execArgv: string[]; cleanup: () => Promise<void> }> {
  const src = fileURLToPath(new URL('./lib/destination-server-process.ts', import.meta.url));
  const dir = await mkdtemp(join(tmpdir(), 'weft-destination-bench-'));
  const cleanup = () => rm(dir, { recursive: true, force: true });
  try {
    const { build } = await import('esbuild');
    const file = join(dir, 'destination-server.mjs');
    await build({ entryPoints: [src], bundle: true, platform: 'node', format: 'esm', target: 'node20', outfile: file, logLevel: 'error' });
    return { file, execArgv: ['--expose-gc'], cleanup };
  } catch (e) {
    console.log(`(bundling failed, running through tsx: ${(e as Error).message})`);
    return { file: src, execArgv: ['--import', 'tsx', '--expose-gc'], cleanup };
  }
}
const entry = await serverEntry();

function startServer(shape: Shape) {
  const child = fork(entry.file, [JSON.stringify(shape)], {
    execArgv: entry.execArgv,
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const next = <T>(type: string): Promise<T> =>
    new Promise((resolve, reject) => {
      const on = (m: { type: string }) => {
        if (m.type !== type) return;
        child.off('message', on);
        resolve(m as T);
      };
      child.on('message', on);
      child.once('exit', () => reject(new Error('destination server exited')));
    });
  return { child, next };
}

const pct = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((xs.length * p) / 100))]!;

async function run(shape: Shape, clientCounts: number[]): Promise<{ rows: string[]; worstP95: number; peakRss: number; rssAfterGc: number }> {
  const srv = startServer(shape);
  const { port } = await srv.next<{ port: number }>('ready');
  const sampler = new RssPeakSampler([srv.child.pid!]).start(100);
  const idleRss = rssMbOf(srv.child.pid!);
  const rows: string[] = [];
  let worstP95 = 0;
  let rssAfterGc = 0;
  let version = 0;
  try {
    for (const n of clientCounts) {
      const clients = Array.from({ length: n }, () => new DestinationClient({ addr: `127.0.0.1:${port}` }));
      let want = -1;
      let firstAt = 0;
      let seen = 0;
      let done: (() => void) | undefined;
      const ready: Promise<void>[] = [];
      for (const c of clients) {
        for (let a = 0; a < shape.watchedPerClient; a++) {
          let first: (() => void) | undefined;
          ready.push(new Promise<void>((r) => (first = r)));
          c.watch(`svc-${a}.bench.svc.cluster.local:8080`, {
            update: (u) => {
              first?.();
              first = undefined;
              if (a !== 0 || !u.endpoints.some((e) => e.addr.port === 10_000 + want)) return;
              if (++seen === 1) firstAt = performance.now();
              if (seen === n) done?.();
            },
            notFound: () => undefined,
            error: (e) => console.error(`client error: ${e.message}`),
          });
        }
      }
      await Promise.all(ready);
      const times: number[] = [];
      const firsts: number[] = [];
      for (let i = 0; i < ROUNDS; i++) {
        want = ++version;
        seen = 0;
        const all = new Promise<void>((r) => (done = r));
        const t0 = performance.now();
        srv.child.send({ type: 'set', version: want, scope: shape.scope });
        await all;
        times.push(performance.now() - t0);
        firsts.push(firstAt - t0);
        await new Promise((r) => setTimeout(r, 30));
      }
      srv.child.send({ type: 'rss' });
      const rss = await srv.next<{ mb: number; watches: number }>('rss');
      rssAfterGc = Math.max(rssAfterGc, rss.mb);
      worstP95 = Math.max(worstP95, pct(times, 95));
      rows.push(`  ${String(n).padStart(4)} clients  ${String(rss.watches).padStart(6)} streams   first ${median(firsts).toFixed(1).padStart(6)} ms   all: median ${median(times).toFixed(1).padStart(6)} ms   p95 ${pct(times, 95).toFixed(1).padStart(6)} ms   max ${Math.max(...times).toFixed(1).padStart(6)} ms   server RSS after GC ${rss.mb.toFixed(0)} MB`);
      for (const c of clients) c.close();
    }
  } finally {
    sampler.stop();
    srv.child.kill('SIGTERM');
    rows.unshift(`${shape.label}: ${shape.services * shape.endpointsPerService} endpoints; server idle RSS ${idleRss.toFixed(0)} MB`);
  }
  return { rows, worstP95, peakRss: sampler.peakOf(srv.child.pid!) ?? 0, rssAfterGc };
}

console.log(`node ${process.version}, loadavg ${loadavg().map((x) => x.toFixed(2)).join(' ')}; ${ROUNDS} changes per row`);
const shapes: [Shape, number[]][] = [
  [{ label: '100 services × 10 endpoints, each client watches 10; one endpoint moves', services: 100, endpointsPerService: 10, watchedPerClient: 10, scope: 'one' }, [1, 10, 100]],
  [{ label: '100 services × 10 endpoints, each client watches 10; every endpoint moves (worst case)', services: 100, endpointsPerService: 10, watchedPerClient: 10, scope: 'all' }, [100]],
  [{ label: '1 service × 1,000 endpoints (~170 KB per answer); one endpoint moves', services: 1, endpointsPerService: 1_000, watchedPerClient: 1, scope: 'one' }, [1, 10, 100]],
];
let pass = true;
// The bundle's temp dir goes even when a run fails or is interrupted.
const onSignal = () => void entry.cleanup().finally(() => process.exit(130));
process.once('SIGINT', onSignal);
process.once('SIGTERM', onSignal);
try {
  for (const [shape, counts] of shapes) {
    const r = await run(shape, counts);
    for (const row of r.rows) console.log(row);
    console.log(`  server peak RSS ${r.peakRss.toFixed(0)} MB`);
    const ok = r.worstP95 <= PROPAGATION_TARGET_MS && r.peakRss <= RSS_TARGET_MB;
    console.log(`  ${ok ? 'PASS' : 'FAIL'}: propagation p95 ${r.worstP95.toFixed(1)} ms (target ≤ ${PROPAGATION_TARGET_MS}), peak RSS ${r.peakRss.toFixed(0)} MB (target ≤ ${RSS_TARGET_MB})`);
    pass &&= ok;
  }
} finally {
  await entry.cleanup();
}
process.exitCode = pass ? 0 : 1;
