import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { WEFT_VERSION } from '../../../mesh/config/names';

test('WEFT_VERSION is the package version (bump both together)', () => {
  const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string };
  assert.equal(WEFT_VERSION, pkg.version);
});
