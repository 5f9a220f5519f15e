/**
 * IP addresses and CIDR blocks as numbers, for NetworkAuthentication and the cluster networks.
 * IPv4-mapped IPv6 addresses (`::ffff:10.1.2.3`, what a dual-stack listener reports) count as IPv4.
 */
import { isIPv4, isIPv6 } from 'node:net';

export type IpFamily = 4 | 6;

export interface IpAddress {
  family: IpFamily;
  value: bigint;
}

export interface Cidr {
  family: IpFamily;
  /** The network address (host bits cleared). */
  base: bigint;
  prefix: number;
  /** As written, for messages. */
  text: string;
}

const BITS: Record<IpFamily, number> = { 4: 32, 6: 128 };

function v4ToBigint(s: string): bigint {
  return s.split('.').reduce((acc, part) => (acc << 8n) | BigInt(Number(part)), 0n);
}

function v6ToBigint(s: string): bigint {
  let text = s;
  let tail: bigint[] = [];
  const lastColon = text.lastIndexOf(':');
  const last = text.slice(lastColon + 1);
  if (last.includes('.')) {
    const v4 = v4ToBigint(last);
    tail = [v4 >> 16n, v4 & 0xffffn];
    text = text.slice(0, lastColon + 1) + '0:0';
  }
  const [head, rest] = text.includes('::') ? text.split('::') : [text, undefined];
  const parse = (part: string | undefined): bigint[] => (part ? part.split(':').map((h) => BigInt(parseInt(h, 16))) : []);
  let groups: bigint[];
  if (rest === undefined) {
    groups = parse(head);
  } else {
    const h = parse(head);
    const r = parse(rest);
    groups = [...h, ...Array<bigint>(8 - h.length - r.length).fill(0n), ...r];
  }
  if (tail.length) groups = [...groups.slice(0, 6), ...tail];
  return groups.reduce((acc, g) => (acc << 16n) | g, 0n);
}

/** Parses an IP address; undefined when it is not one. A zone (`fe80::1%eth0`) is ignored. */
const DOTTED_QUAD = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;

export function parseIp(text: string): IpAddress | undefined {
  const quad = DOTTED_QUAD.exec(text);
  if (quad) {
    // The common case, without BigInt arithmetic per octet (node's isIPv4 refuses leading zeros too).
    const octets = [quad[1], quad[2], quad[3], quad[4]].map((o) => (o && (o.length === 1 || o[0] !== '0') ? Number(o) : 256));
    if (octets.some((o) => o > 255)) return undefined;
    return { family: 4, value: BigInt(((octets[0] as number) * 0x1000000 + (octets[1] as number) * 0x10000 + (octets[2] as number) * 0x100 + (octets[3] as number))) };
  }
  const s = text.trim().replace(/%.*$/, '');
  if (isIPv4(s)) return { family: 4, value: v4ToBigint(s) };
  if (!isIPv6(s)) return undefined;
  const value = v6ToBigint(s);
  if (value >> 32n === 0xffffn) return { family: 4, value: value & 0xffffffffn };
  return { family: 6, value };
}

/** Parses `addr/prefix` (or a bare address, a host route). Throws an Error whose message names the problem. */
export function parseCidr(text: string): Cidr {
  const [addr, prefixText, extra] = text.trim().split('/');
  if (extra !== undefined) throw new Error(`"${text}" is not a CIDR block (more than one "/")`);
  const ip = parseIp(addr ?? '');
  if (!ip || addr?.includes('%')) throw new Error(`"${text}" is not a CIDR block: "${addr}" is not an IP address`);
  const written: IpFamily = addr?.includes(':') ? 6 : 4;
  const max = BITS[written];
  let prefix = max;
  if (prefixText !== undefined) {
    if (!/^\d{1,3}$/.test(prefixText) || Number(prefixText) > max) {
      throw new Error(`"${text}" is not a CIDR block: the prefix length must be a whole number from 0 to ${max}`);
    }
    prefix = Number(prefixText);
  }
  // An IPv4-mapped address written in IPv6 keeps its IPv4 meaning only with a prefix of 96 or more.
  if (ip.family === 4 && written === 6) prefix = Math.max(0, prefix - 96);
  const hostBits = BigInt(BITS[ip.family] - prefix);
  const base = (ip.value >> hostBits) << hostBits;
  return { family: ip.family, base, prefix, text: text.trim() };
}

export function cidrContains(cidr: Cidr, ip: IpAddress): boolean {
  if (cidr.family !== ip.family) return false;
  const hostBits = BigInt(BITS[cidr.family] - cidr.prefix);
  return ip.value >> hostBits === cidr.base >> hostBits;
}

export function inAnyCidr(cidrs: readonly Cidr[], ip: IpAddress): boolean {
  return cidrs.some((c) => cidrContains(c, ip));
}

/** True when every address of `inner` is in `outer`. */
export function cidrCovers(outer: Cidr, inner: Cidr): boolean {
  return outer.family === inner.family && inner.prefix >= outer.prefix && cidrContains(outer, { family: inner.family, value: inner.base });
}
