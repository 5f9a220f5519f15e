/**
 * Where a rule hit points, in offsets of its document's text. Two ways that give the same answer
 * (test/unit/validate/hit-offsets.test.ts holds them to it):
 * - from `yaml`'s Document (node ranges): always possible, but the Document costs a full parse;
 * - from js-yaml's parser events, kept from the fast-path parse (scalar start/end offsets,
 *   collection start offsets): no second parse. It answers only where its offsets are known to equal
 *   `yaml`'s ranges and returns undefined otherwise (block scalars, anchors, flow collections and empty
 *   nodes where an end is needed, keys that the core schema could read as non-strings), and the caller
 *   then asks the Document.
 */
import { EVENT_ID, getScalarValue, type Event, type ScalarEvent } from 'js-yaml';
import { isScalar, type Document, type Node } from 'yaml';
import type { YamlPath } from './finding';
import { walk } from './yaml-edits';

/** One document's events inside the event stream of the text they were parsed from. */
export interface DocEvents {
  /** The text given to the parser (a whole file when it was read in one call). */
  source: string;
  events: Event[];
  /** Index of the document's root node event. */
  first: number;
  /** Offset of the document's own text in `source`. */
  base: number;
}

type Offsets = [number, number];

function nodeRange(n: unknown): Offsets | undefined {
  const r = (n as { range?: [number, number, number] } | null)?.range;
  return r ? [r[0], r[1]] : undefined;
}

/** The first line of a node: from its start to the end of its line, or to its end if it ends earlier. */
function firstLine(text: string, nr: Offsets): Offsets {
  const nl = text.indexOf('\n', nr[0]);
  return [nr[0], nl < 0 ? Math.max(nr[1], nr[0]) : Math.min(nl, Math.max(nr[1], nr[0] + 1))];
}

/** Offsets of a hit from `yaml`'s Document: a scalar's own text, a pair's key for collections, else the node's first line. */
export function hitOffsetsFromDocument(doc: Document.Parsed, text: string, path: YamlPath, key = false): Offsets {
  const found = walk(doc, path);
  const last = found[found.length - 1]!;
  const complete = found.length === path.length + 1;
  const keyR = last.pair ? nodeRange(last.pair.key) : undefined;
  if (complete && key && keyR) return keyR;
  const nr = nodeRange(last.node as Node | null);
  if (isScalar(last.node) && nr && nr[1] > nr[0]) return nr;
  if (keyR) return keyR;
  if (nr) return firstLine(text, nr);
  return [0, Math.max(0, Math.min(1, text.length))];
}

const { SCALAR, MAPPING, SEQUENCE, POP, ALIAS } = EVENT_ID;
const PLAIN = 1;
const SINGLE_QUOTED = 2;
const DOUBLE_QUOTED = 3;
const BLOCK_STYLE = 1;

/** Plain scalars that the YAML 1.2 core schema may read as null, a boolean or a number (a superset). */
const MAYBE_NOT_STRING = /^(?:~|[Nn]ull|NULL|[Tt]rue|TRUE|[Ff]alse|FALSE|[-+]?\.?[0-9][0-9a-fA-FoOxX._+-]*|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))?$/;
/** Path segments that `String()` of such a value could produce. */
const NON_STRING_TEXT = /^(?:null|true|false|-?Infinity|NaN|[-+0-9.eE]*)$/;

/** Index just after the node that starts at `i`. */
function skip(events: Event[], i: number): number {
  const t = events[i]!.type;
  if (t !== MAPPING && t !== SEQUENCE) return i + 1;
  let depth = 0;
  for (let j = i; j < events.length; j++) {
    const u = events[j]!.type;
    if (u === MAPPING || u === SEQUENCE) depth++;
    else if (u === POP && --depth === 0) return j + 1;
  }
  return events.length;
}

/** A scalar's range as `yaml` reports it (quotes included), in document offsets; undefined when unknown here. */
function scalarRange(e: ScalarEvent, base: number): Offsets | undefined {
  if (e.anchorStart >= 0 || e.tagStart >= 0 || e.valueStart < 0) return undefined;
  if (e.style === PLAIN) return [e.valueStart - base, e.valueEnd - base];
  if (e.style === SINGLE_QUOTED || e.style === DOUBLE_QUOTED) return [e.valueStart - 1 - base, e.valueEnd + 1 - base];
  return undefined;
}

const UNKNOWN = Symbol('unknown');

/** Index of the value of map key `seg` in the map at `i`, -1 when absent, UNKNOWN when undecidable here. */
function findKey(d: DocEvents, i: number, seg: string): { key: number; value: number } | -1 | typeof UNKNOWN {
  const { events, source } = d;
  let j = i + 1;
  while (events[j]!.type !== POP) {
    const k = events[j]!;
    const valueAt = skip(events, j);
    if (k.type === SCALAR) {
      let name: string | undefined;
      if (k.style === PLAIN) {
        const raw = k.fast ? source.slice(k.valueStart, k.valueEnd) : getScalarValue(source, k);
        if (k.valueStart < 0 || MAYBE_NOT_STRING.test(raw)) {
          if (NON_STRING_TEXT.test(seg)) return UNKNOWN;
        } else name = raw;
      } else if (k.style === SINGLE_QUOTED || k.style === DOUBLE_QUOTED) name = getScalarValue(source, k);
      if (name === seg) return { key: j, value: valueAt };
    } else if (k.type === ALIAS) return UNKNOWN;
    j = skip(events, valueAt);
  }
  return -1;
}

/**
 * Offsets of a hit from js-yaml's events, or undefined when only the Document can tell. Follows
 * the same rules as hitOffsetsFromDocument.
 */
export function hitOffsetsFromEvents(d: DocEvents, text: string, path: YamlPath, key = false): Offsets | undefined {
  const { events, base } = d;
  let node = d.first;
  let pairKey = -1;
  let depth = 0;
  for (const seg of path) {
    const e = events[node]!;
    if (e.type === MAPPING && typeof seg === 'string') {
      const at = findKey(d, node, seg);
      if (at === UNKNOWN) return undefined;
      if (at === -1) break;
      pairKey = at.key;
      node = at.value;
    } else if (e.type === SEQUENCE && typeof seg === 'number') {
      let j = node + 1;
      for (let n = 0; n < seg && events[j]!.type !== POP; n++) j = skip(events, j);
      if (events[j]!.type === POP) break;
      pairKey = -1;
      node = j;
    } else if (e.type === ALIAS) return undefined;
    else break;
    depth++;
  }
  const complete = depth === path.length;
  let keyR: Offsets | undefined;
  if (pairKey >= 0) {
    const k = events[pairKey]!;
    if (k.type !== SCALAR) return undefined;
    keyR = scalarRange(k, base);
    if (!keyR) return undefined;
  }
  if (complete && key && keyR) return keyR;
  const e = events[node]!;
  if (e.type === SCALAR) {
    if (e.valueStart >= 0 && e.valueEnd > e.valueStart) {
      return scalarRange(e, base);
    }
    // An empty scalar: `yaml` has an empty or no node there.
    if (e.style === PLAIN && e.anchorStart < 0 && e.tagStart < 0 && keyR) return keyR;
    return undefined;
  }
  if (keyR) return keyR;
  if ((e.type === MAPPING || e.type === SEQUENCE) && e.style === BLOCK_STYLE && e.anchorStart < 0 && e.tagStart < 0) {
    // A block collection ends after the end of its first line; only the last line of a text is uncertain.
    const start = e.start - base;
    const nl = text.indexOf('\n', start);
    return nl < 0 ? undefined : [start, nl];
  }
  return undefined;
}
