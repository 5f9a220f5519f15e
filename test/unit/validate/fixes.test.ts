import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseAllDocuments } from 'yaml';
import { applyEdits, comments, fixtureFiles, validatorFor } from './validate-harness';

// Every fix offered on the fixtures, applied as the editor would: the YAML stays valid, every
// comment survives, untouched lines keep their formatting, and the finding is gone.
const files = fixtureFiles();
const v = validatorFor(files);
const all = v.validateAll().filter((f) => f.fixes.length > 0);

test('the fixtures offer fixes of both kinds', () => {
  assert.ok(all.some((f) => f.fixes.some((x) => x.kind === 'fix')));
  assert.ok(all.every((f) => f.fixes.some((x) => x.kind === 'ignore')));
});

for (const f of all) {
  for (const fix of f.fixes) {
    test(`${f.file}:${f.range.start.line} ${f.code}: "${fix.title}"`, () => {
      const before = files[f.file]!;
      const after = applyEdits(before, fix.edits);
      assert.notEqual(after, before);
      const docs = parseAllDocuments(after, { uniqueKeys: true });
      const errorsBefore = parseAllDocuments(before, { uniqueKeys: true }).flatMap((d) => d.errors).length;
      assert.equal(docs.flatMap((d) => d.errors).length, errorsBefore, 'the fix must not add YAML errors');
      assert.deepEqual(comments(after), comments(before), 'comments survive');
      // Lines the edit did not touch are kept byte for byte.
      const firstEdited = Math.min(...fix.edits.map((e) => e.range.start.line));
      assert.deepEqual(after.split('\n').slice(0, firstEdited), before.split('\n').slice(0, firstEdited));
      const w = validatorFor(files);
      w.setFile(f.file, after);
      const remaining = w.validateFile(f.file).filter((x) => x.code === f.code);
      const beforeCount = v.validateFile(f.file).filter((x) => x.code === f.code).length;
      assert.ok(remaining.length < beforeCount, `${f.code} should be gone (${remaining.length} left of ${beforeCount})`);
      assert.ok(!w.validateFile(f.file).some((x) => x.severity === 'error' && x.category === 'yaml' && !v.validateFile(f.file).some((y) => y.code === x.code && y.message === x.message)));
    });
  }
}
