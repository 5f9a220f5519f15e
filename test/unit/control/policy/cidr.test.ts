import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cidrContains, cidrCovers, parseCidr, parseIp } from '../../../../mesh/control/policy/cidr';

const ip = (s: string) => {
  const a = parseIp(s);
  assert.ok(a, `${s} parses`);
  return a;
};

test('parseIp: IPv4, IPv6 (compressed, embedded v4, zone) and IPv4-mapped IPv6 as IPv4', () => {
  assert.deepEqual(parseIp('10.1.2.3'), { family: 4, value: 0x0a010203n });
  assert.deepEqual(parseIp('::1'), { family: 6, value: 1n });
  assert.deepEqual(parseIp('2001:db8::8:800:200c:417a'), { family: 6, value: 0x20010db80000000000080800200c417an });
  assert.deepEqual(parseIp('::ffff:10.1.2.3'), { family: 4, value: 0x0a010203n }, 'a dual-stack listener reports v4 clients this way');
  assert.deepEqual(parseIp('64:ff9b::10.1.2.3'), { family: 6, value: (0x0064ff9bn << 96n) | 0x0a010203n });
  assert.deepEqual(parseIp('fe80::1%eth0'), { family: 6, value: (0xfe80n << 112n) | 1n });
  for (const bad of ['', 'localhost', '10.1.2', '1.2.3.256', '010.1.2.3', '1.2.3.4.5', ':::1']) assert.equal(parseIp(bad), undefined, bad);
});

test('parseCidr clears host bits; contains respects family and prefix; a bare address is a host route', () => {
  const c = parseCidr('10.1.2.3/8');
  assert.equal(c.base, 0x0a000000n);
  assert.ok(cidrContains(c, ip('10.255.0.1')));
  assert.ok(!cidrContains(c, ip('11.0.0.1')));
  assert.ok(cidrContains(c, ip('::ffff:10.9.9.9')));
  assert.ok(!cidrContains(parseCidr('::/0'), ip('10.0.0.1')), 'IPv6 any does not hold IPv4 clients');
  assert.ok(cidrContains(parseCidr('0.0.0.0/0'), ip('203.0.113.9')));
  assert.ok(cidrContains(parseCidr('fd00::/8'), ip('fd12::1')));
  assert.ok(!cidrContains(parseCidr('fd00::/8'), ip('fe80::1')));
  const host = parseCidr('192.168.1.7');
  assert.equal(host.prefix, 32);
  assert.ok(cidrContains(host, ip('192.168.1.7')) && !cidrContains(host, ip('192.168.1.8')));
  assert.ok(cidrContains(parseCidr('::ffff:10.0.0.0/104'), ip('10.3.3.3')), 'a v4-mapped block is an IPv4 /8');
});

test('parseCidr errors name the problem', () => {
  assert.throws(() => parseCidr('10.0.0.0/33'), /prefix length must be a whole number from 0 to 32/);
  assert.throws(() => parseCidr('fd00::/129'), /from 0 to 128/);
  assert.throws(() => parseCidr('10.0.0.0/x'), /prefix length/);
  assert.throws(() => parseCidr('ten/8'), /"ten" is not an IP address/);
  assert.throws(() => parseCidr('10.0.0.0/8/9'), /more than one "\/"/);
});

test('cidrCovers: inside, equal, wider, other family', () => {
  const outer = parseCidr('10.0.0.0/8');
  assert.ok(cidrCovers(outer, parseCidr('10.1.0.0/16')));
  assert.ok(cidrCovers(outer, parseCidr('10.0.0.0/8')));
  assert.ok(!cidrCovers(outer, parseCidr('0.0.0.0/0')));
  assert.ok(!cidrCovers(outer, parseCidr('11.0.0.0/16')));
  assert.ok(!cidrCovers(parseCidr('::/0'), parseCidr('10.0.0.0/16')));
});
