import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Validator } from '../../../mesh/validate/engine';
import { ALL_RULES, CATALOGUE } from '../../../mesh/validate/catalogue';
import { codeActionsFor, hoverMarkdown, toDiagnosticData } from '../../../mesh/validate/editor-conversion';
import { parseFile } from '../../../mesh/validate/manifest-file';
import { exitCodeFor, formatReport, toSarif } from '../../../mesh/validate/report-format';
import { applyEdits, check, codes } from './validate-harness';

const dep = (name: string, ann = 'weft.dev/inject: enabled') => `apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: ${name}\n  annotations:\n    ${ann}\nspec:\n  template:\n    spec: {}\n`;

test('codes are unique, well-formed, and each has a docs/rules.md anchor and entry', () => {
  const all = ALL_RULES.flatMap((r) => r.codes.map((c) => c.code));
  assert.equal(new Set(all).size, all.length);
  const docs = readFileSync(join(import.meta.dirname, '../../../docs/rules.md'), 'utf8');
  const prefix: Record<string, string> = { 'opaque-ports': '1', 'network-policy': '2', injection: '3', routing: '4', policy: '5', yaml: '9' };
  for (const info of CATALOGUE.values()) {
    assert.match(info.code, /^WEFT\d{4}$/);
    assert.equal(info.code[4], prefix[info.category], `${info.code} is in the ${info.category} range`);
    assert.ok(docs.includes(`<a id="${info.code.toLowerCase()}"></a>`), `anchor for ${info.code}`);
    assert.ok(docs.includes(`### ${info.code}: ${info.title}`), `entry for ${info.code}`);
  }
});

test('the ignore annotation silences the listed codes for that resource only', () => {
  assert.deepEqual(codes(check(dep('a') + '---\n' + dep('b'))), ['WEFT3001', 'WEFT3001']);
  const ignored = dep('a').replace('  annotations:\n', '  annotations:\n    validate.weft.dev/ignore: "WEFT1001, weft3001"\n');
  assert.deepEqual(codes(check(ignored + '---\n' + dep('b'))), ['WEFT3001']);
});

test('the ignore quick fix appends to an existing ignore list', () => {
  const text = dep('a').replace('  annotations:\n', '  annotations:\n    validate.weft.dev/ignore: WEFT1001  # keep\n');
  const f = check(text);
  const ignore = f[0]!.fixes.find((x) => x.kind === 'ignore')!;
  const after = applyEdits(text, ignore.edits);
  assert.match(after, /validate\.weft\.dev\/ignore: "WEFT1001,WEFT3001" {2}# keep/);
  assert.deepEqual(codes(check(after)), []);
});

test('an edit re-parses only the document it touches; the others are reused', () => {
  const docs = Array.from({ length: 20 }, (_, i) => dep(`d${i}`)).join('---\n');
  const first = parseFile('f.yaml', docs);
  const edited = docs.replace('name: d7\n', 'name: d7x\n');
  const second = parseFile('f.yaml', edited, first);
  const reused = second.docs.filter((d, i) => d.parsed === first.docs[i]!.parsed).length;
  assert.equal(reused, 19);
  assert.notEqual(second.docs[7]!.parsed, first.docs[7]!.parsed);
  assert.deepEqual(second.docs.map((d) => d.startLine), first.docs.map((d) => d.startLine));
});

test('the workspace index follows file changes and live namespaces', () => {
  const v = new Validator();
  const np = 'apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: p, namespace: shop}\nspec:\n  podSelector: {}\n  ingress:\n  - ports: [{port: 8080}]\n';
  v.setFile('np.yaml', np);
  assert.deepEqual(codes(v.validateFile('np.yaml')), []);
  v.setFile('ns.yaml', 'apiVersion: v1\nkind: Namespace\nmetadata:\n  name: shop\n  annotations: {weft.dev/inject: enabled}\n');
  assert.deepEqual(codes(v.validateFile('np.yaml')), ['WEFT2001']);
  v.removeFile('ns.yaml');
  assert.deepEqual(codes(v.validateFile('np.yaml')), []);
  v.setLiveNamespaces(new Map([['shop', { 'weft.dev/inject': 'enabled' }]]));
  assert.deepEqual(codes(v.validateFile('np.yaml')), ['WEFT2001']);
});

test('reports: JSON has exactly the documented fields with zero-based lines; SARIF and exit codes', () => {
  const f = check(dep('a'));
  const json = JSON.parse(formatReport(f, 'json')) as Record<string, unknown>[];
  assert.deepEqual(Object.keys(json[0]!).sort(), ['category', 'code', 'file', 'message', 'range', 'severity']);
  assert.deepEqual(json[0]!.range, { start: { line: 5, character: 4 }, end: { line: 5, character: 19 } });
  assert.equal(json[0]!.category, 'injection');
  const sarif = toSarif(f) as { runs: { results: { ruleId: string; level: string; locations: { physicalLocation: { region: { startLine: number } } }[] }[] }[] };
  assert.equal(sarif.runs[0]!.results[0]!.ruleId, 'WEFT3001');
  assert.equal(sarif.runs[0]!.results[0]!.locations[0]!.physicalLocation.region.startLine, 6);
  assert.match(formatReport(f, 'text'), /test\.yaml:6:5: warning WEFT3001 \[injection\]/);
  assert.equal(exitCodeFor(f), 0, 'warnings only');
  assert.equal(exitCodeFor(check(dep('a', 'weft.dev/inject: "true"'))), 1);
});

test('editor conversions: diagnostic data, hover with doc link, code actions (fix preferred, then ignore)', () => {
  const f = check(dep('a'));
  const d = toDiagnosticData(f[0]!, 'file:///ext/docs/rules.md');
  assert.equal(d.severity, 1);
  assert.equal(d.code.target, 'file:///ext/docs/rules.md#weft3001');
  assert.match(hoverMarkdown(f, 'file:///ext/docs/rules.md')!, /\[Documentation of WEFT3001\]\(file:\/\/\/ext\/docs\/rules\.md#weft3001\)/);
  const actions = codeActionsFor(f, { start: { line: 5, character: 6 }, end: { line: 5, character: 6 } });
  assert.deepEqual(actions.map((a) => [a.isPreferred, a.title]), [[true, 'Move weft.dev/inject to the pod template'], [false, 'Ignore WEFT3001 for Deployment a']]);
  assert.deepEqual(codeActionsFor(f, { start: { line: 0, character: 0 }, end: { line: 0, character: 3 } }), []);
});
