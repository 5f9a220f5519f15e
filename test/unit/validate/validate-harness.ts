/** Test helpers: validate inline files, apply text edits, read fixtures. */
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { Validator, type ValidatorOptions } from '../../../mesh/validate/engine';
import type { Finding, Position, TextEdit } from '../../../mesh/validate/finding';

export const FIXTURES = join(import.meta.dirname, '../../fixtures/manifests');

export function fixtureFiles(): Record<string, string> {
  const out: Record<string, string> = {};
  for (const f of readdirSync(FIXTURES).filter((n) => n.endsWith('.yaml')).sort()) out[f] = readFileSync(join(FIXTURES, f), 'utf8');
  return out;
}

export function validatorFor(files: Record<string, string>, opts?: ValidatorOptions): Validator {
  const v = new Validator(opts);
  for (const [name, text] of Object.entries(files)) v.setFile(name, text);
  return v;
}

/** Findings of one file (the first one given) in a workspace of files. */
export function check(files: Record<string, string> | string, opts?: ValidatorOptions): Finding[] {
  const map = typeof files === 'string' ? { 'test.yaml': files } : files;
  return validatorFor(map, opts).validateFile(Object.keys(map)[0]!);
}

export function codes(findings: Finding[]): string[] {
  return findings.map((f) => f.code);
}

function offsetOf(text: string, p: Position): number {
  let off = 0;
  for (let l = 0; l < p.line; l++) {
    const nl = text.indexOf('\n', off);
    if (nl < 0) return text.length;
    off = nl + 1;
  }
  return off + p.character;
}

/** Applies non-overlapping edits (as VS Code would). */
export function applyEdits(text: string, edits: TextEdit[]): string {
  const abs = edits.map((e) => ({ from: offsetOf(text, e.range.start), to: offsetOf(text, e.range.end), text: e.newText }));
  abs.sort((a, b) => b.from - a.from || b.to - a.to);
  for (let i = 1; i < abs.length; i++) if (abs[i]!.to > abs[i - 1]!.from) throw new Error('overlapping edits');
  let out = text;
  for (const e of abs) out = out.slice(0, e.from) + e.text + out.slice(e.to);
  return out;
}

/** Comment texts of a YAML text (to prove fixes keep them). */
export function comments(text: string): string[] {
  return text.split('\n').map((l) => /(^|\s)#.*$/.exec(l)?.[0]?.trim()).filter((c): c is string => !!c);
}

/** A tiny manifest builder for rule tests. */
export function yamlDocs(...docs: string[]): string {
  return docs.map((d) => d.replace(/^\n/, '')).join('---\n');
}
