import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  INBOUND_CHAIN,
  OUTBOUND_CHAIN,
  multiportGroups,
  parsePortRanges,
  parseRedirectArgs,
  redirectArgs,
  redirectRules,
  redirectRulesFor,
} from '../../../mesh/proxy/redirect-rules';
import { PROXY_INBOUND_PORT, PROXY_OUTBOUND_PORT, PROXY_UID } from '../../../mesh/config/ports';

test('IPv4 defaults follow Linkerd\'s layout, in order', () => {
  assert.deepEqual(redirectRulesFor('ipv4'), [
    ['iptables', '-t', 'nat', '-N', INBOUND_CHAIN],
    ['iptables', '-t', 'nat', '-A', INBOUND_CHAIN, '-p', 'tcp', '-m', 'multiport', '--dports', '4190,4191', '-j', 'RETURN'],
    ['iptables', '-t', 'nat', '-A', INBOUND_CHAIN, '-p', 'tcp', '-j', 'REDIRECT', '--to-ports', String(PROXY_INBOUND_PORT)],
    ['iptables', '-t', 'nat', '-A', 'PREROUTING', '-j', INBOUND_CHAIN],
    ['iptables', '-t', 'nat', '-N', OUTBOUND_CHAIN],
    ['iptables', '-t', 'nat', '-A', OUTBOUND_CHAIN, '-m', 'owner', '--uid-owner', String(PROXY_UID), '-j', 'RETURN'],
    ['iptables', '-t', 'nat', '-A', OUTBOUND_CHAIN, '-o', 'lo', '-j', 'RETURN'],
    ['iptables', '-t', 'nat', '-A', OUTBOUND_CHAIN, '-p', 'tcp', '-j', 'REDIRECT', '--to-ports', String(PROXY_OUTBOUND_PORT)],
    ['iptables', '-t', 'nat', '-A', 'OUTPUT', '-j', OUTBOUND_CHAIN],
  ]);
});

test('both families by default; IPv6 uses ip6tables with the same rules', () => {
  const all = redirectRules();
  const v4 = redirectRulesFor('ipv4');
  const v6 = redirectRulesFor('ipv6');
  assert.deepEqual(all, [...v4, ...v6]);
  assert.ok(v6.every((r) => r[0] === 'ip6tables'));
  assert.deepEqual(v6.map((r) => r.slice(1)), v4.map((r) => r.slice(1)));
  assert.deepEqual(redirectRules({ families: ['ipv6'] }), v6);
});

test('skip ports RETURN before the REDIRECT of their direction; ranges use iptables\' colon form', () => {
  const rules = redirectRulesFor('ipv4', {
    skipInboundPorts: [{ from: 9000, to: 9000 }],
    skipOutboundPorts: [{ from: 3306, to: 3306 }, { from: 5000, to: 5010 }],
  });
  const idx = (pred: (r: string[]) => boolean): number => rules.findIndex(pred);
  const inSkip = idx((r) => r.includes(INBOUND_CHAIN) && r.includes('4190,4191,9000'));
  const inRedirect = idx((r) => r[4] === INBOUND_CHAIN && r.includes('REDIRECT'));
  const outUid = idx((r) => r.includes('--uid-owner'));
  const outLo = idx((r) => r.includes('lo'));
  const outSkip = idx((r) => r[4] === OUTBOUND_CHAIN && r.includes('3306,5000:5010'));
  const outRedirect = idx((r) => r[4] === OUTBOUND_CHAIN && r.includes('REDIRECT'));
  assert.ok(inSkip > 0 && inSkip < inRedirect);
  assert.ok(outUid < outLo && outLo < outSkip && outSkip < outRedirect, JSON.stringify(rules));
  // skip-inbound ports never leak into the outbound chain and vice versa
  assert.ok(!rules.some((r) => r[4] === OUTBOUND_CHAIN && r.join(' ').includes('9000')));
  assert.ok(!rules.some((r) => r[4] === INBOUND_CHAIN && r.join(' ').includes('3306')));
});

test('custom ports, UID and binaries are honoured', () => {
  const rules = redirectRulesFor('ipv4', { inboundPort: 15006, outboundPort: 15001, proxyUid: 1337, binaries: { ipv4: 'iptables-legacy' } });
  assert.ok(rules.every((r) => r[0] === 'iptables-legacy'));
  assert.ok(rules.some((r) => r.join(' ').endsWith('REDIRECT --to-ports 15006')));
  assert.ok(rules.some((r) => r.join(' ').endsWith('REDIRECT --to-ports 15001')));
  assert.ok(rules.some((r) => r.join(' ').includes('--uid-owner 1337')));
});

test('multiport groups hold at most 15 slots, a range counting two', () => {
  const singles = Array.from({ length: 20 }, (_, i) => ({ from: 1000 + i, to: 1000 + i }));
  const groups = multiportGroups(singles);
  assert.equal(groups.length, 2);
  assert.equal(groups[0]!.split(',').length, 15);
  assert.equal(groups[1]!.split(',').length, 5);
  const ranges = Array.from({ length: 8 }, (_, i) => ({ from: 2000 + i * 10, to: 2005 + i * 10 }));
  const rg = multiportGroups(ranges);
  assert.deepEqual(rg.map((g) => g.split(',').length), [7, 1]);
  assert.deepEqual(multiportGroups([]), []);
  // a long skip list turns into several RETURN rules, all before the REDIRECT
  const rules = redirectRulesFor('ipv4', { skipOutboundPorts: singles });
  const returns = rules.filter((r) => r[4] === OUTBOUND_CHAIN && r.includes('--dports'));
  assert.equal(returns.length, 2);
});

test('every rule is an argv array of plain strings (no shell)', () => {
  for (const r of redirectRules({ skipInboundPorts: [{ from: 1, to: 2 }] })) {
    assert.ok(r.length > 2 && r.every((a) => typeof a === 'string' && a.length > 0 && !/[;&|$`]/.test(a)), JSON.stringify(r));
  }
});

test('parsePortRanges: ports, ranges, spaces; errors name the bad part', () => {
  assert.deepEqual(parsePortRanges('25, 3306,4000-4010'), { ok: true, ranges: [{ from: 25, to: 25 }, { from: 3306, to: 3306 }, { from: 4000, to: 4010 }] });
  assert.deepEqual(parsePortRanges(''), { ok: true, ranges: [] });
  for (const bad of ['0', '65536', '10-5', 'mysql', '1,,x', '80-']) {
    const r = parsePortRanges(bad);
    assert.equal(r.ok, false, bad);
  }
  const r = parsePortRanges('80,abc');
  assert.ok(!r.ok && r.error.includes('"abc"'));
});

test('redirectArgs and parseRedirectArgs round-trip; bad input is refused', () => {
  const opts = { skipInboundPorts: [{ from: 9000, to: 9000 }], skipOutboundPorts: [{ from: 3306, to: 3306 }, { from: 5000, to: 5010 }] };
  const args = redirectArgs(opts);
  assert.deepEqual(args, ['--skip-inbound-ports', '9000', '--skip-outbound-ports', '3306,5000-5010']);
  assert.deepEqual(parseRedirectArgs(args), { ok: true, options: opts });
  assert.deepEqual(redirectArgs({}), []);
  assert.deepEqual(parseRedirectArgs([]), { ok: true, options: {} });
  assert.equal(parseRedirectArgs(['--bogus', '1']).ok, false);
  assert.equal(parseRedirectArgs(['--skip-inbound-ports']).ok, false);
  assert.equal(parseRedirectArgs(['--skip-outbound-ports', 'x']).ok, false);
});
