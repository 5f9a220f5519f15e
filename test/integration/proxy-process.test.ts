/**
 * spawnProxy's proxies do not outlive whoever spawned them: a runner killed with SIGKILL (a test
 * runner stopped by hand, a benchmark interrupted) cannot stop its proxies, so each proxy watches
 * its parent and stops by itself once it has been re-parented. With the preload turned off, the
 * same proxy keeps running: the test proves the preload is what stops it.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const PROXY_PROCESS = fileURLToPath(new URL('../../dev-cluster/local/proxy-process.ts', import.meta.url));

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function gone(pid: number, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (!alive(pid)) return true;
    await new Promise((r) => setTimeout(r, 100));
  }
  return !alive(pid);
}

/** A runner process that spawns one proxy, prints its pid, and waits to be killed. */
async function orphanProxy(exitWithParent: boolean): Promise<number> {
  const script = `
    const { spawnProxy } = await import(${JSON.stringify(PROXY_PROCESS)});
    const p = await spawnProxy({ name: 'orphan', env: {}, exitWithParent: ${exitWithParent} });
    console.log(p.pid);
    setInterval(() => {}, 1000);
  `;
  const runner = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  const [line] = (await once(runner.stdout, 'data')) as [Buffer];
  const pid = Number(line.toString().trim());
  assert.ok(Number.isInteger(pid) && alive(pid), `the runner printed a live proxy pid: ${line.toString()}`);
  runner.kill('SIGKILL');
  await once(runner, 'exit');
  return pid;
}

test('a proxy whose runner is killed with SIGKILL stops by itself', { timeout: 60_000 }, async () => {
  const pid = await orphanProxy(true);
  assert.ok(await gone(pid, 5_000), `proxy ${pid} still running 5 s after its runner died`);
});

test('without the preload, the same orphan keeps running (so the preload is what stops it)', { timeout: 60_000 }, async () => {
  const pid = await orphanProxy(false);
  try {
    assert.equal(await gone(pid, 5_000), false, 'an orphan without the preload is still up after the same 5 s');
  } finally {
    if (alive(pid)) process.kill(pid, 'SIGKILL');
  }
});
