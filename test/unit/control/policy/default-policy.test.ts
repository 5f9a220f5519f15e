import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ANNOTATIONS, DEFAULT_INBOUND_POLICIES } from '../../../../mesh/config/annotations';
import { resolveDefaultPolicy } from '../../../../mesh/control/policy/default-policy';

const KEY = ANNOTATIONS.defaultInboundPolicy;

test('the workload annotation wins over the namespace, which wins over the mesh default', () => {
  assert.deepEqual(resolveDefaultPolicy({ [KEY]: 'deny' }, { [KEY]: 'audit' }, 'all-unauthenticated'), { policy: 'deny', source: 'workload', warnings: [] });
  assert.deepEqual(resolveDefaultPolicy({}, { [KEY]: 'audit' }, 'all-unauthenticated'), { policy: 'audit', source: 'namespace', warnings: [] });
  assert.deepEqual(resolveDefaultPolicy({ other: 'x' }, {}, 'cluster-authenticated'), { policy: 'cluster-authenticated', source: 'mesh', warnings: [] });
});

test('every documented value is accepted, audit included', () => {
  assert.deepEqual([...DEFAULT_INBOUND_POLICIES].sort(), ['all-authenticated', 'all-unauthenticated', 'audit', 'cluster-authenticated', 'cluster-unauthenticated', 'deny']);
  for (const p of DEFAULT_INBOUND_POLICIES) assert.equal(resolveDefaultPolicy({ [KEY]: ` ${p} ` }, {}, 'deny').policy, p);
});

test('an invalid value is reported and the next level decides', () => {
  const r = resolveDefaultPolicy({ [KEY]: 'allow-all' }, { [KEY]: 'all-authenticated' }, 'deny');
  assert.equal(r.policy, 'all-authenticated');
  assert.equal(r.source, 'namespace');
  assert.equal(r.warnings.length, 1);
  assert.match(r.warnings[0] ?? '', /workload's annotation config\.weft\.dev\/default-inbound-policy: "allow-all" is not a default inbound policy/);
});
