// The .vsix carries every file the extension loads at run time (the lazily required bundles,
// the webviews, the CLI, the docs it links, its icons) and none of the sources or tests: asked of
// vsce itself (`vsce ls`, the list `npm run package` packs), after a fresh build.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', '..');

describe('packaging', () => {
  it('vsce packs the bundles, what they require, the CLI, webviews, docs and icons — and no sources', { timeout: 180_000 }, () => {
    execFileSync(process.execPath, ['scripts/build.mjs'], { cwd: ROOT, stdio: 'pipe' });
    const vsce = join(ROOT, 'node_modules', '@vscode', 'vsce', 'vsce');
    const listed = new Set(execFileSync(process.execPath, [vsce, 'ls'], { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 64 * 1024 * 1024 }).split('\n').map((l) => l.trim()).filter(Boolean));
    const bundle = readFileSync(join(ROOT, 'dist', 'extension.cjs'), 'utf8');
    // Every local file the extension bundle requires at run time.
    const required = [...bundle.matchAll(/require\("\.\/([^"]+)"\)/g)].map((m) => `dist/${m[1]}`);
    assert.ok(required.includes('dist/kube-client-node.cjs'), `client-node is a lazy bundle: ${required.join(', ')}`);
    const webviews = readdirSync(join(ROOT, 'dist', 'webviews')).filter((f) => !f.endsWith('.map')).map((f) => `dist/webviews/${f}`);
    const expected = ['package.json', 'dist/extension.cjs', ...required, ...webviews, 'dist/weft.js', 'docs/rules.md', 'resources/weft.svg', 'dev-cluster/demo/proto/emoji.proto'];
    for (const f of expected) assert.ok(listed.has(f), `${f} is packed`);
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { main: string; contributes: { viewsContainers: { activitybar: { icon: string }[] } } };
    assert.ok(listed.has(pkg.main.replace(/^\.\//, '')), 'main is packed');
    for (const c of pkg.contributes.viewsContainers.activitybar) assert.ok(listed.has(c.icon), `${c.icon} is packed`);
    const sources = [...listed].filter((f) => /^(extension|mesh|webviews|test|scripts)\//.test(f) || (!f.startsWith('node_modules/') && (f.endsWith('.ts') || f.endsWith('.map'))));
    assert.deepEqual(sources, [], 'no sources, tests or source maps of ours');
    // The CLI's runtime dependencies come along (it loads them from node_modules).
    for (const dep of ['execa', 'yaml', '@grpc/grpc-js']) assert.ok([...listed].some((f) => f.startsWith(`node_modules/${dep}/`)), `${dep} is packed`);
  });
});
