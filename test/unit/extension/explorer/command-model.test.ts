// The decisions behind the Mesh commands: the namespace quick pick, the patches, what a failed call says.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  RESTARTED_AT_ANNOTATION,
  checkMode,
  checkSummary,
  cliInvocation,
  formatCheckResult,
  deploymentsToRestart,
  describeKubeFailure,
  injectPatch,
  namespacePickItems,
  restartPatch,
} from '../../../../extension/commands/command-model';
import { applyMergePatch, type Json } from '../../../fixtures/kube-api/patch';
import { deployment, ns } from './fixtures';

describe('command model', () => {
  const namespaces = [ns('weft', 'enabled'), ns('shop', 'enabled'), ns('kube-system'), ns('billing'), ns('default'), ns('legacy', 'disabled')];

  it('Inject Namespace: the quick pick marks meshed namespaces; injectable ones first, system ones last', () => {
    const items = namespacePickItems(namespaces, 'inject');
    assert.deepEqual(items.map((i) => [i.label, i.description]), [
      ['billing', 'not meshed'],
      ['default', 'not meshed'],
      ['legacy', 'injection disabled'],
      ['shop', '$(shield) meshed'],
      ['kube-system', 'not meshed · system'],
      ['weft', '$(shield) meshed · Weft control plane'],
    ]);
    assert.deepEqual(items.filter((i) => i.meshed).map((i) => i.namespace), ['shop', 'weft']);
  });

  it('Remove Namespace Injection: meshed namespaces first', () => {
    assert.deepEqual(namespacePickItems(namespaces, 'uninject').map((i) => i.label), ['shop', 'billing', 'default', 'legacy', 'weft', 'kube-system']);
  });

  it('inject/uninject patches set and remove the annotation (merge patch semantics)', () => {
    const before = { metadata: { name: 'shop', annotations: { other: 'x' } } };
    const on = applyMergePatch(before, injectPatch(true) as unknown as Json) as { metadata: { annotations: Record<string, string> } };
    assert.deepEqual(on.metadata.annotations, { other: 'x', 'weft.dev/inject': 'enabled' });
    const off = applyMergePatch(on as unknown as Json, injectPatch(false) as unknown as Json) as { metadata: { annotations: Record<string, string> } };
    assert.deepEqual(off.metadata.annotations, { other: 'x' });
  });

  it('restart patch changes the pod template the way kubectl rollout restart does', () => {
    const now = new Date('2026-11-23T13:00:00.000Z');
    assert.deepEqual(restartPatch(now), { spec: { template: { metadata: { annotations: { [RESTARTED_AT_ANNOTATION]: '2026-11-23T13:00:00.000Z' } } } } });
    assert.equal(RESTARTED_AT_ANNOTATION, 'kubectl.kubernetes.io/restartedAt');
  });

  it('which deployments a restart rolls: the namespace\'s, or the named one', () => {
    const deps = [deployment('shop', 'web'), deployment('shop', 'api'), deployment('billing', 'ledger')];
    assert.deepEqual(deploymentsToRestart(deps, 'shop'), ['api', 'web']);
    assert.deepEqual(deploymentsToRestart(deps, 'shop', ['web']), ['web']);
    assert.deepEqual(deploymentsToRestart(deps, 'nowhere'), []);
  });

  it('a failed Kubernetes call names its cause and the next step', () => {
    const gone = describeKubeFailure({ code: 404, body: JSON.stringify({ kind: 'Status', message: 'namespaces "shop" not found' }) }, 'namespace "shop"');
    assert.equal(gone.message, 'namespace "shop": not found (namespaces "shop" not found)');
    assert.match(gone.hint, /deleted; refresh the explorer/);
    assert.match(describeKubeFailure({ code: 403 }, 'x').message, /refused the credentials \(HTTP 403\)/);
    const down = describeKubeFailure(Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:6443'), { cause: { code: 'ECONNREFUSED' } }), 'namespace "shop"', 'https://127.0.0.1:6443');
    assert.equal(down.message, 'namespace "shop": cannot reach the Kubernetes API server at https://127.0.0.1:6443 (ECONNREFUSED)');
    assert.match(down.hint, /Start Dev Cluster/);
    assert.match(describeKubeFailure(new Error('boom'), 'x').message, /x: boom/);
  });

  it('the bundled CLI runs on the extension host\'s Node (Electron as Node)', () => {
    const inv = cliInvocation('/opt/code/code', '/ext/dist/weft.js', ['demo', '--detach'], { PATH: '/bin' });
    assert.deepEqual(inv, { command: '/opt/code/code', args: ['/ext/dist/weft.js', 'demo', '--detach'], env: { PATH: '/bin', ELECTRON_RUN_AS_NODE: '1' } });
  });

  it('Check Mesh: pre-flight before the mesh is installed, control plane and proxies after', () => {
    assert.deepEqual(checkMode([ns('default')]), ['pre']);
    assert.deepEqual(checkMode([ns('default'), ns('weft')]), ['control-plane', 'proxy']);
  });

  it('Check Mesh: ✔/✖ lines with the cause and next step, and a summary', () => {
    assert.equal(formatCheckResult({ ok: true, name: 'control plane pods are ready', message: '' }), '  ✔ control plane pods are ready');
    assert.equal(
      formatCheckResult({ ok: false, name: 'webhook certificate matches caBundle', message: 'caBundle differs', hint: 'run weft install again' }),
      '  ✖ webhook certificate matches caBundle\n      caBundle differs\n      next step: run weft install again',
    );
    assert.equal(checkSummary([{ ok: true }, { ok: true }], false), 'Check Mesh: 2 checks, all passed ✔');
    assert.equal(checkSummary([{ ok: true }, { ok: false }], false), 'Check Mesh: 2 checks, 1 failed ✖ (see the Weft output channel)');
    assert.equal(checkSummary([{ ok: false }], true), 'Check Mesh cancelled after 1 checks, 1 failed ✖ (see the Weft output channel)');
  });
});
