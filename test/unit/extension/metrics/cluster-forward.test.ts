/**
 * The cluster path of MetricsEndpoints: client-node's PortForward over a real WebSocket to a small
 * API server made here (the kube-api fixture does not model port-forward): it lists the `weft`
 * namespace's services and pods and forwards `pods/<name>/portforward` (channel protocol v4) to a
 * metrics API on loopback. The pod is then replaced: the forward is re-made to the new one.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { WebSocketServer, type WebSocket } from 'ws';
import { fetchStat } from '../../../../mesh/control/metrics-api/client';
import { MetricsEndpoints } from '../../../../extension/metrics/metrics-endpoint';
import { writeKubeconfig } from '../../../fixtures/kube-api';
import { statRow } from './fixtures';

const listen = (s: Server): Promise<number> => new Promise((ok) => s.listen(0, '127.0.0.1', () => ok((s.address() as { port: number }).port)));

describe('metrics API through a client-node port-forward', () => {
  const dir = mkdtempSync(join(tmpdir(), 'weft-forward-'));
  let pod = 'metrics-api-0';
  const forwards: string[] = [];
  const sockets = new Set<WebSocket>();
  let metricsPort = 0;
  const metricsApi = createServer((req, res) => {
    const body = req.url?.startsWith('/healthz') ? { ok: true } : { kind: 'workload', namespace: 'demo', windowMs: 30_000, rows: [statRow({ name: 'web' })], scrapeErrors: [] };
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body));
  });
  const api = createServer((req, res) => {
    const list = (kind: string, items: unknown[]) => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ apiVersion: 'v1', kind, metadata: { resourceVersion: '1' }, items }));
    if (req.url?.startsWith('/api/v1/namespaces/weft/services')) return list('ServiceList', [{ metadata: { name: 'weft-metrics-api', namespace: 'weft' }, spec: { selector: { app: 'weft-metrics-api' }, ports: [{ port: 8085, targetPort: 8085 }] } }]);
    if (req.url?.startsWith('/api/v1/namespaces/weft/pods')) {
      return list('PodList', [{ metadata: { name: pod, namespace: 'weft', labels: { app: 'weft-metrics-api' } }, spec: { containers: [{ name: 'api' }] }, status: { phase: 'Running', conditions: [{ type: 'Ready', status: 'True' }] } }]);
    }
    res.writeHead(404, { 'content-type': 'application/json' }).end('{"kind":"Status","code":404}');
  });
  const wss = new WebSocketServer({ noServer: true, handleProtocols: (p) => (p.has('v4.channel.k8s.io') ? 'v4.channel.k8s.io' : false) });
  api.on('upgrade', (req: IncomingMessage, socket, head) => {
    const m = /^\/api\/v1\/namespaces\/weft\/pods\/([^/]+)\/portforward\?ports=8085$/.exec(req.url ?? '');
    if (!m || m[1] !== pod) {
      socket.end('HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\n\r\n');
      return;
    }
    forwards.push(m[1]);
    wss.handleUpgrade(req, socket, head, (ws) => {
      sockets.add(ws);
      const port = Buffer.from([8085 & 0xff, 8085 >> 8]);
      ws.send(Buffer.concat([Buffer.from([0]), port]));
      ws.send(Buffer.concat([Buffer.from([1]), port]));
      const tcp = connect(metricsPort, '127.0.0.1');
      tcp.on('data', (d) => ws.send(Buffer.concat([Buffer.from([0]), d])));
      tcp.on('close', () => ws.close());
      tcp.on('error', () => ws.close());
      ws.on('message', (data: Buffer) => {
        if (data[0] === 0 && data.length > 1) tcp.write(data.subarray(1));
      });
      ws.on('close', () => {
        sockets.delete(ws);
        tcp.destroy();
      });
    });
  });
  let endpoints: MetricsEndpoints | undefined;
  let kubeconfig = '';

  before(async () => {
    metricsPort = await listen(metricsApi);
    const apiPort = await listen(api);
    kubeconfig = writeKubeconfig(dir, { server: `http://127.0.0.1:${apiPort}`, contextName: 'fake' });
    endpoints = new MetricsEndpoints({ workspaceFolders: () => [], env: { KUBECONFIG: kubeconfig }, prefer: () => 'cluster', healthTimeoutMs: 5_000 });
  });

  after(() => {
    endpoints?.dispose();
    for (const ws of sockets) ws.terminate();
    wss.close();
    api.close();
    metricsApi.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('finds the pod behind the metrics API service and forwards a loopback port to it', async () => {
    const r = await endpoints!.resolve();
    assert.ok(r.ok, JSON.stringify(r));
    assert.equal(r.endpoint.mode, 'cluster');
    assert.match(r.endpoint.url, /^http:\/\/127\.0\.0\.1:\d+$/);
    assert.match(r.endpoint.label, /cluster fake via port-forward to weft\/metrics-api-0/);
    const stat = await fetchStat(r.endpoint.url, { kind: 'workload' });
    assert.ok(stat.ok, JSON.stringify(stat));
    assert.equal(stat.body.rows[0]?.name, 'web');
    assert.ok(forwards.length >= 2 && forwards.every((p) => p === 'metrics-api-0'), forwards.join());
  });

  test('a replaced pod: the forward is re-made to the new one on the same local port', async () => {
    const r = await endpoints!.resolve();
    assert.ok(r.ok);
    // The pod is replaced: its forwards end, and the API server knows only the new one.
    pod = 'metrics-api-1';
    for (const ws of sockets) ws.terminate();
    const before = forwards.length;
    // The first request after the change may fail (it still aims at the old pod); the next ones look the pod up again.
    let ok = false;
    for (let i = 0; i < 3 && !ok; i++) ok = (await fetchStat(r.endpoint.url, { kind: 'workload' }, 3_000)).ok;
    assert.ok(ok, 'answers again through the new pod');
    assert.ok(forwards.slice(before).includes('metrics-api-1'), forwards.join());
    const again = await endpoints!.resolve();
    assert.equal(again.ok ? again.endpoint.url : '', r.endpoint.url, 'same local URL');
  });

  test('no metrics API pod: a reason naming the namespace and the next step', async () => {
    const none = new MetricsEndpoints({ workspaceFolders: () => [], env: { KUBECONFIG: kubeconfig }, prefer: () => 'cluster', healthTimeoutMs: 2_000 });
    pod = '';
    try {
      const r = await none.cluster('fake');
      assert.equal(r.ok, false);
      assert.match(r.ok ? '' : r.reason, /no running metrics API pod in namespace "weft"/);
      assert.match(r.ok ? '' : r.hint, /Install Mesh/);
    } finally {
      none.dispose();
      pod = 'metrics-api-1';
    }
  });
});
