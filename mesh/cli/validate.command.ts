/** `weft validate PATH... [--format text|json|sarif]`: the thin shell (file reading) around mesh/validate. */
import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { CLI_NAME } from '../config/names';
import { Validator } from '../validate/engine';
import { MAX_FILE_BYTES } from '../validate/manifest-file';
import { exitCodeFor, formatReport, REPORT_FORMATS, type ReportFormat } from '../validate/report-format';

const USAGE = `usage: ${CLI_NAME} validate PATH... [--format text|json|sarif]\n  Checks Kubernetes manifests (directories are walked for .yaml/.yml). Exit 1 on errors, 2 on usage errors.\n`;

export interface ParsedArgs {
  paths: string[];
  format: ReportFormat;
}

/** Parses the arguments; returns an error message on a usage error. */
export function parseArgs(args: string[]): ParsedArgs | string {
  const paths: string[] = [];
  let format: string = 'text';
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === '--format' || a === '-f') {
      const v = args[++i];
      if (v === undefined) return 'missing value for --format';
      format = v;
    } else if (a.startsWith('--format=')) format = a.slice('--format='.length);
    else if (a === '--') {
      paths.push(...args.slice(i + 1));
      break;
    }
    else if (a.startsWith('-')) return `unknown option '${a}'`;
    else paths.push(a);
  }
  if (!(REPORT_FORMATS as readonly string[]).includes(format)) return `unknown format '${format}' (expected ${REPORT_FORMATS.join(', ')})`;
  if (paths.length === 0) return 'no PATH given';
  return { paths, format: format as ReportFormat };
}

const SKIP_DIRS = new Set(['node_modules', '.git']);

async function walk(path: string, out: string[]): Promise<void> {
  const s = await stat(path);
  if (!s.isDirectory()) {
    out.push(path);
    return;
  }
  const entries = (await readdir(path, { withFileTypes: true })).sort((a, b) => a.name.localeCompare(b.name));
  for (const e of entries) {
    const p = join(path, e.name);
    if (e.isDirectory()) {
      if (!SKIP_DIRS.has(e.name)) await walk(p, out);
    } else if (e.isFile() && /\.ya?ml$/i.test(e.name)) out.push(p);
  }
}

export async function run(args: string[]): Promise<number> {
  if (args.includes('--help') || args.includes('-h')) {
    process.stdout.write(USAGE);
    return 0;
  }
  const parsed = parseArgs(args);
  if (typeof parsed === 'string') {
    process.stderr.write(`${CLI_NAME} validate: ${parsed}\n${USAGE}`);
    return 2;
  }
  const files: string[] = [];
  for (const p of parsed.paths) {
    try {
      await walk(p, files);
    } catch {
      process.stderr.write(`${CLI_NAME} validate: cannot read '${p}'\n`);
      return 2;
    }
  }
  const v = new Validator();
  for (const f of files) {
    const s = await stat(f);
    // Oversized files are not read whole: the engine only needs their length to report them.
    const text = s.size > MAX_FILE_BYTES ? ' '.repeat(s.size) : (await readFile(f)).toString('utf8');
    v.setFile(f, text);
  }
  const findings = v.validateAll();
  process.stdout.write(formatReport(findings, parsed.format));
  return exitCodeFor(findings);
}
