/**
 * Endpoint death: one service, two server proxies each in front of its own app. One app dies
 * mid-run; with a retry policy (limit 1, http 5xx) every request still succeeds, and failure
 * accrual ejects the dead endpoint so it stops receiving traffic (client proxy metrics).
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import { after, before, test } from 'node:test';
import { formatAddr } from '../../mesh/proxy/discovery/discovery';
import { closeServer, listenLocal, startMesh, type Mesh } from '../helpers/mesh';
import { findSamples, parsePromText } from '../helpers/prometheus';

const LOOPS = 8;
const RUN_MS = 4_000;
const KILL_AT_MS = 1_000;

const served = [0, 0];
const apps = [0, 1].map((i) =>
  http.createServer((_req, res) => {
    served[i]!++;
    res.end(`app ${i}\n`);
  }),
);
let mesh: Mesh | undefined;
const agent = new http.Agent({ keepAlive: true, maxSockets: LOOPS });

interface RunResult {
  statuses: Map<number, number>;
  total: number;
  servedBeforeKill: number;
  dead: { mid: { success: number; failure: number }; end: { success: number; failure: number } };
  live: { success: number; failure: number };
}
let result: RunResult | undefined;

before(async () => {
  const ports = await Promise.all(apps.map((a) => listenLocal(a)));
  mesh = await startMesh({
    servers: ports.map((appPort) => ({ appPort })),
    profile: { retry: { limit: 1, http: ['5xx'] } },
  });
  result = await run(mesh);
});

after(async () => {
  agent.destroy();
  await mesh?.close();
  await Promise.all(apps.map((a) => closeServer(a)));
});

const errors: string[] = [];

function request(url: string): Promise<number> {
  return new Promise((resolve) => {
    http
      .get(url, { agent }, (res) => {
        res.resume();
        if (res.statusCode !== 200) errors.push(String(res.headers['weft-proxy-error']));
        res.on('end', () => resolve(res.statusCode ?? 0));
      })
      .on('error', () => resolve(-1))
      .setTimeout(10_000, function (this: http.ClientRequest) {
        this.destroy();
      });
  });
}

async function responsesTo(m: Mesh, endpoint: string): Promise<{ success: number; failure: number }> {
  const samples = findSamples(parsePromText(await m.metrics(m.client)), 'response_total', { direction: 'outbound', target_addr: endpoint });
  const sum = (c: string) => samples.filter((s) => s.labels['classification'] === c).reduce((a, s) => a + s.value, 0);
  return { success: sum('success'), failure: sum('failure') };
}

/** Request loops for RUN_MS; the second app dies at KILL_AT_MS. */
async function run(m: Mesh): Promise<RunResult> {
  const dead = formatAddr(m.servers[1]!.inbound);
  const alive = formatAddr(m.servers[0]!.inbound);
  const statuses = new Map<number, number>();
  const deadline = Date.now() + RUN_MS;
  const loop = async (): Promise<void> => {
    while (Date.now() < deadline) {
      const s = await request(m.url('/work'));
      statuses.set(s, (statuses.get(s) ?? 0) + 1);
    }
  };
  const loops = Array.from({ length: LOOPS }, loop);
  await new Promise((r) => setTimeout(r, KILL_AT_MS));
  const servedBeforeKill = served[1]!;
  await closeServer(apps[1]!);
  // Give failure accrual time to see its consecutive failures, then watch the dead endpoint.
  await new Promise((r) => setTimeout(r, 1_000));
  const mid = await responsesTo(m, dead);
  await Promise.all(loops);
  const end = await responsesTo(m, dead);
  const live = await responsesTo(m, alive);
  const total = [...statuses.values()].reduce((a, b) => a + b, 0);
  return { statuses, total, servedBeforeKill, dead: { mid, end }, live };
}

test('the dead endpoint is ejected by failure accrual and the live one takes the traffic', () => {
  const r = result!;
  const ok = r.statuses.get(200) ?? 0;
  assert.ok(r.total >= 50, `only ${r.total} requests`);
  assert.ok(r.servedBeforeKill > 0, 'both endpoints served traffic before the kill');
  assert.ok(ok / r.total >= 0.97, `only ${ok} of ${r.total} succeeded: ${errors.join(' | ')}`);
  // The dead endpoint answered 502 (from its server proxy) a few times, then was ejected: over the
  // last ~2 s only half-open probes (back-off ≥ 1 s) may reach it.
  assert.ok(r.dead.end.failure >= 1, 'the dead endpoint was never tried');
  assert.ok(r.dead.end.failure <= 20, `the dead endpoint got ${r.dead.end.failure} failing requests`);
  assert.ok(r.dead.end.failure - r.dead.mid.failure <= 3, `still ${r.dead.end.failure - r.dead.mid.failure} requests to the dead endpoint after ejection`);
  assert.equal(r.live.failure, 0);
  // Every 200 the client got was one endpoint's success (retried attempts count where they ran).
  assert.equal(r.live.success + r.dead.end.success, ok);
  assert.ok(r.live.success > r.dead.end.success, 'the live endpoint took most of the traffic');
});

// A retry goes to another endpoint than the one that just failed, so no failure reaches the client.
test('every request succeeds through the retry policy', () => {
  const r = result!;
  assert.deepEqual([...r.statuses.keys()], [200], `statuses: ${JSON.stringify([...r.statuses])}; ${errors.join(' | ')}`);
});
