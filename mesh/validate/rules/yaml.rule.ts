/**
 * yaml: problems of the text itself. These findings are produced while parsing
 * (manifest-file.ts), before any resource exists, so `check` has nothing left to do.
 */
import type { Rule, RuleInfo } from '../finding';

const codes: RuleInfo[] = [
  { code: 'WEFT9001', category: 'yaml', severity: 'error', title: 'YAML syntax error', explanation: 'The document is not valid YAML, so kubectl rejects the whole file and none of it is applied. Fix the syntax at the marked place; the other documents of the file are still checked.' },
  { code: 'WEFT9002', category: 'yaml', severity: 'error', title: 'Duplicate key', explanation: 'A key appears twice in the same mapping. kubectl rejects strict duplicates, and tools that accept them keep only one of the values, silently. Remove or merge the duplicate.' },
  { code: 'WEFT9003', category: 'yaml', severity: 'info', title: 'Helm template skipped', explanation: 'The file holds Helm template directives ({{ .Values }}, include, toYaml…) and is not YAML until rendered. It is skipped with this single note instead of a flood of parse errors. Validate the output of `helm template` instead.' },
  { code: 'WEFT9004', category: 'yaml', severity: 'info', title: 'Binary file skipped', explanation: 'The file contains NUL bytes, so it is not YAML text. It is skipped.' },
  { code: 'WEFT9005', category: 'yaml', severity: 'info', title: 'File too large', explanation: 'The file is larger than the validator\'s limit (4 MB) and is skipped to keep the editor responsive. Split it into smaller files to have it checked.' },
  { code: 'WEFT9006', category: 'yaml', severity: 'warning', title: 'Alias expansion refused', explanation: 'Expanding the document\'s anchors and aliases would exceed the safety limit (a "billion laughs" structure, or aliases to undefined anchors). The document is not checked; kubectl will likely refuse it too. Write the repeated parts out or use fewer aliases.' },
];

export const yamlRule: Rule = {
  name: 'yaml',
  codes,
  check: () => [],
};
