/**
 * `weft stat [TARGET] [--json] [--window 1m] [-n NS] [--api URL]` and `weft edges [--json] [-n NS]
 * [--api URL]`: golden metrics per workload or service, and who calls whom, from the metrics API.
 */
import { CLI_NAME } from '../config/names';
import { DEFAULT_METRICS_API_URL, METRICS_API_URL_ENV } from '../config/metrics-api';
import { parseStatKind, parseWindow } from '../control/metrics-api/api-query';
import { fetchEdges, fetchStat } from '../control/metrics-api/client';
import { renderEdgesTable, renderStatTable } from '../metrics-view/stat-table';

export interface StatArgs {
  kind: string;
  name: string | undefined;
  namespace: string | undefined;
  window: string | undefined;
  json: boolean;
  api: string;
  help: boolean;
}

export const STAT_USAGE = `usage: ${CLI_NAME} stat [TARGET] [options]

Golden metrics per workload or service over a window, from the metrics API.
TARGET: workload | deploy | service | svc, optionally /NAME (default: workload).

options:
  -n, --namespace NS   only this namespace (default: all)
  --window D           window of the rates and percentiles, at least 15s (default 1m)
  --json               the API's JSON instead of a table
  --api URL            the metrics API (default $${METRICS_API_URL_ENV}, that of a running "weft local up", or ${DEFAULT_METRICS_API_URL})
`;

export const EDGES_USAGE = `usage: ${CLI_NAME} edges [options]

Who calls whom: source workload → destination service, identities, whether mTLS secures it.

options:
  -n, --namespace NS   only edges from or to this namespace (default: all)
  --window D           window (default 1m)
  --json               the API's JSON instead of a table
  --api URL            the metrics API (default $${METRICS_API_URL_ENV}, that of a running "weft local up", or ${DEFAULT_METRICS_API_URL})
`;

/** Parses both commands' arguments (`edges` accepts no TARGET); every problem reported, none thrown. */
export function parseStatArgs(
  args: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
  allowTarget = true,
  /** The metrics API of a running `weft local up`, found in its state file. */
  localApi?: string,
): { ok: true; args: StatArgs } | { ok: false; errors: string[] } {
  const api = env[METRICS_API_URL_ENV] || localApi || DEFAULT_METRICS_API_URL;
  const o: StatArgs = { kind: 'workload', name: undefined, namespace: undefined, window: undefined, json: false, api, help: false };
  const errors: string[] = [];
  let target: string | undefined;
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    const eq = arg.indexOf('=');
    const flag = arg.startsWith('--') && eq > 0 ? arg.slice(0, eq) : arg;
    const value = (): string | undefined => {
      if (arg.startsWith('--') && eq > 0) return arg.slice(eq + 1);
      const v = args[i + 1];
      if (v === undefined || v.startsWith('-')) return void errors.push(`${flag} needs a value`);
      i++;
      return v;
    };
    switch (flag) {
      case '-h':
      case '--help':
        o.help = true;
        break;
      case '--json':
        o.json = true;
        break;
      case '-n':
      case '--namespace':
        o.namespace = value();
        break;
      case '-A':
      case '--all-namespaces':
        o.namespace = undefined;
        break;
      case '--window': {
        const v = value();
        if (v === undefined) break;
        const w = parseWindow(v);
        if (!w.ok) errors.push(`--${w.error}`);
        else o.window = v;
        break;
      }
      case '--api': {
        const v = value();
        if (v !== undefined) o.api = v;
        break;
      }
      default:
        if (arg.startsWith('-')) errors.push(`unknown option ${arg}`);
        else if (!allowTarget || target !== undefined) errors.push(`unexpected argument "${arg}"`);
        else target = arg;
    }
  }
  if (target !== undefined) {
    const k = parseStatKind(target);
    if (!k.ok) errors.push(k.error);
    else {
      o.kind = k.kind;
      o.name = k.name;
    }
  }
  return errors.length ? { ok: false, errors } : { ok: true, args: o };
}

/** Writes `text` and answers the exit code. */
function print(stream: NodeJS.WriteStream, text: string, code: number): number {
  stream.write(text);
  return code;
}

function fail(errors: string[], usage: string): number {
  process.stderr.write(`${errors.map((e) => `${CLI_NAME}: ${e}`).join('\n')}\n\n${usage}`);
  return 2;
}

function warnScrapeErrors(errors: readonly { pod: string; error: string }[]): void {
  for (const e of errors) process.stderr.write(`warning: ${e.pod}: ${e.error}\n`);
}

/** The metrics API recorded by a running `weft local up` in this directory (or $WEFT_STATE_DIR). */
async function localMetricsApi(): Promise<string | undefined> {
  const { readState, stateDir } = await import('../../dev-cluster/local/local-state');
  return (await readState(stateDir()).catch(() => undefined))?.metricsApi;
}

export async function runStat(argv: string[]): Promise<number> {
  const p = parseStatArgs(argv, process.env, true, await localMetricsApi());
  if (!p.ok) return fail(p.errors, STAT_USAGE);
  const a = p.args;
  if (a.help) return print(process.stdout, STAT_USAGE, 0);
  const r = await fetchStat(a.api, { kind: a.kind, namespace: a.namespace, name: a.name, window: a.window });
  if (!r.ok) return print(process.stderr, `${CLI_NAME} stat: ${r.error}\n`, 1);
  if (a.json) return print(process.stdout, `${JSON.stringify(r.body, null, 2)}\n`, 0);
  warnScrapeErrors(r.body.scrapeErrors);
  if (r.body.rows.length === 0) return print(process.stdout, `No ${a.kind}s found${a.namespace ? ` in namespace ${a.namespace}` : ''}.\n`, 0);
  const namespaces = new Set(r.body.rows.map((row) => row.namespace));
  process.stdout.write(renderStatTable(r.body.rows, a.namespace === undefined && namespaces.size > 1));
  return 0;
}

export async function runEdges(argv: string[]): Promise<number> {
  const p = parseStatArgs(argv, process.env, false, await localMetricsApi());
  if (!p.ok) return fail(p.errors, EDGES_USAGE);
  const a = p.args;
  if (a.help) return print(process.stdout, EDGES_USAGE, 0);
  const r = await fetchEdges(a.api, { namespace: a.namespace, window: a.window });
  if (!r.ok) return print(process.stderr, `${CLI_NAME} edges: ${r.error}\n`, 1);
  if (a.json) return print(process.stdout, `${JSON.stringify(r.body, null, 2)}\n`, 0);
  warnScrapeErrors(r.body.scrapeErrors);
  if (r.body.edges.length === 0) return print(process.stdout, 'No edges in the window (no meshed traffic seen).\n', 0);
  process.stdout.write(renderEdgesTable(r.body.edges));
  return 0;
}
