/**
 * A real VS Code for the end-to-end suite: code-server on a free loopback port, in its own process
 * group, with throw-away user-data, extensions and workspace folders, the built Weft extension
 * copied in as an installed extension, and the marketplace pointed at a closed local URL so that
 * nothing leaves loopback. stop() ends the whole group and removes every temp folder.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CODE_SERVER_BIN } from './prerequisites';

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
export const WORKSPACE_FIXTURES = join(REPO_ROOT, 'test', 'e2e', 'vscode', 'workspace');

export interface CodeServer {
  url: string;
  workspace: string;
  userDataDir: string;
  extensionId: string;
  /** code-server's own stdout and stderr so far (for failure messages). */
  output(): string;
  stop(): Promise<void>;
}

async function freePort(): Promise<number> {
  return new Promise((ok, fail) => {
    const srv = createServer();
    srv.once('error', fail);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => ok(port));
    });
  });
}

function newestMtime(dir: string): number {
  let newest = 0;
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    const st = statSync(p);
    newest = Math.max(newest, st.isDirectory() ? newestMtime(p) : st.mtimeMs);
  }
  return newest;
}

/** dist/extension.cjs, built first when it is missing or older than the extension's sources. */
function builtExtension(): string {
  const out = join(REPO_ROOT, 'dist', 'extension.cjs');
  // Everything the extension bundles from: its own code, the mesh modules it imports, the webviews.
  const roots = ['extension', 'mesh', 'webviews', join('dev-cluster', 'local')].map((d) => join(REPO_ROOT, d)).filter((d) => existsSync(d));
  const sources = Math.max(...roots.map(newestMtime));
  if (!existsSync(out) || statSync(out).mtimeMs < sources) {
    const r = spawnSync(process.execPath, ['scripts/build.mjs'], { cwd: REPO_ROOT, encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`npm run build failed:\n${r.stderr}`);
  }
  return out;
}

/** Installs the built extension the way VS Code lays out an installed one: <publisher>.<name>-<version>/. */
export function installExtension(extensionsDir: string): string {
  const pkg = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { publisher: string; name: string; version: string };
  const id = `${pkg.publisher}.${pkg.name}`;
  const target = join(extensionsDir, `${id}-${pkg.version}`);
  const bundle = builtExtension();
  mkdirSync(join(target, 'dist'), { recursive: true });
  cpSync(join(REPO_ROOT, 'package.json'), join(target, 'package.json'));
  cpSync(bundle, join(target, 'dist', 'extension.cjs'));
  if (existsSync(`${bundle}.map`)) cpSync(`${bundle}.map`, join(target, 'dist', 'extension.cjs.map'));
  cpSync(join(REPO_ROOT, 'docs'), join(target, 'docs'), { recursive: true });
  // The lazily required bundles (dist/*.cjs besides extension.cjs), the webviews, the icons.
  const bundles = readdirSync(join(REPO_ROOT, 'dist')).filter((f) => f.endsWith('.cjs') && f !== 'extension.cjs').map((f) => join('dist', f));
  // The bundled CLI (Start Local Demo runs it) with its chunks and the demo's .proto files.
  const cli = [join('dist', 'weft.js'), join('dist', 'chunks'), join('dev-cluster', 'demo', 'proto')];
  for (const extra of ['resources', join('dist', 'webviews'), ...bundles, ...cli]) {
    if (existsSync(join(REPO_ROOT, extra))) cpSync(join(REPO_ROOT, extra), join(target, extra), { recursive: true });
  }
  // The CLI loads its dependencies from node_modules (the .vsix ships them): link the repository's.
  symlinkSync(join(REPO_ROOT, 'node_modules'), join(target, 'node_modules'), 'dir');
  return id;
}

/** Changes user settings while code-server runs (VS Code applies them live), e.g. the colour theme. */
export function writeUserSettings(userDataDir: string, settings: Record<string, unknown>): void {
  const path = join(userDataDir, 'User', 'settings.json');
  const current = JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;
  writeFileSync(path, JSON.stringify({ ...current, ...settings }, null, 2));
}

/** Quiet, deterministic user settings: no welcome page, no trust prompt, no update checks. */
const USER_SETTINGS = {
  'workbench.startupEditor': 'none',
  'workbench.tips.enabled': false,
  'workbench.enableExperiments': false,
  'security.workspace.trust.enabled': false,
  'telemetry.telemetryLevel': 'off',
  'update.mode': 'none',
  'extensions.autoCheckUpdates': false,
  'extensions.autoUpdate': false,
  'extensions.ignoreRecommendations': true,
  'editor.hover.delay': 200,
  'editor.minimap.enabled': false,
  'files.autoSave': 'off',
  'chat.commandCenter.enabled': false,
  'workbench.secondarySideBar.defaultVisibility': 'hidden',
  // code-server notices every port opened on the machine (other suites' servers) and says so in a
  // toast, which can push the toasts a test waits for out of view.
  'remote.autoForwardPorts': false,
};

/** A closed local port: the gallery is configured, so VS Code never reaches for the real one. */
const CLOSED_GALLERY = JSON.stringify({
  serviceUrl: 'http://127.0.0.1:9/gallery',
  itemUrl: 'http://127.0.0.1:9/items',
  resourceUrlTemplate: 'http://127.0.0.1:9/resources/{publisher}/{name}/{version}/{path}',
});

const live = new Set<ChildProcess>();
// Backstop: if the test process exits without stop(), still end every code-server group.
process.once('exit', () => {
  for (const child of live) if (child.pid) try { process.kill(-child.pid, 'SIGKILL'); } catch { /* already gone */ }
});

export interface StartOptions {
  /** How long code-server may take to answer /healthz (default 45 s). */
  timeoutMs?: number;
  /** Extra environment for code-server and so its extension host (e.g. KUBECONFIG). */
  env?: Record<string, string>;
  /** User settings on top of the quiet defaults (e.g. a colour theme). */
  settings?: Record<string, unknown>;
}

export async function startCodeServer(options: number | StartOptions = {}): Promise<CodeServer> {
  const o: StartOptions = typeof options === 'number' ? { timeoutMs: options } : options;
  const timeoutMs = o.timeoutMs ?? 45_000;
  const root = mkdtempSync(join(tmpdir(), 'weft-e2e-'));
  const userDataDir = join(root, 'user-data');
  const extensionsDir = join(root, 'extensions');
  const workspace = join(root, 'workspace');
  let child: ChildProcess | undefined;
  let log = '';
  const stop = async (): Promise<void> => {
    if (child?.pid !== undefined && child.exitCode === null && child.signalCode === null) {
      const exited = new Promise<void>((ok) => child?.once('exit', () => ok()));
      try { process.kill(-child.pid, 'SIGTERM'); } catch { /* already gone */ }
      const timer = new Promise<boolean>((ok) => setTimeout(() => ok(false), 5_000).unref());
      if ((await Promise.race([exited.then(() => true), timer])) === false) {
        try { process.kill(-child.pid, 'SIGKILL'); } catch { /* already gone */ }
        await exited;
      }
    }
    // Helpers of the group (file watcher, extension host) may outlive the leader for a moment.
    if (child?.pid !== undefined) try { process.kill(-child.pid, 'SIGKILL'); } catch { /* group gone */ }
    if (child) live.delete(child);
    rmSync(root, { recursive: true, force: true });
  };
  try {
    mkdirSync(join(userDataDir, 'User'), { recursive: true });
    writeFileSync(join(userDataDir, 'User', 'settings.json'), JSON.stringify({ ...USER_SETTINGS, ...o.settings }, null, 2));
    mkdirSync(extensionsDir);
    cpSync(WORKSPACE_FIXTURES, workspace, { recursive: true });
    const extensionId = installExtension(extensionsDir);
    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    child = spawn(CODE_SERVER_BIN, [
      '--auth', 'none', '--bind-addr', `127.0.0.1:${port}`, '--disable-telemetry', '--disable-update-check',
      '--disable-workspace-trust', '--disable-getting-started-override', '--user-data-dir', userDataDir,
      '--extensions-dir', extensionsDir, workspace,
    ], { detached: true, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...o.env, EXTENSIONS_GALLERY: CLOSED_GALLERY } });
    live.add(child);
    child.stdout?.on('data', (b: Buffer) => { log += b.toString(); });
    child.stderr?.on('data', (b: Buffer) => { log += b.toString(); });
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (child.exitCode !== null) throw new Error(`code-server exited with ${child.exitCode}:\n${log}`);
      const healthy = await fetch(`${url}/healthz`).then((r) => r.ok, () => false);
      if (healthy) break;
      if (Date.now() > deadline) throw new Error(`code-server not healthy after ${timeoutMs} ms:\n${log}`);
      await new Promise((ok) => setTimeout(ok, 200));
    }
    return { url, workspace, userDataDir, extensionId, output: () => log, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}
