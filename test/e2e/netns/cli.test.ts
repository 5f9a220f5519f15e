/**
 * `weft local up --isolation netns` as users run it (dist/weft.js): it starts, an unmodified curl in
 * the client's namespace reaches the service through the mesh, Ctrl-C removes everything; a start
 * failure removes what was made; non-root and bad flags are clear errors; leftovers of a crashed
 * run are swept by name.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { removeNetnsRun } from '../../../dev-cluster/netns/netns-mesh';
import { netnsSkipReason, REPO, sh, skipOrFail } from './netns-env';

const WEFT = join(REPO, 'dist/weft.js');
const tmp = mkdtempSync(join(tmpdir(), 'weft-netns-cli-'));
const runIds: string[] = [];
after(async () => {
  for (const id of runIds) await removeNetnsRun(id);
  rmSync(tmp, { recursive: true, force: true });
});

const skipReason = ((): string | false => netnsSkipReason(['curl']) || (existsSync(WEFT) ? false : 'dist/weft.js is missing: run `npm run build` first'))();

function topology(clientCommand: string[]): string {
  const file = join(tmp, `${randomBytes(4).toString('hex')}.yaml`);
  writeFileSync(
    file,
    `namespace: cli
workloads:
  - name: web
    command: [node, ${join(REPO, 'test/e2e/netns/apps/http-echo.mjs')}]
    ports: [{ port: 8080 }]
  - name: client
    command: ${JSON.stringify(clientCommand)}
`,
  );
  return file;
}

interface Up {
  output: () => string;
  exited: Promise<number>;
  waitFor: (re: RegExp, ms?: number) => Promise<string>;
  kill: (sig: NodeJS.Signals) => void;
}

function up(file: string): Up {
  const child = spawn(process.execPath, [WEFT, 'local', 'up', '-f', file, '--isolation', 'netns'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  let done = false;
  const exited = new Promise<number>((r) => child.once('exit', (code) => ((done = true), r(code ?? 1))));
  return {
    output: () => out,
    exited,
    kill: (sig) => child.kill(sig),
    waitFor: async (re, ms = 60_000) => {
      const deadline = Date.now() + ms;
      while (Date.now() < deadline) {
        const m = re.exec(out);
        if (m) return m[0];
        if (done) throw new Error(`exited without ${re}:\n${out}`);
        await new Promise((r) => setTimeout(r, 100));
      }
      throw new Error(`no ${re} in time:\n${out}`);
    },
  };
}

test('weft local up --isolation netns: curl in the client pod reaches web through the mesh; Ctrl-C removes everything', { timeout: 120_000 }, async (t) => {
  if (skipReason) return skipOrFail(t, skipReason);
  const run = up(topology(['sleep', 'infinity']));
  try {
    const id = (await run.waitFor(/run [0-9a-f]{6}/)).slice(4);
    runIds.push(id);
    await run.waitFor(/Ctrl-C to stop/);
    const r = sh('ip', ['netns', 'exec', `weft-${id}-client`, 'curl', '-sS', '--max-time', '15', 'http://web:8080/cli']);
    assert.ok(r.ok, r.out);
    assert.equal((JSON.parse(r.stdout) as { clientId: string }).clientId, 'client.cli.serviceaccount.identity.weft.cluster.local');
    run.kill('SIGINT');
    assert.equal(await run.exited, 0, run.output());
    assert.match(run.output(), /stopped; namespaces, links and \/etc\/netns entries removed/);
    assert.ok(!sh('ip', ['netns', 'list']).stdout.includes(`weft-${id}-`), 'namespaces removed');
    assert.ok(!sh('ip', ['-o', 'link', 'show']).stdout.includes(`wb${id}`), 'bridge removed');
    assert.ok(!existsSync(`/etc/netns/weft-${id}-client`), '/etc/netns entry removed');
  } finally {
    run.kill('SIGKILL');
  }
});

test('a client that exits at start fails the run, and nothing of the run is left', { timeout: 120_000 }, async (t) => {
  if (skipReason) return skipOrFail(t, skipReason);
  const run = up(topology(['sh', '-c', 'echo bye >&2; exit 4']));
  const id = (await run.waitFor(/run [0-9a-f]{6}/)).slice(4);
  runIds.push(id);
  assert.equal(await run.exited, 1, run.output());
  assert.match(run.output(), /client exited at start: .*bye/);
  assert.ok(!sh('ip', ['netns', 'list']).stdout.includes(`weft-${id}-`), 'namespaces removed');
});

test('a server that exits at start fails the run with its output, and everything is removed', { timeout: 120_000 }, async (t) => {
  if (skipReason) return skipOrFail(t, skipReason);
  const file = join(tmp, 'bad.yaml');
  writeFileSync(file, 'namespace: cli\nworkloads:\n  - name: broken\n    command: [sh, -c, "echo no such thing >&2; exit 3"]\n    ports: [{ port: 8080 }]\n');
  const run = up(file);
  const id = (await run.waitFor(/run [0-9a-f]{6}/)).slice(4);
  runIds.push(id);
  assert.equal(await run.exited, 1, run.output());
  assert.match(run.output(), /broken exited at start: .*no such thing/);
  assert.match(run.output(), /removed everything this run had made/);
  assert.ok(!sh('ip', ['netns', 'list']).stdout.includes(`weft-${id}-`), 'namespaces removed');
  assert.ok(!sh('ip', ['-o', 'link', 'show']).stdout.includes(`wb${id}`), 'bridge removed');
});

test('not root, or a bad --isolation value: a clear message and the next step', { timeout: 60_000 }, (t) => {
  if (skipReason) return skipOrFail(t, skipReason);
  const file = topology(['sleep', 'infinity']);
  const asUser = sh('setpriv', ['--reuid=2102', '--regid=2102', '--clear-groups', process.execPath, WEFT, 'local', 'up', '-f', file, '--isolation', 'netns']);
  assert.ok(!asUser.ok);
  assert.match(asUser.out, /must run as root \(uid 2102\)/);
  assert.match(asUser.out, /next: run it with sudo/);
  const bad = sh(process.execPath, [WEFT, 'local', 'up', '-f', file, '--isolation', 'vm']);
  assert.ok(!bad.ok);
  assert.match(bad.out, /--isolation vm: expected netns/);
});

test('the leftovers of a crashed run are swept by name (namespace, bridge, veth, /etc/netns)', { timeout: 60_000 }, async (t) => {
  if (skipReason) return skipOrFail(t, skipReason);
  const id = randomBytes(3).toString('hex');
  runIds.push(id);
  assert.ok(sh('ip', ['netns', 'add', `weft-${id}-x`]).ok);
  assert.ok(sh('ip', ['link', 'add', `wb${id}`, 'type', 'bridge']).ok);
  assert.ok(sh('ip', ['link', 'add', `wv${id}-0`, 'type', 'veth', 'peer', 'name', `wp${id}-0`]).ok);
  mkdirSync(`/etc/netns/weft-${id}-x`, { recursive: true });
  const removed = await removeNetnsRun(id);
  assert.ok(removed.includes(`netns weft-${id}-x`), removed.join(', '));
  assert.ok(removed.includes(`link wb${id}`), removed.join(', '));
  assert.ok(!sh('ip', ['-o', 'link', 'show']).stdout.includes(id));
  assert.ok(!existsSync(`/etc/netns/weft-${id}-x`));
});
