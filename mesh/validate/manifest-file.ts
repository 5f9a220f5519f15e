/**
 * Splits a YAML file into documents and parses each one. Documents are split on their `---` / `...`
 * markers first, so one broken document never hides the others and an edit re-parses only the
 * document it touches (parses are reused by text).
 *
 * Two paths give the same result (test/unit/validate/parse-paths.test.ts holds them to it):
 * - fast: `js-yaml` builds the plain value (~5× cheaper than `yaml`) from its parser events, which
 *   are kept: they give the positions of findings (hit-offsets.ts). The position-keeping `yaml`
 *   Document is built lazily, on the first read of `doc` (quick fixes, and the rare position the
 *   events cannot give);
 * - slow: `yaml` parses with positions and reports errors, duplicate keys and alias limits. It is
 *   taken whenever js-yaml throws (syntax error, duplicate key, alias, unknown tag…) or the text has
 *   a construct where the two parsers are known to disagree (see SLOW_PATH_HINTS).
 * Helm templates, binary files and oversized files are recognised and skipped with one finding.
 */
import { constructFromEvents, CORE_SCHEMA, mergeTag, parseEvents } from 'js-yaml';
import { parseDocument, type Document } from 'yaml';
import { documentRoots, eventStart, packEvents, type DocEvents } from './hit-offsets';

export interface DocProblem {
  code: string;
  /** Offsets in the document's own text. */
  from: number;
  to: number;
  message: string;
}

/** One parsed document; depends only on its own text, so it can be cached by text. */
export interface ParsedDoc {
  readonly text: string;
  /** The position-keeping `yaml` Document (built on first read on the fast path). */
  readonly doc: Document.Parsed;
  /** Plain value (undefined when it could not be built). */
  readonly value: unknown;
  readonly problems: DocProblem[];
  /** True when the document is sound enough for the rules to read. */
  readonly checkable: boolean;
  /** Which parser built `value`: 'fast' (js-yaml) or 'slow' (`yaml`). */
  readonly path: ParsePath;
  /** js-yaml's parser events of the document (fast path only), for positions without `doc`. */
  readonly events?: DocEvents;
}

export type ParsePath = 'fast' | 'slow';

export interface ParseOptions {
  /** False forces the slow path for every document (tests compare both paths). Default true. */
  fastPath?: boolean;
}

export interface FileDoc {
  parsed: ParsedDoc;
  /** Offset and zero-based line of the document's first character in the file. */
  startOffset: number;
  startLine: number;
}

export interface FileProblem {
  code: string;
  offset: number;
  message: string;
}

export interface ParsedFile {
  file: string;
  text: string;
  docs: FileDoc[];
  /** Problems of the whole file (Helm template, binary, too large); when set, docs is empty. */
  skipped?: FileProblem;
  /** Offsets of line starts, computed on demand. */
  lineStarts?: number[];
}

/** Files above this size are not validated (one information finding instead). */
export const MAX_FILE_BYTES = 4 * 1024 * 1024;
/** Aliases expanded per document before giving up (defends against "billion laughs"). */
export const MAX_ALIAS_COUNT = 200;

/** Template directives that only Helm (not Prometheus/Alertmanager strings) writes. */
const HELM = /\{\{-?\s*(?:\.(?:Values|Release|Chart|Capabilities|Files|Template)\b|include\s|tpl\s|toYaml\s)/;

/** Quick test used by the editor: does this text look like a Kubernetes manifest at all? */
export function looksLikeKubernetesManifest(text: string): boolean {
  return /^[ \t]*apiVersion[ \t]*:/m.test(text) && /^[ \t]*kind[ \t]*:/m.test(text);
}

export function isHelmTemplate(text: string): number | undefined {
  const m = HELM.exec(text);
  return m ? m.index : undefined;
}

/** Splits the text at document markers at column 0; returns chunk start offsets. */
export function splitDocuments(text: string): number[] {
  const starts = [0];
  const re = /^(---|\.\.\.)(?=[ \t\r\n]|$)/gm;
  let m: RegExpExecArray | null;
  while ((m = re.exec(text)) !== null) {
    let at = m.index;
    if (m[1] === '...') {
      const nl = text.indexOf('\n', at);
      at = nl < 0 ? text.length : nl + 1;
    }
    if (at > starts[starts.length - 1]!) starts.push(at);
    else if (at === 0 && m[1] === '---') continue;
  }
  return starts;
}

const YAML_OPTIONS = { uniqueKeys: true, prettyErrors: false, merge: true, keepSourceTokens: false } as const;
/** js-yaml with the YAML 1.2 core schema (as `yaml`'s default) plus `<<` merges; aliases refused (→ slow path). */
const FAST_SCHEMA = CORE_SCHEMA.withTags(mergeTag);

/** js-yaml's `loadAll`, keeping the events (packed): values and the index of each document's root event. */
function loadEvents(source: string): { events: Int32Array; values: unknown[]; roots: number[] } {
  const parsed = parseEvents(source, {});
  const values = constructFromEvents(parsed, { source, schema: FAST_SCHEMA, maxAliases: 0 });
  const events = packEvents(parsed);
  return { events, values, roots: documentRoots(events) };
}

/**
 * Texts sent straight to the slow path: constructs where js-yaml accepts what `yaml` reports (or
 * builds another value), found by comparing the two on mutated fixtures. Over-matching only costs time.
 */
const SLOW_PATH_HINTS: RegExp[] = [
  // A line that starts with a `:` value indicator (`yaml`: "Nested mappings are not allowed in compact mappings").
  /^[ \t]*:(?:[ \t]|$)/m,
  // An indented `---`/`...` (`yaml`: "Implicit keys need to be on a single line"; js-yaml reads a key).
  /^[ \t]+(?:---|\.\.\.)(?:[ \t]|$)/m,
  // Explicit tags (`!!float 1` is '1' for `yaml`, 1 for js-yaml), directives (%YAML 1.1), and
  // explicit `? ` keys (an empty one is '' for `yaml`, 'null' for js-yaml).
  /(?:^|[\s[{,])!\S/m,
  /^%/m,
  /(?:^|[\s[{,])\?(?:[ \t]|$)/m,
];

function needsSlowPath(text: string): boolean {
  return SLOW_PATH_HINTS.some((re) => re.test(text));
}

/** Whether a document's root event starts inside a chunk (so the batch's documents are the split's). */
function inChunk(events: Int32Array, root: number, from: number, to: number): boolean {
  const start = eventStart(events, root);
  return start >= from && start < to;
}

function isObject(v: unknown): v is object {
  return typeof v === 'object' && v !== null;
}

/** Values (and events) of every document of a file in one js-yaml call, or undefined if it throws or the count differs. */
function loadBatch(text: string, expected: number): ReturnType<typeof loadEvents> | undefined {
  try {
    const all = loadEvents(text);
    return all.values.length === expected && all.roots.length === expected ? all : undefined;
  } catch {
    return undefined;
  }
}

/** Parses one document; the fast path unless `fastPath` is false or the text needs the slow one. */
export function parseDocText(text: string, opts: ParseOptions = {}): ParsedDoc {
  if (opts.fastPath !== false && !needsSlowPath(text)) {
    let loaded: ReturnType<typeof loadEvents>;
    try {
      loaded = loadEvents(text);
    } catch {
      return parseSlow(text);
    }
    // Like js-yaml's `load`: exactly one document. An empty (comment-only) document: `yaml` gives null, js-yaml undefined.
    const value = loaded.values[0];
    if (loaded.values.length === 1 && loaded.roots.length === 1 && value !== undefined) {
      return new FastDoc(text, value, { source: text, events: loaded.events, first: loaded.roots[0]!, base: 0 });
    }
  }
  return parseSlow(text);
}

/** A document parsed by js-yaml: sound, no problems; its `yaml` Document is built when first read. */
class FastDoc implements ParsedDoc {
  private built: Document.Parsed | undefined;
  readonly problems: DocProblem[] = [];
  readonly checkable = true;
  readonly path = 'fast';
  constructor(readonly text: string, readonly value: unknown, readonly events: DocEvents) {}
  get doc(): Document.Parsed {
    return (this.built ??= parseDocument(this.text, YAML_OPTIONS));
  }
}

function parseSlow(text: string): ParsedDoc {
  const doc = parseDocument(text, YAML_OPTIONS);
  // Only the first syntax error of a document is kept: the next ones are mostly its echoes.
  const firstSyntax = doc.errors.find((e) => e.code !== 'DUPLICATE_KEY');
  const problems: DocProblem[] = doc.errors.filter((e) => e.code === 'DUPLICATE_KEY' || e === firstSyntax).map((e) => ({
    code: e.code === 'DUPLICATE_KEY' ? 'WEFT9002' : 'WEFT9001',
    from: e.pos[0],
    to: Math.max(e.pos[1], e.pos[0] + 1),
    message: e.message.split('\n')[0]!,
  }));
  let value: unknown;
  let checkable = problems.every((p) => p.code === 'WEFT9002');
  try {
    value = doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT });
  } catch (err) {
    checkable = false;
    const first = text.search(/\*[^\s,\]}]/);
    problems.push({
      code: 'WEFT9006',
      from: Math.max(0, first),
      to: Math.max(0, first) + 1,
      message: `the document could not be expanded: ${err instanceof Error ? err.message : String(err)}`,
    });
  }
  return { text, doc, value, problems, checkable, path: 'slow' };
}

/** Parses a file; `previous` (the file's last parse) lets unchanged documents be reused. */
export function parseFile(file: string, text: string, previous?: ParsedFile, maxBytes = MAX_FILE_BYTES, opts: ParseOptions = {}): ParsedFile {
  if (text.length > maxBytes) {
    const mb = (text.length / (1024 * 1024)).toFixed(1);
    return {
      file,
      text: '',
      docs: [],
      skipped: { code: 'WEFT9005', offset: 0, message: `File not validated: it is ${mb} MB, above the ${(maxBytes / (1024 * 1024)).toFixed(0)} MB limit. Split it into smaller files to have it checked.` },
    };
  }
  const nul = text.indexOf('\u0000');
  if (nul >= 0) {
    return { file, text: '', docs: [], skipped: { code: 'WEFT9004', offset: 0, message: 'File not validated: it contains NUL bytes (binary data), not YAML text.' } };
  }
  const helm = isHelmTemplate(text);
  if (helm !== undefined) {
    return {
      file,
      text,
      docs: [],
      skipped: { code: 'WEFT9003', offset: helm, message: 'Helm template recognised ({{ }} directives) and skipped: render it with `helm template` and validate the rendered output.' },
    };
  }
  // Files that are not Kubernetes manifests (CI workflows, compose files…) are left alone.
  if (!looksLikeKubernetesManifest(text)) return { file, text, docs: [] };
  const reuse = new Map<string, ParsedDoc>();
  if (previous) for (const d of previous.docs) reuse.set(d.parsed.text, d.parsed);
  const starts = splitDocuments(text);
  const chunks: { text: string; from: number; line: number }[] = [];
  let line = 0;
  let lineAt = 0;
  for (let i = 0; i < starts.length; i++) {
    const from = starts[i]!;
    const to = i + 1 < starts.length ? starts[i + 1]! : text.length;
    const chunk = text.slice(from, to);
    for (let p = text.indexOf('\n', lineAt); p >= 0 && p < from; p = text.indexOf('\n', p + 1)) line++;
    lineAt = from;
    if (!/\S/.test(chunk.replace(/^(---|\.\.\.)/gm, ''))) continue;
    chunks.push({ text: chunk, from, line });
  }
  // A file seen for the first time: one js-yaml call for all its documents (a call per document
  // costs twice as much). Used only when it yields one value per chunk; anything else (a broken
  // document, a count that differs from the split) falls back to document by document.
  const batch = reuse.size === 0 && chunks.length > 1 && opts.fastPath !== false ? loadBatch(text, chunks.length) : undefined;
  // A hint matches a chunk only if it matches the file (chunks start at line starts): one test for all.
  const hinted = batch !== undefined && needsSlowPath(text);
  const docs = chunks.map((c, i): FileDoc => {
    const fromBatch = batch?.values[i];
    const root = batch?.roots[i];
    const events = batch && root !== undefined && inChunk(batch.events, root, c.from, c.from + c.text.length) ? { source: text, events: batch.events, first: root, base: c.from } : undefined;
    const parsed = reuse.get(c.text) ?? (isObject(fromBatch) && events && !(hinted && needsSlowPath(c.text)) ? new FastDoc(c.text, fromBatch, events) : parseDocText(c.text, opts));
    return { parsed, startOffset: c.from, startLine: c.line };
  });
  return { file, text, docs };
}

export function lineStartsOf(f: ParsedFile): number[] {
  if (!f.lineStarts) {
    const s = [0];
    for (let p = f.text.indexOf('\n'); p >= 0; p = f.text.indexOf('\n', p + 1)) s.push(p + 1);
    f.lineStarts = s;
  }
  return f.lineStarts;
}

/** Zero-based position of a file offset. */
export function positionAt(f: ParsedFile, offset: number): { line: number; character: number } {
  const s = lineStartsOf(f);
  let lo = 0;
  let hi = s.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (s[mid]! <= offset) lo = mid;
    else hi = mid - 1;
  }
  return { line: lo, character: offset - s[lo]! };
}
