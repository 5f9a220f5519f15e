/**
 * A parser for the Prometheus text exposition format (0.0.4), as the proxies' /metrics serve it.
 * Pure. Comments (HELP/TYPE) are skipped; label values are unescaped; an optional timestamp after
 * the value is ignored. A line that cannot be read is reported, not thrown, so one odd line does
 * not blank a whole dashboard.
 *
 * Hand-written rather than `parse-prometheus-text-format` (npm): that package is untyped, CommonJS
 * and unmaintained since 2019, and the format needs only this much.
 */

export interface Sample {
  /** Metric name as written, suffix included (`response_latency_ms_bucket`). */
  name: string;
  labels: Record<string, string>;
  value: number;
}

export interface ParsedExposition {
  samples: Sample[];
  /** Lines that could not be parsed, with their 1-based line numbers. */
  errors: { line: number; text: string; reason: string }[];
}

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*/;

function parseValue(s: string): number | undefined {
  switch (s) {
    case '+Inf':
    case 'Inf':
      return Infinity;
    case '-Inf':
      return -Infinity;
    case 'NaN':
      return NaN;
  }
  if (!/^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(s)) return undefined;
  return Number(s);
}

/** Reads `{a="x",b="y"}` starting at `s[0] === '{'`; returns the labels and the rest of the line. */
function parseLabels(s: string): { labels: Record<string, string>; rest: string } | string {
  const labels: Record<string, string> = {};
  let i = 1;
  for (;;) {
    while (s[i] === ' ' || s[i] === ',') i++;
    if (s[i] === '}') return { labels, rest: s.slice(i + 1) };
    const m = LABEL_NAME.exec(s.slice(i));
    if (!m) return `expected a label name at column ${i + 1}`;
    const name = m[0];
    i += name.length;
    while (s[i] === ' ') i++;
    if (s[i] !== '=') return `expected "=" after label ${name}`;
    i++;
    while (s[i] === ' ') i++;
    if (s[i] !== '"') return `expected a quoted value for label ${name}`;
    i++;
    let value = '';
    for (;;) {
      const c = s[i];
      if (c === undefined) return `unterminated value for label ${name}`;
      if (c === '"') break;
      if (c === '\\') {
        const e = s[i + 1];
        value += e === 'n' ? '\n' : (e ?? '');
        i += 2;
      } else {
        value += c;
        i++;
      }
    }
    i++;
    labels[name] = value;
  }
}

export function parsePromText(text: string): ParsedExposition {
  const samples: Sample[] = [];
  const errors: ParsedExposition['errors'] = [];
  const lines = text.split('\n');
  lines.forEach((raw, idx) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    const fail = (reason: string): void => void errors.push({ line: idx + 1, text: raw, reason });
    const nm = NAME.exec(line);
    if (!nm) return fail('expected a metric name');
    let rest = line.slice(nm[0].length);
    let labels: Record<string, string> = {};
    if (rest.startsWith('{')) {
      const r = parseLabels(rest);
      if (typeof r === 'string') return fail(r);
      labels = r.labels;
      rest = r.rest;
    }
    const fields = rest.trim().split(/\s+/);
    const value = fields[0] ? parseValue(fields[0]) : undefined;
    if (value === undefined) return fail(`expected a number, got "${fields[0] ?? ''}"`);
    samples.push({ name: nm[0], labels, value });
  });
  return { samples, errors };
}
