/**
 * decodeSockaddr on hand-built sockaddr_in/sockaddr_in6 buffers, and originalDestination for real:
 * iptables REDIRECT in the OUTPUT chain of a network namespace made for this test (root only).
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { decodeSockaddr } from '../../../mesh/proxy/original-dst/original-dst';

function sockaddrIn(ip: string, port: number): Buffer {
  const b = Buffer.alloc(16);
  b.writeUInt16LE(2, 0); // AF_INET, host order (little-endian on Linux x86/arm)
  b.writeUInt16BE(port, 2);
  ip.split('.').forEach((o, i) => (b[4 + i] = Number(o)));
  return b;
}
function sockaddrIn6(groups: number[], port: number): Buffer {
  const b = Buffer.alloc(28);
  b.writeUInt16LE(10, 0); // AF_INET6
  b.writeUInt16BE(port, 2);
  b.writeUInt32BE(0xdeadbeef, 4); // flowinfo: must be ignored
  groups.forEach((g, i) => b.writeUInt16BE(g, 8 + i * 2));
  b.writeUInt32LE(7, 24); // scope id
  return b;
}

test('decodeSockaddr reads IPv4 addresses and ports', () => {
  assert.deepEqual(decodeSockaddr(sockaddrIn('10.42.0.17', 8080)), { host: '10.42.0.17', port: 8080 });
  assert.deepEqual(decodeSockaddr(sockaddrIn('127.0.0.1', 65535)), { host: '127.0.0.1', port: 65535 });
  assert.deepEqual(decodeSockaddr(sockaddrIn('255.0.0.1', 1)), { host: '255.0.0.1', port: 1 });
});

test('decodeSockaddr reads IPv6 addresses in RFC 5952 form', () => {
  assert.deepEqual(decodeSockaddr(sockaddrIn6([0, 0, 0, 0, 0, 0, 0, 1], 4143)), { host: '::1', port: 4143 });
  assert.deepEqual(decodeSockaddr(sockaddrIn6([0, 0, 0, 0, 0, 0, 0, 0], 80)), { host: '::', port: 80 });
  assert.deepEqual(decodeSockaddr(sockaddrIn6([0xfd00, 0, 0, 0, 0, 0, 0x1, 0x2], 6379)), { host: 'fd00::1:2', port: 6379 });
  assert.deepEqual(decodeSockaddr(sockaddrIn6([0x2001, 0xdb8, 0, 0, 1, 0, 0, 1], 1)), { host: '2001:db8::1:0:0:1', port: 1 }, 'the first of two equal runs');
  assert.deepEqual(decodeSockaddr(sockaddrIn6([0x2001, 0xdb8, 0, 1, 1, 1, 1, 1], 1)), { host: '2001:db8:0:1:1:1:1:1', port: 1 }, 'one zero group is not compressed');
  assert.deepEqual(decodeSockaddr(sockaddrIn6([0x2001, 0, 0, 1, 0, 0, 0, 0xabcd], 1)), { host: '2001:0:0:1::abcd', port: 1 }, 'the longest run wins');
});

test('decodeSockaddr refuses unknown families and short buffers', () => {
  const unix = Buffer.alloc(16);
  unix.writeUInt16LE(1, 0);
  assert.equal(decodeSockaddr(unix), undefined);
  assert.equal(decodeSockaddr(sockaddrIn('1.2.3.4', 5).subarray(0, 6)), undefined);
  assert.equal(decodeSockaddr(sockaddrIn6([0, 0, 0, 0, 0, 0, 0, 1], 5).subarray(0, 20)), undefined);
});

// ---- the real thing, in a network namespace ----

const ORIGINAL_DST_TS = fileURLToPath(new URL('../../../mesh/proxy/original-dst/original-dst.ts', import.meta.url));
const REPO = fileURLToPath(new URL('../../../', import.meta.url));
const NS = `weft-odst-${process.pid}`;

function run(cmd: string, args: string[], timeout = 15_000): { ok: boolean; out: string } {
  const r = spawnSync(cmd, args, { encoding: 'utf8', timeout, cwd: REPO });
  return { ok: !r.error && r.status === 0, out: `${r.stdout ?? ''}${r.stderr ?? ''}${r.error ? String(r.error) : ''}` };
}

function netnsSkipReason(): string | false {
  if (process.platform !== 'linux') return 'original destinations exist on Linux only';
  if (process.getuid?.() !== 0) return 'needs root to create a network namespace (ip netns add) and iptables rules';
  for (const bin of ['ip', 'iptables', 'ip6tables']) if (!run('sh', ['-c', `command -v ${bin}`]).ok) return `\`${bin}\` is not installed`;
  return false;
}

let nsCreated = false;
let tmp: string | undefined;
after(() => {
  if (nsCreated) run('ip', ['netns', 'del', NS]);
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

// Inside the namespace: a dual-stack listener on :: and a v4-only one, reached through REDIRECT rules.
const CHILD = `
import net from 'node:net';
import { originalDestination } from ${JSON.stringify(ORIGINAL_DST_TS)};
const listenOn = (host, port) => new Promise((resolve) => {
  const seen = [];
  const s = net.createServer((sock) => { seen.push(originalDestination(sock) ?? null); sock.end('x'); });
  s.listen({ host, port }, () => resolve({ s, seen }));
});
const connect = (host, port) => new Promise((resolve, reject) => {
  const c = net.connect({ host, port }, () => undefined);
  c.on('data', () => undefined);
  c.on('close', () => resolve());
  c.on('error', reject);
});
const dual = await listenOn('::', 15001);
const v4 = await listenOn('127.0.0.1', 15002);
await connect('127.0.0.1', 8080);   // v4 client on a dual-stack listener (v4-mapped)
await connect('::1', 8080);         // IPv6
await connect('127.0.0.1', 15001);  // not redirected
await connect('127.0.0.1', 9090);   // v4 listener
dual.s.close(); v4.s.close();
process.stdout.write(JSON.stringify({ dual: dual.seen, v4: v4.seen }));
`;

test('originalDestination learns the redirected address in a network namespace (v4, v6, v4-mapped)', { timeout: 30_000 }, (t) => {
  const skip = netnsSkipReason();
  if (skip) return t.skip(skip);
  const add = run('ip', ['netns', 'add', NS]);
  if (!add.ok) return t.skip(`cannot create a network namespace here: ${add.out.trim()}`);
  nsCreated = true;
  const inNs = (cmd: string, ...args: string[]): void => {
    const r = run('ip', ['netns', 'exec', NS, cmd, ...args]);
    assert.ok(r.ok, `${cmd} ${args.join(' ')}: ${r.out}`);
  };
  inNs('ip', 'link', 'set', 'lo', 'up');
  inNs('iptables', '-t', 'nat', '-A', 'OUTPUT', '-p', 'tcp', '--dport', '8080', '-j', 'REDIRECT', '--to-ports', '15001');
  inNs('iptables', '-t', 'nat', '-A', 'OUTPUT', '-p', 'tcp', '--dport', '9090', '-j', 'REDIRECT', '--to-ports', '15002');
  inNs('ip6tables', '-t', 'nat', '-A', 'OUTPUT', '-p', 'tcp', '--dport', '8080', '-j', 'REDIRECT', '--to-ports', '15001');
  tmp = mkdtempSync(join(tmpdir(), 'weft-odst-'));
  const script = join(tmp, 'child.mts');
  writeFileSync(script, CHILD);
  const r = run('ip', ['netns', 'exec', NS, process.execPath, '--import', 'tsx', script], 20_000);
  assert.ok(r.ok, r.out);
  const seen = JSON.parse(r.out) as { dual: ({ host: string; port: number } | null)[]; v4: ({ host: string; port: number } | null)[] };
  assert.deepEqual(seen.dual[0], { host: '127.0.0.1', port: 8080 }, 'v4-mapped client asked at SOL_IP');
  assert.deepEqual(seen.dual[1], { host: '::1', port: 8080 }, 'IPv6 client asked at SOL_IPV6');
  // A connection that was not redirected reports its own local address (callers compare with the listener).
  const direct = seen.dual[2];
  assert.ok(direct === null || direct.port === 15001, `not redirected: ${JSON.stringify(direct)}`);
  assert.deepEqual(seen.v4[0], { host: '127.0.0.1', port: 9090 });
});
