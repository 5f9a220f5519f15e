/**
 * `weft demo` end to end with the real CLI (bin/weft.js, built): five workloads, each with its own
 * proxy and identity, mTLS between them, emoji and voting over gRPC, the voting canary behind a
 * 90/10 split. Checked through web's proxy, the metrics API and `weft stat --json`; Ctrl-C and
 * `weft demo --stop` leave no process behind (by PID). Needs `npm run build` first.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readState, recordedPids, type LocalState } from '../../dev-cluster/local/local-state';
import { isAlive } from '../../dev-cluster/local/supervisor';
import { fetchEdges, fetchStat } from '../../mesh/control/metrics-api/client';
import type { StatRow } from '../../mesh/control/metrics-api/aggregate';
import { EMOJIS, FAILING_SHORTCODE } from '../../dev-cluster/demo/emojis';

const BIN = fileURLToPath(new URL('../../bin/weft.js', import.meta.url));
const BUILT = fileURLToPath(new URL('../../dist/weft.js', import.meta.url));
const skip = !existsSync(BUILT) && 'run `npm run build` first';

interface Run {
  child: ChildProcess;
  stdout: () => string;
  stderr: () => string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** `weft demo ARGS` (or any weft command) with its own state dir, in its own process group (as a terminal would). */
function weft(args: string[], stateDir: string, cwd: string): Run {
  const child = spawn(process.execPath, [BIN, ...args], { cwd, stdio: ['ignore', 'pipe', 'pipe'], detached: true, env: { ...process.env, WEFT_STATE_DIR: stateDir, WEFT_METRICS_API: '' } });
  let out = '';
  let err = '';
  child.stdout!.setEncoding('utf8').on('data', (c: string) => (out += c));
  child.stderr!.setEncoding('utf8').on('data', (c: string) => (err += c));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((r) => child.once('close', (code, signal) => r({ code, signal })));
  return { child, stdout: () => out, stderr: () => err, exited };
}

async function until<T>(what: string, ms: number, probe: () => Promise<T | undefined> | T | undefined, why: () => string = () => ''): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`${what}: not within ${ms / 1000}s\n${why()}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** The demo's generated topology folder, from local up's "starting … from FILE" line. */
function topologyDirOf(out: string): string | undefined {
  return /from (\S+)\/demo-topology\.yaml/.exec(out)?.[1];
}

interface Sandbox {
  dir: string;
  stateDir: string;
  /** Every PID the run recorded, with process groups: what cleanup must end if the test fails. */
  pids: { pid: number; group: boolean }[];
}

async function sandbox(): Promise<Sandbox> {
  const dir = await mkdtemp(join(tmpdir(), 'weft-demo-test-'));
  return { dir, stateDir: join(dir, 'state'), pids: [] };
}

/** Ends whatever a failed run left (recorded PIDs, app groups), then removes the folders. */
async function cleanup(sb: Sandbox, runs: Run[]): Promise<void> {
  for (const r of runs) if (r.child.exitCode === null && r.child.signalCode === null) r.child.kill('SIGKILL');
  const s = await readState(sb.stateDir);
  const all = [...sb.pids, ...(s ? recordedPids(s) : [])];
  for (const p of all) {
    try {
      process.kill(p.group ? -p.pid : p.pid, 'SIGKILL');
    } catch {
      // gone
    }
  }
  for (const r of runs) {
    const t = topologyDirOf(r.stdout());
    if (t) await rm(t, { recursive: true, force: true });
  }
  await rm(sb.dir, { recursive: true, force: true });
}

/** The run's state once it says running; `run` (a foreground demo) must not exit meanwhile. */
async function running(sb: Sandbox, run: Run | undefined, ms: number): Promise<LocalState> {
  const s = await until('the demo running', ms, async () => {
    if (run && run.child.exitCode !== null) throw new Error(`weft demo exited (${run.child.exitCode}): ${run.stderr()}\n${run.stdout()}`);
    const st = await readState(sb.stateDir);
    return st?.status === 'running' && st.metricsApi ? st : undefined;
  });
  sb.pids.push(...recordedPids(s));
  return s;
}

const row = (rows: readonly StatRow[], name: string): StatRow | undefined => rows.find((r) => r.name === name);

test('weft demo: the page and API through web\'s proxy, failing votes for 💩, stats below 100 %, mTLS, a ~10 % canary; Ctrl-C leaves nothing', { skip, timeout: 120_000 }, async (t) => {
  const sb = await sandbox();
  const run = weft(['demo', '--no-tty', '--rps', '25', '--interval', '2s', '--window', '1m'], sb.stateDir, sb.dir);
  try {
    const state = await running(sb, run, 60_000);
    assert.equal(state.workloads.length, 5);
    const identity = (name: string): string => state.workloads.find((w) => w.name === name)!.identity;
    assert.equal(identity('voting-canary'), identity('voting'), 'the canary runs as the same ServiceAccount');
    assert.equal(identity('voting'), 'voting.demo.serviceaccount.identity.weft.cluster.local');

    const web = await until('the web URL printed', 10_000, () => /^web: +(http:\/\/127\.0\.0\.1:\d+\/)/m.exec(run.stdout())?.[1], run.stdout);
    assert.equal(web, `http://${state.workloads.find((w) => w.name === 'web')!.proxy.inbound}/`, "the printed URL is web's proxy inbound");
    assert.match(run.stdout(), new RegExp(`^metrics API: +${state.metricsApi}`, 'm'));

    // The page and the JSON API, through web's proxy (web → emoji and voting over gRPC, via its proxy).
    const page = await fetch(web);
    assert.equal(page.status, 200);
    const html = await page.text();
    assert.equal(html.match(/<button data-choice=/g)?.length, EMOJIS.length, 'one vote button per emoji, from the emoji service');
    const list = (await (await fetch(new URL('/api/list', web))).json()) as { shortcode: string }[];
    assert.deepEqual(
      list.map((e) => e.shortcode),
      EMOJIS.map((e) => e.shortcode),
    );
    const versions = new Set<string>();
    for (let i = 0; i < 5; i++) {
      const ok = await fetch(new URL('/api/vote?choice=:rocket:', web), { method: 'POST' });
      assert.equal(ok.status, 200);
      versions.add(((await ok.json()) as { version: string }).version);
      const bad = await fetch(new URL(`/api/vote?choice=${encodeURIComponent(FAILING_SHORTCODE)}`, web), { method: 'POST' });
      assert.equal(bad.status, 500);
      assert.match(((await bad.json()) as { error: string }).error, /always fails.*\[voting (v1|v2-canary)\]/);
    }
    assert.ok([...versions].every((v) => v === 'v1' || v === 'v2-canary'), [...versions].join());
    const board = (await (await fetch(new URL('/api/leaderboard', web))).json()) as { version: string; leaderboard: { shortcode: string; votes: number }[] };
    assert.ok(board.leaderboard.length > 0 && board.leaderboard.every((e, i, a) => i === 0 || a[i - 1]!.votes >= e.votes), 'a sorted leaderboard');

    // The metrics API: enough of the bot's votes seen by voting and its canary.
    const api = state.metricsApi!;
    const rows = await until(
      'at least 150 votes counted by voting and its canary',
      45_000,
      async () => {
        const r = await fetchStat(api, { kind: 'workload', namespace: 'demo', window: '1m' });
        if (!r.ok) return undefined;
        const v = (row(r.body.rows, 'voting')?.responses ?? 0) + (row(r.body.rows, 'voting-canary')?.responses ?? 0);
        return v >= 150 ? r.body.rows : undefined;
      },
      () => run.stdout().slice(-3000),
    );
    for (const name of ['web', 'emoji', 'voting', 'voting-canary']) {
      const r = row(rows, name);
      assert.ok(r && r.responses > 0 && r.meshedPods === 1, `${name} has meshed traffic: ${JSON.stringify(r)}`);
    }
    assert.equal(row(rows, 'emoji')!.successRate, 1, 'emoji never fails');
    for (const name of ['voting', 'web']) {
      const sr = row(rows, name)!.successRate!;
      assert.ok(sr < 1 && sr > 0.8, `${name} success rate below 100 % (1 emoji in 20 fails): ${sr}`);
    }
    const canary = row(rows, 'voting-canary')!.responses;
    const share = canary / (canary + row(rows, 'voting')!.responses);
    t.diagnostic(`canary share ${(share * 100).toFixed(1)} % of ${canary + row(rows, 'voting')!.responses} votes; success voting ${(row(rows, 'voting')!.successRate! * 100).toFixed(1)} %, web ${(row(rows, 'web')!.successRate! * 100).toFixed(1)} %`);
    assert.ok(share >= 0.03 && share <= 0.2, `the canary's share of voting's traffic is roughly 10 %: ${(share * 100).toFixed(1)} % of ${canary + row(rows, 'voting')!.responses}`);

    // Every edge is mTLS, with the identities of both ends.
    const edges = await fetchEdges(api, { namespace: 'demo', window: '1m' });
    assert.ok(edges.ok, edges.ok ? '' : edges.error);
    const pairs = edges.body.edges.map((e) => `${e.srcWorkload}->${e.dstService}:${e.mtls}`).sort();
    for (const want of ['vote-bot->web:yes', 'web->emoji:yes']) assert.ok(pairs.includes(want), `${want} in ${pairs.join(', ')}`);
    assert.ok(pairs.some((p) => /^web->voting(-canary)?:yes$/.test(p)), pairs.join(', '));
    assert.ok(edges.body.edges.every((e) => e.mtls === 'yes'), pairs.join(', '));

    // `weft stat --json` finds the run from the state dir and says the same.
    const stat = weft(['stat', '-n', 'demo', '--json', '--window', '1m'], sb.stateDir, sb.dir);
    const st = await stat.exited;
    assert.equal(st.code, 0, stat.stderr());
    const json = JSON.parse(stat.stdout()) as { rows: StatRow[] };
    assert.deepEqual(json.rows.map((r) => r.name).sort(), ['emoji', 'vote-bot', 'voting', 'voting-canary', 'web']);
    assert.ok(row(json.rows, 'voting')!.successRate! < 1 && row(json.rows, 'web')!.successRate! < 1);

    // The live table: weft stat's, with the canary's row and the mTLS edges.
    await until('a table with traffic', 15_000, () => (/^voting-canary +1\/1 +\d+\.\d+%/m.test(run.stdout()) ? true : undefined), () => run.stdout().slice(-3000));
    assert.match(run.stdout(), /^NAME +MESHED +SUCCESS +RPS +LATENCY_P50/m);
    assert.match(run.stdout(), /^web +voting(-canary)? +√ mTLS +\d+$/m);

    // Ctrl-C: SIGINT to the whole process group, as a terminal sends it.
    const pids = recordedPids(state);
    assert.ok(pids.length >= 1 + 5 * 2, `the supervisor, five apps and five proxies (and the control plane): ${pids.map((p) => p.name).join(', ')}`);
    const topologyDir = topologyDirOf(run.stdout());
    assert.ok(topologyDir && existsSync(topologyDir));
    process.kill(-run.child.pid!, 'SIGINT');
    const { code } = await until('exit after Ctrl-C', 30_000, () => (run.child.exitCode !== null ? run.exited : undefined));
    assert.equal(code, 0, run.stderr());
    assert.match(run.stdout(), /stopped; nothing left running\n$/);
    assert.deepEqual(
      pids.filter((p) => isAlive(p.pid)),
      [],
      'no process remains',
    );
    assert.ok(!existsSync(sb.stateDir), 'the state dir is removed');
    assert.ok(!existsSync(topologyDir), 'the generated topology is removed');
  } finally {
    await cleanup(sb, [run]);
  }
});

test('weft demo --detach returns with the web URL, state dir and metrics API; weft demo --stop ends it all', { skip, timeout: 90_000 }, async () => {
  const sb = await sandbox();
  const up = weft(['demo', '--detach', '--rps', '5'], sb.stateDir, sb.dir);
  const runs = [up];
  try {
    const { code } = await until('weft demo --detach to return', 60_000, () => (up.child.exitCode !== null ? up.exited : undefined));
    assert.equal(code, 0, up.stderr() + up.stdout());
    const state = await running(sb, undefined, 5_000);
    const out = up.stdout();
    const web = /^web: +(http:\S+)/m.exec(out)?.[1];
    assert.equal(web, `http://${state.workloads.find((w) => w.name === 'web')!.proxy.inbound}/`);
    assert.match(out, new RegExp(`^metrics API: +${state.metricsApi}`, 'm'));
    assert.match(out, new RegExp(`^state: +${sb.stateDir}$`, 'm'));
    assert.match(out, /weft demo --stop/);
    assert.ok(isAlive(state.supervisorPid), 'a supervisor runs in the background');
    const generated = topologyDirOf(out);
    assert.ok(generated && !existsSync(generated), 'the generated topology is gone once the supervisor runs (nothing for weft local down to leave)');
    const health = await fetch(new URL('/healthz', web));
    assert.equal(health.status, 200);
    const vote = await fetch(new URL('/api/vote?choice=:taco:', web), { method: 'POST' });
    assert.equal(vote.status, 200, await vote.text());

    const again = weft(['demo', '--detach'], sb.stateDir, sb.dir);
    runs.push(again);
    assert.equal((await again.exited).code, 1, 'a second demo on the same state is refused');
    assert.match(again.stderr(), /already running.*weft local down/);

    const stop = weft(['demo', '--stop'], sb.stateDir, sb.dir);
    runs.push(stop);
    assert.equal((await stop.exited).code, 0, stop.stderr());
    assert.match(stop.stdout(), /nothing left running/);
    assert.deepEqual(
      recordedPids(state).filter((p) => isAlive(p.pid)),
      [],
    );
    assert.ok(!existsSync(sb.stateDir));
    const topologyDir = topologyDirOf(out);
    assert.ok(topologyDir && !existsSync(topologyDir), 'the generated topology is removed once the supervisor runs');
  } finally {
    await cleanup(sb, runs);
  }
});

test("a port already taken: local up's clear error, exit 1, nothing started", { skip, timeout: 30_000 }, async () => {
  const sb = await sandbox();
  const blocker = net.createServer();
  await new Promise<void>((r) => blocker.listen({ host: '127.0.0.1', port: 0 }, r));
  const port = (blocker.address() as net.AddressInfo).port;
  const run = weft(['demo', '--port', String(port), '--no-tty'], sb.stateDir, sb.dir);
  try {
    const { code } = await until('weft demo to give up', 25_000, () => (run.child.exitCode !== null ? run.exited : undefined));
    assert.equal(code, 1);
    assert.match(run.stderr(), new RegExp(`port ${port} on 127\\.0\\.0\\.1 is already in use.*choose another port`));
    assert.match(run.stdout(), /stopped; nothing left running/);
    assert.ok(!existsSync(sb.stateDir) || !(await readState(sb.stateDir)), 'no state left');
  } finally {
    blocker.close();
    await cleanup(sb, [run]);
  }
});

test('bad options: usage and exit 2; --stop with nothing running is fine', { skip }, async () => {
  const sb = await sandbox();
  try {
    const bad = weft(['demo', '--rps', 'fast'], sb.stateDir, sb.dir);
    assert.equal((await bad.exited).code, 2);
    assert.match(bad.stderr(), /--rps: expected a rate.*"fast"/);
    assert.match(bad.stderr(), /usage: weft demo/);
    const stop = weft(['demo', '--stop'], sb.stateDir, sb.dir);
    assert.equal((await stop.exited).code, 0);
    assert.match(stop.stdout(), /no demo running/);
  } finally {
    await rm(sb.dir, { recursive: true, force: true });
  }
});
