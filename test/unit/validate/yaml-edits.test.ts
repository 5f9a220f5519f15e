import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseDocument } from 'yaml';
import { appendItem, removeEntry, setEntry } from '../../../mesh/validate/yaml-edits';
import type { DocEdit } from '../../../mesh/validate/finding';

const apply = (text: string, edits: DocEdit[]): string => [...edits].sort((a, b) => b.from - a.from).reduce((t, e) => t.slice(0, e.from) + e.text + t.slice(e.to), text);
const ed = (text: string) => ({ doc: parseDocument(text), text });
const roundTrip = (text: string, edits: DocEdit[]) => {
  assert.ok(edits.length > 0, 'an edit is produced');
  const out = apply(text, edits);
  const doc = parseDocument(out, { uniqueKeys: true });
  assert.deepEqual(doc.errors, []);
  return { out, value: doc.toJS() as Record<string, Record<string, unknown>> };
};

test('setEntry adds to an existing block map at its indentation, keeping comments', () => {
  const text = 'metadata:\n    name: a   # the name\n    labels: {x: y}\nspec: {}\n';
  const { out, value } = roundTrip(text, setEntry(ed(text), ['metadata'], 'k', '"v"'));
  assert.equal(out, 'metadata:\n    name: a   # the name\n    labels: {x: y}\n    k: "v"\nspec: {}\n');
  assert.equal(value.metadata!.k, 'v');
});

test('setEntry creates missing maps, fills empty ones and replaces scalars in place', () => {
  const text = 'spec:\n  template:\n    spec: {}\n';
  assert.equal(roundTrip(text, setEntry(ed(text), ['spec', 'template', 'metadata', 'annotations'], 'a', '"1"')).out, 'spec:\n  template:\n    spec: {}\n    metadata:\n      annotations:\n        a: "1"\n');
  const empty = 'metadata:\n  annotations:\n  name: x\n';
  assert.deepEqual(roundTrip(empty, setEntry(ed(empty), ['metadata', 'annotations'], 'a', '"1"')).value.metadata, { annotations: { a: '1' }, name: 'x' });
  const flow = 'metadata:\n  annotations: {}\n';
  assert.deepEqual(roundTrip(flow, setEntry(ed(flow), ['metadata', 'annotations'], 'a', '"1"')).value.metadata, { annotations: { a: '1' } });
  const scalar = 'metadata:\n  annotations:\n    a: "old"  # c\n';
  assert.equal(roundTrip(scalar, setEntry(ed(scalar), ['metadata', 'annotations'], 'a', '"new"')).out, 'metadata:\n  annotations:\n    a: "new"  # c\n');
  const noNewline = 'metadata:\n  name: x';
  assert.deepEqual(roundTrip(noNewline, setEntry(ed(noNewline), ['metadata'], 'a', '"1"')).value.metadata, { name: 'x', a: '1' });
});

test('removeEntry removes the line, and the parent key when it was the only entry', () => {
  const text = 'metadata:\n  name: a\n  annotations:\n    x: "1"   # gone with it\n  labels: {}\n';
  assert.equal(roundTrip(text, removeEntry(ed(text), ['metadata', 'annotations'], 'x')).out, 'metadata:\n  name: a\n  labels: {}\n');
  const two = 'metadata:\n  annotations:\n    x: "1"\n    y: "2"\n';
  assert.equal(roundTrip(two, removeEntry(ed(two), ['metadata', 'annotations'], 'x')).out, 'metadata:\n  annotations:\n    y: "2"\n');
});

test('appendItem appends to block sequences (any indentation), fills [] and creates missing ones', () => {
  const text = 'spec:\n  ingress:\n    - ports:\n        - port: 80\n';
  const { value } = roundTrip(text, appendItem(ed(text), ['spec', 'ingress'], ['ports:', '- port: 4143']));
  assert.deepEqual(value.spec!.ingress, [{ ports: [{ port: 80 }] }, { ports: [{ port: 4143 }] }]);
  const flat = 'spec:\n  ingress:\n  - ports:\n    - port: 80\n';
  assert.deepEqual(roundTrip(flat, appendItem(ed(flat), ['spec', 'ingress'], ['ports:', '- port: 4143'])).value.spec!.ingress, [{ ports: [{ port: 80 }] }, { ports: [{ port: 4143 }] }]);
  const emptyFlow = 'spec:\n  egress: []\n';
  assert.deepEqual(roundTrip(emptyFlow, appendItem(ed(emptyFlow), ['spec', 'egress'], ['ports:', '- port: 53'])).value.spec!.egress, [{ ports: [{ port: 53 }] }]);
  const missing = 'spec:\n  podSelector: {}\n';
  assert.deepEqual(roundTrip(missing, appendItem(ed(missing), ['spec', 'egress'], ['ports:', '- port: 53'])).value.spec!.egress, [{ ports: [{ port: 53 }] }]);
});
