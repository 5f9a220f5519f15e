// `weft policy --kube` arguments: the Kubernetes mode's options and defaults, its usage errors, and
// the arguments `weft install` gives the policy Deployment parse as the intended Kubernetes mode.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parsePolicyArgs } from '../../../mesh/cli/policy.command';
import { CONTROL_PLANE_PORTS } from '../../../mesh/config/ports';
import { componentArgs, installedMeshConfig } from '../../../mesh/control/install/install-manifests';

test('weft policy --kube: no files, listens on all interfaces by default, takes --kubeconfig and --trust-domain', () => {
  const a = parsePolicyArgs(['--kube']);
  assert.ok(typeof a !== 'string', String(a));
  assert.deepEqual(a.kube, {});
  assert.deepEqual(a.files, []);
  assert.deepEqual(a.listen, { host: '0.0.0.0', port: CONTROL_PLANE_PORTS.policy });
  assert.equal(a.meshDefaults.trustDomain, 'cluster.local');
  const b = parsePolicyArgs(['--kube', '--kubeconfig', '/tmp/kc', '--listen=127.0.0.1:0', '--trust-domain', 'example.org']);
  assert.ok(typeof b !== 'string', String(b));
  assert.deepEqual(b.kube, { kubeconfig: '/tmp/kc' });
  assert.deepEqual(b.listen, { host: '127.0.0.1', port: 0 });
  assert.equal(b.meshDefaults.trustDomain, 'example.org');
  const f = parsePolicyArgs(['-f', 'p.yaml']);
  assert.ok(typeof f !== 'string' && f.kube === undefined && f.listen.host === '127.0.0.1', 'file mode stays on loopback');
});

test('weft policy --kube usage errors say what is wrong', () => {
  assert.equal(parsePolicyArgs(['--kube', '-f', 'p.yaml']), '-f and --kube exclude each other (files or the cluster)');
  assert.equal(parsePolicyArgs(['-f', 'p.yaml', '--kubeconfig', 'kc']), '--kubeconfig needs --kube');
  assert.equal(parsePolicyArgs(['--kube', '--kubeconfig']), 'missing value for --kubeconfig');
  assert.match(String(parsePolicyArgs(['--kube', '--trust-domain', 'Not A Domain'])), /^--trust-domain: expected a DNS name/);
});

test("the policy Deployment's arguments from weft install parse as the Kubernetes mode with the installed defaults", () => {
  const cfg = installedMeshConfig({ defaultInboundPolicy: 'cluster-authenticated', trustDomain: 'example.org' });
  const [command, ...args] = componentArgs('policy', cfg);
  assert.equal(command, 'policy');
  const a = parsePolicyArgs(args);
  assert.ok(typeof a !== 'string', String(a));
  assert.ok(a.kube);
  assert.deepEqual(a.listen, { host: '0.0.0.0', port: CONTROL_PLANE_PORTS.policy });
  assert.equal(a.meshDefaults.defaultInboundPolicy, 'cluster-authenticated');
  assert.deepEqual(a.meshDefaults.clusterNetworks, cfg.clusterNetworks);
  assert.equal(a.meshDefaults.trustDomain, 'example.org', 'ServiceAccount references compile to identities of the installed trust domain');
});
