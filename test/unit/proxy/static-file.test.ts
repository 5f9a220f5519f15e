import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseDestinationFile } from '../../../mesh/proxy/discovery/static-file';

const FULL = `
destinations:
  - authority: voting.demo:8080
    opaque: false
    labels: { service: voting, namespace: demo }
    retry: { limit: 2, http: ["5xx"], grpc: ["unavailable"], timeoutMs: 300 }
    timeouts: { requestMs: 10000, responseMs: 0, idleMs: 500 }
    backends:
      - { authority: voting-v1.demo:8080, weight: 90 }
      - { authority: voting-v2.demo:8080 }
    endpoints:
      - addr: 127.0.0.1:14143
        identity: voting.demo.serviceaccount.identity.weft.cluster.local
        targetPort: 8080
        protocolHint: h2
        labels: { pod: voting-1 }
      - addr: "[::1]:8080"
  - authority: redis.demo:6379
    opaque: true
`;

function errorsOf(text: string): string[] {
  const r = parseDestinationFile(text);
  if (r.ok) assert.fail('expected errors');
  return r.errors;
}
/** One destination with `body` (YAML lines indented under the list item). */
const one = (body: string): string => `destinations:\n  - authority: a.demo:80\n${body.replace(/^/gm, '    ')}\n`;

test('a full destination file parses into profiles and endpoints', () => {
  const r = parseDestinationFile(FULL);
  if (!r.ok) return assert.fail(r.errors.join('; '));
  assert.deepEqual([...r.table.keys()], ['voting.demo:8080', 'redis.demo:6379']);
  const v = r.table.get('voting.demo:8080')!;
  assert.deepEqual(v.profile, {
    opaque: false,
    labels: { service: 'voting', namespace: 'demo' },
    retry: { limit: 2, http: ['5xx'], grpc: ['unavailable'], timeoutMs: 300 },
    timeouts: { requestMs: 10000, idleMs: 500 },
    backends: [
      { authority: 'voting-v1.demo:8080', weight: 90 },
      { authority: 'voting-v2.demo:8080', weight: 1 },
    ],
  });
  assert.deepEqual(v.endpoints, [
    {
      addr: { host: '127.0.0.1', port: 14143 },
      identity: 'voting.demo.serviceaccount.identity.weft.cluster.local',
      targetPort: 8080,
      protocolHint: 'h2',
      labels: { pod: 'voting-1' },
    },
    { addr: { host: '::1', port: 8080 }, labels: {} },
  ]);
  const redis = r.table.get('redis.demo:6379')!;
  assert.equal(redis.profile.opaque, true);
  assert.deepEqual(redis.endpoints, []);
  assert.equal(redis.profile.retry, undefined);
  assert.equal(redis.profile.backends, undefined);
});

test('JSON is accepted and defaults fill in', () => {
  const r = parseDestinationFile(JSON.stringify({ destinations: [{ authority: 'x.demo:1', retry: {}, endpoints: [{ addr: '127.0.0.1:2', labels: { n: 3 } }] }] }));
  if (!r.ok) return assert.fail(r.errors.join('; '));
  const d = r.table.get('x.demo:1')!;
  assert.equal(d.profile.opaque, false);
  assert.deepEqual(d.profile.retry, { limit: 1, http: [], grpc: [], timeoutMs: 0 });
  assert.deepEqual(d.endpoints[0]!.labels, { n: '3' });
  const empty = parseDestinationFile('destinations: []');
  assert.ok(empty.ok && empty.table.size === 0);
});

test('each kind of mistake is reported with its place in the document', () => {
  const cases: [string, string][] = [
    ['destinations: [\n', 'not valid YAML: '],
    ['', 'expected a top-level "destinations:" list'],
    ['destinations: {}', 'expected a top-level "destinations:" list'],
    ['- authority: a:1', 'expected a top-level "destinations:" list'],
    ['destinations: [3]', 'destinations[0]: expected a map'],
    ['destinations: [{ authority: nohost }]', 'destinations[0].authority: expected host:port, got "nohost"'],
    ['destinations: [{}]', 'destinations[0].authority: expected host:port, got "undefined"'],
    ['destinations: [{ authority: "a:1" }, { authority: "a:1" }]', 'destinations[1].authority: "a:1" is listed twice'],
    [one('endpoints: 5'), 'destinations[0].endpoints: expected a list'],
    [one('endpoints: [x]'), 'destinations[0].endpoints[0]: expected a map'],
    [one('endpoints: [{ addr: "127.0.0.1" }]'), 'destinations[0].endpoints[0].addr: expected host:port'],
    [one('endpoints: [{ addr: "127.0.0.1:0" }]'), 'destinations[0].endpoints[0].addr: expected host:port'],
    [one('endpoints: [{ addr: "127.0.0.1:1", labels: [a] }]'), 'destinations[0].endpoints[0].labels: expected a map of strings'],
    [one('endpoints: [{ addr: "127.0.0.1:1", targetPort: "80" }]'), 'destinations[0].endpoints[0].targetPort: expected a non-negative number'],
    [one('endpoints: [{ addr: "127.0.0.1:1", targetPort: -1 }]'), 'destinations[0].endpoints[0].targetPort: expected a non-negative number'],
    [one('endpoints: [{ addr: "127.0.0.1:1", protocolHint: h3 }]'), 'destinations[0].endpoints[0].protocolHint: expected h2 or opaque'],
    [one('labels: text'), 'destinations[0].labels: expected a map of strings'],
    [one('timeouts: { requestMs: -5 }'), 'destinations[0].timeouts.requestMs: expected a non-negative number'],
    [one('timeouts: { responseMs: soon }'), 'destinations[0].timeouts.responseMs: expected a non-negative number'],
    [one('timeouts: { idleMs: .nan }'), 'destinations[0].timeouts.idleMs: expected a non-negative number'],
    [one('retry: { limit: many }'), 'destinations[0].retry.limit: expected a non-negative number'],
    [one('retry: { http: "5xx" }'), 'destinations[0].retry.http: expected a list'],
    [one('retry: { grpc: unavailable }'), 'destinations[0].retry.grpc: expected a list'],
    [one('retry: { timeoutMs: -1 }'), 'destinations[0].retry.timeoutMs: expected a non-negative number'],
    [one('backends: a.demo:80'), 'destinations[0].backends: expected a list'],
    [one('backends: [{ authority: nope }]'), 'destinations[0].backends[0].authority: expected host:port'],
    [one('backends: [{ weight: 3 }]'), 'destinations[0].backends[0].authority: expected host:port'],
    [one('backends: [{ authority: "b:1", weight: -3 }]'), 'destinations[0].backends[0].weight: expected a non-negative number'],
  ];
  for (const [text, expected] of cases) {
    const errs = errorsOf(text);
    assert.equal(errs.length, 1, `${JSON.stringify(text)} → ${errs.join('; ')}`);
    assert.ok(errs[0]!.startsWith(expected), `${JSON.stringify(text)}: got "${errs[0]}", expected "${expected}…"`);
  }
});

test('several mistakes are all reported, and a bad file yields no table', () => {
  const errs = errorsOf(`destinations:
  - authority: bad
  - authority: ok.demo:80
    endpoints: [{ addr: x }, { addr: "127.0.0.1:1", protocolHint: quic }]
`);
  assert.deepEqual(errs, [
    'destinations[0].authority: expected host:port, got "bad"',
    'destinations[1].endpoints[0].addr: expected host:port',
    'destinations[1].endpoints[1].protocolHint: expected h2 or opaque',
  ]);
});
