import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MAX_WARNING_CHARS, parseAdmissionReview, requestNamespace, reviewPod, warningText } from '../../../../mesh/control/injector/admission-review';
import { ANNOTATIONS } from '../../../../mesh/config/annotations';

// An installed mesh always knows its trust anchors (without them the injector warns: injector.test.ts).
const MESH = { proxyImage: 'img:1', proxyVersion: '0.1.0', trustAnchorsPem: '-----BEGIN CERTIFICATE-----\nMIIBfake\n-----END CERTIFICATE-----\n' };

test('warnings are single lines of at most 256 characters', () => {
  assert.equal(warningText('a\n  b\r\nc'), 'a b c');
  const long = warningText('x'.repeat(1000));
  assert.equal(long.length, MAX_WARNING_CHARS);
  assert.ok(long.endsWith('…'));
  assert.equal(warningText('short'), 'short');
});

test('the injector\'s own warnings ride along with an injection', () => {
  const pod = { kind: 'Pod', metadata: { annotations: { [ANNOTATIONS.inject]: 'enabled', [ANNOTATIONS.skipInboundPorts]: 'http' } }, spec: { containers: [{ name: 'a' }] } };
  const parsed = parseAdmissionReview({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', request: { uid: 'u1', kind: { group: '', version: 'v1', kind: 'Pod' }, namespace: 'shop', operation: 'CREATE', object: pod } });
  assert.ok(parsed.ok);
  const out = reviewPod(parsed.request, undefined, MESH);
  assert.equal(out.injected, true);
  assert.equal(out.review.response.patchType, 'JSONPatch');
  assert.equal(out.review.response.warnings?.length, 1);
  assert.match(out.review.response.warnings![0]!, /^Warning: ignored config\.weft\.dev\/skip-inbound-ports/);
  assert.match(out.events[0]!, /^Injected weft-proxy/);
});

test('the namespace comes from the request, else from the object', () => {
  assert.equal(requestNamespace({ uid: 'u', namespace: 'a', object: { metadata: { namespace: 'b' } } }), 'a');
  assert.equal(requestNamespace({ uid: 'u', object: { metadata: { namespace: 'b' } } }), 'b');
  assert.equal(requestNamespace({ uid: 'u' }), undefined);
  const bad = parseAdmissionReview({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', request: { uid: 'u', namespace: 3 } });
  assert.deepEqual(bad, { ok: false, error: 'request.namespace is not a string' });
});
