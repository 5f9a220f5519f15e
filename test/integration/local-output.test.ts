/**
 * `weft local up` whose terminal goes away (`weft local up 2>&1 | head`): stdout and stderr become a
 * closed pipe. In the foreground the supervisor stops everything cleanly and exits 0, whether the
 * pipe closes during the start or once the run is up (at its next write: here a topology edit
 * reported by the live reload); before the fix it spun at full CPU in an EPIPE error loop, deaf to
 * SIGTERM. `up --detach` with a closed stdout still leaves a healthy run behind. Needs `npm run build`
 * first (or WEFT_TEST_CLI, see test/helpers/local-run.ts).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { appendFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { BIN, echoServer, freePorts, readRunState, waitNoneLeft, weft, withDir } from '../helpers/local-run';

const topology = async (): Promise<string> => `namespace: shop
workloads:
  - name: api
    command: [node, -e, ${JSON.stringify(echoServer('api'))}]
    ports: [{ port: ${await freePorts()} }]
`;

/** `weft local up -f FILE 2>&1 | <reader>`: one pipe for stdout and stderr, its read end in our hands. */
function upInForeground(file: string, env: Record<string, string>): ChildProcess {
  return spawn('sh', ['-c', 'exec "$0" "$@" 2>&1', process.execPath, BIN, 'local', 'up', '-f', file], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'ignore'] });
}

/** Reads the pipe until `pattern` shows, then closes the read end (what `head` does when it has enough). */
async function readUntilThenClose(child: ChildProcess, pattern: RegExp, ms: number): Promise<string> {
  let text = '';
  await new Promise<void>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`no ${pattern} within ${ms} ms; output: ${text}`)), ms);
    child.stdout!.setEncoding('utf8').on('data', (c: string) => {
      text += c;
      if (pattern.test(text)) {
        clearTimeout(t);
        resolve();
      }
    });
  });
  child.stdout!.destroy();
  return text;
}

function exitOf(child: ChildProcess, ms: number): Promise<number | null> {
  return new Promise((resolve, reject) => {
    if (child.exitCode !== null) return resolve(child.exitCode);
    const t = setTimeout(() => reject(new Error(`still running ${ms} ms after its output closed (pid ${child.pid})`)), ms);
    child.once('exit', (code) => {
      clearTimeout(t);
      resolve(code);
    });
  });
}

test('foreground up whose pipe closes during the start: a clean stop, exit 0, nothing left', { timeout: 150_000 }, async () => {
  await withDir(async (dir, env) => {
    const file = join(dir, 'topology.yaml');
    await writeFile(file, await topology());
    const child = upInForeground(file, env);
    try {
      await readUntilThenClose(child, /starting 1 workload process/, 60_000);
      assert.equal(await exitOf(child, 90_000), 0);
      assert.deepEqual(await waitNoneLeft(dir), []);
      assert.equal(existsSync(env['WEFT_STATE_DIR']!), false, 'the state is removed as after Ctrl-C');
    } finally {
      child.kill('SIGKILL');
    }
  });
});

test('foreground up whose pipe closes once it is up: the next write (a live edit report) stops it cleanly', { timeout: 150_000 }, async () => {
  await withDir(async (dir, env) => {
    const file = join(dir, 'topology.yaml');
    await writeFile(file, await topology());
    const child = upInForeground(file, env);
    try {
      const shown = await readUntilThenClose(child, /Ctrl-C to stop/, 90_000);
      assert.match(shown, /api: app pid \d+/);
      const state = await readRunState(env);
      assert.equal(state.status, 'running');
      // Nothing is written while nothing happens; an edit makes the supervisor report it.
      await appendFile(file, '# an edit\n');
      assert.equal(await exitOf(child, 90_000), 0);
      assert.deepEqual(await waitNoneLeft(dir), []);
      assert.equal(existsSync(env['WEFT_STATE_DIR']!), false);
    } finally {
      child.kill('SIGKILL');
    }
  });
});

test('up --detach with a closed stdout: exits 0 and the run stays up', { timeout: 150_000 }, async () => {
  await withDir(async (dir, env) => {
    const file = join(dir, 'topology.yaml');
    await writeFile(file, await topology());
    const child = spawn('sh', ['-c', 'exec "$0" "$@" 2>&1', process.execPath, BIN, 'local', 'up', '-f', file, '--detach'], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'ignore'] });
    try {
      child.stdout!.destroy();
      assert.equal(await exitOf(child, 120_000), 0);
      const st = await weft(['local', 'status'], env);
      assert.equal(st.code, 0, st.stdout + st.stderr);
    } finally {
      child.kill('SIGKILL');
    }
  });
});
