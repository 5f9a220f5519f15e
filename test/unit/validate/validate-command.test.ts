import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from '../../../mesh/cli/validate.command';

const MAIN = join(import.meta.dirname, '../../../mesh/cli/main.ts');
const weft = (...args: string[]) => spawnSync(process.execPath, ['--import', 'tsx', MAIN, 'validate', ...args], { encoding: 'utf8', timeout: 30_000 });

test('argument parsing: formats, paths, usage errors', () => {
  assert.deepEqual(parseArgs(['a', '--format', 'json', 'b']), { paths: ['a', 'b'], format: 'json' });
  assert.deepEqual(parseArgs(['--format=sarif', 'a']), { paths: ['a'], format: 'sarif' });
  assert.equal(typeof parseArgs([]), 'string');
  assert.equal(typeof parseArgs(['a', '--format', 'xml']), 'string');
  assert.equal(typeof parseArgs(['a', '--strict']), 'string');
});

test('weft validate walks directories, prints JSON, and exits 1 on errors, 0 on warnings, 2 on usage errors', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'weft-validate-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  mkdirSync(join(dir, 'sub'));
  writeFileSync(join(dir, 'sub', 'warn.yml'), 'apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: a\n  annotations:\n    weft.dev/inject: enabled\nspec:\n  template:\n    spec: {}\n');
  writeFileSync(join(dir, 'notes.txt'), 'apiVersion: v1\nkind: [\n');
  const warn = weft(dir, '--format', 'json');
  assert.equal(warn.status, 0, warn.stderr);
  const json = JSON.parse(warn.stdout) as { file: string; code: string; range: { start: { line: number } } }[];
  assert.deepEqual(json.map((f) => [f.file, f.code, f.range.start.line]), [[join(dir, 'sub', 'warn.yml'), 'WEFT3001', 5]]);
  writeFileSync(join(dir, 'bad.yaml'), 'apiVersion: v1\nkind: Service\nmetadata: {name: [\n');
  const bad = weft(dir);
  assert.equal(bad.status, 1);
  assert.match(bad.stdout, /bad\.yaml:\d+:\d+: error WEFT9001 \[yaml\]/);
  assert.equal(weft(dir, '--format', 'nope').status, 2);
  assert.equal(weft(join(dir, 'missing')).status, 2);
  assert.equal(weft().status, 2);
});
