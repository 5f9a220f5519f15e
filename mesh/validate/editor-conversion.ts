/**
 * Pure conversions for editors (no vscode import): findings to diagnostic data, hover text and
 * code actions, so the VS Code adapter only copies fields.
 */
import { CATALOGUE, ruleAnchor } from './catalogue';
import type { Finding, Position, Range, Severity, TextEdit } from './finding';

/** VS Code's DiagnosticSeverity values (Error 0, Warning 1, Information 2). */
export const DIAGNOSTIC_SEVERITY: Record<Severity, 0 | 1 | 2> = { error: 0, warning: 1, info: 2 };
export const DIAGNOSTIC_SOURCE = 'weft';

export interface DiagnosticData {
  range: Range;
  message: string;
  severity: 0 | 1 | 2;
  source: string;
  code: { value: string; target: string };
}

export function ruleDocLink(code: string, docsBase: string): string {
  return `${docsBase}#${ruleAnchor(code)}`;
}

export function toDiagnosticData(f: Finding, docsBase: string): DiagnosticData {
  return { range: f.range, message: f.message, severity: DIAGNOSTIC_SEVERITY[f.severity], source: DIAGNOSTIC_SOURCE, code: { value: f.code, target: ruleDocLink(f.code, docsBase) } };
}

function before(a: Position, b: Position): boolean {
  return a.line < b.line || (a.line === b.line && a.character < b.character);
}

export function contains(r: Range, p: Position): boolean {
  return !before(p, r.start) && !before(r.end, p);
}

export function intersects(a: Range, b: Range): boolean {
  return !before(a.end, b.start) && !before(b.end, a.start);
}

/** Markdown for a hover over findings at a position: the message, the rule's explanation and a link. */
export function hoverMarkdown(findings: readonly Finding[], docsBase: string): string | undefined {
  if (findings.length === 0) return undefined;
  return findings
    .map((f) => {
      const info = CATALOGUE.get(f.code);
      return `**${f.code}** · ${f.category} · ${f.severity}${info ? ` — ${info.title}` : ''}\n\n${f.message}\n\n${info ? `${info.explanation}\n\n` : ''}[Documentation of ${f.code}](${ruleDocLink(f.code, docsBase)})`;
    })
    .join('\n\n---\n\n');
}

export interface CodeActionData {
  title: string;
  code: string;
  edits: TextEdit[];
  isPreferred: boolean;
  /** The finding the action comes from (to attach its diagnostic). */
  finding: Finding;
}

/** Code actions for the findings that touch a range: mechanical fixes first, then "ignore". */
export function codeActionsFor(findings: readonly Finding[], range: Range): CodeActionData[] {
  const out: CodeActionData[] = [];
  for (const f of findings) {
    if (!intersects(f.range, range)) continue;
    for (const fix of f.fixes) out.push({ title: fix.title, code: f.code, edits: fix.edits, isPreferred: fix.kind === 'fix', finding: f });
  }
  return out.sort((a, b) => Number(b.isPreferred) - Number(a.isPreferred));
}
