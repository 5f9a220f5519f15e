/**
 * `weft inject`'s pure core: multi-document Kubernetes YAML in, YAML out.
 *
 * - annotateManifest: adds `weft.dev/inject: enabled` to the pod template of every Pod, Deployment,
 *   StatefulSet, DaemonSet, ReplicaSet, ReplicationController, Job and CronJob, by splicing text at
 *   positions found with the `yaml` Document API: every other byte (comments, quoting, indentation,
 *   blank lines, document markers) is kept exactly. The result is re-parsed and checked.
 * - injectManifest (--manual): the same annotation, then the injector's patch applied client-side to
 *   the yaml Document (comments kept; changed documents are re-printed by `yaml`, the others kept
 *   byte for byte). A Namespace defined in the same input lends its config.weft.dev/* annotations.
 *
 * Errors are values: a YAML syntax error yields { ok: false, error } naming the line.
 */
import { isAlias, isMap, isScalar, isSeq, LineCounter, parseAllDocuments, type Document, type Node, type Pair, type YAMLMap } from 'yaml';
import { ANNOTATIONS } from '../../config/annotations';
import { inject } from './injector';
import { pointer, type JsonPatchOp } from './json-patch';
import type { NamespaceLike, PodLike } from './kube-types';
import type { MeshConfig } from './mesh-config';
import { POD_TEMPLATE_PATHS } from '../../config/kube-kinds';

export { POD_TEMPLATE_PATHS };

export type ResourceAction = 'annotated' | 'injected' | 'unchanged' | 'skipped';

export interface ResourceReport {
  kind: string;
  name: string;
  action: ResourceAction;
  /** Why it was skipped or unchanged, or the injector's notes. */
  detail?: string;
}

export type ManifestInjectResult = { ok: true; text: string; resources: ResourceReport[] } | { ok: false; error: string };

const KEY = ANNOTATIONS.inject;
const VALUE = 'enabled';

interface Edit {
  start: number;
  end: number;
  text: string;
}

type ParsedManifest = { ok: true; docs: Document.Parsed[] } | { ok: false; error: string };

function parseManifest(text: string): ParsedManifest {
  const lineCounter = new LineCounter();
  const docs = parseAllDocuments(text, { lineCounter, prettyErrors: false });
  if (!Array.isArray(docs)) return { ok: true, docs: [] }; // an empty stream
  for (const d of docs) {
    const err = d.errors[0];
    if (err) {
      const { line, col } = lineCounter.linePos(err.pos[0]);
      return { ok: false, error: `invalid YAML at line ${line}, column ${col}: ${err.message.split('\n')[0]}` };
    }
  }
  return { ok: true, docs };
}

function findPair(map: YAMLMap, key: string): Pair<unknown, unknown> | undefined {
  return map.items.find((p) => isScalar(p.key) && p.key.value === key);
}

function stringAt(map: YAMLMap, ...path: string[]): string | undefined {
  let node: unknown = map;
  for (const k of path) {
    if (!isMap(node)) return undefined;
    node = findPair(node, k)?.value;
  }
  return isScalar(node) && typeof node.value === 'string' ? node.value : undefined;
}

/** The node at `path` of maps (no aliases followed: an aliased template is reported, not edited). */
function mapAt(root: unknown, path: readonly string[]): YAMLMap | string {
  let node: unknown = root;
  for (const k of path) {
    if (!isMap(node)) return `${path.join('.')} is not a mapping`;
    node = findPair(node, k)?.value;
    if (node === undefined || node === null) return `it has no ${path.join('.')}`;
  }
  if (isAlias(node)) return `${path.join('.') || 'the object'} is a YAML alias`;
  if (!isMap(node)) return `${path.join('.') || 'the object'} is not a mapping`;
  return node;
}

/** A key's column: how far its start is from the start of its line. */
function columnOf(text: string, offset: number): number {
  return offset - (text.lastIndexOf('\n', offset - 1) + 1);
}

function keyStart(pair: Pair<unknown, unknown>): number | undefined {
  const k = pair.key as Node | null;
  return k && typeof k === 'object' && 'range' in k && k.range ? k.range[0] : undefined;
}

/**
 * The text edit that sets metadata.annotations[weft.dev/inject] = enabled on a pod (template) map,
 * 'unchanged' when it already says so, or a reason it cannot be edited in place.
 */
function annotationEdit(text: string, template: YAMLMap): Edit | 'unchanged' | string {
  const spaces = (n: number) => ' '.repeat(n);
  const nl = text.includes('\r\n') ? '\r\n' : '\n';
  const insertBeforeFirst = (map: YAMLMap, block: (col: number) => string, flow: string): Edit | string => {
    const first = map.items[0];
    const at = first ? keyStart(first) : undefined;
    if (at === undefined) {
      if (map.flow && map.items.length === 0 && map.range) return { start: map.range[0], end: map.range[1], text: `{${flow.replace(/, $/, '')}}` };
      return 'its pod template is an empty or unusual mapping';
    }
    return map.flow ? { start: at, end: at, text: flow } : { start: at, end: at, text: block(columnOf(text, at)) };
  };

  const metaPair = findPair(template, 'metadata');
  if (!metaPair) {
    return insertBeforeFirst(
      template,
      (c) => `metadata:${nl}${spaces(c + 2)}annotations:${nl}${spaces(c + 4)}${KEY}: ${VALUE}${nl}${spaces(c)}`,
      `metadata: {annotations: {${KEY}: ${VALUE}}}, `,
    );
  }
  const meta = metaPair.value;
  if (!isMap(meta)) return 'its metadata is not a mapping';
  const annPair = findPair(meta, 'annotations');
  if (!annPair) {
    const metaKeyAt = keyStart(metaPair);
    const firstAt = meta.items[0] ? keyStart(meta.items[0]) : undefined;
    const step = metaKeyAt !== undefined && firstAt !== undefined ? Math.max(2, columnOf(text, firstAt) - columnOf(text, metaKeyAt)) : 2;
    return insertBeforeFirst(meta, (c) => `annotations:${nl}${spaces(c + step)}${KEY}: ${VALUE}${nl}${spaces(c)}`, `annotations: {${KEY}: ${VALUE}}, `);
  }
  const ann = annPair.value;
  if (!isMap(ann)) return 'its metadata.annotations is not a mapping';
  const injPair = findPair(ann, KEY);
  if (injPair) {
    const v = injPair.value;
    if (isScalar(v) && v.value === VALUE) return 'unchanged';
    if (isScalar(v) && v.range && v.range[1] > v.range[0]) return { start: v.range[0], end: v.range[1], text: VALUE };
    return `its ${KEY} annotation has a value that cannot be replaced in place`;
  }
  return insertBeforeFirst(ann, (c) => `${KEY}: ${VALUE}${nl}${spaces(c)}`, `${KEY}: ${VALUE}, `);
}

function applyEdits(text: string, edits: Edit[]): string {
  let out = text;
  for (const e of [...edits].sort((a, b) => b.start - a.start)) out = out.slice(0, e.start) + e.text + out.slice(e.end);
  return out;
}

interface Workload {
  doc: Document.Parsed;
  kind: string;
  name: string;
  namespace?: string;
  path: readonly string[];
}

function workloads(docs: Document.Parsed[]): { workload?: Workload; doc: Document.Parsed }[] {
  return docs.map((doc) => {
    const root = doc.contents;
    if (!isMap(root)) return { doc };
    const kind = stringAt(root, 'kind');
    if (kind === undefined || !(kind in POD_TEMPLATE_PATHS)) return { doc };
    const name = stringAt(root, 'metadata', 'name') ?? stringAt(root, 'metadata', 'generateName') ?? '(unnamed)';
    return { doc, workload: { doc, kind, name, namespace: stringAt(root, 'metadata', 'namespace'), path: POD_TEMPLATE_PATHS[kind]! } };
  });
}

/** Adds `weft.dev/inject: enabled` to every pod template, changing nothing else in the text. */
export function annotateManifest(text: string): ManifestInjectResult {
  const parsed = parseManifest(text);
  if (!parsed.ok) return parsed;
  const edits: Edit[] = [];
  const resources: ResourceReport[] = [];
  for (const { workload: w } of workloads(parsed.docs)) {
    if (!w) continue;
    const template = mapAt(w.doc.contents, w.path);
    if (typeof template === 'string') {
      resources.push({ kind: w.kind, name: w.name, action: 'skipped', detail: `not annotated: ${template}` });
      continue;
    }
    const edit = annotationEdit(text, template);
    if (edit === 'unchanged') resources.push({ kind: w.kind, name: w.name, action: 'unchanged', detail: `already has ${KEY}: ${VALUE}` });
    else if (typeof edit === 'string') resources.push({ kind: w.kind, name: w.name, action: 'skipped', detail: `not annotated: ${edit}` });
    else {
      edits.push(edit);
      resources.push({ kind: w.kind, name: w.name, action: 'annotated' });
    }
  }
  const out = applyEdits(text, edits);
  // The splice is checked, not trusted: the output must parse, and every annotated template must say enabled.
  const check = parseManifest(out);
  if (!check.ok) return { ok: false, error: `internal error: the annotated YAML does not parse (${check.error}); the input was left as is` };
  const after = workloads(check.docs).filter((x) => x.workload);
  const annotated = resources.filter((r) => r.action !== 'skipped').length;
  const withValue = after.filter(({ workload: w }) => {
    const t = mapAt(w!.doc.contents, w!.path);
    return typeof t !== 'string' && stringAt(t, 'metadata', 'annotations', KEY) === VALUE;
  }).length;
  if (withValue !== annotated) return { ok: false, error: 'internal error: the annotation did not land where expected; the input was left as is' };
  return { ok: true, text: out, resources };
}

function pointerTokens(path: string): string[] {
  return path.split('/').slice(1).map((t) => t.replace(/~1/g, '/').replace(/~0/g, '~'));
}

/** Applies the injector's add operations to a yaml Document, keeping comments on untouched nodes. */
function applyPatchToDocument(doc: Document.Parsed, patch: readonly JsonPatchOp[]): void {
  for (const op of patch) {
    if (op.op !== 'add') throw new Error(`unexpected ${op.op} operation from the injector`);
    const tokens = pointerTokens(op.path);
    const last = tokens.pop()!;
    const parent = tokens.length === 0 ? doc.contents : doc.getIn(tokens, true);
    const value = doc.createNode(op.value);
    if (isSeq(parent)) {
      if (last === '-') parent.items.push(value);
      else parent.items.splice(Number(last), 0, value);
    } else if (isMap(parent)) parent.set(doc.createNode(last), value);
    else throw new Error(`cannot apply the patch at ${op.path}: its parent is not a mapping or sequence`);
  }
}

/** Sequences written flush with their key (`key:\n- a`) in the source are printed the same way. */
function indentsSequences(text: string): boolean {
  const flush = /^( *)[^\s#-][^\n]*:[ \t]*\n\1- /m.test(text);
  const indented = /^( *)[^\s#-][^\n]*:[ \t]*\n\1 +- /m.test(text);
  return indented || !flush;
}

/** `weft inject --manual`: annotate, then add weft-init, weft-proxy and their volumes client-side. */
export function injectManifest(text: string, meshConfig: MeshConfig): ManifestInjectResult {
  const annotated = annotateManifest(text);
  if (!annotated.ok) return annotated;
  const parsed = parseManifest(annotated.text);
  if (!parsed.ok) return parsed;
  const namespaces = new Map<string, NamespaceLike>();
  for (const d of parsed.docs) {
    const js = safeToJS(d);
    if (typeof js === 'string') continue;
    const o = js.value as { kind?: unknown; metadata?: { name?: unknown } } | null;
    if (o && typeof o === 'object' && o.kind === 'Namespace' && typeof o.metadata?.name === 'string') namespaces.set(o.metadata.name, o as NamespaceLike);
  }
  // annotateManifest reports every workload, in document order: the same order as here.
  const before = annotated.resources;
  let index = 0;
  const resources: ResourceReport[] = [];
  const changed = new Set<Document.Parsed>();
  for (const { workload: w } of workloads(parsed.docs)) {
    if (!w) continue;
    const earlier = before[index++];
    const skipped = earlier?.action === 'skipped' ? earlier : undefined;
    if (skipped) {
      resources.push({ ...skipped, detail: skipped.detail?.replace('not annotated', 'not injected') });
      continue;
    }
    const whole = safeToJS(w.doc);
    if (typeof whole === 'string') {
      resources.push({ kind: w.kind, name: w.name, action: 'skipped', detail: `not injected: ${whole}` });
      continue;
    }
    const js = getPath(whole.value, w.path) as PodLike | undefined;
    if (!js || typeof js !== 'object') {
      resources.push({ kind: w.kind, name: w.name, action: 'skipped', detail: 'not injected: no pod template' });
      continue;
    }
    const ns = w.namespace !== undefined ? (namespaces.get(w.namespace) ?? { metadata: { name: w.namespace } }) : undefined;
    const result = inject(js, ns, meshConfig, { basePath: pointer(...w.path) });
    if (result.patch.length === 0) {
      resources.push({ kind: w.kind, name: w.name, action: 'skipped', detail: result.events[0] });
      continue;
    }
    try {
      applyPatchToDocument(w.doc, result.patch);
    } catch (err) {
      return { ok: false, error: `${w.kind} ${w.name}: ${(err as Error).message}` };
    }
    changed.add(w.doc);
    resources.push({ kind: w.kind, name: w.name, action: 'injected', detail: result.events.slice(1).join(' ') || undefined });
  }
  const indentSeq = indentsSequences(text);
  let out = '';
  let prevEnd = 0;
  const src = annotated.text;
  for (const d of parsed.docs) {
    const end = d.range[2];
    out += changed.has(d) ? d.toString({ indentSeq }) : src.slice(prevEnd, end);
    prevEnd = end;
  }
  out += src.slice(prevEnd);
  return { ok: true, text: out, resources };
}

function getPath(root: unknown, path: readonly string[]): unknown {
  let node = root;
  for (const k of path) {
    if (typeof node !== 'object' || node === null) return undefined;
    node = (node as Record<string, unknown>)[k];
  }
  return node;
}

/** toJS, with the alias-expansion guard's error (a "billion laughs" document) as a value. */
function safeToJS(doc: Document.Parsed): { value: unknown } | string {
  try {
    return { value: doc.toJS({ maxAliasCount: 100 }) };
  } catch (err) {
    return `the document cannot be read as plain data (${(err as Error).message})`;
  }
}
