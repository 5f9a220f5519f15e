/**
 * Text edits on a YAML document computed from `yaml`'s Document (node ranges), so that the rest
 * of the text — comments, quoting, ordering, indentation — is kept exactly as it was.
 * Every function returns [] when it cannot make a safe edit (then no quick fix is offered).
 */
import { isMap, isScalar, isSeq, type Document, type Node, type Pair, type YAMLMap, type YAMLSeq } from 'yaml';
import type { DocEdit, YamlPath } from './finding';

export interface EditableDoc {
  doc: Document.Parsed;
  text: string;
}

export interface Located {
  node: Node | null;
  pair?: Pair<unknown, unknown>;
}

/** Follows a path; returns the nodes found, deepest last (the first entry is the root). */
export function walk(doc: Document.Parsed, path: YamlPath): Located[] {
  const out: Located[] = [{ node: doc.contents as Node | null }];
  let cur: unknown = doc.contents;
  for (const seg of path) {
    if (isMap(cur) && typeof seg === 'string') {
      const pair = (cur as YAMLMap<unknown, unknown>).items.find((p) => (isScalar(p.key) ? String(p.key.value) : p.key) === seg);
      if (!pair) break;
      cur = pair.value;
      out.push({ node: (pair.value as Node | null) ?? null, pair });
    } else if (isSeq(cur) && typeof seg === 'number') {
      const item = (cur as YAMLSeq<unknown>).items[seg];
      if (item === undefined) break;
      cur = item;
      out.push({ node: item as Node });
    } else break;
  }
  return out;
}

/** Quotes a scalar for YAML (annotation values must stay strings). */
export function quote(value: string): string {
  return JSON.stringify(value);
}

function lineStart(text: string, at: number): number {
  return text.lastIndexOf('\n', at - 1) + 1;
}
function column(text: string, at: number): number {
  return at - lineStart(text, at);
}
/** Offset just after the end of the line holding `at - 1` (i.e. the start of the next line). */
function afterLine(text: string, end: number): number {
  if (end > 0 && text[end - 1] === '\n') return end;
  const nl = text.indexOf('\n', end);
  return nl < 0 ? text.length : nl + 1;
}
function nodeRange(n: unknown): [number, number] | undefined {
  const r = (n as { range?: [number, number, number] } | null)?.range;
  return r ? [r[0], r[1]] : undefined;
}

/** Inserts whole lines at a line start, adding the newline a last line may lack. */
function insertLines(text: string, at: number, lines: string[]): DocEdit {
  const body = lines.join('\n') + '\n';
  return { from: at, to: at, text: at === text.length && text.length > 0 && !text.endsWith('\n') ? '\n' + body : body };
}

/** Lines that write `key: value` (value a scalar text, or lines of a block) at an indent. */
function entryLines(indent: number, key: string, value: string | string[]): string[] {
  const pad = ' '.repeat(indent);
  if (typeof value === 'string') return [`${pad}${key}: ${value}`];
  return [`${pad}${key}:`, ...value.map((l) => `${pad}  ${l}`)];
}

/**
 * Sets `key` in the map at `mapPath` to `value` (a scalar's YAML text, or the lines of a block),
 * creating the missing maps on the way. An existing scalar value is replaced in place.
 */
export function setEntry(d: EditableDoc, mapPath: YamlPath, key: string, value: string | string[]): DocEdit[] {
  const found = walk(d.doc, mapPath);
  const deepest = found[found.length - 1]!;
  const missing = mapPath.slice(found.length - 1).map(String);
  const target = deepest.node;
  if (missing.length === 0 && isMap(target)) {
    const existing = target.items.find((p) => isScalar(p.key) && String(p.key.value) === key);
    if (existing) {
      const r = nodeRange(existing.value);
      if (typeof value === 'string' && isScalar(existing.value) && r) return [{ from: r[0], to: r[1], text: value }];
      return [];
    }
  }
  // Build what goes under `target`: the missing maps, then the entry.
  let lines: string[] | undefined;
  const nest = (indent: number): string[] => {
    let ls = entryLines(indent + 2 * missing.length, key, value);
    for (let i = missing.length - 1; i >= 0; i--) ls = [`${' '.repeat(indent + 2 * i)}${missing[i]}:`, ...ls];
    return ls;
  };
  if (isMap(target) && !target.flow && target.items.length > 0) {
    const first = target.items[0]!;
    const kr = nodeRange(first.key);
    const last = target.items[target.items.length - 1]!;
    const end = nodeRange(last.value)?.[1] ?? nodeRange(last.key)?.[1];
    if (!kr || end === undefined) return [];
    lines = nest(column(d.text, kr[0]));
    return [insertLines(d.text, afterLine(d.text, end), lines)];
  }
  // An empty value (`annotations:`), `~`/`null`, or an empty flow map `{}`: write a block under the key.
  const emptyish = target === null || (isScalar(target) && target.value === null) || (isMap(target) && target.items.length === 0);
  if (emptyish && deepest.pair) {
    const kr = nodeRange(deepest.pair.key);
    if (!kr) return [];
    const base = column(d.text, kr[0]) + 2;
    lines = nest(base);
    const vr = nodeRange(target);
    const colon = d.text.indexOf(':', kr[1]);
    if (colon < 0) return [];
    const from = colon + 1;
    const to = vr && vr[1] > vr[0] ? vr[1] : from;
    return [{ from, to, text: '\n' + lines.join('\n') }];
  }
  return [];
}

/** Removes `key` from the map at `mapPath`; when it was the map's only entry, the map's own key goes too. */
export function removeEntry(d: EditableDoc, mapPath: YamlPath, key: string): DocEdit[] {
  const found = walk(d.doc, mapPath);
  if (found.length !== mapPath.length + 1) return [];
  const map = found[found.length - 1]!.node;
  if (!isMap(map) || map.flow) return [];
  const pair = map.items.find((p) => isScalar(p.key) && String(p.key.value) === key);
  if (!pair) return [];
  if (map.items.length === 1 && mapPath.length > 0 && typeof mapPath[mapPath.length - 1] === 'string') {
    const parent = mapPath.slice(0, -1);
    const parentNode = found[found.length - 2]!.node;
    if (isMap(parentNode) && parentNode.items.length > 1) return removeEntry(d, parent, String(mapPath[mapPath.length - 1]));
  }
  const kr = nodeRange(pair.key);
  const end = nodeRange(pair.value)?.[1] ?? kr?.[1];
  if (!kr || end === undefined) return [];
  const ls = lineStart(d.text, kr[0]);
  if (d.text.slice(ls, kr[0]).trim() !== '') return [];
  return [{ from: ls, to: afterLine(d.text, end), text: '' }];
}

/** Appends an item (the lines of a block, first line after `- `) to the sequence at `seqPath`, creating it if missing. */
export function appendItem(d: EditableDoc, seqPath: YamlPath, itemLines: string[]): DocEdit[] {
  const found = walk(d.doc, seqPath);
  const seq = found[found.length - 1]!.node;
  if (found.length === seqPath.length + 1 && isSeq(seq) && !seq.flow && seq.items.length > 0) {
    const r0 = nodeRange(seq.items[0]);
    const rl = nodeRange(seq.items[seq.items.length - 1]);
    if (!r0 || !rl) return [];
    const ls = lineStart(d.text, r0[0]);
    const dash = d.text.lastIndexOf('-', r0[0]);
    if (dash < ls) return [];
    const pad = ' '.repeat(dash - ls);
    const lines = itemLines.map((l, i) => (i === 0 ? `${pad}- ${l}` : `${pad}  ${l}`));
    return [insertLines(d.text, afterLine(d.text, rl[1]), lines)];
  }
  const block = itemLines.map((l, i) => (i === 0 ? `- ${l}` : `  ${l}`));
  if (found.length === seqPath.length + 1 && isSeq(seq) && seq.items.length === 0) {
    const r = nodeRange(seq);
    const pair = found[found.length - 1]!.pair;
    const kr = nodeRange(pair?.key);
    if (!r || !kr) return [];
    const pad = ' '.repeat(column(d.text, kr[0]) + 2);
    return [{ from: r[0], to: r[1], text: '\n' + block.map((l) => pad + l).join('\n') }];
  }
  if (found.length === seqPath.length + 1 && !(seq === null || (isScalar(seq) && seq.value === null))) return [];
  const last = seqPath[seqPath.length - 1];
  if (typeof last !== 'string') return [];
  return setEntry(d, seqPath.slice(0, -1), last, block);
}

/** The comment at the end of the line of `key` in the map at `mapPath` (to carry it along when an entry moves). */
export function trailingComment(d: EditableDoc, mapPath: YamlPath, key: string): string | undefined {
  const found = walk(d.doc, [...mapPath, key]);
  if (found.length !== mapPath.length + 2) return undefined;
  const end = nodeRange(found[found.length - 1]!.node)?.[1] ?? nodeRange(found[found.length - 1]!.pair?.key)?.[1];
  if (end === undefined) return undefined;
  const nl = d.text.indexOf('\n', end);
  const rest = d.text.slice(end, nl < 0 ? d.text.length : nl);
  const m = /\s#.*$|^#.*$/.exec(rest);
  return m ? m[0].trim() : undefined;
}

/** A value text followed by a carried comment. */
export function withComment(value: string, comment: string | undefined): string {
  return comment ? `${value}   ${comment}` : value;
}
