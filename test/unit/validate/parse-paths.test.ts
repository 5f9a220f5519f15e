/**
 * The fast path (js-yaml values, lazy `yaml` Document) and the slow path (`yaml` for everything)
 * must agree: same values, problems and findings (fixes included) on the fixtures, on a corpus of
 * YAML corner cases, and on seeded random mutations of the fixtures.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseDocText, parseFile, splitDocuments, type ParsedDoc } from '../../../mesh/validate/manifest-file';
import { fixtureFiles, validatorFor } from './validate-harness';

const files = fixtureFiles();

function plain(d: ParsedDoc): unknown {
  return { value: d.value, problems: d.problems, checkable: d.checkable };
}

function chunksOf(text: string): string[] {
  const s = splitDocuments(text);
  return s.map((from, i) => text.slice(from, s[i + 1] ?? text.length));
}

/** Deterministic pseudo-random numbers (a test that fails must fail again). */
function lcg(seed: number): () => number {
  let s = seed;
  return () => {
    s = (s * 1103515245 + 12345) & 0x7fffffff;
    return s / 0x7fffffff;
  };
}

const NOISE = [' ', ':', '-', '#', '[', ']', '{', '}', ',', '"', "'", '\t', '\n', '|', '>', '&', '*', '!', '?', '%', 'a', '0', '.'];
function mutate(text: string, rnd: () => number): string {
  let t = text;
  for (let k = 0, n = 1 + Math.floor(rnd() * 3); k < n; k++) {
    const at = Math.floor(rnd() * t.length);
    const c = NOISE[Math.floor(rnd() * NOISE.length)]!;
    switch (Math.floor(rnd() * 4)) {
      case 0: t = t.slice(0, at) + t.slice(at + 1); break;
      case 1: t = t.slice(0, at) + c + t.slice(at); break;
      case 2: t = t.slice(0, at) + c + t.slice(at + 1); break;
      default: {
        const ls = t.lastIndexOf('\n', at) + 1;
        t = t.slice(0, ls) + (rnd() < 0.5 ? ' ' : '') + t.slice(ls + (rnd() < 0.5 ? 1 : 0));
      }
    }
  }
  return t;
}

test('fixtures: the fast and the slow path give identical findings, fixes included', () => {
  const fast = validatorFor(files).validateAll();
  const slow = validatorFor(files, { fastPath: false }).validateAll();
  assert.ok(fast.length > 20);
  assert.deepEqual(fast, slow);
});

test('fixtures: sound documents take the fast path, and their lazy yaml Document equals the slow one', () => {
  let fastDocs = 0;
  for (const text of Object.values(files)) {
    for (const chunk of chunksOf(text)) {
      if (!/\S/.test(chunk)) continue;
      const f = parseDocText(chunk);
      const s = parseDocText(chunk, { fastPath: false });
      assert.equal(s.path, 'slow');
      assert.deepEqual(plain(f), plain(s));
      if (f.path === 'fast') {
        fastDocs++;
        assert.equal(f.doc.toString(), s.doc.toString());
        assert.deepEqual(f.doc.contents?.range, s.doc.contents?.range);
      }
    }
  }
  assert.ok(fastDocs > 30, `only ${fastDocs} fixture documents took the fast path`);
});

test('a whole file read in one js-yaml call gives the same documents as the slow path', () => {
  for (const [name, text] of Object.entries(files)) {
    const batch = parseFile(name, text);
    const perDoc = parseFile(name, text, undefined, undefined, { fastPath: false });
    assert.deepEqual(batch.docs.map((d) => [d.startOffset, d.startLine, plain(d.parsed)]), perDoc.docs.map((d) => [d.startOffset, d.startLine, plain(d.parsed)]), name);
  }
});

test('problems go to the slow path and keep their findings: syntax errors, duplicate keys, aliases', () => {
  for (const t of ['a: [1, 2\n', 'a: 1\na: 2\n', 'base: &b {x: 1}\nc:\n  <<: *b\n', 'a: b: c\n', '\ta: b\n']) {
    const f = parseDocText(t);
    assert.equal(f.path, 'slow', t);
    assert.deepEqual(plain(f), plain(parseDocText(t, { fastPath: false })), t);
  }
  assert.deepEqual(parseDocText('a: 1\na: 2\n').problems.map((p) => p.code), ['WEFT9002']);
});

test('YAML corner cases: both paths build the same value (constructs where the parsers differ go slow)', () => {
  const scalars = ['017', '0o17', '0x1F', '0b101', '1_000', '+1', '-0', '.5', '1.', '1e3', '.inf', '-.Inf', '.NaN', '~', 'Null', '', 'TRUE', 'yes', 'on', '2001-12-14', '1:20', '=', '"\\u00e9\\x41"', "'it''s'", '!!str 1', '!!int "3"', '!!float 1', '!custom x', '12345678901234567890', '@x', '!!binary aGVsbG8='];
  const docs = [
    ...scalars.map((s) => `a: ${s}\nb: [${s.startsWith('!') ? 1 : s}]\n`),
    'a: 1\n<<: {b: 2}\n', '? [a, b]\n: c\n', '? \n', '__proto__: {x: 1}\n', 'a: |\n  x\n  y\n\nb: >-\n  p\n  q\n', 'a: |+\n  x\n\n',
    'a: b\n  c\n  d\n', '{a: 1, b: [1, 2,], }\n', 'a: {b: c\n  , d: e}\n', 'a: [1,\n2]\n', '- a\n- b: c\n  d: e\n', '1: a\n"1": b\n',
    '%YAML 1.1\n---\na: yes\n', '--- !!map\na: 1\n', 'a:\tb\n', ' ---\na: 1\n', 'x:\n  - y\n  :  z\n', '# only a comment\n', '---\n', 'a: !!str\n', 'a: &x\n',
  ];
  let fast = 0;
  for (const t of docs) {
    const f = parseDocText(t);
    if (f.path === 'fast') fast++;
    assert.deepEqual(plain(f), plain(parseDocText(t, { fastPath: false })), JSON.stringify(t));
  }
  assert.ok(fast > 20);
});

test('seeded mutations of the fixtures: no document where the two paths disagree', () => {
  const rnd = lcg(20261123);
  const chunks = Object.values(files).flatMap(chunksOf).filter((c) => /\S/.test(c));
  let fast = 0;
  for (let i = 0; i < 600; i++) {
    const t = mutate(chunks[Math.floor(rnd() * chunks.length)]!, rnd);
    const f = parseDocText(t);
    if (f.path === 'fast') fast++;
    assert.deepEqual(plain(f), plain(parseDocText(t, { fastPath: false })), JSON.stringify(t));
  }
  assert.ok(fast > 150, `only ${fast} mutated documents took the fast path`);
});

test('seeded mutations of whole files, then an edit: same findings through both paths', () => {
  const rnd = lcg(7);
  const names = Object.keys(files).filter((n) => !n.startsWith('helm'));
  for (let i = 0; i < 20; i++) {
    const name = names[Math.floor(rnd() * names.length)]!;
    const mutated = mutate(files[name]!, rnd);
    const ws = { ...files, [name]: mutated };
    const fast = validatorFor(ws);
    assert.deepEqual(fast.validateFile(name), validatorFor(ws, { fastPath: false }).validateFile(name), JSON.stringify(mutated));
    // An edit of the warm workspace re-parses one document on its own (no batch).
    const edited = mutate(mutated, rnd);
    fast.setFile(name, edited);
    assert.deepEqual(fast.validateFile(name), validatorFor({ ...files, [name]: edited }, { fastPath: false }).validateFile(name), JSON.stringify(edited));
  }
});

test('a file read in one call still sends its hinted documents (and only those) to the slow path', () => {
  const doc = (n: number, extra = '') => `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c${n}\ndata:\n  a: "1"\n${extra}`;
  const text = [doc(0), doc(1, 'b: !!float 1\n'), doc(2)].join('---\n');
  const parsed = parseFile('f.yaml', text);
  assert.deepEqual(parsed.docs.map((d) => d.parsed.path), ['fast', 'slow', 'fast']);
  assert.deepEqual(parsed.docs.map((d) => plain(d.parsed)), parseFile('f.yaml', text, undefined, undefined, { fastPath: false }).docs.map((d) => plain(d.parsed)));
});
