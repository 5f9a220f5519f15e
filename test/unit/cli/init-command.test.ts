/**
 * `weft init`'s argument parsing, its clean-up of an earlier run, and its error messages, against a
 * recording stand-in for iptables (the real rules in a network namespace: test/e2e/netns/init.test.ts).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { applyRedirectRules, cleanupCommands, InitError, parseInitArgs, type ExecResult } from '../../../mesh/cli/init.command';
import { redirectArgs } from '../../../mesh/proxy/redirect-rules';

test('parses exactly what the injector writes (redirectArgs), plus --dry-run and --ipv4-only', () => {
  const written = redirectArgs({ skipInboundPorts: [{ from: 25, to: 25 }], skipOutboundPorts: [{ from: 3306, to: 3306 }, { from: 4000, to: 4010 }] });
  const r = parseInitArgs([...written, '--dry-run', '--ipv4-only']);
  assert.ok(r.ok);
  assert.deepEqual(r.value, {
    dryRun: true,
    ipv4Only: true,
    options: { skipInboundPorts: [{ from: 25, to: 25 }], skipOutboundPorts: [{ from: 3306, to: 3306 }, { from: 4000, to: 4010 }] },
  });
  const eq = parseInitArgs(['--skip-outbound-ports=6379']);
  assert.ok(eq.ok);
  assert.deepEqual(eq.value.options.skipOutboundPorts, [{ from: 6379, to: 6379 }]);
});

test('bad arguments are errors naming the flag', () => {
  const bad = parseInitArgs(['--skip-inbound-ports', '70000']);
  assert.ok(!bad.ok);
  assert.match(bad.error, /--skip-inbound-ports: "70000" is not a port/);
  const unknown = parseInitArgs(['--bogus']);
  assert.ok(!unknown.ok);
  assert.match(unknown.error, /unknown option "--bogus"/);
  const missing = parseInitArgs(['--skip-outbound-ports']);
  assert.ok(!missing.ok);
  assert.match(missing.error, /needs a port list/);
});

test('clean-up removes every jump to the WEFT chains and the chains themselves, nothing else', () => {
  const listed = ['-P PREROUTING ACCEPT', '-P OUTPUT ACCEPT', '-N WEFT_INBOUND', '-N WEFT_OUTBOUND', '-N OTHER',
    '-A PREROUTING -j WEFT_INBOUND', '-A PREROUTING -j OTHER', '-A OUTPUT -j WEFT_OUTBOUND', '-A OUTPUT -j WEFT_OUTBOUND',
    '-A WEFT_INBOUND -p tcp -j REDIRECT --to-ports 4143'].join('\n');
  assert.deepEqual(cleanupCommands('ipv6', listed), [
    ['ip6tables', '-t', 'nat', '-D', 'PREROUTING', '-j', 'WEFT_INBOUND'],
    ['ip6tables', '-t', 'nat', '-D', 'OUTPUT', '-j', 'WEFT_OUTBOUND'],
    ['ip6tables', '-t', 'nat', '-D', 'OUTPUT', '-j', 'WEFT_OUTBOUND'],
    ['ip6tables', '-t', 'nat', '-F', 'WEFT_INBOUND'],
    ['ip6tables', '-t', 'nat', '-X', 'WEFT_INBOUND'],
    ['ip6tables', '-t', 'nat', '-F', 'WEFT_OUTBOUND'],
    ['ip6tables', '-t', 'nat', '-X', 'WEFT_OUTBOUND'],
  ]);
  assert.deepEqual(cleanupCommands('ipv4', '-P OUTPUT ACCEPT\n'), []);
});

function recorder(fail: (argv: readonly string[]) => ExecResult | undefined, listing = ''): { calls: string[][]; exec: (argv: readonly string[]) => Promise<ExecResult> } {
  const calls: string[][] = [];
  return {
    calls,
    exec: async (argv) => {
      calls.push([...argv]);
      return fail(argv) ?? { code: 0, stdout: argv.includes('-S') ? listing : '', stderr: '' };
    },
  };
}

test('applies IPv4 then IPv6, each after listing (and cleaning) what an earlier run left', async () => {
  const r = recorder(() => undefined, '-N WEFT_INBOUND\n-A PREROUTING -j WEFT_INBOUND\n');
  const ran = await applyRedirectRules({ options: {}, dryRun: false, ipv4Only: false }, r.exec);
  assert.deepEqual(r.calls[0], ['iptables', '-t', 'nat', '-S']);
  assert.deepEqual(r.calls[1], ['iptables', '-t', 'nat', '-D', 'PREROUTING', '-j', 'WEFT_INBOUND']);
  const v6Start = r.calls.findIndex((c) => c[0] === 'ip6tables');
  assert.deepEqual(r.calls[v6Start], ['ip6tables', '-t', 'nat', '-S']);
  assert.ok(r.calls.slice(0, v6Start).every((c) => c[0] === 'iptables'), 'IPv4 first, entirely');
  assert.ok(ran.some((c) => c.join(' ') === 'ip6tables -t nat -A OUTPUT -j WEFT_OUTBOUND'));
  const v4only = recorder(() => undefined);
  await applyRedirectRules({ options: {}, dryRun: false, ipv4Only: true }, v4only.exec);
  assert.ok(v4only.calls.every((c) => c[0] === 'iptables'));
});

test('failures become messages with a next step: missing binaries, not permitted, IPv6 off', async () => {
  const cases: { fail: (argv: readonly string[]) => ExecResult | undefined; message: RegExp; hint: RegExp }[] = [
    { fail: (a) => (a[0] === 'iptables' ? { code: 127, stdout: '', stderr: '', missing: true } : undefined), message: /iptables is not installed/, hint: /apt-get install iptables/ },
    { fail: (a) => (a[0] === 'ip6tables' ? { code: 127, stdout: '', stderr: '', missing: true } : undefined), message: /ip6tables is not installed: IPv6 traffic would bypass the mesh/, hint: /--ipv4-only/ },
    { fail: (a) => (a.includes('-N') ? { code: 4, stdout: '', stderr: 'iptables v1.8.9 (nf_tables): Could not fetch rule set generation id: Permission denied (you must be root)' } : undefined), message: /not permitted/, hint: /NET_ADMIN/ },
    { fail: (a) => (a[0] === 'ip6tables' ? { code: 3, stdout: '', stderr: "ip6tables v1.8.9 (legacy): can't initialize ip6tables table `nat': Address family not supported by protocol" } : undefined), message: /IPv6 looks disabled/, hint: /--ipv4-only/ },
  ];
  for (const c of cases) {
    const r = recorder(c.fail);
    await assert.rejects(applyRedirectRules({ options: {}, dryRun: false, ipv4Only: false }, r.exec), (e: unknown) => {
      assert.ok(e instanceof InitError);
      assert.match(e.message, c.message);
      assert.match(e.hint, c.hint);
      return true;
    });
  }
});
