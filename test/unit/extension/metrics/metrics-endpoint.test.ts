import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import type { V1Pod, V1Service } from '@kubernetes/client-node';
import { writeState, type LocalState } from '../../../../dev-cluster/local/local-state';
import { chooseMetricsApiPod, localStateDirs, MetricsEndpoints, usableLocalState } from '../../../../extension/metrics/metrics-endpoint';

const pod = (name: string, over: { labels?: Record<string, string>; phase?: string; ready?: boolean; port?: number } = {}): V1Pod => ({
  metadata: { name, labels: over.labels ?? {} },
  spec: { containers: [{ name: 'c', ports: over.port ? [{ containerPort: over.port }] : [] }] },
  status: { phase: over.phase ?? 'Running', conditions: [{ type: 'Ready', status: over.ready === false ? 'False' : 'True' }] },
});
const service = (name: string, selector: Record<string, string>, port: number, targetPort?: number): V1Service => ({ metadata: { name }, spec: { selector, ports: [{ port, ...(targetPort ? { targetPort } : {}) }] } });

describe('which pod the port-forward goes to', () => {
  test('a Ready Running pod behind the service that exposes the metrics API port', () => {
    const pods = [pod('api-old', { labels: { app: 'metrics' }, phase: 'Succeeded' }), pod('api-0', { labels: { app: 'metrics' }, ready: false }), pod('api-1', { labels: { app: 'metrics' } }), pod('identity', { labels: { app: 'identity' } })];
    const svcs = [service('identity', { app: 'identity' }, 8080), service('metrics', { app: 'metrics' }, 8085, 9995)];
    assert.deepEqual(chooseMetricsApiPod(svcs, pods), { pod: 'api-1', targetPort: 9995 });
    assert.deepEqual(chooseMetricsApiPod(svcs, pods.slice(0, 2)), { pod: 'api-0', targetPort: 9995 }, 'not ready beats nothing');
  });

  test('without such a service, a pod declaring the port; none at all: an error naming the namespace', () => {
    assert.deepEqual(chooseMetricsApiPod([], [pod('x'), pod('m', { port: 8085 })]), { pod: 'm', targetPort: 8085 });
    const r = chooseMetricsApiPod([service('identity', { app: 'identity' }, 8080)], [pod('x')]);
    assert.ok('error' in r);
    assert.match(r.error, /no running metrics API pod in namespace "weft"/);
  });
});

describe('local mode', () => {
  const roots: string[] = [];
  const servers: Server[] = [];
  after(() => {
    for (const r of roots) rmSync(r, { recursive: true, force: true });
    for (const s of servers) s.close();
  });

  test('state directories: $WEFT_STATE_DIR first, then each folder', () => {
    assert.deepEqual(localStateDirs(['/w/a', '/w/b'], {}), ['/w/a/.weft/local', '/w/b/.weft/local']);
    assert.deepEqual(localStateDirs(['/w/a'], { WEFT_STATE_DIR: '/tmp/s' }), ['/tmp/s', '/w/a/.weft/local']);
    assert.deepEqual(localStateDirs(['/w/a'], { WEFT_STATE_DIR: 'rel' }), ['/w/a/rel', '/w/a/.weft/local']);
  });

  const state = (over: Partial<LocalState>): LocalState => ({ version: 1, status: 'running', supervisorPid: process.pid, topologyFile: 't', startedAt: '', supervisorLog: '', workloads: [], metricsApi: 'http://127.0.0.1:1', ...over });
  test('a state counts while its supervisor lives and it records a metrics API', () => {
    assert.equal(usableLocalState(state({}), () => true), true);
    assert.equal(usableLocalState(state({}), () => false), false);
    assert.equal(usableLocalState(state({ status: 'starting' }), () => true), false);
    assert.equal(usableLocalState(state({ metricsApi: undefined }), () => true), false);
    assert.equal(usableLocalState(undefined, () => true), false);
  });

  test('resolves the API of a running local mesh from a workspace folder, cached until reset', async () => {
    const folder = mkdtempSync(join(tmpdir(), 'weft-endpoint-'));
    roots.push(folder);
    let healthChecks = 0;
    const api = createServer((req, res) => {
      if (req.url === '/healthz') healthChecks++;
      res.writeHead(req.url === '/healthz' ? 200 : 404, { 'content-type': 'application/json' }).end('{"ok":true}');
    });
    servers.push(api);
    await new Promise<void>((ok) => api.listen(0, '127.0.0.1', ok));
    const url = `http://127.0.0.1:${(api.address() as { port: number }).port}`;
    // A kubeconfig that does not exist: the cluster path fails with its own reason.
    const endpoints = new MetricsEndpoints({ workspaceFolders: () => [folder], env: { KUBECONFIG: join(folder, 'none') }, healthTimeoutMs: 2_000 });
    const none = await endpoints.resolve();
    assert.equal(none.ok, false);
    assert.match(none.ok ? '' : none.reason, /no local mesh is running; no kubeconfig found/);
    await writeState(join(folder, '.weft', 'local'), state({ metricsApi: url }));
    const r = await endpoints.resolve();
    assert.ok(r.ok, JSON.stringify(r));
    assert.equal(r.endpoint.url, url);
    assert.equal(r.endpoint.mode, 'local');
    assert.equal(r.endpoint.stateDir, join(folder, '.weft', 'local'));
    await endpoints.resolve();
    assert.equal(healthChecks, 1, 'cached');
    endpoints.reset();
    await endpoints.resolve();
    assert.equal(healthChecks, 2, 'checked again after reset');
    endpoints.dispose();
  });

  test('$WEFT_METRICS_API wins, and says so when it does not answer', async () => {
    const endpoints = new MetricsEndpoints({ workspaceFolders: () => [], env: { WEFT_METRICS_API: 'http://127.0.0.1:9' }, healthTimeoutMs: 1_000 });
    const r = await endpoints.resolve();
    assert.equal(r.ok, false);
    assert.match(r.ok ? '' : r.reason, /WEFT_METRICS_API=http:\/\/127\.0\.0\.1:9 does not answer/);
  });
});
