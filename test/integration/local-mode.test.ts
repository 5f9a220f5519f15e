/**
 * `weft local` end to end with the real CLI (bin/weft.js, built): up --detach → status → logs →
 * down with tiny `node -e` workloads behind mTLS proxies; a port already taken; an app that exits at
 * once. After each, nothing is left running: checked by PID and by scanning /proc for processes
 * that mention the test's own directory. Needs `npm run build` first.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import net from 'node:net';
import { join } from 'node:path';
import { alive, BIN, echoServer, freePorts, waitGone, waitNoneLeft, weft, withDir } from '../helpers/local-run';

const server = echoServer;
const CLIENT = `setInterval(()=>fetch(process.env.UPSTREAM_API_URL).then(r=>r.text()).then(t=>console.log('got '+t),e=>console.log('error '+e.message)),40)`;

test('up --detach, status, logs, down: replicas and a split behind mTLS, then nothing left running', { timeout: 120_000 }, async () => {
  assert.ok(existsSync(BIN), 'bin/weft.js');
  await withDir(async (dir, env) => {
    const apiPort = await freePorts(1);
    const v2Port = await freePorts();
    const file = join(dir, 'topology.yaml');
    await writeFile(
      file,
      `namespace: shop
workloads:
  - name: api
    replicas: 2
    command: [node, -e, ${JSON.stringify(server('api'))}]
    ports: [{ port: ${apiPort} }]
  - name: api-v2
    serviceAccount: api
    command: [node, -e, ${JSON.stringify(server('v2'))}]
    ports: [{ port: ${v2Port} }]
  - name: client
    command: [node, -e, ${JSON.stringify(CLIENT)}]
    upstreams: [api]
services:
  - name: api
    port: 80
    backends:
      - { workload: api, weight: 50 }
      - { workload: api-v2, weight: 50 }
`,
    );
    const upRes = await weft(['local', 'up', '-f', file, '--detach'], env);
    assert.equal(upRes.code, 0, upRes.stderr + upRes.stdout);
    assert.match(upRes.stdout, /client: app pid \d+, proxy pid \d+, identity client\.shop\.serviceaccount\.identity\.weft\.cluster\.local/);
    assert.match(upRes.stdout, /→ api\.shop:80 at http:\/\/127\.0\.0\.1:\d+/);
    const state = JSON.parse(readFileSync(join(env.WEFT_STATE_DIR, 'state.json'), 'utf8')) as { supervisorPid: number; workloads: { name: string; app: { pid: number }; proxy: { pid: number } }[] };
    assert.deepEqual(state.workloads.map((w) => w.name).sort(), ['api-0', 'api-1', 'api-v2', 'client']);
    const pids = [state.supervisorPid, ...state.workloads.flatMap((w) => [w.app.pid, w.proxy.pid])];
    assert.ok(pids.every(alive), 'every recorded process runs after up returns');

    const st = await weft(['local', 'status'], env);
    assert.equal(st.code, 0, st.stdout + st.stderr);
    for (const name of ['api-0', 'api-1', 'api-v2', 'client']) assert.match(st.stdout, new RegExp(`^${name}\\s+\\d+ running\\s+\\d+ running\\s+yes\\s`, 'm'));
    assert.match(st.stdout, new RegExp(`^api-1\\s.*\\s${apiPort + 1}\\s`, 'm'));

    // The client's log shows answers from both replicas and the split's other backend, over mTLS.
    let log = '';
    const deadline = Date.now() + 10_000;
    while (Date.now() < deadline) {
      log = (await weft(['local', 'logs', 'client'], env)).stdout;
      if ([`api ${apiPort} `, `api ${apiPort + 1} `, `v2 ${v2Port} `].every((s) => log.includes(s))) break;
      await new Promise((r) => setTimeout(r, 200));
    }
    assert.ok(log.includes(`got api ${apiPort} from client.shop.serviceaccount.identity.weft.cluster.local`), log.slice(-500));
    assert.ok(log.includes(`got api ${apiPort + 1} `), 'replica 1 answered');
    assert.ok(log.includes(`got v2 ${v2Port} `), 'the split sent some requests to api-v2');
    assert.ok(!log.includes('error '), log.slice(-500));
    // `weft stat` finds this run's metrics API in the state file and sees the client's traffic to api.
    let statRows: { name: string; rps: number; successRate?: number; meshedPods: number }[] = [];
    const statDeadline = Date.now() + 25_000;
    while (Date.now() < statDeadline) {
      const stat = await weft(['stat', 'deploy', '-n', 'shop', '--window', '15s', '--json'], env);
      if (stat.code === 0) statRows = (JSON.parse(stat.stdout) as { rows: typeof statRows }).rows;
      if (statRows.some((r) => r.name === 'api' && r.rps > 0)) break;
      await new Promise((r) => setTimeout(r, 1_000));
    }
    const apiRow = statRows.find((r) => r.name === 'api');
    assert.ok(apiRow && apiRow.rps > 0, `weft stat shows traffic to api: ${JSON.stringify(statRows)}`);
    assert.equal(apiRow.successRate, 1);
    assert.equal(apiRow.meshedPods, 2);
    const proxyLog = await weft(['local', 'logs', 'api-0', '--proxy'], env);
    assert.match(proxyLog.stdout, /"msg":"proxy ready"/);
    const unknown = await weft(['local', 'logs', 'nobody'], env);
    assert.equal(unknown.code, 1);
    assert.match(unknown.stderr, /no workload "nobody" \(running: api-0, api-1, api-v2, client, weft-identity, weft-destination\)/);

    const again = await weft(['local', 'up', '-f', file, '--detach'], env);
    assert.equal(again.code, 1);
    assert.match(again.stderr, /already running \(supervisor pid \d+/);

    // logs -f keeps printing new lines and ends by itself when the run is stopped.
    const follow = spawn(process.execPath, [BIN, 'local', 'logs', 'client', '-f'], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let followed = '';
    follow.stdout.setEncoding('utf8').on('data', (c: string) => (followed += c));
    const followExit = new Promise<number | null>((r) => follow.once('exit', (code) => r(code)));
    const until = async (cond: () => boolean): Promise<void> => {
      const end = Date.now() + 10_000;
      while (!cond() && Date.now() < end) await new Promise((r) => setTimeout(r, 50));
    };
    await until(() => followed.length > 0);
    const seen = followed.length;
    await until(() => followed.length > seen);
    assert.ok(followed.length > seen && seen > 0, 'new lines arrive while following');

    const downRes = await weft(['local', 'down'], env);
    assert.equal(await followExit, 0, 'logs -f ends when the supervisor is gone');
    assert.equal(downRes.code, 0, downRes.stderr);
    assert.match(downRes.stdout, /nothing left running/);
    assert.deepEqual(pids.filter(alive), [], 'every recorded PID is gone');
    assert.deepEqual(await waitNoneLeft(dir), []);
    assert.equal(existsSync(env.WEFT_STATE_DIR), false, 'state removed');
    const after = await weft(['local', 'status'], env);
    assert.equal(after.code, 1);
    assert.match(after.stdout, /nothing running/);
  });
});

test('foreground up: Ctrl-C (SIGINT) stops everything and removes the state', { timeout: 60_000 }, async () => {
  await withDir(async (dir, env) => {
    const port = await freePorts();
    const file = join(dir, 'topology.yaml');
    await writeFile(file, `workloads:\n  - name: api\n    command: [node, -e, ${JSON.stringify(server('api'))}]\n    ports: [{ port: ${port} }]\n`);
    const child = spawn(process.execPath, [BIN, 'local', 'up', '-f', file], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (c: string) => (out += c));
    const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
    const deadline = Date.now() + 30_000;
    while (!out.includes('Ctrl-C to stop') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    assert.match(out, /api: app pid \d+ on 127\.0\.0\.1:\d+, proxy pid \d+ inbound/);
    const pids = [...out.matchAll(/pid (\d+)/g)].map((m) => Number(m[1]));
    assert.equal(pids.length, 4, 'app, proxy, identity and destination services');
    assert.match(out, /identity service: https:\/\/127\.0\.0\.1:\d+ \(pid \d+, leaves 24h\)/);
    assert.match(out, /destination service: 127\.0\.0\.1:\d+ \(pid \d+;/);
    assert.ok(pids.every(alive));
    child.kill('SIGINT');
    assert.equal(await exited, 0, out);
    assert.match(out, /stopped; nothing left running/);
    assert.deepEqual(pids.filter(alive), []);
    assert.deepEqual(await waitNoneLeft(dir), []);
    assert.equal(existsSync(env.WEFT_STATE_DIR), false);
  });
});

test('the supervisor killed with SIGKILL: status says so, down still ends every recorded process', { timeout: 60_000 }, async () => {
  await withDir(async (dir, env) => {
    const port = await freePorts();
    const file = join(dir, 'topology.yaml');
    await writeFile(file, `workloads:\n  - name: api\n    command: [node, -e, ${JSON.stringify(server('api'))}]\n    ports: [{ port: ${port} }]\n  - name: client\n    command: [node, -e, ${JSON.stringify(CLIENT)}]\n    upstreams: [api]\n`);
    const upRes = await weft(['local', 'up', '-f', file, '--detach'], env);
    assert.equal(upRes.code, 0, upRes.stderr);
    const state = JSON.parse(readFileSync(join(env.WEFT_STATE_DIR, 'state.json'), 'utf8')) as { supervisorPid: number; workloads: { app: { pid: number }; proxy: { pid: number } }[] };
    const apps = state.workloads.map((w) => w.app.pid);
    process.kill(state.supervisorPid, 'SIGKILL');
    await waitGone(state.supervisorPid);
    const st = await weft(['local', 'status'], env);
    assert.equal(st.code, 1);
    assert.match(st.stdout, /supervisor pid \d+ NOT RUNNING/);
    // A silent app outlives its supervisor (one that writes dies of EPIPE): only down can end it.
    assert.ok(alive(apps[0]!), 'api (silent after start) is still running');
    const downRes = await weft(['local', 'down'], env);
    assert.equal(downRes.code, 0, downRes.stderr);
    assert.deepEqual(apps.filter(alive), []);
    assert.deepEqual(await waitNoneLeft(dir), []);
    assert.equal(existsSync(env.WEFT_STATE_DIR), false);
  });
});

test('a port already taken: a clear error naming the port and workload, nothing started, no state', { timeout: 60_000 }, async () => {
  await withDir(async (dir, env) => {
    const blocker = net.createServer();
    await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', r));
    const taken = (blocker.address() as net.AddressInfo).port;
    try {
      const free = await freePorts();
      const file = join(dir, 'topology.yaml');
      await writeFile(file, `workloads:\n  - name: a\n    command: [node, -e, ${JSON.stringify(server('a'))}]\n    ports: [{ port: ${free} }]\n  - name: b\n    command: [node, -e, ${JSON.stringify(server('b'))}]\n    ports: [{ port: ${taken} }]\n`);
      const r = await weft(['local', 'up', '-f', file, '--detach'], env);
      assert.equal(r.code, 1, r.stdout + r.stderr);
      assert.match(r.stderr, new RegExp(`port ${taken} on 127\\.0\\.0\\.1 is already in use: b's app needs it`));
      assert.equal(existsSync(join(env.WEFT_STATE_DIR, 'state.json')), false);
      assert.deepEqual(await waitNoneLeft(dir), []);
    } finally {
      await new Promise((r) => blocker.close(r));
    }
  });
});

test('an app that exits at once: its output in the error, everything started is stopped (by PID)', { timeout: 60_000 }, async () => {
  await withDir(async (dir, env) => {
    const port = await freePorts();
    const file = join(dir, 'topology.yaml');
    await writeFile(
      file,
      `workloads:\n  - name: api\n    command: [node, -e, ${JSON.stringify(server('api'))}]\n    ports: [{ port: ${port} }]\n  - name: client\n    command: [node, -e, "console.log('boom: no config'); process.exit(3)"]\n    upstreams: [api]\n`,
    );
    const r = await weft(['local', 'up', '-f', file, '--detach'], env);
    assert.equal(r.code, 1, r.stdout + r.stderr);
    assert.match(r.stderr, /client exited at start: boom: no config/);
    assert.match(r.stderr, /stopped everything that had started/);
    assert.deepEqual(await waitNoneLeft(dir), [], 'no app, proxy or supervisor left');
    assert.equal(existsSync(join(env.WEFT_STATE_DIR, 'state.json')), false);
    // A foreground run fails the same way, with the topology errors first when the file is wrong.
    await writeFile(file, `workloads:\n  - name: api\n    command: [node]\n    ports: [{ port: 0 }]\n`);
    const bad = await weft(['local', 'up', '-f', file], env);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, new RegExp(`${file.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}:4: workloads\\[0\\]\\.ports\\[0\\]\\.port: expected a number from 1 to 65535`));
  });
});
