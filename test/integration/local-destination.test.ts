/**
 * Local mode's destination service, end to end with the real CLI: a 90/10 split measured at the
 * backends over 2,000 requests; `weft stat` against what the test sent (rate within tolerance,
 * response count and success rate exact for a known failure pattern); a weight edit in the topology
 * file reaching the proxies live; the destination service killed, traffic going on with the
 * last-known endpoints. Needs `npm run build` first.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { countingServer, freePorts, IDLE_APP, readRunState, until, weft, withDir } from '../helpers/local-run';

const SPLIT_REQUESTS = 2_000;
const FAIL_EVERY = 4;

const topology = (ports: { api: number; canary: number; flaky: number }, weights: [number, number]): string => `namespace: shop
workloads:
  - name: api
    command: [node, -e, ${JSON.stringify(countingServer('v1'))}]
    ports: [{ port: ${ports.api} }]
  - name: api-canary
    serviceAccount: api
    command: [node, -e, ${JSON.stringify(countingServer('canary'))}]
    ports: [{ port: ${ports.canary} }]
  - name: flaky
    command: [node, -e, ${JSON.stringify(countingServer('flaky', FAIL_EVERY))}]
    ports: [{ port: ${ports.flaky} }]
  - name: client
    command: [node, -e, ${JSON.stringify(IDLE_APP)}]
    upstreams: [api, flaky]
services:
  - name: api
    port: 80
    backends:
      - { workload: api, weight: ${weights[0]} }
      - { workload: api-canary, weight: ${weights[1]} }
`;

/** Sends `n` GETs over `concurrency` connections; returns the bodies by status. */
async function send(url: string, n: number, concurrency: number): Promise<{ bodies: Map<string, number>; failures: string[] }> {
  const bodies = new Map<string, number>();
  const failures: string[] = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < n) {
        next++;
        try {
          const r = await fetch(url);
          const body = await r.text();
          if (r.status === 200) bodies.set(body, (bodies.get(body) ?? 0) + 1);
          else failures.push(`${r.status} ${body}`);
        } catch (e) {
          failures.push((e as Error).message);
        }
      }
    }),
  );
  return { bodies, failures };
}

const count = async (port: number): Promise<number> => Number(await (await fetch(`http://127.0.0.1:${port}/count`)).text());

interface StatRow {
  name: string;
  responses: number;
  successRate?: number;
  rps: number;
}

async function statRow(env: Record<string, string>, name: string, window: string): Promise<StatRow | undefined> {
  const r = await weft(['stat', 'deploy', '-n', 'shop', '--window', window, '--json'], env);
  if (r.code !== 0) return undefined;
  return (JSON.parse(r.stdout) as { rows: StatRow[] }).rows.find((x) => x.name === name);
}

test('destination service in local mode: split within ±5 %, weft stat agrees, live weight edit, outage keeps endpoints', { timeout: 300_000 }, async () => {
  await withDir(async (dir, env) => {
    const ports = { api: await freePorts(), canary: await freePorts(), flaky: await freePorts() };
    const file = join(dir, 'topology.yaml');
    await writeFile(file, topology(ports, [90, 10]));
    const up = await weft(['local', 'up', '-f', file, '--detach'], env);
    assert.equal(up.code, 0, up.stdout + up.stderr);
    const state = await readRunState(env);
    const client = state.workloads.find((w) => w.name === 'client')!;
    const apiUrl = `http://${client.upstreams['api.shop:80']!}/`;
    const flakyUrl = `http://${client.upstreams[`flaky.shop:${ports.flaky}`]!}/`;

    // 1. The split, counted at the backends themselves (asked directly, not through the mesh).
    const split = await send(apiUrl, SPLIT_REQUESTS, 8);
    assert.deepEqual(split.failures.slice(0, 5), [], `${split.failures.length} failures`);
    const [v1, canary] = [await count(ports.api), await count(ports.canary)];
    assert.equal(v1 + canary, SPLIT_REQUESTS, 'every request reached exactly one backend once');
    assert.deepEqual([split.bodies.get('v1'), split.bodies.get('canary')], [v1, canary], 'what the client saw is what the backends counted');
    const share = (100 * v1) / SPLIT_REQUESTS;
    assert.ok(share >= 85 && share <= 95, `v1 got ${share.toFixed(1)} % (weight 90 ± 5)`);
    console.log(`split: v1 ${v1}, canary ${canary} of ${SPLIT_REQUESTS} (${share.toFixed(1)} / ${(100 - share).toFixed(1)})`);

    // 2. weft stat against a paced load with every 4th request failing at the backend.
    const paceMs = 25;
    const started = Date.now();
    let sent = 0;
    let statDuring: StatRow | undefined;
    let rateDuring = 0;
    const pacing = (async () => {
      while (Date.now() - started < 36_000 || sent % FAIL_EVERY !== 0) {
        const due = started + sent * paceMs;
        if (due > Date.now()) await new Promise((r) => setTimeout(r, due - Date.now()));
        sent++;
        const r = await fetch(flakyUrl);
        await r.arrayBuffer();
      }
    })();
    const sampling = (async () => {
      await new Promise((r) => setTimeout(r, 33_000));
      rateDuring = sent / ((Date.now() - started) / 1000);
      statDuring = await statRow(env, 'flaky', '30s');
    })();
    await Promise.all([pacing, sampling]);
    assert.ok(statDuring, 'weft stat answered during the load');
    assert.ok(Math.abs(statDuring.rps - rateDuring) <= 0.25 * rateDuring, `stat rps ${statDuring.rps.toFixed(1)} vs sent ${rateDuring.toFixed(1)}/s`);
    const final = await until(async () => {
      const row = await statRow(env, 'flaky', '2m');
      return row && row.responses === sent ? row : undefined;
    }, 30_000, 1_000);
    assert.ok(final, `weft stat counts every one of the ${sent} responses`);
    assert.equal(await count(ports.flaky), sent);
    assert.equal(final.successRate, 1 - 1 / FAIL_EVERY, 'success rate exactly 3/4');
    console.log(`stat: sent ${sent} at ${rateDuring.toFixed(1)}/s; stat ${statDuring.rps.toFixed(1)} rps (30 s window), ${final.responses} responses, success ${final.successRate}`);

    // 3. A weight edit in the topology file reaches the proxies through the destination service.
    const edited = Date.now();
    await writeFile(file, topology(ports, [0, 100]));
    let streak = 0;
    const moved = await until(async () => {
      const r = await fetch(apiUrl);
      streak = (await r.text()) === 'canary' ? streak + 1 : 0;
      return streak >= 30;
    }, 30_000, 20);
    assert.ok(moved, 'after the edit every request goes to the canary');
    const supervisorLog = await readFile(state.supervisorLog, 'utf8');
    assert.match(supervisorLog, /topology\.yaml edited: services updated: api\.shop:80 \(weights 0\/100\)/);
    console.log(`live edit: all traffic on the canary ${Date.now() - edited} ms after the file was written`);

    // 4. The destination service dies: proxies keep their last-known answers and traffic goes on.
    const destination = state.controlPlane!.find((c) => c.name === 'weft-destination')!;
    process.kill(destination.pid, 'SIGKILL');
    const noticed = await until(async () => (await readFile(client.proxy.log, 'utf8')).includes('keeping last-known endpoints'), 20_000, 100);
    assert.ok(noticed, 'the client proxy saw the destination service go');
    const during = await send(apiUrl, 200, 4);
    assert.deepEqual(during.failures, []);
    assert.deepEqual([...during.bodies], [['canary', 200]], 'the last-known split (0/100) still applies');
    const flakyDuring = await send(flakyUrl, 8, 1);
    assert.equal(flakyDuring.failures.length, 2, 'flaky still reached: its own every-4th failures only');
    const st = await weft(['local', 'status'], env);
    assert.equal(st.code, 1, 'status is unhealthy without the destination service');
    assert.match(st.stdout, new RegExp(`weft-destination pid ${destination.pid} NOT RUNNING`));
    assert.match(st.stdout, /weft-identity pid \d+ running · 127\.0\.0\.1:\d+ · listening/);
  });
});
