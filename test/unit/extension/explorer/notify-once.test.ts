// "Say it once per cause": no notification storms, and news again after the cause went away.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { NotifyOnce } from '../../../../extension/notify/notify-once';

describe('NotifyOnce', () => {
  it('reports a cause once while it stands, again after it was resolved', () => {
    const n = new NotifyOnce();
    assert.equal(n.report('cluster:kind:unreachable', 'cannot reach'), true);
    for (let i = 0; i < 5; i++) assert.equal(n.report('cluster:kind:unreachable', 'cannot reach'), false);
    assert.equal(n.isStanding('cluster:kind:unreachable'), true);
    n.resolve('cluster:kind:unreachable');
    assert.equal(n.isStanding('cluster:kind:unreachable'), false);
    assert.equal(n.report('cluster:kind:unreachable', 'cannot reach'), true);
  });

  it('different causes are reported independently; resolvePrefix clears one family', () => {
    const n = new NotifyOnce();
    assert.equal(n.report('cluster:kind:unreachable', 'a'), true);
    assert.equal(n.report('cluster:kind:bad-kubeconfig', 'b'), true);
    assert.equal(n.report('metrics:local', 'c'), true);
    assert.deepEqual(n.messages(), ['a', 'b', 'c']);
    assert.equal(n.resolvePrefix('cluster:'), 2);
    assert.deepEqual(n.messages(), ['c']);
    assert.equal(n.resolvePrefix('cluster:'), 0, 'nothing left to resolve');
    assert.equal(n.report('cluster:kind:unreachable', 'a'), true);
    assert.equal(n.report('metrics:local', 'c'), false);
  });
});
