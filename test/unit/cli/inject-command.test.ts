import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';
import { parseInjectArgs, reportLine } from '../../../mesh/cli/inject.command';
import { DEFAULT_MESH_IMAGE } from '../../../mesh/config/injector';

const MAIN = fileURLToPath(new URL('../../../mesh/cli/main.ts', import.meta.url));
const EMOJIVOTO = fileURLToPath(new URL('../../fixtures/manifests/emojivoto.yaml', import.meta.url));
const tmp = mkdtempSync(join(tmpdir(), 'weft-inject-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

function weft(args: string[], stdin?: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', MAIN, ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(stdin ?? '');
  });
}

test('parseInjectArgs: FILE or -, --manual, --proxy-image, usage errors', () => {
  assert.deepEqual(parseInjectArgs(['app.yaml']), { file: 'app.yaml', manual: false, proxyImage: DEFAULT_MESH_IMAGE, help: false });
  assert.deepEqual(parseInjectArgs(['-', '--manual', '--proxy-image=r/x:1']), { file: '-', manual: true, proxyImage: 'r/x:1', help: false });
  assert.equal(parseInjectArgs([]), 'no FILE given (use - for stdin)');
  assert.equal(parseInjectArgs(['a', 'b']), "one FILE at a time (got 'a' and 'b')");
  assert.equal(parseInjectArgs(['--bogus', 'a']), "unknown option '--bogus'");
  assert.equal(parseInjectArgs(['a', '--proxy-image']), 'missing value for --proxy-image');
  assert.equal(reportLine({ kind: 'Deployment', name: 'web', action: 'injected' }), 'deployment "web" injected');
});

test('weft inject FILE: annotated YAML on stdout, comments kept, one line per workload on stderr', async () => {
  const r = await weft(['inject', EMOJIVOTO]);
  assert.equal(r.code, 0, r.stderr);
  const src = readFileSync(EMOJIVOTO, 'utf8');
  assert.equal(r.stdout.split('\n').length, src.split('\n').length + 8, 'two lines per Deployment, nothing else');
  assert.ok(r.stdout.includes('# Emojivoto-style demo app') && r.stdout.includes('# should be an integer'));
  const before = (src.match(/weft\.dev\/inject: enabled/g) ?? []).length;
  assert.equal((r.stdout.match(/weft\.dev\/inject: enabled/g) ?? []).length, before + 4, 'one per pod template');
  assert.deepEqual(r.stderr.trim().split('\n'), ['deployment "emoji" annotated', 'deployment "voting" annotated', 'deployment "web" annotated', 'deployment "vote-bot" annotated']);
});

test('weft inject - --manual: reads stdin, output has weft-proxy and parses', async () => {
  const r = await weft(['inject', '-', '--manual', '--proxy-image', 'registry.local/weft:dev'], readFileSync(EMOJIVOTO, 'utf8'));
  assert.equal(r.code, 0, r.stderr);
  assert.equal((r.stdout.match(/^ +- name: weft-proxy\n +image: /gm) ?? []).length, 4, 'one weft-proxy container per Deployment');
  assert.ok(r.stdout.includes('image: registry.local/weft:dev'));
  assert.ok(parseAllDocuments(r.stdout).every((d) => d.errors.length === 0));
  assert.match(r.stderr, /deployment "emoji" injected/);
});

test('errors are clear: no file, bad YAML, no arguments', async () => {
  const missing = await weft(['inject', join(tmp, 'nope.yaml')]);
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /^weft inject: cannot read '.*nope\.yaml': no such file\n$/);
  assert.equal(missing.stdout, '');

  const bad = join(tmp, 'bad.yaml');
  writeFileSync(bad, 'kind: Deployment\nmetadata:\n  name: [web\n');
  const r = await weft(['inject', bad]);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /bad\.yaml: invalid YAML at line \d+, column \d+: .*\n {2}Nothing was written/);
  assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
  assert.equal(r.stdout, '');

  const none = await weft(['inject']);
  assert.equal(none.code, 2);
  assert.match(none.stderr, /no FILE given/);
});
