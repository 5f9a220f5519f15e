/**
 * `weft init` for real, in a network namespace made for this test: the rules land in both families,
 * a re-run replaces them (no duplicate jump), the skip ports are there, and --dry-run prints the same.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { after, test } from 'node:test';
import { netnsSkipReason, REPO, sh, skipOrFail } from './netns-env';

const NS = `weft-init-${process.pid}`;
const NS6 = `weft-init6-${process.pid}`;
let created = false;
let created6 = false;
after(() => {
  if (created) sh('ip', ['netns', 'del', NS]);
  if (created6) sh('ip', ['netns', 'del', NS6]);
});

const weft = (...args: string[]): string[] => [process.execPath, '--import', 'tsx', `${REPO}mesh/cli/main.ts`, ...args];

test('weft init applies IPv4 and IPv6 rules in a network namespace; a re-run replaces them', { timeout: 60_000 }, (t) => {
  const skip = netnsSkipReason();
  if (skip) return skipOrFail(t, skip);
  assert.ok(sh('ip', ['netns', 'add', NS]).ok);
  created = true;
  const init = ['--skip-inbound-ports', '25', '--skip-outbound-ports', '6379,4000-4010'];
  for (let i = 0; i < 2; i++) {
    const r = sh('ip', ['netns', 'exec', NS, ...weft('init', ...init)], 40_000);
    assert.ok(r.ok, r.out);
    assert.match(r.out, /rules applied \(IPv4 and IPv6\)/);
  }
  for (const bin of ['iptables', 'ip6tables']) {
    const rules = sh('ip', ['netns', 'exec', NS, bin, '-t', 'nat', '-S']).stdout.split('\n');
    assert.equal(rules.filter((l) => l === '-A PREROUTING -j WEFT_INBOUND').length, 1, `${bin}: one inbound jump after two runs`);
    assert.equal(rules.filter((l) => l === '-A OUTPUT -j WEFT_OUTBOUND').length, 1, `${bin}: one outbound jump after two runs`);
    assert.ok(rules.some((l) => /-A WEFT_OUTBOUND -m owner --uid-owner 2102 -j RETURN/.test(l)), `${bin}: proxy UID excluded\n${rules.join('\n')}`);
    assert.ok(rules.some((l) => /-A WEFT_OUTBOUND -p tcp -m multiport --dports 6379,4000:4010 -j RETURN/.test(l)), `${bin}: skip-outbound ports`);
    assert.ok(rules.some((l) => /-A WEFT_INBOUND -p tcp -m multiport --dports 4190,4191,25 -j RETURN/.test(l)), `${bin}: ignored and skip-inbound ports`);
    assert.equal(rules.filter((l) => /REDIRECT --to-ports 4143/.test(l)).length, 1, `${bin}: one inbound REDIRECT`);
  }
  const dry = sh(process.execPath, weft('init', '--dry-run', ...init).slice(1), 40_000);
  assert.ok(dry.ok, dry.out);
  assert.match(dry.stdout, /^iptables -t nat -N WEFT_INBOUND$/m);
  assert.match(dry.stdout, /^ip6tables -t nat -A OUTPUT -j WEFT_OUTBOUND$/m);
});

test('weft init as a non-root user says so and what to do', { timeout: 60_000 }, (t) => {
  const skip = netnsSkipReason();
  if (skip) return skipOrFail(t, skip);
  const r = sh('setpriv', ['--reuid=2102', '--regid=2102', '--clear-groups', ...weft('init')], 40_000);
  assert.ok(!r.ok);
  assert.match(r.out, /must run as root/);
  assert.match(r.out, /next: run it as root with NET_ADMIN/);
});

test('IPv6 disabled in the namespace: weft init says so and how to opt out; --ipv4-only then applies IPv4 only', { timeout: 60_000 }, (t) => {
  const skip = netnsSkipReason();
  if (skip) return skipOrFail(t, skip);
  assert.ok(sh('ip', ['netns', 'add', NS6]).ok);
  created6 = true;
  // The sysctl of that namespace only (written from inside it).
  const off = spawnSync('ip', ['netns', 'exec', NS6, 'tee', '/proc/sys/net/ipv6/conf/all/disable_ipv6'], { input: '1\n', encoding: 'utf8' });
  assert.equal(off.status, 0, off.stderr);
  const refused = sh('ip', ['netns', 'exec', NS6, ...weft('init')], 40_000);
  assert.ok(!refused.ok);
  assert.match(refused.out, /IPv6 is disabled in this network namespace/);
  assert.match(refused.out, /next: pass --ipv4-only/);
  assert.doesNotMatch(sh('ip', ['netns', 'exec', NS6, 'iptables', '-t', 'nat', '-S']).stdout, /WEFT_/, 'nothing applied');
  const v4 = sh('ip', ['netns', 'exec', NS6, ...weft('init', '--ipv4-only')], 40_000);
  assert.ok(v4.ok, v4.out);
  assert.match(v4.out, /rules applied \(IPv4 only\)/);
  assert.match(sh('ip', ['netns', 'exec', NS6, 'iptables', '-t', 'nat', '-S']).stdout, /-A OUTPUT -j WEFT_OUTBOUND/);
});
