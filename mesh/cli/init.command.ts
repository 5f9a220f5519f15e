/**
 * `weft init`: applies the redirect rules (mesh/proxy/redirect-rules.ts) in the current network
 * namespace — the mesh image's init container, and the netns local mode. It takes the arguments the
 * injector writes (redirectArgs: `--skip-inbound-ports`, `--skip-outbound-ports`) plus its own
 * `--dry-run` and `--ipv4-only`. Idempotent: a re-run removes the jumps and the WEFT_* chains of an
 * earlier run first. Every command runs through execa with an argv array, never a shell.
 */
import { existsSync, readFileSync } from 'node:fs';
import { INBOUND_CHAIN, OUTBOUND_CHAIN, parseRedirectArgs, redirectRulesFor, type IpFamily, type RedirectOptions } from '../proxy/redirect-rules';

export const INIT_USAGE = `usage: weft init [--skip-inbound-ports LIST] [--skip-outbound-ports LIST] [--ipv4-only] [--dry-run]

Redirects this network namespace's TCP traffic through the proxy (iptables and ip6tables, nat table):
inbound to 4143 (except 4190, 4191 and the skipped ports), outbound to 4140 (except the proxy's
UID 2102, loopback and the skipped ports). Runs as root with NET_ADMIN. A re-run replaces the rules.

  --skip-inbound-ports LIST    ports (25,3306,4000-4010) whose inbound traffic bypasses the proxy
  --skip-outbound-ports LIST   ports whose outbound traffic bypasses the proxy
  --ipv4-only                  leave IPv6 alone (only where IPv6 is disabled: otherwise it would
                               bypass the mesh)
  --dry-run                    print the commands instead of running them
`;

export interface InitArgs {
  options: RedirectOptions;
  dryRun: boolean;
  ipv4Only: boolean;
}

export function parseInitArgs(args: readonly string[]): { ok: true; value: InitArgs } | { ok: false; error: string } {
  let dryRun = false;
  let ipv4Only = false;
  const rest: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === '--dry-run') dryRun = true;
    else if (a === '--ipv4-only') ipv4Only = true;
    else if (/^--skip-(in|out)bound-ports=/.test(a)) rest.push(a.slice(0, a.indexOf('=')), a.slice(a.indexOf('=') + 1));
    else {
      rest.push(a);
      if (a === '--skip-inbound-ports' || a === '--skip-outbound-ports') {
        if (args[i + 1] !== undefined) rest.push(args[++i]!);
      }
    }
  }
  const parsed = parseRedirectArgs(rest);
  if (!parsed.ok) return { ok: false, error: parsed.error };
  return { ok: true, value: { options: parsed.options, dryRun, ipv4Only } };
}

/** What running one command gave: an exit code and its output, or that the binary is missing. */
export type ExecResult = { code: number; stdout: string; stderr: string; missing?: boolean };
export type Exec = (argv: readonly string[]) => Promise<ExecResult>;

export class InitError extends Error {
  constructor(
    message: string,
    readonly hint: string,
  ) {
    super(message);
  }
}

const BINARY: Record<IpFamily, string> = { ipv4: 'iptables', ipv6: 'ip6tables' };

/**
 * The commands that remove an earlier run's rules: the jumps from PREROUTING/OUTPUT (as many as
 * there are), then flush and delete both chains. Only those for chains that exist (`-S` listed).
 */
export function cleanupCommands(family: IpFamily, listed: string): string[][] {
  const bin = BINARY[family];
  const cmds: string[][] = [];
  for (const line of listed.split('\n')) {
    const m = /^-A (PREROUTING|OUTPUT) (.*)-j (WEFT_INBOUND|WEFT_OUTBOUND)\s*$/.exec(line.trim());
    if (m) cmds.push([bin, '-t', 'nat', '-D', m[1]!, ...m[2]!.trim().split(/\s+/).filter(Boolean), '-j', m[3]!]);
  }
  for (const chain of [INBOUND_CHAIN, OUTBOUND_CHAIN]) {
    if (listed.split('\n').some((l) => l.trim() === `-N ${chain}`)) cmds.push([bin, '-t', 'nat', '-F', chain], [bin, '-t', 'nat', '-X', chain]);
  }
  return cmds;
}

function explain(family: IpFamily, argv: readonly string[], r: ExecResult): InitError {
  const bin = argv[0] ?? BINARY[family];
  if (r.missing) {
    return family === 'ipv6'
      ? new InitError(`${bin} is not installed: IPv6 traffic would bypass the mesh`, 'install ip6tables (Debian: apt-get install iptables), or pass --ipv4-only where IPv6 is disabled')
      : new InitError(`${bin} is not installed`, 'install iptables (Debian: apt-get install iptables; the nft backend works), or use the mesh image, which has it');
  }
  const out = `${r.stderr}${r.stdout}`.trim();
  if (/permission denied|you must be root|operation not permitted/i.test(out)) {
    return new InitError(`${argv.join(' ')}: not permitted (${firstLine(out)})`, 'run weft init as root with the NET_ADMIN and NET_RAW capabilities (in a pod: the init container\'s securityContext)');
  }
  if (family === 'ipv6' && /address family not supported|can't initialize ip6tables|Could not fetch rule set/i.test(out)) {
    return new InitError(`${argv.join(' ')}: IPv6 looks disabled here (${firstLine(out)})`, 'pass --ipv4-only to leave IPv6 alone (only where IPv6 is really disabled)');
  }
  return new InitError(`${argv.join(' ')} failed (exit ${r.code}): ${firstLine(out) || 'no output'}`, 'check that the kernel has the nat table and the REDIRECT and owner matches (iptables-nft needs nf_tables)');
}

function firstLine(s: string): string {
  return s.split('\n').find((l) => l.trim())?.trim() ?? '';
}

/** IPv6 is off in this network namespace when the kernel has no IPv6 at all, or it is disabled by sysctl. */
export function ipv6Disabled(): boolean {
  if (!existsSync('/proc/net/if_inet6')) return true;
  try {
    return readFileSync('/proc/sys/net/ipv6/conf/all/disable_ipv6', 'utf8').trim() === '1';
  } catch {
    return false;
  }
}

/**
 * Applies the rules: per family, removes an earlier run's chains, then runs every rule in order.
 * Throws an InitError naming the cause and the next step on the first failure.
 */
export async function applyRedirectRules(args: InitArgs, exec: Exec, log: (line: string) => void = () => undefined): Promise<string[][]> {
  const families: IpFamily[] = args.ipv4Only ? ['ipv4'] : ['ipv4', 'ipv6'];
  const ran: string[][] = [];
  for (const family of families) {
    const listArgv = [BINARY[family], '-t', 'nat', '-S'];
    const listed = await exec(listArgv);
    if (listed.code !== 0 || listed.missing) throw explain(family, listArgv, listed);
    const rules = [...cleanupCommands(family, listed.stdout), ...redirectRulesFor(family, args.options)];
    for (const argv of rules) {
      const r = await exec(argv);
      if (r.code !== 0 || r.missing) throw explain(family, argv, r);
      ran.push(argv);
      log(argv.join(' '));
    }
  }
  return ran;
}

async function execaExec(argv: readonly string[]): Promise<ExecResult> {
  const { execa } = await import('execa');
  const r = await execa(argv[0]!, argv.slice(1), { reject: false, timeout: 20_000, stdin: 'ignore' });
  const missing = (r as { code?: string }).code === 'ENOENT';
  return { code: r.exitCode ?? (missing ? 127 : 1), stdout: String(r.stdout ?? ''), stderr: String(r.stderr ?? ''), missing };
}

export async function run(args: string[], exec: Exec = execaExec): Promise<number> {
  if (args.includes('--help') || args.includes('-h')) {
    process.stdout.write(INIT_USAGE);
    return 0;
  }
  const parsed = parseInitArgs(args);
  if (!parsed.ok) {
    process.stderr.write(`weft init: ${parsed.error}\n\n${INIT_USAGE}`);
    return 2;
  }
  const a = parsed.value;
  if (a.dryRun) {
    const families: IpFamily[] = a.ipv4Only ? ['ipv4'] : ['ipv4', 'ipv6'];
    for (const f of families) for (const argv of redirectRulesFor(f, a.options)) process.stdout.write(`${argv.join(' ')}\n`);
    return 0;
  }
  if (process.platform !== 'linux') {
    process.stderr.write('weft init: redirect rules exist on Linux only\n  next: run it in a pod (the mesh image) or a Linux network namespace\n');
    return 1;
  }
  if (process.getuid?.() !== 0) {
    process.stderr.write(`weft init: must run as root (uid ${process.getuid?.()})\n  next: run it as root with NET_ADMIN and NET_RAW (in a pod: the init container's securityContext)\n`);
    return 1;
  }
  if (!a.ipv4Only && ipv6Disabled()) {
    process.stderr.write('weft init: IPv6 is disabled in this network namespace, so ip6tables rules cannot be applied\n  next: pass --ipv4-only (safe only while IPv6 stays disabled)\n');
    return 1;
  }
  try {
    const ran = await applyRedirectRules(a, exec);
    process.stdout.write(`weft init: ${ran.length} rules applied (${a.ipv4Only ? 'IPv4 only' : 'IPv4 and IPv6'})\n`);
    return 0;
  } catch (e) {
    if (e instanceof InitError) {
      process.stderr.write(`weft init: ${e.message}\n  next: ${e.hint}\n`);
      return 1;
    }
    throw e;
  }
}
