import assert from 'node:assert/strict';
import { test } from 'node:test';
import { dstLabelName, labelKey, toPromLabels } from '../../../../mesh/proxy/metrics/traffic-labels';

test('outbound TLS labels come in Linkerd order with server_id and sorted dst_* labels', () => {
  const l = toPromLabels({
    direction: 'outbound',
    authority: 'web.demo.svc.cluster.local:8080',
    target_addr: '10.1.2.3:8080',
    tls: 'true',
    server_id: 'web.demo.serviceaccount.identity.weft.cluster.local',
    dst: { service: 'web', namespace: 'demo', pod: 'web-1', deployment: 'web' },
  });
  assert.deepEqual(Object.keys(l), [
    'direction', 'authority', 'target_addr', 'tls', 'server_id',
    'dst_deployment', 'dst_namespace', 'dst_pod', 'dst_service',
  ]);
  assert.equal(l.tls, 'true');
  assert.equal(l.dst_service, 'web');
  assert.equal(l.server_id, 'web.demo.serviceaccount.identity.weft.cluster.local');
});

test('no_identity carries no_tls_reason and never an identity', () => {
  const l = toPromLabels({
    direction: 'inbound',
    authority: 'a:1',
    target_addr: '127.0.0.1:1',
    tls: 'no_identity',
    no_tls_reason: 'no_tls_from_remote',
    client_id: 'should-not-appear',
  });
  assert.deepEqual(l, {
    direction: 'inbound', authority: 'a:1', target_addr: '127.0.0.1:1', tls: 'no_identity',
    no_tls_reason: 'no_tls_from_remote',
  });
});

test('TLS hides no_tls_reason; peer appears when given', () => {
  const l = toPromLabels({
    direction: 'inbound', authority: 'a:1', target_addr: 'b:2', tls: 'true', client_id: 'c', no_tls_reason: 'x', peer: 'src',
  });
  assert.equal(l.no_tls_reason, undefined);
  assert.equal(l.client_id, 'c');
  assert.equal(l.peer, 'src');
});

test('dst keys become valid Prometheus label names', () => {
  assert.equal(dstLabelName('pod-template-hash'), 'dst_pod_template_hash');
  assert.equal(dstLabelName('app.kubernetes.io/name'), 'dst_app_kubernetes_io_name');
});

test('labelKey: equal label sets give equal keys; any difference gives a different key', () => {
  assert.equal(labelKey({ a: '1', b: '2' }), labelKey({ a: '1', b: '2' }));
  assert.notEqual(labelKey({ a: '1', b: '2' }), labelKey({ a: '1', b: '3' }));
  assert.notEqual(labelKey({ a: '12' }), labelKey({ a1: '2' }));
  assert.notEqual(labelKey({ a: '1' }), labelKey({ a: '1', b: '' }));
});
