import { test } from 'node:test';
import assert from 'node:assert/strict';
import http2 from 'node:http2';
import type { AddressInfo } from 'node:net';
import { ANNOTATIONS } from '../../../../mesh/config/annotations';
import type { InboundPolicyTable } from '../../../../mesh/control/policy/inbound-policy';
import { answerLine, emptyPolicyModel, MemoryPolicySource, type PolicyModel } from '../../../../mesh/control/policy/policy-model';
import { startPolicyServer } from '../../../../mesh/control/policy/policy-server';
import { parsePolicyLine, PolicyClient } from '../../../../mesh/proxy/policy/policy-client';

const modelWith = (policy: string): PolicyModel => ({ ...emptyPolicyModel(), namespaces: new Map([['shop', { [ANNOTATIONS.defaultInboundPolicy]: policy }]]) });
const WORKLOAD = { namespace: 'shop', name: 'api' };

async function until(what: string, pred: () => boolean, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!pred()) {
    if (Date.now() > end) throw new Error(`timed out: ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

test('the client gets its first table, follows changes, keeps the last-known table while the service is down, and picks up again', async () => {
  const source = new MemoryPolicySource(modelWith('all-authenticated'));
  let server = await startPolicyServer({ host: '127.0.0.1', port: 0, source });
  const port = server.port;
  const logs: string[] = [];
  const client = new PolicyClient({ addr: { host: '127.0.0.1', port }, workload: WORKLOAD, minBackoffMs: 20, maxBackoffMs: 100, log: (_l, m) => void logs.push(m) });
  const seen: InboundPolicyTable[] = [];
  client.onTable((t) => void seen.push(t));
  try {
    await client.ready;
    assert.equal(client.current()?.defaultPolicy, 'all-authenticated');
    source.set(modelWith('deny'));
    await until('the change', () => client.current()?.defaultPolicy === 'deny');

    await server.close();
    await until('the outage noticed', () => logs.some((m) => m.includes('keeping the last-known policy')));
    assert.equal(client.current()?.defaultPolicy, 'deny', 'last-known table kept');
    source.set(modelWith('audit'));
    server = await startPolicyServer({ host: '127.0.0.1', port, source });
    await until('the new table after reconnecting', () => client.current()?.defaultPolicy === 'audit');
    assert.deepEqual(seen.map((t) => t.defaultPolicy), ['all-authenticated', 'deny', 'audit']);
    assert.ok(logs.includes('policy: policy service reachable again'));
  } finally {
    client.close();
    await server.close();
  }
});

test('a malformed answer or a silent service: the last good table stays and the client reconnects', async () => {
  const good = answerLine(modelWith('deny'), WORKLOAD);
  let streams = 0;
  const fake = http2.createServer();
  fake.on('stream', (s) => {
    streams++;
    s.respond({ ':status': 200 });
    // The first stream: a good table, then garbage. The next ones: a good table, then silence.
    s.write(good);
    if (streams === 1) s.write('{"policy":{"table":{"defaultPolicy":"all-unauthenticated"}}}\n');
  });
  fake.on('session', (s) => s.on('error', () => undefined));
  await new Promise<void>((r) => fake.listen(0, '127.0.0.1', r));
  const logs: string[] = [];
  const client = new PolicyClient({ addr: { host: '127.0.0.1', port: (fake.address() as AddressInfo).port }, workload: WORKLOAD, minBackoffMs: 20, maxBackoffMs: 50, heartbeatTimeoutMs: 200, log: (_l, m) => void logs.push(m) });
  try {
    await client.ready;
    await until('the malformed answer reported', () => logs.some((m) => m.includes('malformed policy table')));
    assert.equal(client.current()?.defaultPolicy, 'deny', 'a malformed table is never applied');
    await until('a reconnection', () => streams >= 2);
    await until('the silence noticed', () => logs.some((m) => m.includes('silent for 200 ms')));
    await until('another reconnection', () => streams >= 3);
    assert.equal(client.current()?.defaultPolicy, 'deny');
  } finally {
    client.close();
    for (const s of [fake]) await new Promise((r) => s.close(r));
  }
});

test('parsePolicyLine: heartbeats, tables, and errors', () => {
  assert.equal(parsePolicyLine('{"heartbeat":true}'), 'heartbeat');
  const r = parsePolicyLine(answerLine(modelWith('deny'), WORKLOAD).trim());
  assert.ok(typeof r === 'object' && 'table' in r && r.table.defaultPolicy === 'deny' && r.known === false);
  const bad = parsePolicyLine('nope');
  assert.ok(typeof bad === 'object' && 'error' in bad && bad.error.includes('not JSON'));
  const none = parsePolicyLine('{"other":1}');
  assert.ok(typeof none === 'object' && 'error' in none);
});
