import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DestinationIndex, parseOpaquePorts, resolveService, type ModelService } from '../../../../mesh/control/destination/destination-model';
import { ANNOTATIONS, LINKERD_ANNOTATIONS } from '../../../../mesh/config/annotations';
import { PROXY_DEFAULTS } from '../../../../mesh/config/proxy-defaults';

const ID = 'voting.demo.serviceaccount.identity.weft.cluster.local';

function svc(over: Partial<ModelService> = {}): ModelService {
  return {
    authority: 'voting.demo:8080',
    name: 'voting',
    namespace: 'demo',
    endpoints: [{ addr: { host: '127.0.0.1', port: 14143 }, identity: ID, targetPort: 9090, labels: { pod: 'voting-1' } }],
    ...over,
  };
}

test('a service resolves to its endpoints with identity, targetPort and labels, and service labels on the profile', () => {
  const u = resolveService(svc());
  assert.deepEqual(u.endpoints, [{ addr: { host: '127.0.0.1', port: 14143 }, identity: ID, targetPort: 9090, labels: { pod: 'voting-1' } }]);
  assert.deepEqual(u.profile, { opaque: false, timeouts: {}, labels: { service: 'voting', namespace: 'demo' } });
});

test('opaque ports: service port in the default list, the service annotation, or the pod annotation on the target port', () => {
  const mysql = resolveService(svc({ authority: 'db.demo:3306', endpoints: [{ addr: { host: '127.0.0.1', port: 1 }, targetPort: 3306, labels: {} }] }));
  assert.equal(mysql.profile.opaque, true);
  assert.equal(mysql.endpoints[0]!.protocolHint, 'opaque');
  const annotated = resolveService(svc({ opaquePorts: [8080] }));
  assert.equal(annotated.profile.opaque, true);
  assert.equal(annotated.endpoints[0]!.protocolHint, 'opaque');
  const overridden = resolveService(svc({ authority: 'db.demo:3306', opaquePorts: [], endpoints: [{ addr: { host: '127.0.0.1', port: 1 }, targetPort: 7000, opaquePorts: [], labels: {} }] }));
  assert.equal(overridden.profile.opaque, false, 'an explicit empty list replaces the defaults');
  assert.equal(overridden.endpoints[0]!.protocolHint, undefined);
  const podOnly = resolveService(svc({ endpoints: [{ addr: { host: '127.0.0.1', port: 1 }, targetPort: 9090, opaquePorts: [9090], labels: {} }] }));
  assert.equal(podOnly.profile.opaque, false);
  assert.equal(podOnly.endpoints[0]!.protocolHint, 'opaque');
});

test('appProtocol gives the h2 hint (gRPC, h2c) or opaque', () => {
  for (const ap of ['kubernetes.io/h2c', 'grpc', 'HTTP2']) assert.equal(resolveService(svc({ appProtocol: ap })).endpoints[0]!.protocolHint, 'h2', ap);
  assert.equal(resolveService(svc({ appProtocol: 'http' })).endpoints[0]!.protocolHint, undefined);
  const o = resolveService(svc({ appProtocol: 'linkerd.io/opaque' }));
  assert.equal(o.endpoints[0]!.protocolHint, 'opaque');
  assert.equal(o.profile.opaque, true);
});

test('retry and timeout annotations (Weft keys win over Linkerd keys); bad durations are ignored', () => {
  const u = resolveService(
    svc({
      annotations: {
        [ANNOTATIONS.retryStatusCodes]: '5xx, 429',
        [ANNOTATIONS.retryLimit]: '3',
        [ANNOTATIONS.retryTimeout]: '250ms',
        [ANNOTATIONS.timeoutRequest]: '10s',
        [LINKERD_ANNOTATIONS.timeoutRequest]: '99s',
        [LINKERD_ANNOTATIONS.timeoutIdle]: '1m',
        [ANNOTATIONS.timeoutResponse]: 'soon',
      },
    }),
  );
  assert.deepEqual(u.profile.retry, { limit: 3, http: ['5xx', '429'], grpc: [], timeoutMs: 250 });
  assert.deepEqual(u.profile.timeouts, { requestMs: 10_000, idleMs: 60_000 });
  const onlyLimit = resolveService(svc({ annotations: { [LINKERD_ANNOTATIONS.retryStatusCodes]: 'gateway-error' } }));
  assert.deepEqual(onlyLimit.profile.retry, { limit: PROXY_DEFAULTS.retryLimit, http: ['gateway-error'], grpc: [], timeoutMs: 0 });
  assert.equal(resolveService(svc({ annotations: { unrelated: 'x' } })).profile.retry, undefined);
});

test('HTTPRoute: backend weights become the split; route timeouts win over annotations; all-zero or invalid backends are no split', () => {
  const u = resolveService(
    svc({
      annotations: { [ANNOTATIONS.timeoutRequest]: '1s' },
      route: {
        backends: [
          { authority: 'voting-v1.demo:8080', weight: 90 },
          { authority: 'voting-v2.demo:8080', weight: 10 },
          { authority: 'not an authority', weight: 5 },
        ],
        timeouts: { request: '5s', backendRequest: '2s' },
      },
    }),
  );
  assert.deepEqual(u.profile.backends, [
    { authority: 'voting-v1.demo:8080', weight: 90 },
    { authority: 'voting-v2.demo:8080', weight: 10 },
  ]);
  assert.deepEqual(u.profile.timeouts, { requestMs: 5_000, responseMs: 2_000 });
  assert.equal(resolveService(svc({ route: { backends: [{ authority: 'a.b:1', weight: 0 }] } })).profile.backends, undefined);
});

test('parseOpaquePorts: lists and ranges; malformed is undefined', () => {
  assert.deepEqual(parseOpaquePorts('3306, 8000-8002'), [3306, 8000, 8001, 8002]);
  assert.deepEqual(parseOpaquePorts(''), []);
  assert.equal(parseOpaquePorts('80-70'), undefined);
  assert.equal(parseOpaquePorts('http'), undefined);
  assert.equal(parseOpaquePorts('70000'), undefined);
});

test('DestinationIndex reports exactly the authorities whose answer changed, added or removed', () => {
  const ix = new DestinationIndex();
  const a = svc();
  const b = svc({ authority: 'web.demo:80', name: 'web' });
  assert.deepEqual(ix.apply({ services: [a, b] }).sort(), ['voting.demo:8080', 'web.demo:80']);
  assert.deepEqual(ix.apply({ services: [svc(), svc({ authority: 'web.demo:80', name: 'web' })] }), [], 'same content, new objects: no change');
  const moved = svc({ endpoints: [{ addr: { host: '127.0.0.1', port: 15000 }, identity: ID, targetPort: 9090, labels: { pod: 'voting-2' } }] });
  assert.deepEqual(ix.apply({ services: [moved, b] }), ['voting.demo:8080']);
  assert.equal(ix.get('voting.demo:8080')!.endpoints[0]!.addr.port, 15000);
  assert.deepEqual(ix.apply({ services: [moved] }), ['web.demo:80']);
  assert.equal(ix.get('web.demo:80'), undefined);
  assert.equal(ix.line('web.demo:80'), '{"notFound":true}\n');
  assert.deepEqual(JSON.parse(ix.line('voting.demo:8080')), { update: resolveService(moved) });
  assert.equal(ix.size, 1);
});

test('settings decided by the source win over annotations and port lists', () => {
  const u = resolveService(
    svc({
      authority: 'db.demo:3306',
      opaque: false,
      retry: { limit: 2, http: ['503'], grpc: ['unavailable'], timeoutMs: 100 },
      timeouts: { requestMs: 7_000, responseMs: 0 },
      labels: { service: 'db-route' },
      annotations: { [ANNOTATIONS.retryLimit]: '9', [ANNOTATIONS.timeoutRequest]: '1s', [ANNOTATIONS.timeoutIdle]: '3s' },
      endpoints: [{ addr: { host: '127.0.0.1', port: 1 }, targetPort: 3306, protocolHint: 'h2', labels: {} }],
    }),
  );
  assert.equal(u.profile.opaque, false);
  assert.deepEqual(u.profile.retry, { limit: 2, http: ['503'], grpc: ['unavailable'], timeoutMs: 100 });
  assert.deepEqual(u.profile.timeouts, { requestMs: 7_000, idleMs: 3_000 });
  assert.deepEqual(u.profile.labels, { service: 'db-route' });
  assert.equal(u.endpoints[0]!.protocolHint, 'h2');
});

test('endpointDelta: a few endpoints changed → add/remove by address that applyDelta turns back into the new answer', async () => {
  const { applyDelta, parseWatchLine } = await import('../../../../mesh/proxy/discovery/destination-client');
  const { endpointDelta } = await import('../../../../mesh/control/destination/destination-model');
  const eps = (ports: number[], pod = 'p') => ports.map((p) => ({ addr: { host: '10.0.0.1', port: p }, identity: ID, targetPort: 9090, labels: { pod: `${pod}-${p}` } }));
  const prev = resolveService(svc({ endpoints: eps([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]) }));
  const changedOne = eps([1, 2, 3, 4, 5, 6, 7, 8, 9, 11]);
  changedOne[0]!.labels = { pod: 'renamed' };
  const next = resolveService(svc({ endpoints: changedOne }));
  const line = endpointDelta(prev, next)!;
  const d = parseWatchLine(line.trim());
  assert.ok(typeof d === 'object' && 'kind' in d && d.kind === 'delta');
  assert.deepEqual(d.remove, ['10.0.0.1:10']);
  assert.deepEqual(d.add.map((e) => [e.addr.port, e.labels['pod']]), [[1, 'renamed'], [11, 'p-11']]);
  const rebuilt = applyDelta(prev, d);
  const byPort = (u: { endpoints: { addr: { port: number } }[] }) => [...u.endpoints].sort((a, b) => a.addr.port - b.addr.port);
  assert.deepEqual(byPort(rebuilt), byPort(next));
  assert.deepEqual(rebuilt.profile, next.profile);

  assert.equal(endpointDelta(prev, resolveService(svc({ endpoints: eps([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]), opaquePorts: [8080] }))), undefined, 'profile changed: snapshot');
  assert.equal(endpointDelta(prev, resolveService(svc({ endpoints: eps([21, 22, 23, 24, 25, 26, 7, 8, 9, 10]) }))), undefined, 'most changed: snapshot');
  assert.equal(endpointDelta(prev, resolveService(svc({ endpoints: [...eps([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]), ...eps([1])] }))), undefined, 'an address twice: snapshot');
});
