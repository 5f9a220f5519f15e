import { test } from 'node:test';
import assert from 'node:assert/strict';
import { scrapeTargetsOf } from '../../../dev-cluster/local/metrics-targets';
import type { RunningWorkload } from '../../../dev-cluster/local/local-mesh';
import type { ProxyProcess } from '../../../dev-cluster/local/proxy-process';

type Running = Pick<RunningWorkload, 'workload' | 'identity' | 'proxy' | 'ports'>;
const proxy = (port: number): ProxyProcess => ({ admin: { host: '127.0.0.1', port } }) as unknown as ProxyProcess;

test('local mode inventory: one pod per process, its services from what it serves and the routes in front', () => {
  const running: Running[] = [
    { workload: { name: 'voting-v1-0', workload: 'voting-v1', serviceAccount: 'voting', command: 'x', args: [], upstreams: [], serves: 'voting-v1.demo:8080' }, identity: 'voting.demo.id', proxy: proxy(5001), ports: [{ authority: 'voting-v1.demo:8080', appPort: 1 }] },
    { workload: { name: 'bot', namespace: 'load', serviceAccount: 'bot', command: 'x', args: [], upstreams: ['voting.demo:8080'] }, identity: 'bot.load.id', proxy: proxy(5002), ports: [] },
  ];
  const targets = scrapeTargetsOf(running, { namespace: 'demo', routes: [{ authority: 'voting.demo:8080', backends: [{ authority: 'voting-v1.demo:8080', weight: 90 }, { authority: 'voting-v2.demo:8080', weight: 10 }] }] });
  assert.deepEqual(targets, [
    { namespace: 'demo', workload: 'voting-v1', pod: 'voting-v1-0', admin: '127.0.0.1:5001', services: ['voting', 'voting-v1'], identity: 'voting.demo.id' },
    { namespace: 'load', workload: 'bot', pod: 'bot', admin: '127.0.0.1:5002', services: [], identity: 'bot.load.id' },
  ]);
});
