import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parseWebviewMessage } from '../../../../webviews/messages/metrics-messages';

describe('messages from the metrics webviews', () => {
  test('known messages pass with their fields', () => {
    assert.deepEqual(parseWebviewMessage({ type: 'ready' }), { ok: true, message: { type: 'ready' } });
    assert.deepEqual(parseWebviewMessage({ type: 'selectNamespace', namespace: 'demo' }), { ok: true, message: { type: 'selectNamespace', namespace: 'demo' } });
    assert.deepEqual(parseWebviewMessage({ type: 'sort', column: 'p99' }), { ok: true, message: { type: 'sort', column: 'p99' } });
    assert.deepEqual(parseWebviewMessage({ type: 'open', kind: 'service', namespace: 'demo', name: 'web', extra: 1 }), { ok: true, message: { type: 'open', kind: 'service', namespace: 'demo', name: 'web' } });
  });

  test('unknown types and bad shapes are refused with a reason', () => {
    const reason = (raw: unknown) => {
      const r = parseWebviewMessage(raw);
      assert.equal(r.ok, false);
      return r.ok ? '' : r.reason;
    };
    assert.equal(reason({ type: 'rm -rf' }), 'unknown message type "rm -rf"');
    assert.equal(reason({}), 'unknown message type undefined');
    assert.equal(reason('ready'), 'not an object');
    assert.equal(reason(null), 'not an object');
    assert.equal(reason({ type: 'sort', column: 'evil' }), 'sort by an unknown column "evil"');
    assert.equal(reason({ type: 'selectNamespace', namespace: 42 }), 'selectNamespace without a namespace');
    assert.equal(reason({ type: 'open', kind: 'pod', namespace: 'a', name: 'b' }), 'open of an unknown kind "pod"');
    assert.equal(reason({ type: 'open', kind: 'service', namespace: '', name: 'b' }), 'open without a namespace and a name');
  });
});
