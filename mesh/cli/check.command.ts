/**
 * `weft check [--pre | --proxy] [--output json] [--kubeconfig FILE] [--context NAME]`: runs the
 * checks of mesh/control/check/checks.ts against the cluster and prints ✔/✖ per check, with a hint
 * under each failure. Exit 0 when every check passes, 1 otherwise (also for a bad kubeconfig).
 */
import { CLI_NAME } from '../config/names';
import { runChecks, type CheckMode, type CheckResult } from '../control/check/checks';
import { kubeCheckClient } from '../control/check/kube-check-client';
import { formatKubeClientError, loadKubeClient } from '../platform/kube-client';

export const CHECK_USAGE = `usage: ${CLI_NAME} check [--pre | --proxy] [options]

Checks the cluster and the mesh (docs/install.md lists every check and its hint).
  (default)   the installed control plane: pods ready, CRDs, certificates, webhook
  --pre       before installing: API reachable, Kubernetes version, permissions, clock skew
  --proxy     the control plane, then the data plane: proxies ready, trust anchors, opaque ports

options:
  --output json        one JSON document: {"ok": bool, "results": [...]}
  --kubeconfig FILE    default: $KUBECONFIG, then ~/.kube/config
  --context NAME       default: the kubeconfig's current context
`;

export interface CheckArgs {
  mode: CheckMode;
  json: boolean;
  kubeconfig?: string;
  context?: string;
  help: boolean;
}

export function parseCheckArgs(args: readonly string[]): { ok: true; args: CheckArgs } | { ok: false; error: string } {
  const out: CheckArgs = { mode: 'control-plane', json: false, help: false };
  const modes: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    const [flag, inline] = a.includes('=') ? [a.slice(0, a.indexOf('=')), a.slice(a.indexOf('=') + 1)] : [a, undefined];
    const value = (): string | undefined => inline ?? args[++i];
    if (flag === '--help' || flag === '-h') out.help = true;
    else if (flag === '--pre') modes.push('pre');
    else if (flag === '--proxy') modes.push('proxy');
    else if (flag === '--output' || flag === '-o') {
      const v = value();
      if (v !== 'json' && v !== 'table') return { ok: false, error: `--output takes json or table, got ${v === undefined ? 'nothing' : `"${v}"`}` };
      out.json = v === 'json';
    } else if (flag === '--kubeconfig' || flag === '--context') {
      const v = value();
      if (!v) return { ok: false, error: `${flag} needs a value` };
      if (flag === '--kubeconfig') out.kubeconfig = v;
      else out.context = v;
    } else return { ok: false, error: `unknown option ${a}` };
  }
  if (modes.length > 1) return { ok: false, error: '--pre and --proxy exclude each other' };
  if (modes[0]) out.mode = modes[0] as CheckMode;
  return { ok: true, args: out };
}

export function formatResult(r: CheckResult): string {
  const line = `${r.ok ? '✔' : '✖'} ${r.name}${r.ok ? '' : `\n    ${r.message}`}`;
  return r.ok || !r.hint ? `${line}\n` : `${line}\n    hint: ${r.hint}\n`;
}

export async function run(argv: string[]): Promise<number> {
  const parsed = parseCheckArgs(argv);
  if (!parsed.ok) {
    process.stderr.write(`${CLI_NAME} check: ${parsed.error}\n\n${CHECK_USAGE}`);
    return 2;
  }
  const args = parsed.args;
  if (args.help) {
    process.stdout.write(CHECK_USAGE);
    return 0;
  }
  const loaded = await loadKubeClient({ kubeconfigPath: args.kubeconfig, context: args.context, checkReachable: false });
  if (!loaded.ok) {
    if (args.json) process.stdout.write(`${JSON.stringify({ ok: false, error: loaded.error }, null, 2)}\n`);
    else process.stderr.write(`${CLI_NAME} check: ${formatKubeClientError(loaded.error)}\n`);
    return 1;
  }
  const client = kubeCheckClient(loaded.client.kubeConfig);
  const results: CheckResult[] = [];
  let category = '';
  for await (const r of runChecks(client, { mode: args.mode })) {
    results.push(r);
    if (args.json) continue;
    if (r.category !== category) {
      process.stdout.write(`${category ? '\n' : ''}${r.category}\n${'-'.repeat(r.category.length)}\n`);
      category = r.category;
    }
    process.stdout.write(formatResult(r));
  }
  const ok = results.every((r) => r.ok);
  if (args.json) process.stdout.write(`${JSON.stringify({ ok, context: loaded.client.context, server: loaded.client.server, mode: args.mode, results }, null, 2)}\n`);
  else process.stdout.write(`\n${ok ? 'Status check results are ✔' : `Status check results are ✖ (${results.filter((r) => !r.ok).length} failed)`}\n`);
  return ok ? 0 : 1;
}
