/** Findings as text (for people), JSON (the documented contract) and SARIF 2.1.0 (for CI code scanning). */
import { CLI_NAME } from '../config/names';
import { CATALOGUE, ruleAnchor } from './catalogue';
import type { Finding, Severity } from './finding';

export type ReportFormat = 'text' | 'json' | 'sarif';
export const REPORT_FORMATS: readonly ReportFormat[] = ['text', 'json', 'sarif'];

/** The JSON contract: zero-based lines and characters. */
export interface JsonFinding {
  file: string;
  range: Finding['range'];
  code: string;
  category: Finding['category'];
  severity: Severity;
  message: string;
}

export function toJson(findings: readonly Finding[]): JsonFinding[] {
  return findings.map((f) => ({ file: f.file, range: f.range, code: f.code, category: f.category, severity: f.severity, message: f.message }));
}

export function formatText(findings: readonly Finding[]): string {
  const lines = findings.map((f) => `${f.file}:${f.range.start.line + 1}:${f.range.start.character + 1}: ${f.severity} ${f.code} [${f.category}] ${f.message}`);
  const count = (s: Severity) => findings.filter((f) => f.severity === s).length;
  lines.push(`${count('error')} error(s), ${count('warning')} warning(s), ${count('info')} info`);
  return lines.join('\n') + '\n';
}

const SARIF_LEVEL: Record<Severity, string> = { error: 'error', warning: 'warning', info: 'note' };

export function toSarif(findings: readonly Finding[], docsUri = 'docs/rules.md'): unknown {
  const rules = [...CATALOGUE.values()].map((r) => ({
    id: r.code,
    name: r.title,
    shortDescription: { text: r.title },
    fullDescription: { text: r.explanation },
    helpUri: `${docsUri}#${ruleAnchor(r.code)}`,
    properties: { category: r.category },
    defaultConfiguration: { level: SARIF_LEVEL[r.severity] },
  }));
  return {
    $schema: 'https://json.schemastore.org/sarif-2.1.0.json',
    version: '2.1.0',
    runs: [{
      tool: { driver: { name: CLI_NAME, informationUri: docsUri, rules } },
      results: findings.map((f) => ({
        ruleId: f.code,
        level: SARIF_LEVEL[f.severity],
        message: { text: f.message },
        locations: [{
          physicalLocation: {
            artifactLocation: { uri: f.file.split('\\').join('/') },
            region: { startLine: f.range.start.line + 1, startColumn: f.range.start.character + 1, endLine: f.range.end.line + 1, endColumn: f.range.end.character + 1 },
          },
        }],
      })),
    }],
  };
}

export function formatReport(findings: readonly Finding[], format: ReportFormat): string {
  if (format === 'json') return JSON.stringify(toJson(findings), null, 2) + '\n';
  if (format === 'sarif') return JSON.stringify(toSarif(findings), null, 2) + '\n';
  return formatText(findings);
}

/** The CLI's exit status: 1 when any finding is an error. */
export function exitCodeFor(findings: readonly Finding[]): number {
  return findings.some((f) => f.severity === 'error') ? 1 : 0;
}
