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
  /** The stream's events, packed (packEvents). */
  events: Int32Array;
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

const { DOCUMENT, SCALAR, MAPPING, SEQUENCE, POP, ALIAS } = EVENT_ID;
const PLAIN = 1;
const SINGLE_QUOTED = 2;
const DOUBLE_QUOTED = 3;
const BLOCK_STYLE = 1;

/**
 * Events packed in an Int32Array, STRIDE slots each: type, start (a scalar's valueStart, a
 * collection's start), end (a scalar's valueEnd), style, anchorStart, tagStart, fast, indent,
 * chomping. Kept for the life of a parsed document, so that the garbage collector does not trace
 * (and promote) one object per node.
 */
export const STRIDE = 9;
const TYPE = 0, START = 1, END = 2, STYLE = 3, ANCHOR = 4, TAG = 5, FAST = 6, INDENT = 7, CHOMPING = 8;

export function packEvents(events: readonly Event[]): Int32Array {
  const out = new Int32Array(events.length * STRIDE);
  for (let i = 0, o = 0; i < events.length; i++, o += STRIDE) {
    const e = events[i]!;
    out[o + TYPE] = e.type;
    if (e.type === SCALAR) {
      out[o + START] = e.valueStart;
      out[o + END] = e.valueEnd;
      out[o + STYLE] = e.style;
      out[o + ANCHOR] = e.anchorStart;
      out[o + TAG] = e.tagStart;
      out[o + FAST] = e.fast ? 1 : 0;
      out[o + INDENT] = e.indent;
      out[o + CHOMPING] = e.chomping;
    } else if (e.type === MAPPING || e.type === SEQUENCE) {
      out[o + START] = e.start;
      out[o + END] = -1;
      out[o + STYLE] = e.style;
      out[o + ANCHOR] = e.anchorStart;
      out[o + TAG] = e.tagStart;
    } else if (e.type === ALIAS) {
      out[o + START] = e.anchorStart;
      out[o + END] = e.anchorEnd;
    }
  }
  return out;
}

/** Indexes of the root node event of each document. */
export function documentRoots(packed: Int32Array): number[] {
  const roots: number[] = [];
  for (let i = 0, n = packed.length / STRIDE; i < n; i++) if (packed[i * STRIDE + TYPE] === DOCUMENT) roots.push(i + 1);
  return roots;
}

/** Where the node event `i` starts in `source` (-1 when unknown). */
export function eventStart(packed: Int32Array, i: number): number {
  return i * STRIDE < packed.length ? packed[i * STRIDE + START]! : -1;
}

/** Plain scalars that the YAML 1.2 core schema may read as null, a boolean or a number (a superset). */
const MAYBE_NOT_STRING = /^(?:~|[Nn]ull|NULL|[Tt]rue|TRUE|[Ff]alse|FALSE|[-+]?\.?[0-9][0-9a-fA-FoOxX._+-]*|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))?$/;
/** Path segments that `String()` of such a value could produce. */
const NON_STRING_TEXT = /^(?:null|true|false|-?Infinity|NaN|[-+0-9.eE]*)$/;

/** Index just after the node that starts at event `i`. */
function skip(ev: Int32Array, i: number): number {
  const t = ev[i * STRIDE + TYPE];
  if (t !== MAPPING && t !== SEQUENCE) return i + 1;
  const n = ev.length / STRIDE;
  let depth = 0;
  for (let j = i; j < n; j++) {
    const u = ev[j * STRIDE + TYPE];
    if (u === MAPPING || u === SEQUENCE) depth++;
    else if (u === POP && --depth === 0) return j + 1;
  }
  return n;
}

/** The decoded text of scalar event `i`. */
function scalarText(source: string, ev: Int32Array, i: number): string {
  const o = i * STRIDE;
  if (ev[o + FAST] === 1) return source.slice(ev[o + START], ev[o + END]);
  const e: ScalarEvent = {
    type: SCALAR, valueStart: ev[o + START]!, valueEnd: ev[o + END]!, anchorStart: ev[o + ANCHOR]!, anchorEnd: -1, tagStart: ev[o + TAG]!, tagEnd: -1,
    style: ev[o + STYLE] as ScalarEvent['style'], chomping: ev[o + CHOMPING] as ScalarEvent['chomping'], indent: ev[o + INDENT]!, fast: false,
  };
  return getScalarValue(source, e);
}

/** A scalar's range as `yaml` reports it (quotes included), in document offsets; undefined when unknown here. */
function scalarRange(ev: Int32Array, i: number, base: number): Offsets | undefined {
  const o = i * STRIDE;
  const start = ev[o + START]!;
  if (ev[o + ANCHOR]! >= 0 || ev[o + TAG]! >= 0 || start < 0) return undefined;
  const style = ev[o + STYLE];
  if (style === PLAIN) return [start - base, ev[o + END]! - base];
  if (style === SINGLE_QUOTED || style === DOUBLE_QUOTED) return [start - 1 - base, ev[o + END]! + 1 - base];
  return undefined;
}

const UNKNOWN = -2;

/** Event index of the key `seg` in the map at `i` (its value follows), -1 when absent, UNKNOWN when undecidable here. */
function findKey(d: DocEvents, i: number, seg: string): number {
  const { events: ev, source } = d;
  let j = i + 1;
  while (ev[j * STRIDE + TYPE] !== POP) {
    const o = j * STRIDE;
    const t = ev[o + TYPE];
    if (t === SCALAR) {
      const style = ev[o + STYLE];
      let name: string | undefined;
      if (style === PLAIN) {
        const raw = scalarText(source, ev, j);
        if (ev[o + START]! < 0 || MAYBE_NOT_STRING.test(raw)) {
          if (NON_STRING_TEXT.test(seg)) return UNKNOWN;
        } else name = raw;
      } else if (style === SINGLE_QUOTED || style === DOUBLE_QUOTED) name = scalarText(source, ev, j);
      if (name === seg) return j;
    } else if (t === ALIAS) return UNKNOWN;
    j = skip(ev, skip(ev, j));
  }
  return -1;
}

/**
 * Offsets of a hit from js-yaml's events, or undefined when only the Document can tell. Follows
 * the same rules as hitOffsetsFromDocument.
 */
export function hitOffsetsFromEvents(d: DocEvents, text: string, path: YamlPath, key = false): Offsets | undefined {
  const { events: ev, base } = d;
  let node = d.first;
  let pairKey = -1;
  let depth = 0;
  for (const seg of path) {
    const t = ev[node * STRIDE + TYPE];
    if (t === MAPPING && typeof seg === 'string') {
      const k = findKey(d, node, seg);
      if (k === UNKNOWN) return undefined;
      if (k === -1) break;
      pairKey = k;
      node = skip(ev, k);
    } else if (t === SEQUENCE && typeof seg === 'number') {
      let j = node + 1;
      for (let n = 0; n < seg && ev[j * STRIDE + TYPE] !== POP; n++) j = skip(ev, j);
      if (ev[j * STRIDE + TYPE] === POP) break;
      pairKey = -1;
      node = j;
    } else if (t === ALIAS) return undefined;
    else break;
    depth++;
  }
  const complete = depth === path.length;
  let keyR: Offsets | undefined;
  if (pairKey >= 0) {
    if (ev[pairKey * STRIDE + TYPE] !== SCALAR) return undefined;
    keyR = scalarRange(ev, pairKey, base);
    if (!keyR) return undefined;
  }
  if (complete && key && keyR) return keyR;
  const o = node * STRIDE;
  const t = ev[o + TYPE];
  const plainNode = ev[o + ANCHOR]! < 0 && ev[o + TAG]! < 0;
  if (t === SCALAR) {
    if (ev[o + START]! >= 0 && ev[o + END]! > ev[o + START]!) return scalarRange(ev, node, base);
    // An empty scalar: `yaml` has an empty or no node there.
    if (ev[o + STYLE] === PLAIN && plainNode && keyR) return keyR;
    return undefined;
  }
  if (keyR) return keyR;
  if ((t === MAPPING || t === SEQUENCE) && ev[o + STYLE] === BLOCK_STYLE && plainNode) {
    // A block collection ends after the end of its first line; only the last line of a text is uncertain.
    const start = ev[o + START]! - base;
    const nl = text.indexOf('\n', start);
    return nl < 0 ? undefined : [start, nl];
  }
  return undefined;
}
