import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isAlive, Supervisor } from '../../../dev-cluster/local/supervisor';

const node = process.execPath;
/** A process that forks a grandchild (printing its pid) and then sleeps; it ignores SIGTERM when asked. */
const FORKER = `
const { spawn } = require('node:child_process');
// The handler is in place before the pid is announced (the test signals as soon as it reads it).
if (process.argv[1] === 'stubborn') process.on('SIGTERM', () => {});
const g = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });
console.log('grandchild ' + g.pid);
setInterval(() => {}, 1000);
`;

async function waitFor<T>(get: () => T | undefined, ms = 10_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = get();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 20));
  }
}

const grandchildOf = (tail: () => string[]): number | undefined => {
  const m = tail().map((l) => /^grandchild (\d+)/.exec(l)).find(Boolean);
  return m ? Number(m[1]) : undefined;
};

test('stopAll ends the app and everything it forked (its process group)', async () => {
  const s = new Supervisor();
  const app = s.spawnApp({ name: 'forker', command: node, args: ['-e', FORKER], env: {} });
  const grandchild = await waitFor(() => grandchildOf(app.tail));
  assert.ok(isAlive(app.pid) && isAlive(grandchild));
  await s.stopAll(2_000);
  assert.ok(app.hasExited());
  await waitFor(() => (isAlive(grandchild) ? undefined : true), 3_000);
});

test('a process that ignores SIGTERM is killed after the grace period', async () => {
  const s = new Supervisor();
  const app = s.spawnApp({ name: 'stubborn', command: node, args: ['-e', FORKER, 'stubborn'], env: {} });
  await waitFor(() => grandchildOf(app.tail));
  const t0 = Date.now();
  await s.stopAll(300);
  assert.ok(Date.now() - t0 >= 250, 'waited for the grace period');
  assert.equal((await app.exited).signal, 'SIGKILL');
});

test('newest first; an exit while running is reported, one during stopAll is not', async () => {
  const exits: string[] = [];
  const order: string[] = [];
  const s = new Supervisor({ onUnexpectedExit: (p) => exits.push(p.name) });
  const quick = s.spawnApp({ name: 'quick', command: node, args: ['-e', 'process.exit(3)'], env: {} });
  assert.equal((await quick.exited).code, 3);
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(exits, ['quick']);
  const a = s.spawnApp({ name: 'a', command: node, args: ['-e', 'setInterval(() => {}, 1000)'], env: {} });
  const b = s.spawnApp({ name: 'b', command: node, args: ['-e', 'setInterval(() => {}, 1000)'], env: {} });
  void a.exited.then(() => order.push('a'));
  void b.exited.then(() => order.push('b'));
  await s.stopAll(2_000);
  assert.deepEqual(order, ['b', 'a']);
  assert.deepEqual(exits, ['quick']);
});

test('killAllNow kills synchronously (the exit-handler path)', async () => {
  const s = new Supervisor();
  const app = s.spawnApp({ name: 'x', command: node, args: ['-e', FORKER, 'stubborn'], env: {} });
  const grandchild = await waitFor(() => grandchildOf(app.tail));
  s.killAllNow();
  assert.equal((await app.exited).signal, 'SIGKILL');
  await waitFor(() => (isAlive(grandchild) ? undefined : true), 3_000);
});

test('a command that does not exist is reported as exited, not thrown', async () => {
  const s = new Supervisor();
  const app = s.spawnApp({ name: 'missing', command: '/nonexistent/weft-demo-app', args: [], env: {} });
  await app.exited;
  assert.ok(app.hasExited());
  await s.stopAll();
});
