/**
 * Fixes are computed on demand: validation calls no rule's fix thunk, the first read of
 * `Finding.fixes` calls it once, and fixes read after the workspace changed still describe the
 * text that was validated.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Validator } from '../../../mesh/validate/engine';
import type { Rule } from '../../../mesh/validate/finding';
import { injectionRule } from '../../../mesh/validate/rules/injection.rule';
import { setEntry, quote } from '../../../mesh/validate/yaml-edits';
import { applyEdits, codes } from './validate-harness';

const dep = (name: string) => `apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: ${name}  # keep\n  annotations:\n    weft.dev/inject: enabled\nspec:\n  template:\n    metadata:\n      labels: {app: ${name}}\n    spec: {}\n`;

test('validation computes no fix; the first read of fixes computes them once', () => {
  let calls = 0;
  // A rule reusing WEFT3001's code, counting how often its fix is computed.
  const counting: Rule = {
    name: 'counting',
    codes: injectionRule.codes,
    check: (res) => [{
      code: 'WEFT3001', path: ['metadata', 'name'], message: 'counted',
      fix: { title: 'rename', edits: () => (calls++, setEntry(res, ['metadata'], 'name', quote(`${res.name}-x`))) },
    }],
  };
  const v = new Validator({ rules: [counting] });
  v.setFile('a.yaml', dep('a') + '---\n' + dep('b'));
  const found = v.validateAll();
  assert.equal(found.length, 2);
  assert.equal(calls, 0, 'no fix is computed while validating');
  const fixes = found[1]!.fixes;
  assert.equal(calls, 1);
  assert.equal(found[1]!.fixes, fixes, 'the same array on a second read');
  assert.equal(calls, 1);
  assert.deepEqual(fixes.map((f) => f.kind), ['fix', 'ignore']);
  assert.equal(fixes[0]!.edits[0]!.range.start.line, 15);
});

test('fixes read after the file changed still apply to the text that was validated', () => {
  const v = new Validator();
  const text = dep('a');
  v.setFile('a.yaml', text);
  const [f] = v.validateFile('a.yaml');
  assert.equal(f!.code, 'WEFT3001');
  // The user keeps typing: the file now holds another text, and the index changed.
  v.setFile('a.yaml', 'apiVersion: v1\nkind: Namespace\nmetadata: {name: other}\n');
  v.validateAll();
  const move = f!.fixes.find((x) => x.kind === 'fix')!;
  const after = applyEdits(text, move.edits);
  assert.match(after, /template:\n {4}metadata:\n {6}labels: \{app: a\}\n {6}annotations:\n {8}weft\.dev\/inject: "enabled"\n/);
  assert.match(after, /name: a {2}# keep/);
  const fresh = new Validator();
  fresh.setFile('a.yaml', after);
  assert.deepEqual(codes(fresh.validateFile('a.yaml')), []);
});
