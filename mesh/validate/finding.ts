/** The vocabulary of the validator: positions, findings, fixes, and the interface every rule implements. */
import type { Document } from 'yaml';
import type { DocEvents } from './hit-offsets';
import type { WorkspaceIndex } from './workspace-index';

export type Severity = 'error' | 'warning' | 'info';
export type Category = 'opaque-ports' | 'network-policy' | 'injection' | 'routing' | 'policy' | 'yaml';

/** Zero-based line and character (UTF-16 code units), like LSP and VS Code. */
export interface Position {
  line: number;
  character: number;
}
export interface Range {
  start: Position;
  end: Position;
}
export interface TextEdit {
  range: Range;
  newText: string;
}
export interface Fix {
  title: string;
  edits: TextEdit[];
  kind: 'fix' | 'ignore';
}

/** A catalogue entry: one stable code, never reused. */
export interface RuleInfo {
  code: string;
  category: Category;
  severity: Severity;
  title: string;
  /** What goes wrong at run time and how to fix it (hover text and docs/rules.md). */
  explanation: string;
}

export interface Finding {
  file: string;
  range: Range;
  code: string;
  category: Category;
  severity: Severity;
  message: string;
  /**
   * Quick fixes, computed on first read and then kept (the editor reads them only for the
   * diagnostics under the cursor; the CLI never does). Reading them needs no other state than the
   * validated text, so it stays valid after later edits of the workspace.
   */
  readonly fixes: Fix[];
}

/** A path into a YAML document: map keys and sequence indexes. */
export type YamlPath = readonly (string | number)[];

/** An edit expressed in offsets of one document's own text. */
export interface DocEdit {
  from: number;
  to: number;
  text: string;
}

/**
 * A mechanical fix as a rule describes it. `edits` is a thunk, called only when the finding's
 * fixes are read: computing edits needs the position-keeping `yaml` Document, which a finding
 * otherwise does not pay for. An empty result means no fix is offered.
 */
export interface HitFix {
  title: string;
  edits: () => DocEdit[];
}

/** What a rule reports: the engine turns it into a positioned Finding. */
export interface RuleHit {
  code: string;
  /** Where to point: the deepest existing node on this path is used; `key: true` marks the key of the last pair. */
  path: YamlPath;
  key?: boolean;
  message: string;
  fix?: HitFix;
}

/** Plain JavaScript object of a Kubernetes resource. */
export type KObject = Record<string, unknown>;

/** One Kubernetes resource: a parsed document of a file. */
export interface Resource {
  file: string;
  /** Index of the document in its file. */
  docIndex: number;
  kind: string;
  apiVersion: string;
  name: string;
  /** metadata.namespace, or 'default' when absent. */
  namespace: string;
  obj: KObject;
  readonly doc: Document.Parsed;
  /** The document's own text (offsets of `doc` refer to it). */
  text: string;
  /** js-yaml's parser events of the document (fast path): positions without building `doc`. */
  readonly events?: DocEvents;
}

/** Annotations of live namespaces, supplied by the caller when a cluster is connected. */
export type LiveNamespaces = ReadonlyMap<string, Readonly<Record<string, string>>>;

export interface RuleContext {
  index: WorkspaceIndex;
}

/** The interface of every rule: a pure function from a resource (+ workspace) to hits. */
export interface Rule {
  readonly name: string;
  readonly codes: readonly RuleInfo[];
  check(res: Resource, ctx: RuleContext): RuleHit[];
}
