// The proxy benchmark of issue 2: `npm run bench:proxy` (builds dist/weft.js first). On demand only.
//
// In one run, against a tiny HTTP/1.1 backend in its own process, it measures:
//   - added latency p50/p99 (µs, versus the direct path) of one Weft hop in plaintext, one HAProxy hop,
//     and two Weft hops with mTLS (client proxy → server proxy → backend), at each rate, with an
//     open-loop generator in its own process (each request timed from its intended start);
//   - closed-loop maximum throughput of one proxy process versus HAProxy with one thread;
//   - CPU per 1,000 requests (/proc/PID/stat), RSS idle and under load (/proc/PID/status);
//   - full mTLS handshakes per second accepted by the server proxy;
// and prints PASS/FAIL per target (no assertions; exit 0). BENCH_SOAK_SECONDS=600 runs the soak mode
// instead: steady two-hop traffic, RSS sampled every 10 s, memory slope and a verdict.
//
// Environment: BENCH_SECONDS (10) per latency run, BENCH_ROUNDS (3) rounds whose medians are reported,
// BENCH_RATES (200,1000), BENCH_CONNECTIONS (8) open-loop keep-alive pool, BENCH_SPIN_US (1200; 0 = timers
// only), BENCH_THROUGHPUT_SECONDS (5), BENCH_THROUGHPUT_CONNECTIONS (64), BENCH_HANDSHAKE_SECONDS (5),
// BENCH_HANDSHAKE_CONCURRENCY (4), BENCH_SOAK_SECONDS (0 = off), BENCH_SOAK_RPS (500),
// BENCH_CPU_PROF_DIR (write --cpu-prof profiles of the Weft proxies there), BENCH_PATHS (comma-separated subset of
// weft-1hop,haproxy-1hop,weft-2hop-mtls; the direct path always runs), BENCH_PIN (1; 0 = no taskset
// pinning, better when other work already loads the cores).
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { mkdirSync, readFileSync } from 'node:fs';
import * as http from 'node:http';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createDevCa } from '../../mesh/control/identity/ca';
import { identityName } from '../../mesh/config/identity';
import { spawnProxy, type ProxyProcess } from '../../dev-cluster/local/proxy-process';
import { forkScript, type ChildMessage, type ScriptProcess } from './lib/child-script';
import { runGeneratorProcess } from './lib/generator-process';
import type { GeneratorConfig, GeneratorResult } from './lib/load-generator';
import { startHaproxy, type HaproxyProcess } from './lib/haproxy-runner';
import { cpuMsOf, pinToCore, rssMbOf, RssPeakSampler, rssSplitOf, type RssSplit } from './lib/process-stats';
import type { HandshakeLoopResult } from './lib/handshake-loop';
import { fmt, formatTarget, median, ratio, soakVerdict, table, target, type TargetResult } from './lib/bench-report';

const envNum = (name: string, dflt: number): number => {
  const v = process.env[name];
  const n = v === undefined || v === '' ? dflt : Number(v);
  if (!Number.isFinite(n) || n < 0) throw new Error(`${name}: expected a non-negative number, got "${v}"`);
  return n;
};

const SECONDS = envNum('BENCH_SECONDS', 10);
const ROUNDS = Math.max(1, Math.round(envNum('BENCH_ROUNDS', 3)));
const RATES = (process.env['BENCH_RATES'] ?? '200,1000').split(',').map(Number).filter((n) => n > 0);
const POOL = Math.max(1, Math.round(envNum('BENCH_CONNECTIONS', 8)));
const SPIN_US = envNum('BENCH_SPIN_US', 1200);
const TPUT_SECONDS = envNum('BENCH_THROUGHPUT_SECONDS', 5);
const TPUT_CONNS = Math.max(1, Math.round(envNum('BENCH_THROUGHPUT_CONNECTIONS', 64)));
const HS_SECONDS = envNum('BENCH_HANDSHAKE_SECONDS', 5);
const HS_CONCURRENCY = Math.max(1, Math.round(envNum('BENCH_HANDSHAKE_CONCURRENCY', 4)));
const SOAK_SECONDS = envNum('BENCH_SOAK_SECONDS', 0);
const SOAK_RPS = envNum('BENCH_SOAK_RPS', 500);
const PROF_DIR = process.env['BENCH_CPU_PROF_DIR'];
/** Paths to measure (the direct path is always measured: "added" is relative to it); default all. */
const ONLY_PATHS = (process.env['BENCH_PATHS'] ?? '').split(',').filter((s) => s !== '');
const WARMUP = Math.min(2, Math.max(0.5, SECONDS * 0.2));
/** The 1,000 RPS figures are the targets' reference rate; else the highest rate run. */
const REF_RATE = RATES.includes(1000) ? 1000 : Math.max(...RATES);

// Two cores: the generator and the backend on core 0, the proxy under test (Weft or HAProxy) on core 1.
const TWO_CORES = cpus().length >= 2 && envNum('BENCH_PIN', 1) !== 0;
const GEN_CORE = TWO_CORES ? 0 : undefined;
const BACKEND_CORE = TWO_CORES ? 0 : undefined;
const PROXY_CORE = TWO_CORES ? 1 : undefined;

const AUTHORITY = 'backend.bench:8080';
const SERVER_ID = identityName({ serviceAccount: 'backend', namespace: 'bench' });
const CLIENT_ID = identityName({ serviceAccount: 'loadgen', namespace: 'bench' });

const loadavg = (): string => readFileSync('/proc/loadavg', 'utf8').trim();
const log = (s = ''): void => console.log(s);
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

type TargetName = 'direct' | 'weft-1hop' | 'weft-1hop-node' | 'haproxy-1hop' | 'weft-2hop-mtls';
interface Path {
  name: TargetName;
  label: string;
  port: number;
  /** The proxy processes this path crosses (CPU and RSS are read from them). */
  pids: number[];
}

interface Rig {
  tmp: string;
  backend: ScriptProcess;
  backendPort: number;
  weft1: ProxyProcess;
  weft1Node: ProxyProcess;
  client: ProxyProcess;
  server: ProxyProcess;
  haproxy: HaproxyProcess;
  paths: Path[];
}

function yamlDestinations(endpoint: { addr: string; identity?: string; targetPort?: number }): string {
  const lines = ['destinations:', `  - authority: ${AUTHORITY}`, '    endpoints:', `      - addr: ${endpoint.addr}`];
  if (endpoint.identity) lines.push(`        identity: ${endpoint.identity}`);
  if (endpoint.targetPort) lines.push(`        targetPort: ${endpoint.targetPort}`);
  return lines.join('\n') + '\n';
}

function proxyNodeArgs(name: string): string[] {
  if (!PROF_DIR) return [];
  mkdirSync(PROF_DIR, { recursive: true });
  return ['--cpu-prof', `--cpu-prof-dir=${PROF_DIR}`, `--cpu-prof-name=${name}.cpuprofile`];
}

async function startWeft(name: string, env: Record<string, string>): Promise<ProxyProcess> {
  const p = await spawnProxy({ name, env: { WEFT_PROXY_SHUTDOWN_GRACE: '2s', ...env }, nodeArgs: proxyNodeArgs(name) });
  if (PROXY_CORE !== undefined) pinToCore(p.pid, PROXY_CORE);
  return p;
}

async function setUp(stack: (() => Promise<void>)[]): Promise<Rig> {
  const tmp = await mkdtemp(join(tmpdir(), 'weft-bench-proxy-'));
  stack.push(() => rm(tmp, { recursive: true, force: true }));
  const ca = await createDevCa();
  const serverDir = join(tmp, 'server-identity');
  const clientDir = join(tmp, 'client-identity');
  await ca.writeIdentity(serverDir, SERVER_ID);
  await ca.writeIdentity(clientDir, CLIENT_ID);

  const backend = forkScript('backend-server.ts', {}, { core: BACKEND_CORE });
  stack.push(() => backend.stop());
  const backendPort = (await backend.next<ChildMessage & { port: number }>(30_000)).port;

  const plainFile = join(tmp, 'plain-destinations.yaml');
  await writeFile(plainFile, yamlDestinations({ addr: `127.0.0.1:${backendPort}` }));
  const weft1 = await startWeft('weft-1hop', { WEFT_PROXY_UPSTREAMS: `${AUTHORITY}=127.0.0.1:0`, WEFT_PROXY_DESTINATION_FILE: plainFile });
  stack.push(() => weft1.stop());
  // The same proxy on node:http's HTTP/1.1 server and client (WEFT_PROXY_HTTP1_ENGINE=node): what the lean path saves.
  const weft1Node = await startWeft('weft-1hop-node', {
    WEFT_PROXY_UPSTREAMS: `${AUTHORITY}=127.0.0.1:0`,
    WEFT_PROXY_DESTINATION_FILE: plainFile,
    WEFT_PROXY_HTTP1_ENGINE: 'node',
  });
  stack.push(() => weft1Node.stop());

  const server = await startWeft('weft-server', {
    WEFT_PROXY_INBOUND_ADDR: '127.0.0.1:0',
    WEFT_PROXY_IDENTITY_DIR: serverDir,
    WEFT_PROXY_APP_PORT: String(backendPort),
  });
  stack.push(() => server.stop());
  const meshFile = join(tmp, 'mesh-destinations.yaml');
  await writeFile(meshFile, yamlDestinations({ addr: `127.0.0.1:${server.inbound!.port}`, identity: SERVER_ID, targetPort: backendPort }));
  const client = await startWeft('weft-client', {
    WEFT_PROXY_UPSTREAMS: `${AUTHORITY}=127.0.0.1:0`,
    WEFT_PROXY_DESTINATION_FILE: meshFile,
    WEFT_PROXY_IDENTITY_DIR: clientDir,
  });
  stack.push(() => client.stop());

  const haproxy = await startHaproxy(backendPort, { core: PROXY_CORE });
  stack.push(() => haproxy.stop());

  const paths: Path[] = [
    { name: 'direct', label: 'direct (no proxy)', port: backendPort, pids: [] },
    { name: 'weft-1hop', label: 'Weft 1 hop, plaintext', port: weft1.upstreams.get(AUTHORITY)!.port, pids: [weft1.pid] },
    { name: 'weft-1hop-node', label: 'Weft 1 hop, node:http engine', port: weft1Node.upstreams.get(AUTHORITY)!.port, pids: [weft1Node.pid] },
    { name: 'haproxy-1hop', label: 'HAProxy 1 hop (nbthread 1)', port: haproxy.port, pids: [haproxy.pid] },
    { name: 'weft-2hop-mtls', label: 'Weft 2 hops, mTLS', port: client.upstreams.get(AUTHORITY)!.port, pids: [client.pid, server.pid] },
  ];
  for (const p of paths) await checkPath(p);
  const measured = ONLY_PATHS.length === 0 ? paths : paths.filter((p) => p.name === 'direct' || ONLY_PATHS.includes(p.name));
  return { tmp, backend, backendPort, weft1, weft1Node, client, server, haproxy, paths: measured };
}

/** One request through a path before measuring it: a broken path is an error, not a figure. */
function checkPath(p: Path): Promise<void> {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port: p.port, path: '/', headers: { host: AUTHORITY }, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () =>
        res.statusCode === 200 && body === 'ok'
          ? resolve()
          : reject(new Error(`${p.label}: expected 200 "ok", got ${res.statusCode} ${JSON.stringify(body.slice(0, 200))} ${JSON.stringify(res.headers)}`)),
      );
    });
    req.setTimeout(10_000, () => req.destroy(new Error(`${p.label}: no answer in 10 s`)));
    req.on('error', reject);
  });
}

interface Measured {
  result: GeneratorResult;
  /** CPU ms used by each of the path's proxies during the run. */
  cpuMs: number[];
}

async function measure(p: Path, cfg: Omit<GeneratorConfig, 'host' | 'port' | 'authority'>, rss: RssPeakSampler[]): Promise<Measured> {
  const sampler = new RssPeakSampler(p.pids).start();
  rss.push(sampler);
  const before = p.pids.map(cpuMsOf);
  const result = await runGeneratorProcess({ ...cfg, host: '127.0.0.1', port: p.port, authority: AUTHORITY }, GEN_CORE);
  const cpuMs = p.pids.map((pid, i) => cpuMsOf(pid) - before[i]!);
  sampler.stop();
  return { result, cpuMs };
}

function peakRss(samplers: RssPeakSampler[], pid: number): number {
  return Math.max(0, ...samplers.map((s) => s.peakOf(pid) ?? 0));
}

async function runSuite(rig: Rig): Promise<void> {
  const weftPids = [rig.weft1.pid, rig.client.pid, rig.server.pid];
  await sleep(1000);
  const idleSplit = new Map([...weftPids, rig.haproxy.pid].map((pid) => [pid, rssSplitOf(pid)]));
  const idleRss = new Map([...idleSplit].map(([pid, s]) => [pid, s.rssKb / 1024]));
  const samplers: RssPeakSampler[] = [];

  // Latency: rounds × rates × paths (the path order rotates each round so no path always runs first).
  const lat = new Map<string, Measured[]>();
  const key = (name: TargetName, rate: number) => `${name}@${rate}`;
  for (let round = 0; round < ROUNDS; round++) {
    for (const rate of RATES) {
      const order = rig.paths.map((_, i) => rig.paths[(i + round) % rig.paths.length]!);
      for (const p of order) {
        process.stderr.write(`round ${round + 1}/${ROUNDS}  ${rate} RPS  ${p.label} …\n`);
        const m = await measure(p, { mode: 'open', rps: rate, seconds: SECONDS, warmupSeconds: WARMUP, connections: POOL, spinUs: SPIN_US }, samplers);
        lat.set(key(p.name, rate), [...(lat.get(key(p.name, rate)) ?? []), m]);
      }
    }
  }

  // Throughput: closed loop, TPUT_CONNS keep-alive connections.
  const tput = new Map<TargetName, Measured>();
  if (TPUT_SECONDS > 0) {
    for (const p of rig.paths) {
      process.stderr.write(`throughput  ${p.label} …\n`);
      tput.set(p.name, await measure(p, { mode: 'closed', seconds: TPUT_SECONDS, warmupSeconds: 1, connections: TPUT_CONNS }, samplers));
    }
  }

  // Full mTLS handshakes accepted by the server proxy.
  let hs: HandshakeLoopResult | undefined;
  let hsCpuMs = Number.NaN;
  if (HS_SECONDS > 0) {
    process.stderr.write('mTLS handshakes …\n');
    const sampler = new RssPeakSampler([rig.server.pid]).start();
    samplers.push(sampler);
    const before = cpuMsOf(rig.server.pid);
    const loop = forkScript(
      'handshake-loop.ts',
      {
        host: '127.0.0.1',
        port: rig.server.inbound!.port,
        expectedIdentity: SERVER_ID,
        identity: { certFile: join(rig.tmp, 'client-identity/tls.crt'), keyFile: join(rig.tmp, 'client-identity/tls.key'), trustAnchorsFile: join(rig.tmp, 'client-identity/ca.crt') },
        seconds: HS_SECONDS,
        concurrency: HS_CONCURRENCY,
      },
      { core: GEN_CORE },
    );
    try {
      hs = (await loop.next<ChildMessage & { result: HandshakeLoopResult }>(HS_SECONDS * 1000 + 60_000)).result;
    } finally {
      await loop.stop();
    }
    hsCpuMs = cpuMsOf(rig.server.pid) - before;
    sampler.stop();
  }

  // ---- Report ----
  const med = (name: TargetName, rate: number, f: (m: Measured) => number): number => median((lat.get(key(name, rate)) ?? []).map(f));
  /** Per round: this path's percentile minus the same round's direct percentile; then the median over rounds. */
  const added = (name: TargetName, rate: number, pct: 'p50' | 'p99'): number => {
    const ms = lat.get(key(name, rate)) ?? [];
    const ds = lat.get(key('direct', rate)) ?? [];
    return median(ms.map((m, i) => m.result.latencyUs[pct] - (ds[i]?.result.latencyUs[pct] ?? Number.NaN)));
  };

  log();
  log(`Latency, open loop (${ROUNDS} round(s) × ${SECONDS} s per path and rate, ${WARMUP} s warm-up, ${POOL} keep-alive connections; µs; medians over rounds)`);
  const rows: string[][] = [];
  for (const rate of RATES) {
    for (const p of rig.paths) {
      const ms = lat.get(key(p.name, rate)) ?? [];
      const errors = ms.reduce((s, m) => s + m.result.errors, 0);
      rows.push([
        p.label,
        fmt(rate),
        fmt(med(p.name, rate, (m) => m.result.rps)),
        fmt(med(p.name, rate, (m) => m.result.latencyUs.p50)),
        fmt(med(p.name, rate, (m) => m.result.latencyUs.p99)),
        p.name === 'direct' ? '—' : fmt(added(p.name, rate, 'p50')),
        p.name === 'direct' ? '—' : fmt(added(p.name, rate, 'p99')),
        fmt(med(p.name, rate, (m) => m.result.sendLagUs?.p99 ?? Number.NaN)),
        `${errors}${errors > 0 ? ` (${ms.find((m) => m.result.firstError)?.result.firstError ?? ''})` : ''}`,
      ]);
    }
  }
  log(table(['path', 'RPS', 'achieved', 'p50', 'p99', 'added p50', 'added p99', 'send lag p99', 'errors'], rows));
  log('(added = path − direct in the same round; send lag = how late the generator sent, charged to every path alike)');

  log();
  log('Ratios (added p50: Weft 1 hop / HAProxy 1 hop)');
  const ratios = new Map<number, number>();
  for (const rate of RATES) {
    const r = ratio(added('weft-1hop', rate, 'p50'), added('haproxy-1hop', rate, 'p50'), 1);
    ratios.set(rate, r);
    log(`  at ${fmt(rate)} RPS: Weft ${fmt(added('weft-1hop', rate, 'p50'))} µs / HAProxy ${fmt(added('haproxy-1hop', rate, 'p50'))} µs = ${fmt(r, 2)}×`);
  }

  log();
  log(`Maximum throughput, closed loop (${TPUT_CONNS} keep-alive connections, ${TPUT_SECONDS} s after 1 s warm-up)`);
  const tRows: string[][] = [];
  for (const p of rig.paths) {
    const m = tput.get(p.name);
    if (!m) continue;
    const cpu = m.cpuMs.reduce((s, x) => s + x, 0);
    tRows.push([
      p.label,
      fmt(m.result.rps),
      fmt(m.result.latencyUs.p50),
      fmt(m.result.latencyUs.p99),
      p.pids.length ? fmt((cpu / (TPUT_SECONDS + 1)) / 10, 0) + ' %' : '—',
      p.pids.length ? fmt(m.result.sent / (cpu / 1000)) : '—',
      String(m.result.errors),
    ]);
  }
  log(table(['path', 'req/s', 'p50 µs', 'p99 µs', 'proxy CPU', 'req per proxy CPU-s', 'errors'], tRows));
  const tputRatio = ratio(tput.get('weft-1hop')?.result.rps ?? Number.NaN, tput.get('haproxy-1hop')?.result.rps ?? Number.NaN);
  const w1 = tput.get('weft-1hop');
  const h1 = tput.get('haproxy-1hop');
  const perCpu = (m: Measured | undefined) => (m ? m.result.sent / (m.cpuMs.reduce((s, x) => s + x, 0) / 1000) : Number.NaN);
  log(`  Weft 1 hop / HAProxy 1 hop: ${fmt(tputRatio, 2)}× by req/s; ${fmt(ratio(perCpu(w1), perCpu(h1)), 2)}× by requests per CPU-second`);
  const wn = tput.get('weft-1hop-node');
  if (w1 && wn) log(`  Weft 1 hop, lean / node:http engine: ${fmt(ratio(w1.result.rps, wn.result.rps), 2)}× by req/s; ${fmt(ratio(perCpu(w1), perCpu(wn)), 2)}× by requests per CPU-second`);
  log(`  (direct req/s is the ceiling of this machine's generator + backend: a path near it is not the bottleneck)`);

  log();
  log(`CPU per 1,000 requests at ${fmt(REF_RATE)} RPS (utime+stime from /proc/PID/stat, 10 ms ticks; medians over rounds)`);
  const cpuPer1k = (name: TargetName, idx: number): number =>
    med(name, REF_RATE, (m) => (m.cpuMs[idx]! / m.result.sent) * 1000);
  log(`  Weft 1 hop proxy:        ${fmt(cpuPer1k('weft-1hop', 0), 1)} ms`);
  log(`  Weft 1 hop, node:http:   ${fmt(cpuPer1k('weft-1hop-node', 0), 1)} ms  (lean / node:http: ${fmt(ratio(cpuPer1k('weft-1hop', 0), cpuPer1k('weft-1hop-node', 0)), 2)}×)`);
  log(`  HAProxy 1 hop:           ${fmt(cpuPer1k('haproxy-1hop', 0), 1)} ms`);
  log(`  Weft 2 hops, client:     ${fmt(cpuPer1k('weft-2hop-mtls', 0), 1)} ms`);
  log(`  Weft 2 hops, server:     ${fmt(cpuPer1k('weft-2hop-mtls', 1), 1)} ms`);

  log();
  log('RSS (VmRSS, MB): idle = 1 s after start, before any traffic; under load = peak sampled every 250 ms during all load phases');
  log('  each as total = anon + file: anon is the process\'s own memory (heaps, buffers); file is mapped files\' pages,');
  log('  mostly the executable, which the machine\'s processes of the same binary share');
  const split = (s: RssSplit | undefined): string => (s ? `${fmt(s.rssKb / 1024, 1)} = ${fmt(s.anonKb / 1024, 1)} + ${fmt(s.fileKb / 1024, 1)}` : '-');
  const peakSplit = (pid: number): RssSplit | undefined =>
    samplers.map((sm) => sm.peakSplitOf(pid)).reduce<RssSplit | undefined>((a, b) => (b && (!a || b.rssKb > a.rssKb) ? b : a), undefined);
  const rssRows = [
    ['Weft 1 hop proxy', rig.weft1.pid],
    ['Weft client proxy', rig.client.pid],
    ['Weft server proxy', rig.server.pid],
    ['HAProxy', rig.haproxy.pid],
  ].map(([label, pid]) => [label as string, split(idleSplit.get(pid as number)), split(peakSplit(pid as number))]);
  log(table(['process', 'idle: total = anon + file', 'under load: total = anon + file'], rssRows));

  if (hs) {
    log();
    log(`Full mTLS handshakes (TLS 1.3, ECDSA P-256, both certificates verified, no resumption; ${HS_CONCURRENCY} loops in one client process)`);
    log(`  accepted by the server proxy: ${fmt(hs.handshakes / hs.seconds)} /s  (${hs.handshakes} in ${fmt(hs.seconds, 1)} s, ${hs.errors} errors${hs.firstError ? `: ${hs.firstError}` : ''})`);
    log(`  server proxy CPU: ${fmt(hsCpuMs / 1000 / hs.seconds * 100)} % of a core → ${fmt(hs.handshakes / (hsCpuMs / 1000))} handshakes per server CPU-second`);
  }

  const weftIdleMax = Math.max(...weftPids.map((pid) => idleRss.get(pid)!));
  const weftLoadMax = Math.max(...weftPids.map((pid) => peakRss(samplers, pid)));
  const targets: TargetResult[] = [
    ...RATES.map((rate) => target(`Weft 1 hop added p50 / HAProxy added p50 at ${fmt(rate)} RPS`, ratios.get(rate)!, '<=', 3, '×')),
    target(`2 hops mTLS added p50 at ${fmt(REF_RATE)} RPS`, added('weft-2hop-mtls', REF_RATE, 'p50'), '<=', 400, ' µs'),
    target(`2 hops mTLS added p99 at ${fmt(REF_RATE)} RPS`, added('weft-2hop-mtls', REF_RATE, 'p99'), '<=', 1500, ' µs'),
    target('throughput Weft 1 hop / HAProxy nbthread 1', tputRatio, '>=', 0.35, '×'),
    target('RSS idle (largest Weft proxy)', weftIdleMax, '<=', 50, 'MB'),
    target('RSS under load (largest Weft proxy)', weftLoadMax, '<=', 80, 'MB'),
  ];
  log();
  log('Targets (issue 2)');
  for (const t of targets) log(`  ${formatTarget(t)}`);
  log(`  (not run: no memory growth over a 10-minute soak — BENCH_SOAK_SECONDS=600 npm run bench:proxy)`);
}

async function runSoak(rig: Rig): Promise<void> {
  const pids = [
    ['Weft client proxy', rig.client.pid],
    ['Weft server proxy', rig.server.pid],
  ] as const;
  const path = rig.paths.find((p) => p.name === 'weft-2hop-mtls')!;
  log(`Soak: ${fmt(SOAK_SECONDS)} s of ${fmt(SOAK_RPS)} RPS open loop through ${path.label}; RSS every 10 s`);
  const samples = new Map<number, { tSec: number; rssMb: number }[]>(pids.map(([, pid]) => [pid, []]));
  const t0 = performance.now();
  const sample = () => {
    const tSec = (performance.now() - t0) / 1000;
    const cells = pids.map(([, pid]) => {
      const rssMb = rssMbOf(pid);
      samples.get(pid)!.push({ tSec, rssMb });
      return fmt(rssMb, 1);
    });
    log(`  t=${fmt(tSec).padStart(5)} s  ${pids.map(([label], i) => `${label} ${cells[i]} MB`).join('  ')}`);
  };
  sample();
  const timer = setInterval(sample, 10_000);
  let result: GeneratorResult;
  try {
    result = await runGeneratorProcess(
      { mode: 'open', host: '127.0.0.1', port: path.port, authority: AUTHORITY, rps: SOAK_RPS, seconds: SOAK_SECONDS, warmupSeconds: 0, connections: POOL, spinUs: 0 },
      GEN_CORE,
    );
  } finally {
    clearInterval(timer);
  }
  sample();
  log(`  traffic: ${result.ok} ok, ${result.errors} errors${result.firstError ? ` (${result.firstError})` : ''}; p50 ${fmt(result.latencyUs.p50)} µs, p99 ${fmt(result.latencyUs.p99)} µs`);
  log();
  log('Targets (issue 2)');
  const warmup = Math.min(60, SOAK_SECONDS / 5);
  for (const [label, pid] of pids) {
    const v = soakVerdict(samples.get(pid)!, warmup);
    log(`  ${v.grows ? 'FAIL' : 'PASS'}  no memory growth, ${label}: slope ${fmt(v.slopeMbPerMin, 2)} MB/min after ${fmt(warmup)} s, ${fmt(v.projectedMb, 1)} MB projected over the soak (grows if > 5 MB)`);
  }
}

async function main(): Promise<void> {
  log('Weft proxy benchmark');
  log(`/proc/loadavg at start: ${loadavg()}`);
  log(`node ${process.version}, ${cpus().length} cores (${cpus()[0]?.model ?? '?'}); pinning: ${TWO_CORES ? 'generator + backend on core 0, proxy under test on core 1' : 'none'}`);
  log(
    SOAK_SECONDS > 0
      ? `mode: soak, BENCH_SOAK_SECONDS=${SOAK_SECONDS}, BENCH_SOAK_RPS=${SOAK_RPS}`
      : `BENCH_SECONDS=${SECONDS} BENCH_ROUNDS=${ROUNDS} BENCH_RATES=${RATES.join(',')} BENCH_CONNECTIONS=${POOL} BENCH_SPIN_US=${SPIN_US}`,
  );
  const stack: (() => Promise<void>)[] = [];
  const cleanup = async (): Promise<void> => {
    for (const f of stack.splice(0).reverse()) await f().catch((e: Error) => console.error(`cleanup: ${e.message}`));
  };
  process.once('SIGINT', () => void cleanup().then(() => process.exit(130)));
  try {
    const rig = await setUp(stack);
    if (SOAK_SECONDS > 0) await runSoak(rig);
    else await runSuite(rig);
  } catch (err) {
    console.error(`benchmark failed: ${(err as Error).stack ?? String(err)}`);
    process.exitCode = 1;
  } finally {
    await cleanup();
  }
  log();
  log(`/proc/loadavg at end: ${loadavg()}`);
  if (PROF_DIR) log(`CPU profiles of the Weft proxies: ${PROF_DIR}`);
}

await main();
