import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readState, recordedPids, renderStatus, stateDir, writeState, type LocalState } from '../../../dev-cluster/local/local-state';
import { parseUpArgs } from '../../../mesh/cli/local.command';

const STATE: LocalState = {
  version: 1,
  status: 'running',
  supervisorPid: 100,
  topologyFile: '/t/topology.yaml',
  startedAt: '2026-01-01T00:00:00.000Z',
  supervisorLog: '/s/supervisor.log',
  controlPlane: [
    { name: 'weft-identity', pid: 90, addr: '127.0.0.1:41001', log: '/s/logs/weft-identity.log' },
    { name: 'weft-destination', pid: 91, addr: '127.0.0.1:41002', log: '/s/logs/weft-destination.log' },
  ],
  workloads: [
    { name: 'api', workload: 'api', namespace: 'shop', identity: 'api.shop', app: { pid: 101, log: '/s/logs/api.log', command: ['node'] }, proxy: { pid: 102, log: '/s/logs/api-proxy.log', admin: '127.0.0.1:1', inbound: '127.0.0.1:2' }, ports: [8080], upstreams: {} },
    { name: 'client', workload: 'client', namespace: 'shop', identity: 'client.shop', app: { pid: 103, log: '/s/logs/client.log', command: ['node'] }, proxy: { pid: 104, log: '/s/logs/client-proxy.log', admin: '127.0.0.1:3' }, ports: [], upstreams: { 'api.shop:8080': '127.0.0.1:4' } },
  ],
};

test('stateDir: $WEFT_STATE_DIR (relative to cwd) or .weft/local', () => {
  assert.equal(stateDir({}, '/w'), '/w/.weft/local');
  assert.equal(stateDir({ WEFT_STATE_DIR: 'st' }, '/w'), '/w/st');
  assert.equal(stateDir({ WEFT_STATE_DIR: '/abs' }, '/w'), '/abs');
});

test('state.json round-trips; a missing or foreign file reads as no state', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'weft-state-'));
  try {
    assert.equal(await readState(dir), undefined);
    await writeState(dir, STATE);
    assert.deepEqual(await readState(dir), STATE);
    await writeFile(join(dir, 'state.json'), '{"version":2}');
    assert.equal(await readState(dir), undefined);
    await writeFile(join(dir, 'state.json'), 'not json');
    assert.equal(await readState(dir), undefined);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('recordedPids: the supervisor, the control plane and every app (process groups), every proxy', () => {
  assert.deepEqual(recordedPids(STATE), [
    { name: 'supervisor', pid: 100, group: false },
    { name: 'weft-identity', pid: 90, group: true },
    { name: 'weft-destination', pid: 91, group: true },
    { name: 'api', pid: 101, group: true },
    { name: 'api-proxy', pid: 102, group: false },
    { name: 'client', pid: 103, group: true },
    { name: 'client-proxy', pid: 104, group: false },
  ]);
});

test('renderStatus: the control plane, then liveness by PID, readiness, ports and inbound per workload', () => {
  const text = renderStatus(STATE, (pid) => pid !== 103 && pid !== 91, new Map([['api', true], ['client', false], ['weft-identity', true]]));
  const lines = text.trimEnd().split('\n');
  assert.match(lines[0]!, /^supervisor pid 100 running · running since 2026-01-01T00:00:00.000Z · \/t\/topology.yaml$/);
  assert.equal(lines[1], 'weft-identity pid 90 running · 127.0.0.1:41001 · listening');
  assert.equal(lines[2], 'weft-destination pid 91 NOT RUNNING · 127.0.0.1:41002 · NOT LISTENING');
  assert.deepEqual(lines.slice(3).map((l) => l.split(/\s{2,}/)), [
    ['WORKLOAD', 'APP PID', 'PROXY PID', 'READY', 'PORTS', 'PROXY INBOUND'],
    ['api', '101 running', '102 running', 'yes', '8080', '127.0.0.1:2'],
    ['client', '103 exited', '104 running', 'no', '-', '-'],
  ]);
  assert.match(renderStatus(STATE, () => false, new Map()), /supervisor pid 100 NOT RUNNING/);
});

test('parseUpArgs: -f is required; --detach; --cert-lifetime (at least 1s); unknown options refused', () => {
  assert.deepEqual(parseUpArgs(['-f', 't.yaml', '--detach']), { ok: true, value: { file: 't.yaml', detach: true, supervise: false } });
  assert.deepEqual(parseUpArgs(['--file=t.yaml']), { ok: true, value: { file: 't.yaml', detach: false, supervise: false } });
  assert.equal(parseUpArgs([]).ok, false);
  assert.equal(parseUpArgs(['-f']).ok, false);
  assert.deepEqual(parseUpArgs(['-f', 'x', '--bogus']), { ok: false, error: 'unknown option --bogus' });
  assert.deepEqual(parseUpArgs(['-f', 't.yaml', '--cert-lifetime', '10s']), { ok: true, value: { file: 't.yaml', detach: false, supervise: false, certLifetimeMs: 10_000 } });
  assert.deepEqual(parseUpArgs(['--cert-lifetime=1m30s', '-f', 't.yaml']), { ok: true, value: { file: 't.yaml', detach: false, supervise: false, certLifetimeMs: 90_000 } });
  assert.deepEqual(parseUpArgs(['-f', 't.yaml', '--cert-lifetime', '500ms']), { ok: false, error: '--cert-lifetime: at least 1s' });
  assert.match((parseUpArgs(['-f', 't.yaml', '--cert-lifetime', '10']) as { error: string }).error, /^--cert-lifetime: duration "10" has no unit/);
  assert.deepEqual(parseUpArgs(['-f', 't.yaml', '--cert-lifetime']), { ok: false, error: '--cert-lifetime needs a duration, e.g. 10s' });
});
