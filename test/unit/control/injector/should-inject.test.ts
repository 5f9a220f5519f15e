import { test } from 'node:test';
import assert from 'node:assert/strict';
import { shouldInject } from '../../../../mesh/control/injector/should-inject';
import type { NamespaceLike, PodLike } from '../../../../mesh/control/injector/kube-types';
import { ANNOTATIONS } from '../../../../mesh/config/annotations';
import { CONTROL_PLANE_NAMESPACE, PROXY_CONTAINER } from '../../../../mesh/config/names';

type V = 'enabled' | 'disabled' | 'ingress' | undefined;

function pod(v: V, extra: Partial<PodLike['spec']> = {}): PodLike {
  return {
    metadata: { name: 'web', namespace: 'shop', ...(v ? { annotations: { [ANNOTATIONS.inject]: v } } : {}) },
    spec: { containers: [{ name: 'web', image: 'web:1' }], ...extra },
  };
}
function ns(v: V, name = 'shop'): NamespaceLike {
  return { metadata: { name, ...(v ? { annotations: { [ANNOTATIONS.inject]: v } } : {}) } };
}

// Linkerd's table: the pod's value wins when set; else the namespace's; else no.
const TABLE: [ns: V, pod: V, inject: boolean, by?: 'pod' | 'namespace'][] = [
  [undefined, undefined, false],
  [undefined, 'enabled', true, 'pod'],
  [undefined, 'ingress', true, 'pod'],
  [undefined, 'disabled', false],
  ['enabled', undefined, true, 'namespace'],
  ['enabled', 'enabled', true, 'pod'],
  ['enabled', 'ingress', true, 'pod'],
  ['enabled', 'disabled', false],
  ['ingress', undefined, true, 'namespace'],
  ['ingress', 'enabled', true, 'pod'],
  ['ingress', 'ingress', true, 'pod'],
  ['ingress', 'disabled', false],
  ['disabled', undefined, false],
  ['disabled', 'enabled', true, 'pod'],
  ['disabled', 'ingress', true, 'pod'],
  ['disabled', 'disabled', false],
];

for (const [nsV, podV, expected, by] of TABLE) {
  test(`namespace ${nsV ?? 'absent'} × pod ${podV ?? 'absent'} → ${expected ? 'inject' : 'skip'}`, () => {
    const d = shouldInject(pod(podV), ns(nsV));
    assert.equal(d.inject, expected, JSON.stringify(d));
    if (d.inject) {
      assert.equal(d.by, by);
      assert.equal(d.value, by === 'pod' ? podV : nsV);
    } else {
      assert.match(d.reason, /^Not injected: .+\.$/);
      assert.ok(d.reason.includes(ANNOTATIONS.inject), d.reason);
    }
  });
}

test('skip reasons say which side decided', () => {
  const r = (n: V, p: V) => {
    const d = shouldInject(pod(p), ns(n));
    return d.inject ? '' : d.reason;
  };
  assert.match(r('enabled', 'disabled'), /the pod has weft\.dev\/inject: disabled/);
  assert.match(r('disabled', undefined), /namespace has weft\.dev\/inject: disabled/);
  assert.match(r(undefined, undefined), /neither the pod nor its namespace/);
});

test('without a Namespace object the pod\'s own annotation still decides', () => {
  assert.equal(shouldInject(pod('enabled'), undefined).inject, true);
  assert.equal(shouldInject(pod(undefined), undefined).inject, false);
});

test('an unknown annotation value is refused, naming the value', () => {
  const p = shouldInject(pod('yes' as V), ns('enabled'));
  assert.ok(!p.inject && p.reason.includes('"yes"') && p.reason.includes("pod's"));
  const n = shouldInject(pod(undefined), ns('true' as V));
  assert.ok(!n.inject && n.reason.includes('"true"') && n.reason.includes("namespace's"));
});

test('kube-system is never injected, even when asked', () => {
  const d = shouldInject({ ...pod('enabled'), metadata: { namespace: 'kube-system', annotations: { [ANNOTATIONS.inject]: 'enabled' } } }, ns('enabled', 'kube-system'));
  assert.ok(!d.inject && d.reason.includes('kube-system'));
});

test('the control-plane namespace is never injected (default and configured name)', () => {
  const d = shouldInject(pod('enabled'), ns('enabled', CONTROL_PLANE_NAMESPACE));
  assert.ok(!d.inject && d.reason.includes('control-plane'));
  const custom = shouldInject(pod('enabled'), ns('enabled', 'mesh-system'), { controlPlaneNamespace: 'mesh-system' });
  assert.equal(custom.inject, false);
  assert.equal(shouldInject(pod('enabled'), ns('enabled', CONTROL_PLANE_NAMESPACE), { controlPlaneNamespace: 'mesh-system' }).inject, true);
});

test('the pod\'s namespace field counts when no Namespace object is given', () => {
  const p = pod('enabled');
  p.metadata!.namespace = 'kube-system';
  assert.equal(shouldInject(p, undefined).inject, false);
});

test('hostNetwork pods are skipped with a reason', () => {
  const d = shouldInject(pod('enabled', { hostNetwork: true }), ns(undefined));
  assert.ok(!d.inject && d.reason.includes('hostNetwork'));
  assert.equal(shouldInject(pod('enabled', { hostNetwork: false }), ns(undefined)).inject, true);
});

test('already-injected pods (weft-proxy as a container or a native sidecar) are skipped', () => {
  for (const spec of [
    { containers: [{ name: 'web' }, { name: PROXY_CONTAINER }] },
    { containers: [{ name: 'web' }], initContainers: [{ name: PROXY_CONTAINER, restartPolicy: 'Always' as const }] },
  ]) {
    const d = shouldInject({ metadata: { annotations: { [ANNOTATIONS.inject]: 'enabled' } }, spec }, ns(undefined));
    assert.ok(!d.inject && d.reason.includes('already has a weft-proxy'), JSON.stringify(d));
  }
});
