import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { FIXTURES, fixtureFiles, validatorFor } from './validate-harness';

// The fixtures form one workspace (a NetworkPolicy or Namespace in one file affects the others).
const files = fixtureFiles();
const v = validatorFor(files);

for (const name of Object.keys(files)) {
  test(`fixture ${name}: findings are exactly the expected ones (code + zero-based line)`, () => {
    const expectedPath = join(FIXTURES, name.replace(/\.yaml$/, '.expected.json'));
    assert.ok(existsSync(expectedPath), `missing ${expectedPath}`);
    const expected = JSON.parse(readFileSync(expectedPath, 'utf8')) as { code: string; line: number }[];
    const actual = v.validateFile(name).map((f) => ({ code: f.code, line: f.range.start.line }));
    assert.deepEqual(actual, expected);
  });
}

test('every category of the catalogue shows up in the fixtures', () => {
  const cats = new Set(v.validateAll().map((f) => f.category));
  assert.deepEqual([...cats].sort(), ['injection', 'network-policy', 'opaque-ports', 'policy', 'routing', 'yaml']);
});

test('the cross-file facts matter: without its Namespace file, redis is not meshed', () => {
  const { ['bitnami-postgresql.yaml']: _ns, ...rest } = files;
  const alone = validatorFor(rest).validateFile('bitnami-redis.yaml');
  assert.deepEqual(alone.map((f) => f.code), []);
});
