import { test } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { awaitListening, policyArgs, prepareControlPlaneFiles } from '../../../dev-cluster/local/control-plane';
import { parsePolicyArgs } from '../../../mesh/cli/policy.command';
import { LOCAL_CLUSTER_NETWORKS } from '../../../mesh/config/names';
import { LocalTokenVerifier } from '../../../mesh/control/identity/token';
import type { Supervised } from '../../../dev-cluster/local/supervisor';

test('prepareControlPlaneFiles: a per-run anchor and issuer, a secret, one token per workload naming its ServiceAccount', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'weft-cp-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const holders = [
    { name: 'api-0', serviceAccount: 'api', namespace: 'shop' },
    { name: 'web', serviceAccount: 'web', namespace: 'front' },
  ];
  const { files, secret } = await prepareControlPlaneFiles(join(dir, 'cp'), holders);
  const anchor = new X509Certificate(await readFile(files.trustAnchors, 'utf8'));
  const issuer = new X509Certificate(await readFile(files.issuerCert, 'utf8'));
  assert.ok(issuer.verify(anchor.publicKey), 'the issuer is signed by the anchor');
  assert.equal((await stat(files.issuerKey)).mode & 0o777, 0o600);
  assert.equal((await stat(files.tokenSecret)).mode & 0o777, 0o600);
  assert.equal((await readFile(files.tokenSecret, 'utf8')).trim(), secret);
  const verifier = new LocalTokenVerifier(secret);
  for (const h of holders) {
    const token = await readFile(join(files.tokensDir, `${h.name}.token`), 'utf8');
    assert.deepEqual(verifier.verifySync(token, new Date()), { ok: true, serviceAccount: h.serviceAccount, namespace: h.namespace });
  }
  const again = await prepareControlPlaneFiles(join(dir, 'cp2'), holders);
  assert.notEqual(again.secret, secret, 'a new secret per run');
  assert.notEqual(await readFile(again.files.trustAnchors, 'utf8'), await readFile(files.trustAnchors, 'utf8'), 'a new anchor per run');
});

function fakeProcess(lines: string[], exited = false): Supervised {
  return { name: 'weft-identity', pid: 1, group: true, exited: new Promise(() => undefined), hasExited: () => exited, tail: () => lines };
}

test('awaitListening: the address from the line, or the last output when the process exits or is slow', async () => {
  const lines: string[] = ['starting'];
  setTimeout(() => lines.push('weft identity: listening on https://127.0.0.1:41001 as x'), 60);
  assert.deepEqual(await awaitListening(fakeProcess(lines), /listening on https:\/\/(\S+)/, 2_000), { host: '127.0.0.1', port: 41001 });
  await assert.rejects(awaitListening(fakeProcess(['Error: listen EADDRINUSE: address already in use 127.0.0.1:9'], true), /listening on (\S+)/, 2_000), /weft-identity exited at start: Error: listen EADDRINUSE/);
  await assert.rejects(awaitListening(fakeProcess([]), /listening on (\S+)/, 100), /weft-identity did not start listening within 0.1s: no output/);
});

test('policyArgs: the topology files (or the empty one), loopback as a cluster network, the mesh default; `weft policy` accepts them', () => {
  const withFiles = policyArgs({ files: ['/p/a.yaml', '/p/b.yaml'], defaultInboundPolicy: 'all-authenticated' }, '/cp/none.yaml');
  assert.deepEqual(withFiles, ['policy', '-f', '/p/a.yaml', '-f', '/p/b.yaml', '--listen', '127.0.0.1:0', '--cluster-networks', LOCAL_CLUSTER_NETWORKS.join(','), '--default-inbound-policy', 'all-authenticated']);
  const parsed = parsePolicyArgs(withFiles.slice(1));
  assert.ok(typeof parsed !== 'string', String(parsed));
  assert.deepEqual(parsed.files, ['/p/a.yaml', '/p/b.yaml']);
  assert.deepEqual(parsed.listen, { host: '127.0.0.1', port: 0 });
  assert.equal(parsed.meshDefaults.defaultInboundPolicy, 'all-authenticated');
  assert.ok(parsed.meshDefaults.clusterNetworks.includes('127.0.0.0/8'));

  const defaultsOnly = policyArgs({ files: [] }, '/cp/none.yaml', '127.0.0.1:8090');
  assert.deepEqual(defaultsOnly.slice(0, 5), ['policy', '-f', '/cp/none.yaml', '--listen', '127.0.0.1:8090']);
  assert.ok(!defaultsOnly.includes('--default-inbound-policy'));
  const p2 = parsePolicyArgs(defaultsOnly.slice(1));
  assert.ok(typeof p2 !== 'string' && p2.meshDefaults.defaultInboundPolicy === 'all-unauthenticated');
});
