import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ANNOTATIONS } from '../../../../mesh/config/annotations';
import { DEFAULT_CLUSTER_NETWORKS } from '../../../../mesh/config/names';
import { parseProxyConfig } from '../../../../mesh/proxy/config';
import { parsePolicyConfig } from '../../../../mesh/proxy/policy/policy-config';
import { defaultPolicyTable } from '../../../../mesh/proxy/policy/policy-source';
import { authorize } from '../../../../mesh/control/policy/authorize';

test('no policy variables: all-unauthenticated, as before policy existed', () => {
  const r = parsePolicyConfig({});
  assert.deepEqual(r, { config: { kind: 'default', defaultPolicy: 'all-unauthenticated', clusterNetworks: [...DEFAULT_CLUSTER_NETWORKS], explicit: false, probes: [] }, errors: [] });
  const c = parseProxyConfig({});
  assert.ok(c.ok);
  if (c.ok) assert.equal(c.config.policy?.kind, 'default');
});

test('WEFT_PROXY_DEFAULT_INBOUND_POLICY alone, with cluster networks and probes', () => {
  const r = parsePolicyConfig({ WEFT_PROXY_DEFAULT_INBOUND_POLICY: 'cluster-unauthenticated', WEFT_PROXY_CLUSTER_NETWORKS: '127.0.0.0/8, ::1/128', WEFT_PROXY_POLICY_PROBES: '8080:/ready,8080:/live?x=1' });
  assert.deepEqual(r.errors, []);
  assert.equal(r.config.kind, 'default');
  if (r.config.kind !== 'default') return;
  const table = defaultPolicyTable(r.config);
  assert.ok(authorize(table, { port: 8080, clientIp: '127.0.0.1', protocol: 'tcp', isProbe: false }).allow);
  assert.ok(!authorize(table, { port: 8080, clientIp: '10.0.0.1', protocol: 'tcp', isProbe: false }).allow, 'the given cluster networks replace the defaults');
  assert.deepEqual([...table.ports.get(8080)!.probePaths], ['/ready', '/live']);
});

test('the policy service: address, workload and the facts the proxy sends', () => {
  const r = parsePolicyConfig({
    WEFT_PROXY_POLICY_ADDR: '127.0.0.1:8090',
    WEFT_PROXY_POLICY_WORKLOAD: 'shop/api',
    WEFT_PROXY_POLICY_LABELS: 'app=api,tier=back=end',
    WEFT_PROXY_POLICY_PORTS: 'http=8080,9090',
    WEFT_PROXY_POLICY_PROBES: '8080:/ready',
    WEFT_PROXY_DEFAULT_INBOUND_POLICY: 'deny',
  });
  assert.deepEqual(r, {
    config: {
      kind: 'service',
      addr: { host: '127.0.0.1', port: 8090 },
      workload: {
        namespace: 'shop',
        name: 'api',
        labels: { app: 'api', tier: 'back=end' },
        ports: [{ name: 'http', port: 8080 }, { port: 9090 }],
        probes: [{ port: 8080, path: '/ready' }],
        annotations: { [ANNOTATIONS.defaultInboundPolicy]: 'deny' },
      },
    },
    errors: [],
  });
});

test('every bad policy variable is reported, each message starting with its variable', () => {
  const r = parsePolicyConfig({
    WEFT_PROXY_POLICY_ADDR: 'nowhere',
    WEFT_PROXY_POLICY_FILE: '/tmp/p.yaml',
    WEFT_PROXY_POLICY_WORKLOAD: 'api',
    WEFT_PROXY_POLICY_LABELS: 'novalue',
    WEFT_PROXY_POLICY_PORTS: 'http=99999',
    WEFT_PROXY_POLICY_PROBES: 'ready',
    WEFT_PROXY_DEFAULT_INBOUND_POLICY: 'allow-all',
    WEFT_PROXY_CLUSTER_NETWORKS: '10.0.0.0/99',
  });
  const vars = r.errors.map((e) => e.split(':')[0]);
  for (const v of ['WEFT_PROXY_POLICY_ADDR', 'WEFT_PROXY_POLICY_WORKLOAD', 'WEFT_PROXY_POLICY_LABELS', 'WEFT_PROXY_POLICY_PORTS', 'WEFT_PROXY_POLICY_PROBES', 'WEFT_PROXY_DEFAULT_INBOUND_POLICY', 'WEFT_PROXY_CLUSTER_NETWORKS']) {
    assert.ok(vars.includes(v), `${v} reported: ${r.errors.join(' | ')}`);
  }
  assert.ok(r.errors.some((e) => e.includes('not both')));
  const c = parseProxyConfig({ WEFT_PROXY_POLICY_ADDR: '127.0.0.1:8090' });
  assert.equal(c.ok, false, 'the proxy refuses to start without knowing its workload');
  if (!c.ok) assert.match(c.errors.join('\n'), /WEFT_PROXY_POLICY_WORKLOAD: expected namespace\/name/);
  assert.match(parsePolicyConfig({ WEFT_PROXY_POLICY_LABELS: 'a=b' }).errors[0]!, /^WEFT_PROXY_POLICY_LABELS: only used with WEFT_PROXY_POLICY_ADDR or WEFT_PROXY_POLICY_FILE/);
});
