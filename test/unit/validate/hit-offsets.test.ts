/**
 * Positions from js-yaml's parser events must equal those from `yaml`'s Document wherever the
 * events answer: every node of every fixture document (read alone and in one call per file), on
 * YAML corner cases and on seeded mutations, with paths that stop early too. The events must also
 * answer for almost every node of real manifests, or the Document would be built after all.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isMap, isScalar, isSeq, type Node } from 'yaml';
import type { YamlPath } from '../../../mesh/validate/finding';
import { hitOffsetsFromDocument, hitOffsetsFromEvents } from '../../../mesh/validate/hit-offsets';
import { parseDocText, parseFile, splitDocuments, type ParsedDoc } from '../../../mesh/validate/manifest-file';
import { fixtureFiles } from './validate-harness';

const files = fixtureFiles();

/** Every path to a node of the document, each also extended by a missing key and a missing index. */
function pathsOf(node: unknown, prefix: YamlPath = [], out: YamlPath[] = []): YamlPath[] {
  out.push(prefix, [...prefix, 'no-such-key'], [...prefix, 99]);
  if (isMap(node)) {
    for (const p of node.items) if (isScalar(p.key)) pathsOf(p.value, [...prefix, String(p.key.value)], out);
  } else if (isSeq(node)) {
    node.items.forEach((item, i) => pathsOf(item as Node, [...prefix, i], out));
  }
  return out;
}

/** Compares both ways on every path of a fast-path document; returns [answered by events, asked]. */
function compare(d: ParsedDoc, label: string): [number, number] {
  if (!d.events) return [0, 0];
  let answered = 0;
  let asked = 0;
  for (const path of pathsOf(d.doc.contents)) {
    for (const key of [false, true]) {
      asked++;
      const ev = hitOffsetsFromEvents(d.events, d.text, path, key);
      if (ev === undefined) continue;
      answered++;
      assert.deepEqual(ev, hitOffsetsFromDocument(d.doc, d.text, path, key), `${label} ${JSON.stringify(path)} key=${key}\n${d.text}`);
    }
  }
  return [answered, asked];
}

function chunksOf(text: string): string[] {
  const s = splitDocuments(text);
  return s.map((from, i) => text.slice(from, s[i + 1] ?? text.length)).filter((c) => /\S/.test(c));
}

function lcg(seed: number): () => number {
  let s = seed;
  return () => {
    s = (s * 1103515245 + 12345) & 0x7fffffff;
    return s / 0x7fffffff;
  };
}

const NOISE = [' ', ':', '-', '#', '[', ']', '{', '}', ',', '"', "'", '\t', '\n', '|', '>', '&', '*', '?', 'a', '0', '.', '~'];
function mutate(text: string, rnd: () => number): string {
  let t = text;
  for (let k = 0, n = 1 + Math.floor(rnd() * 3); k < n; k++) {
    const at = Math.floor(rnd() * t.length);
    const c = NOISE[Math.floor(rnd() * NOISE.length)]!;
    const op = Math.floor(rnd() * 3);
    t = op === 0 ? t.slice(0, at) + t.slice(at + 1) : op === 1 ? t.slice(0, at) + c + t.slice(at) : t.slice(0, at) + c + t.slice(at + 1);
  }
  return t;
}

test('fixtures: events give the Document\'s offsets, for nearly every node, alone and in one call per file', () => {
  let answered = 0;
  let asked = 0;
  for (const [name, text] of Object.entries(files)) {
    for (const fd of parseFile(name, text).docs) {
      const [a, n] = compare(fd.parsed, `${name} (file call)`);
      answered += a;
      asked += n;
    }
    for (const chunk of chunksOf(text)) compare(parseDocText(chunk), `${name} (document call)`);
  }
  assert.ok(asked > 2000, `only ${asked} paths asked`);
  assert.ok(answered / asked > 0.9, `events answered only ${answered} of ${asked}`);
});

test('the batch of a file keeps each document\'s events (offsets based on the document)', () => {
  const text = files['kube-prometheus-networkpolicies.yaml']!;
  const docs = parseFile('kube-prometheus-networkpolicies.yaml', text).docs.filter((d) => d.parsed.events);
  assert.ok(docs.length > 3);
  assert.ok(docs.some((d) => d.parsed.events!.base > 0 && d.parsed.events!.source === text));
  for (const d of docs) assert.deepEqual(hitOffsetsFromEvents(d.parsed.events!, d.parsed.text, ['kind']), hitOffsetsFromDocument(d.parsed.doc, d.parsed.text, ['kind']));
});

test('corner cases: quoted and block scalars, flow collections, empty values, non-string keys, anchors, last lines', () => {
  const docs = [
    'a: "x y"\nb: \'it\'\'s\'\nc: "multi\n  line"\nd: |\n  block\ne: >-\n  folded\n',
    'a: {b: c, "d": [1, 2]}\ne: [x, {y: z}]\n', '- {a: 1}\n- [1]\n- b\n-\n- c: d\n', 'a:\nb: ~\nc: null\nd: ""\n',
    '1: a\n"1": b\ntrue: c\nnull: d\n~: e\n0x1F: f\n.inf: g\n', 'a: &x {b: 1}\nc: &y v\n&z d: e\n', 'a: 1\nb:\n  c: 2', 'a:\n  - b\n  - c',
    'a: x   # comment\nb: "y"  # comment\n', 'a:\n  b:\n    c: plain\n      continued\n', '"quoted key": 1\n\'single\': 2\n', 'a: [\n  1,\n  2\n]\n',
    'k: v', '- - a\n  - b\n- - c\n', 'a: b\n...\n', '---\na: 1\n', 'a: "\\u00e9"\nb: "x\\"y"\n', 'a: \'\'\nb: ""\n',
  ];
  let fast = 0;
  for (const t of docs) {
    const d = parseDocText(t);
    if (d.path === 'fast') fast++;
    compare(d, 'corner case');
  }
  assert.ok(fast > 15, `only ${fast} corner cases took the fast path`);
});

test('seeded mutations of fixture documents and files: events agree with the Document wherever they answer', () => {
  const rnd = lcg(4242);
  const chunks = Object.values(files).flatMap(chunksOf);
  let answered = 0;
  for (let i = 0; i < 400; i++) answered += compare(parseDocText(mutate(chunks[Math.floor(rnd() * chunks.length)]!, rnd)), `mutation ${i}`)[0];
  const names = Object.keys(files).filter((n) => !n.startsWith('helm'));
  for (let i = 0; i < 20; i++) {
    const name = names[Math.floor(rnd() * names.length)]!;
    for (const fd of parseFile(name, mutate(files[name]!, rnd)).docs) answered += compare(fd.parsed, `file mutation ${i}`)[0];
  }
  assert.ok(answered > 10000, `events answered only ${answered} times`);
});
