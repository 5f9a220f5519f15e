/**
 * The iptables rules `weft-init` applies in a pod's network namespace, as argv arrays (never shell
 * strings). Pure: the init container runs each array in order with execFile.
 *
 * Linkerd's layout, for IPv4 (iptables) and IPv6 (ip6tables) alike:
 *   nat WEFT_INBOUND  (from PREROUTING): RETURN for the proxy's own ports (4190, 4191) and the
 *                      skip-inbound ports, then REDIRECT every other TCP connection to 4143.
 *   nat WEFT_OUTBOUND (from OUTPUT):     RETURN for the proxy's UID (2102, or it loops into itself),
 *                      RETURN for `-o lo`, RETURN for the skip-outbound ports, then REDIRECT to 4140.
 * Without the ip6tables half, IPv6 traffic would silently bypass the mesh.
 */
import { PROXY_INBOUND_IGNORED_PORTS, PROXY_INBOUND_PORT, PROXY_OUTBOUND_PORT, PROXY_UID } from '../config/ports';

export const INBOUND_CHAIN = 'WEFT_INBOUND';
export const OUTBOUND_CHAIN = 'WEFT_OUTBOUND';

/** A port or an inclusive range of ports. */
export interface PortRange {
  from: number;
  to: number;
}

export type IpFamily = 'ipv4' | 'ipv6';

export interface RedirectOptions {
  inboundPort?: number;
  outboundPort?: number;
  proxyUid?: number;
  /** Inbound ports never redirected, besides the skip list: the proxy's admin and tap ports. */
  ignoredInboundPorts?: readonly number[];
  skipInboundPorts?: readonly PortRange[];
  skipOutboundPorts?: readonly PortRange[];
  families?: readonly IpFamily[];
  /** The binaries to run, per family (e.g. iptables-legacy). */
  binaries?: Partial<Record<IpFamily, string>>;
}

const DEFAULT_BINARIES: Record<IpFamily, string> = { ipv4: 'iptables', ipv6: 'ip6tables' };

/** iptables' multiport match takes at most 15 ports, a range counting as two. */
const MULTIPORT_MAX_SLOTS = 15;

/**
 * Parses a port list annotation value (`25,3306, 4000-4010`). Returns the ranges (single ports as
 * from === to, in the order given) or the first error as a sentence.
 */
export function parsePortRanges(value: string): { ok: true; ranges: PortRange[] } | { ok: false; error: string } {
  const ranges: PortRange[] = [];
  for (const part of value.split(',').map((p) => p.trim()).filter(Boolean)) {
    const m = /^(\d{1,5})(?:-(\d{1,5}))?$/.exec(part);
    const from = m ? Number(m[1]) : NaN;
    const to = m?.[2] !== undefined ? Number(m[2]) : from;
    if (!m || from < 1 || to > 65535 || to < from) {
      return { ok: false, error: `"${part}" is not a port (1-65535) or a range like 4000-4010` };
    }
    ranges.push({ from, to });
  }
  return { ok: true, ranges };
}

/** Splits ranges into multiport argument values (`25,4000:4010`) of at most 15 slots each. */
export function multiportGroups(ranges: readonly PortRange[]): string[] {
  const groups: string[] = [];
  let current: string[] = [];
  let slots = 0;
  for (const r of ranges) {
    const cost = r.from === r.to ? 1 : 2;
    if (slots + cost > MULTIPORT_MAX_SLOTS) {
      groups.push(current.join(','));
      current = [];
      slots = 0;
    }
    current.push(r.from === r.to ? String(r.from) : `${r.from}:${r.to}`);
    slots += cost;
  }
  if (current.length > 0) groups.push(current.join(','));
  return groups;
}

/** The rules for one family, in the order they must run. */
export function redirectRulesFor(family: IpFamily, opts: RedirectOptions = {}): string[][] {
  const bin = opts.binaries?.[family] ?? DEFAULT_BINARIES[family];
  const inboundPort = opts.inboundPort ?? PROXY_INBOUND_PORT;
  const outboundPort = opts.outboundPort ?? PROXY_OUTBOUND_PORT;
  const uid = opts.proxyUid ?? PROXY_UID;
  const ignored: PortRange[] = (opts.ignoredInboundPorts ?? PROXY_INBOUND_IGNORED_PORTS).map((p) => ({ from: p, to: p }));
  const nat = (...args: string[]): string[] => [bin, '-t', 'nat', ...args];
  const returnFor = (chain: string, ranges: readonly PortRange[]): string[][] =>
    multiportGroups(ranges).map((ports) => nat('-A', chain, '-p', 'tcp', '-m', 'multiport', '--dports', ports, '-j', 'RETURN'));

  return [
    nat('-N', INBOUND_CHAIN),
    ...returnFor(INBOUND_CHAIN, [...ignored, ...(opts.skipInboundPorts ?? [])]),
    nat('-A', INBOUND_CHAIN, '-p', 'tcp', '-j', 'REDIRECT', '--to-ports', String(inboundPort)),
    nat('-A', 'PREROUTING', '-j', INBOUND_CHAIN),

    nat('-N', OUTBOUND_CHAIN),
    nat('-A', OUTBOUND_CHAIN, '-m', 'owner', '--uid-owner', String(uid), '-j', 'RETURN'),
    nat('-A', OUTBOUND_CHAIN, '-o', 'lo', '-j', 'RETURN'),
    ...returnFor(OUTBOUND_CHAIN, opts.skipOutboundPorts ?? []),
    nat('-A', OUTBOUND_CHAIN, '-p', 'tcp', '-j', 'REDIRECT', '--to-ports', String(outboundPort)),
    nat('-A', 'OUTPUT', '-j', OUTBOUND_CHAIN),
  ];
}

/** Every rule, IPv4 then IPv6 (by default both). */
export function redirectRules(opts: RedirectOptions = {}): string[][] {
  return (opts.families ?? ['ipv4', 'ipv6']).flatMap((f) => redirectRulesFor(f, opts));
}

/** The command-line form of the skip lists, as the injector passes them to `weft init`. */
export function redirectArgs(opts: Pick<RedirectOptions, 'skipInboundPorts' | 'skipOutboundPorts'>): string[] {
  const list = (rs: readonly PortRange[]): string => rs.map((r) => (r.from === r.to ? String(r.from) : `${r.from}-${r.to}`)).join(',');
  const args: string[] = [];
  if (opts.skipInboundPorts?.length) args.push('--skip-inbound-ports', list(opts.skipInboundPorts));
  if (opts.skipOutboundPorts?.length) args.push('--skip-outbound-ports', list(opts.skipOutboundPorts));
  return args;
}

/** Reads what redirectArgs wrote (the `weft init` side); an unknown flag or a bad list is an error. */
export function parseRedirectArgs(argv: readonly string[]): { ok: true; options: RedirectOptions } | { ok: false; error: string } {
  const options: RedirectOptions = {};
  for (let i = 0; i < argv.length; i += 2) {
    const flag = argv[i];
    const value = argv[i + 1];
    if (flag !== '--skip-inbound-ports' && flag !== '--skip-outbound-ports') return { ok: false, error: `unknown option ${JSON.stringify(flag)}` };
    if (value === undefined) return { ok: false, error: `${flag} needs a port list` };
    const parsed = parsePortRanges(value);
    if (!parsed.ok) return { ok: false, error: `${flag}: ${parsed.error}` };
    if (flag === '--skip-inbound-ports') options.skipInboundPorts = parsed.ranges;
    else options.skipOutboundPorts = parsed.ranges;
  }
  return { ok: true, options };
}
