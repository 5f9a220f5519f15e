/**
 * The validation engine: keeps the parsed files of a workspace (documents reused by text, so an
 * edit re-parses only the document it touches), builds the workspace index, runs every rule on
 * every resource and turns rule hits into positioned findings with fixes. No I/O.
 */
import { ANNOTATIONS } from '../config/annotations';
import type { Finding, Fix, LiveNamespaces, Resource, Rule, RuleHit, RuleInfo, TextEdit, DocEdit, Range } from './finding';
import { isObj, obj, str } from './kube-objects';
import { parseFile, positionAt, MAX_FILE_BYTES, type FileDoc, type ParsedFile } from './manifest-file';
import { ALL_RULES, CATALOGUE } from './catalogue';
import { WorkspaceIndex } from './workspace-index';
import { hitOffsetsFromDocument, hitOffsetsFromEvents } from './hit-offsets';
import { quote, setEntry } from './yaml-edits';

export interface ValidatorOptions {
  rules?: readonly Rule[];
  liveNamespaces?: LiveNamespaces;
  maxFileBytes?: number;
  /** False parses every document with `yaml` (the slow path); tests compare both. Default true. */
  fastPath?: boolean;
}

const NO_FIXES = (): Fix[] => [];

interface FileState {
  parsed: ParsedFile;
  resources: (Resource | undefined)[];
}

export class Validator {
  private files = new Map<string, FileState>();
  private indexCache: WorkspaceIndex | undefined;
  private live: LiveNamespaces;
  private readonly rules: readonly Rule[];
  private readonly maxBytes: number;
  private readonly fastPath: boolean;

  constructor(opts: ValidatorOptions = {}) {
    this.rules = opts.rules ?? ALL_RULES;
    this.live = opts.liveNamespaces ?? new Map();
    this.maxBytes = opts.maxFileBytes ?? MAX_FILE_BYTES;
    this.fastPath = opts.fastPath ?? true;
  }

  /** Adds or replaces a file of the workspace. */
  setFile(file: string, text: string): void {
    const parsed = parseFile(file, text, this.files.get(file)?.parsed, this.maxBytes, { fastPath: this.fastPath });
    const resources = parsed.docs.map((d, i) => toResource(file, i, d));
    this.files.set(file, { parsed, resources });
    this.indexCache = undefined;
  }

  removeFile(file: string): void {
    if (this.files.delete(file)) this.indexCache = undefined;
  }

  hasFile(file: string): boolean {
    return this.files.has(file);
  }

  fileNames(): string[] {
    return [...this.files.keys()];
  }

  /** Annotations of the live cluster's namespaces (the caller fetches them; the engine does no I/O). */
  setLiveNamespaces(live: LiveNamespaces): void {
    this.live = live;
    this.indexCache = undefined;
  }

  get index(): WorkspaceIndex {
    if (!this.indexCache) {
      const all: Resource[] = [];
      for (const f of this.files.values()) for (const r of f.resources) if (r) all.push(r);
      this.indexCache = new WorkspaceIndex(all, this.live);
    }
    return this.indexCache;
  }

  validateFile(file: string): Finding[] {
    const state = this.files.get(file);
    if (!state) return [];
    const { parsed } = state;
    if (parsed.skipped) {
      const p = positionAt(parsed, parsed.skipped.offset);
      return [finding(file, { start: p, end: { line: p.line, character: p.character + 2 } }, CATALOGUE.get(parsed.skipped.code)!, parsed.skipped.message, NO_FIXES)];
    }
    const out: Finding[] = [];
    const index = this.index;
    parsed.docs.forEach((fd, i) => {
      for (const pr of fd.parsed.problems) {
        out.push(finding(file, docRange(parsed, fd, pr.from, pr.to), CATALOGUE.get(pr.code)!, pr.message, NO_FIXES));
      }
      const res = state.resources[i];
      if (!res) return;
      const ignored = ignoredCodes(res);
      for (const rule of this.rules) {
        for (const hit of rule.check(res, { index })) {
          if (ignored.has(hit.code)) continue;
          const info = CATALOGUE.get(hit.code);
          if (!info) throw new Error(`rule ${rule.name} reported unknown code ${hit.code}`);
          out.push(this.toFinding(parsed, fd, res, hit, info));
        }
      }
    });
    return out.sort((a, b) => a.range.start.line - b.range.start.line || a.range.start.character - b.range.start.character || a.code.localeCompare(b.code));
  }

  validateAll(): Finding[] {
    return [...this.files.keys()].sort().flatMap((f) => this.validateFile(f));
  }

  private toFinding(pf: ParsedFile, fd: FileDoc, res: Resource, hit: RuleHit, info: RuleInfo): Finding {
    const [from, to] = hitOffsets(res, hit);
    const fix = hit.fix;
    // Fixes are computed on first read only (they need the yaml Document and most are never asked for).
    const fixes = (): Fix[] => {
      const out: Fix[] = [];
      const toEdits = (edits: DocEdit[]): TextEdit[] => edits.map((e) => ({ range: docRange(pf, fd, e.from, e.to), newText: e.text }));
      const edits = fix ? fix.edits() : [];
      if (fix && edits.length > 0) out.push({ title: fix.title, edits: toEdits(edits), kind: 'fix' });
      const ignore = ignoreEdits(res, hit.code);
      if (ignore.length > 0) out.push({ title: `Ignore ${hit.code} for ${res.kind} ${res.name}`, edits: toEdits(ignore), kind: 'ignore' });
      return out;
    };
    return finding(pf.file, docRange(pf, fd, from, to), info, hit.message, fixes);
  }
}

/** A finding whose `fixes` are computed by `fixes` on first read, then kept. */
function finding(file: string, range: Range, info: RuleInfo, message: string, fixes: () => Fix[]): Finding {
  let computed: Fix[] | undefined;
  return {
    file, range, code: info.code, category: info.category, severity: info.severity, message,
    get fixes(): Fix[] {
      return (computed ??= fixes());
    },
  };
}

function toResource(file: string, docIndex: number, fd: FileDoc): Resource | undefined {
  const p = fd.parsed;
  if (!p.checkable || !isObj(p.value)) return undefined;
  const kind = str(p.value.kind);
  const apiVersion = str(p.value.apiVersion);
  if (!kind || !apiVersion) return undefined;
  const meta = obj(p.value.metadata);
  // `doc` is read through: on the fast path the yaml Document is built only when a fix is asked
  // for (or for a position the parser events cannot give).
  return {
    file, docIndex, kind, apiVersion, name: str(meta.name) ?? '', namespace: str(meta.namespace) ?? 'default', obj: p.value, text: p.text, events: p.events,
    get doc() {
      return p.doc;
    },
  };
}

function docRange(pf: ParsedFile, fd: FileDoc, from: number, to: number): Range {
  return { start: positionAt(pf, fd.startOffset + from), end: positionAt(pf, fd.startOffset + Math.max(from, to)) };
}

/** Where a hit points: from the parser events when they can tell, else from the `yaml` Document. */
function hitOffsets(res: Resource, hit: RuleHit): [number, number] {
  const fromEvents = res.events ? hitOffsetsFromEvents(res.events, res.text, hit.path, hit.key) : undefined;
  return fromEvents ?? hitOffsetsFromDocument(res.doc, res.text, hit.path, hit.key);
}

export function ignoredCodes(res: Resource): Set<string> {
  const v = str(obj(obj(res.obj.metadata).annotations)[ANNOTATIONS.validateIgnore]);
  return new Set((v ?? '').split(/[\s,]+/).map((s) => s.trim().toUpperCase()).filter(Boolean));
}

function ignoreEdits(res: Resource, code: string): DocEdit[] {
  const current = str(obj(obj(res.obj.metadata).annotations)[ANNOTATIONS.validateIgnore]);
  const value = current && current.trim() ? `${current.trim()},${code}` : code;
  return setEntry(res, ['metadata', 'annotations'], ANNOTATIONS.validateIgnore, quote(value));
}
