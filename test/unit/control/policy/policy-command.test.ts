import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CONTROL_PLANE_PORTS } from '../../../../mesh/config/ports';
import { DEFAULT_CLUSTER_NETWORKS } from '../../../../mesh/config/names';
import { loadPolicyFiles, parsePolicyArgs } from '../../../../mesh/cli/policy.command';

test('weft policy arguments: files, listen address, mesh defaults; usage errors say what is wrong', () => {
  const a = parsePolicyArgs(['-f', 'a.yaml', 'b.yaml', '--file=c.yaml', '--listen', '127.0.0.1:0', '--default-inbound-policy=deny', '--cluster-networks', '127.0.0.0/8,::1/128']);
  assert.deepEqual(a, {
    files: ['a.yaml', 'b.yaml', 'c.yaml'],
    listen: { host: '127.0.0.1', port: 0 },
    meshDefaults: { defaultInboundPolicy: 'deny', clusterNetworks: ['127.0.0.0/8', '::1/128'], trustDomain: 'cluster.local' },
  });
  const d = parsePolicyArgs(['-f', 'a.yaml']);
  assert.ok(typeof d === 'object');
  if (typeof d === 'object') {
    assert.deepEqual(d.listen, { host: '127.0.0.1', port: CONTROL_PLANE_PORTS.policy });
    assert.deepEqual(d.meshDefaults.clusterNetworks, [...DEFAULT_CLUSTER_NETWORKS]);
    assert.equal(d.meshDefaults.defaultInboundPolicy, 'all-unauthenticated');
  }
  assert.equal(parsePolicyArgs([]), 'no policy file given (-f FILE)');
  assert.match(String(parsePolicyArgs(['-f', 'a', '--default-inbound-policy', 'open'])), /expected one of all-unauthenticated/);
  assert.match(String(parsePolicyArgs(['-f', 'a', '--cluster-networks', '10.0.0.0/33'])), /^--cluster-networks: /);
  assert.match(String(parsePolicyArgs(['-f', 'a', '--listen', 'nope'])), /^--listen: expected host:port/);
  assert.equal(parsePolicyArgs(['-f', 'a', '--bogus']), "unknown argument '--bogus'");
});

test('loading policy files: a missing file or any error refuses the whole set', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'weft-policy-cmd-'));
  try {
    const good = join(dir, 'good.yaml');
    const bad = join(dir, 'bad.yaml');
    await writeFile(good, 'apiVersion: v1\nkind: Namespace\nmetadata: {name: shop}\n');
    await writeFile(bad, 'apiVersion: policy.weft.dev/v1alpha1\nkind: NetworkAuthentication\nmetadata: {name: n, namespace: shop}\nspec: {networks: [{cidr: nope}]}\n');
    const d = parsePolicyArgs(['-f', good]);
    assert.ok(typeof d === 'object');
    if (typeof d !== 'object') return;
    const m = await loadPolicyFiles([good], d.meshDefaults);
    assert.ok(typeof m === 'object' && m.namespaces.has('shop'));
    assert.match(String(await loadPolicyFiles([good, bad], d.meshDefaults)), /bad\.yaml: document 1: NetworkAuthentication shop\/n: spec\.networks\[0\]\.cidr/);
    assert.equal(await loadPolicyFiles([join(dir, 'none.yaml')], d.meshDefaults), `${join(dir, 'none.yaml')}: not found`);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
