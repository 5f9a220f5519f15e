import { test } from 'node:test';
import assert from 'node:assert/strict';
import { describeReload, planReload } from '../../../dev-cluster/local/topology-reload';
import type { LocalTopology } from '../../../dev-cluster/local/local-mesh';

const topology = (weights: [number, number], command = 'node'): LocalTopology => ({
  namespace: 'shop',
  workloads: [
    { name: 'api', serviceAccount: 'api', command, args: [], ports: [{ authority: 'api.shop.workload:8080', appPort: 8080 }], upstreams: [] },
    { name: 'api-v2', serviceAccount: 'api', command: 'node', args: [], ports: [{ authority: 'api-v2.shop.workload:8180', appPort: 8180 }], upstreams: [] },
  ],
  routes: [
    {
      authority: 'api.shop:80',
      labels: { service: 'api', namespace: 'shop' },
      backends: [
        { authority: 'api.shop.workload:8080', weight: weights[0] },
        { authority: 'api-v2.shop.workload:8180', weight: weights[1] },
      ],
    },
    { authority: 'api-v2.shop:8180', backends: [{ authority: 'api-v2.shop.workload:8180', weight: 1 }] },
  ],
});

test('a weight edit changes one service and needs no restart', () => {
  const plan = planReload(topology([90, 10]), topology([0, 100]));
  assert.deepEqual(plan.changedRoutes, ['api.shop:80']);
  assert.deepEqual(plan.restartNeeded, []);
  assert.deepEqual(plan.routes.find((r) => r.authority === 'api.shop:80')!.backends.map((b) => b.weight), [0, 100]);
  assert.equal(describeReload('t.yaml', plan), 't.yaml edited: services updated: api.shop:80 (weights 0/100)');
});

test('workload edits are named as needing a restart; removed services are named', () => {
  const next = topology([90, 10], 'python3');
  next.routes = next.routes!.slice(0, 1);
  next.workloads.push({ name: 'extra', serviceAccount: 'extra', command: 'node', args: [], upstreams: [] });
  const plan = planReload(topology([90, 10]), next);
  assert.deepEqual(plan.restartNeeded, ['api', 'extra']);
  assert.deepEqual(plan.changedRoutes, ['api-v2.shop:8180']);
  assert.match(describeReload('t.yaml', plan), /services updated: api-v2\.shop:8180 \(removed\); workload changes not applied \(restart with `weft local down` and `weft local up`\): api, extra$/);
  assert.match(describeReload('t.yaml', planReload(topology([1, 1]), topology([1, 1]))), /no service changed$/);
});

test('a namespace change needs every workload restarted', () => {
  const next = { ...topology([90, 10]), namespace: 'other' };
  assert.deepEqual(planReload(topology([90, 10]), next).restartNeeded, ['api', 'api-v2']);
});

test('policy settings edits are named as needing a restart (the files themselves apply live)', () => {
  const withPolicy = (files: string[], d?: 'deny'): LocalTopology => ({ ...topology([90, 10]), policy: { files, ...(d ? { defaultInboundPolicy: d } : {}) } });
  assert.equal(planReload(withPolicy(['/p.yaml']), withPolicy(['/p.yaml'])).policyChanged, false);
  assert.equal(planReload(topology([90, 10]), topology([90, 10])).policyChanged, false);
  for (const [a, b] of [
    [topology([90, 10]), withPolicy([])],
    [withPolicy(['/p.yaml']), withPolicy(['/p.yaml', '/q.yaml'])],
    [withPolicy([]), withPolicy([], 'deny')],
  ] as const) {
    const plan = planReload(a, b);
    assert.equal(plan.policyChanged, true);
    assert.match(describeReload('t.yaml', plan), /no service changed; policy settings \(defaultInboundPolicy, policy files\) not applied \(restart with `weft local down` and `weft local up`; edits inside the policy files apply live\)$/);
  }
});
