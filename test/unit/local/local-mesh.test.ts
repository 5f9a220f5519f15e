import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { checkTopology, destinationDocument, proxyEnv, upstreamEnvName, type LocalTopology } from '../../../dev-cluster/local/local-mesh';
import { checkPortFree } from '../../../dev-cluster/local/port-check';
import { parseDestinationFile } from '../../../mesh/proxy/discovery/static-file';
import { parseProxyConfig } from '../../../mesh/proxy/config';

const w = (o: Partial<LocalTopology['workloads'][number]>): LocalTopology['workloads'][number] => ({ name: 'a', serviceAccount: 'a', command: 'node', args: [], upstreams: [], ...o });

test('upstreamEnvName: the first DNS label, upper-cased', () => {
  assert.equal(upstreamEnvName('api.demo:80'), 'API');
  assert.equal(upstreamEnvName('emoji-svc.emojivoto:8080'), 'EMOJI_SVC');
});

test('proxyEnv: certificate from the identity service, endpoints from the destination service, a config the proxy accepts', () => {
  const cp = { identity: { host: '127.0.0.1', port: 41001 }, destination: { host: '127.0.0.1', port: 41002 }, trustAnchorsFile: '/run/cp/ca.crt' };
  const id = 'api.shop.serviceaccount.identity.weft.cluster.local';
  const server = proxyEnv({ workload: w({ name: 'api-1', workload: 'api', serviceAccount: 'api' }), namespace: 'shop', identity: id, identityDir: '/run/id/api-1', tokenFile: '/run/cp/tokens/api-1.token', inboundPort: 41003, appPort: 8081 }, cp);
  assert.deepEqual(server, {
    WEFT_PROXY_ADMIN_ADDR: '127.0.0.1:0',
    WEFT_PROXY_IDENTITY_ADDR: '127.0.0.1:41001',
    WEFT_PROXY_IDENTITY_NAME: id,
    WEFT_PROXY_IDENTITY_TOKEN_FILE: '/run/cp/tokens/api-1.token',
    WEFT_PROXY_IDENTITY_DIR: '/run/id/api-1',
    WEFT_PROXY_TRUST_ANCHORS: '/run/cp/ca.crt',
    WEFT_PROXY_DESTINATION_ADDR: '127.0.0.1:41002',
    WEFT_PROXY_SHUTDOWN_GRACE: '1s',
    WEFT_PROXY_WORKLOAD_LABELS: 'workload=api,namespace=shop',
    WEFT_PROXY_INBOUND_ADDR: '127.0.0.1:41003',
    WEFT_PROXY_APP_PORT: '8081',
  });
  const client = proxyEnv({ workload: w({ name: 'bot', upstreams: ['api.shop:80', 'db.shop:6379'] }), namespace: 'shop', identity: id, identityDir: '/d', tokenFile: '/t' }, cp);
  assert.equal(client['WEFT_PROXY_INBOUND_ADDR'], undefined, 'a pure client has no inbound listener');
  assert.equal(client['WEFT_PROXY_UPSTREAMS'], 'api.shop:80=127.0.0.1:0,db.shop:6379=127.0.0.1:0');
  assert.equal(client['WEFT_PROXY_DESTINATION_FILE'], undefined, 'no static destination file');
  for (const env of [server, client]) {
    const parsed = parseProxyConfig({ ...env, WEFT_PROXY_OUTBOUND_ADDR: 'off', ...(env['WEFT_PROXY_INBOUND_ADDR'] ? {} : { WEFT_PROXY_INBOUND_ADDR: 'off' }) });
    assert.ok(parsed.ok, JSON.stringify(parsed));
  }
});

test('control-plane process names are reserved', () => {
  assert.deepEqual(checkTopology({ namespace: 'demo', workloads: [w({ name: 'weft-identity' }), w({ name: 'weft-destination' })] }), [
    'workloads[0] (weft-identity).name: "weft-identity" is reserved for the control plane; choose another name',
    'workloads[1] (weft-destination).name: "weft-destination" is reserved for the control plane; choose another name',
  ]);
});

test('checkTopology names the workload and the field of each problem', () => {
  const errors = checkTopology({
    namespace: 'demo',
    workloads: [
      w({ name: 'Web', serves: 'web.demo' }),
      w({ name: 'b', serves: 'x.demo:80' }),
      w({ name: 'b', serves: 'x.demo:80', inboundPort: 1 }),
      w({ name: 'c', upstreams: ['nobody.demo:80'], inboundPort: 8080 }),
    ],
  });
  assert.deepEqual(errors, [
    'workloads[0] (Web).name: expected a DNS label',
    'workloads[0] (Web).serves: expected host:port, got "web.demo"',
    'workloads[2] (b).name: "b" is used twice',
    'workloads[2] (b).serves: "x.demo:80" is already served by b',
    'workloads[3] (c).inboundPort: only a workload that serves a service has an inbound listener',
    'workloads[3] (c).upstreams: no workload serves "nobody.demo:80"',
  ]);
});

test('destinationDocument is a destination file the proxy accepts, with identity and target port', () => {
  const text = destinationDocument('demo', [{ authority: 'api.demo:80', name: 'api', inbound: { host: '127.0.0.1', port: 4143 }, identity: 'api.demo.serviceaccount.identity.weft.cluster.local', appPort: 9000 }]);
  const r = parseDestinationFile(text);
  assert.ok(r.ok, JSON.stringify(r));
  const d = r.table.get('api.demo:80')!;
  assert.deepEqual(d.endpoints[0]!.addr, { host: '127.0.0.1', port: 4143 });
  assert.equal(d.endpoints[0]!.identity, 'api.demo.serviceaccount.identity.weft.cluster.local');
  assert.equal(d.endpoints[0]!.targetPort, 9000);
  assert.equal(d.profile.retry, undefined, 'no retries: the demo shows failures as they are');
  assert.deepEqual(d.profile.labels, { service: 'api', namespace: 'demo' });
});

test('checkPortFree: a bound port is reported taken, 0 is always fine', async () => {
  const srv = net.createServer();
  await new Promise<void>((r) => srv.listen({ host: '127.0.0.1', port: 0 }, r));
  const port = (srv.address() as net.AddressInfo).port;
  try {
    const r = await checkPortFree('127.0.0.1', port);
    assert.deepEqual(r, { ok: false, reason: `port ${port} on 127.0.0.1 is already in use` });
    assert.deepEqual(await checkPortFree('127.0.0.1', 0), { ok: true });
  } finally {
    srv.close();
  }
  assert.deepEqual(await checkPortFree('127.0.0.1', port), { ok: true });
});

test('proxyEnv with a policy service: workload, labels, named ports of this replica, its default policy; accepted by the proxy; clients get none', () => {
  const cp = { identity: { host: '127.0.0.1', port: 41001 }, destination: { host: '127.0.0.1', port: 41002 }, trustAnchorsFile: '/ca.crt', policy: { host: '127.0.0.1', port: 41009 } };
  const id = 'api.shop.serviceaccount.identity.weft.cluster.local';
  const ports = [
    { authority: 'api.shop.workload:8080', appPort: 8081, name: 'http' },
    { authority: 'api.shop.workload:9090', appPort: 9091 },
  ];
  const replica = w({ name: 'api-1', workload: 'api', serviceAccount: 'api', labels: { app: 'api', tier: 'backend' }, defaultInboundPolicy: 'all-authenticated', probes: [{ appPort: 8081, path: '/ready' }, { appPort: 9091, path: '/live' }] });
  const server = proxyEnv({ workload: replica, namespace: 'shop', identity: id, identityDir: '/d', tokenFile: '/t', inboundPort: 41003, appPort: 8081, ports }, cp);
  assert.equal(server['WEFT_PROXY_POLICY_ADDR'], '127.0.0.1:41009');
  assert.equal(server['WEFT_PROXY_POLICY_WORKLOAD'], 'shop/api', 'replicas share their workload');
  assert.equal(server['WEFT_PROXY_POLICY_LABELS'], 'app=api,tier=backend');
  assert.equal(server['WEFT_PROXY_POLICY_PORTS'], 'http=8081,9091');
  assert.equal(server['WEFT_PROXY_DEFAULT_INBOUND_POLICY'], 'all-authenticated');
  assert.equal(server['WEFT_PROXY_POLICY_PROBES'], '8081:/ready,9091:/live');
  assert.equal(server['WEFT_PROXY_CLUSTER_NETWORKS'], undefined, 'the policy service decides the cluster networks');
  const parsed = parseProxyConfig({ ...server, WEFT_PROXY_OUTBOUND_ADDR: 'off' });
  assert.ok(parsed.ok, JSON.stringify(parsed));
  assert.equal(parsed.ok && parsed.config.policy?.kind, 'service');
  assert.deepEqual(parsed.ok && parsed.config.policy?.kind === 'service' ? parsed.config.policy.workload : undefined, {
    namespace: 'shop',
    name: 'api',
    labels: { app: 'api', tier: 'backend' },
    ports: [{ name: 'http', port: 8081 }, { port: 9091 }],
    annotations: { 'config.weft.dev/default-inbound-policy': 'all-authenticated' },
    probes: [{ port: 8081, path: '/ready' }, { port: 9091, path: '/live' }],
  });

  // `serves` (the demo's kind of workload): labels default to app=<workload>, its one picked port by number, no own default.
  const demo = proxyEnv({ workload: w({ name: 'web', serves: 'web.demo:80' }), namespace: 'demo', identity: id, identityDir: '/d', tokenFile: '/t', appPort: 7001 }, cp);
  assert.deepEqual([demo['WEFT_PROXY_POLICY_LABELS'], demo['WEFT_PROXY_POLICY_PORTS'], demo['WEFT_PROXY_DEFAULT_INBOUND_POLICY']], ['app=web', '7001', undefined]);

  const client = proxyEnv({ workload: w({ name: 'bot', upstreams: ['api.shop:80'], defaultInboundPolicy: 'deny' }), namespace: 'shop', identity: id, identityDir: '/d', tokenFile: '/t' }, cp);
  assert.deepEqual(Object.keys(client).filter((k) => k.includes('POLICY')), [], 'a pure client has no inbound side to protect');
  const { policy: _p, ...noPolicy } = cp;
  assert.deepEqual(Object.keys(proxyEnv({ workload: replica, namespace: 'shop', identity: id, identityDir: '/d', tokenFile: '/t', appPort: 8081, ports }, noPolicy)).filter((k) => k.includes('POLICY')), [], 'no policy service: nothing set');
});
