/** The demo's topology file: valid for `weft local up`, with the shape the demo promises (90/10 canary, one identity for both versions). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { demoTopologyYaml, VOTING_WEIGHTS } from '../../../dev-cluster/demo/demo-topology';
import { formatTopologyError, parseTopology, toLocalTopology } from '../../../dev-cluster/local/topology-file';
import { checkTopology } from '../../../dev-cluster/local/local-mesh';

const options = { nodePath: '/usr/bin/node', weftEntry: '/opt/weft/bin/weft.js', appPorts: { emoji: 41001, voting: 41002, votingCanary: 41003, web: 41004 }, rps: 7 };

function parsed(extra: Partial<typeof options> & { webInboundPort?: number } = {}): ReturnType<typeof toLocalTopology> {
  const r = parseTopology(demoTopologyYaml({ ...options, ...extra }), 'demo-topology.yaml');
  assert.ok(r.ok, r.ok ? '' : r.errors.map(formatTopologyError).join('\n'));
  const local = toLocalTopology(r.topology);
  assert.deepEqual(checkTopology(local), []);
  return local;
}

test('the demo topology parses and checks clean; every app runs `node <weft> demo --app NAME`', () => {
  const t = parsed();
  assert.equal(t.namespace, 'demo');
  assert.deepEqual(
    t.workloads.map((w) => [w.name, w.serviceAccount, [w.command, ...w.args].join(' ')]),
    [
      ['emoji', 'emoji', '/usr/bin/node /opt/weft/bin/weft.js demo --app emoji'],
      ['voting', 'voting', '/usr/bin/node /opt/weft/bin/weft.js demo --app voting'],
      ['voting-canary', 'voting', '/usr/bin/node /opt/weft/bin/weft.js demo --app voting'],
      ['web', 'web', '/usr/bin/node /opt/weft/bin/weft.js demo --app web'],
      ['vote-bot', 'vote-bot', '/usr/bin/node /opt/weft/bin/weft.js demo --app vote-bot'],
    ],
  );
  const w = (name: string): (typeof t.workloads)[number] => t.workloads.find((x) => x.name === name)!;
  assert.equal(w('voting').env?.['VERSION'], 'v1');
  assert.equal(w('voting-canary').env?.['VERSION'], 'v2-canary');
  assert.equal(w('vote-bot').env?.['RPS'], '7');
  assert.deepEqual(w('web').upstreams, ['emoji.demo:8080', 'voting.demo:8080']);
  assert.deepEqual(w('vote-bot').upstreams, ['web.demo:80']);
  assert.deepEqual(
    ['emoji', 'voting', 'voting-canary'].map((n) => w(n).ports?.map((p) => [p.appPort, p.protocolHint])),
    [[[41001, 'h2']], [[41002, 'h2']], [[41003, 'h2']]],
    'the gRPC services are hinted as HTTP/2',
  );
  assert.equal(w('web').inboundPort, undefined, 'web inbound on any free port by default');
  assert.equal(parsed({ webInboundPort: 18080 }).workloads.find((x) => x.name === 'web')!.inboundPort, 18080);
});

test('the voting service splits 90/10 between voting and its canary', () => {
  const t = parsed();
  const voting = t.routes?.find((r) => r.authority === 'voting.demo:8080');
  assert.ok(voting, JSON.stringify(t.routes));
  assert.deepEqual(
    voting.backends.map((b) => b.weight),
    [VOTING_WEIGHTS.voting, VOTING_WEIGHTS['voting-canary']],
  );
  assert.deepEqual(VOTING_WEIGHTS, { voting: 90, 'voting-canary': 10 });
  assert.equal(new Set(voting.backends.map((b) => b.authority)).size, 2, 'two distinct backends');
});
