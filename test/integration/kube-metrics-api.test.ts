/**
 * `weft metrics-api --kube` (a real process, driven through client-node against the fake API server)
 * scraping a real proxy. The pods seeded in the fake API have status.podIP 127.0.0.1, and their
 * `weft-proxy` container declares its `weft-admin` port as an injected pod does — here the real
 * proxy's admin port (free, picked at start), so no fixed port is needed: the inventory reads the
 * admin port from the pod spec, as it does in a cluster (4191 there).
 *
 * Pods of Deployment web (ReplicaSet web-5d8f7): one meshed pod in front of a real proxy, one meshed
 * pod whose admin port is closed, one unmeshed pod. The API must report the workload `web` with the
 * requests sent through the proxy, 2 meshed of 3 pods, the closed one as a scrape error naming its
 * address; deleting that pod from the API removes it from the inventory.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { StatResponse } from '../../mesh/control/metrics-api/api-query';
import { spawnProxy, type ProxyProcess } from '../../dev-cluster/local/proxy-process';
import { findResourceType, startFakeKubeApi, writeKubeconfig, type FakeKubeApi, type KubeObject } from '../fixtures/kube-api';

const POD = findResourceType('', 'v1', 'pods')!;

let api: FakeKubeApi | undefined;
let app: http.Server | undefined;
let proxy: ProxyProcess | undefined;
let dir = '';
let service: ChildProcess | undefined;
let serviceLog = '';
let apiUrl = '';
let deadPort = 0;

async function waitFor<T>(what: string, probe: () => Promise<T | undefined>, ms = 30_000): Promise<T> {
  const end = Date.now() + ms;
  let last: unknown;
  while (Date.now() < end) {
    try {
      const v = await probe();
      if (v !== undefined) return v;
    } catch (e) {
      last = e;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out waiting for ${what}${last ? ` (last error: ${String(last)})` : ''}\n${serviceLog}`);
}

function pod(name: string, adminPort: number | undefined): KubeObject {
  const containers: unknown[] = [{ name: 'web', image: 'web', ports: [{ name: 'http', containerPort: 8080 }] }];
  if (adminPort !== undefined) containers.push({ name: 'weft-proxy', image: 'weft', ports: [{ name: 'weft-proxy', containerPort: 4143 }, { name: 'weft-admin', containerPort: adminPort }] });
  return {
    metadata: { name, labels: { app: 'web', 'pod-template-hash': '5d8f7' }, ownerReferences: [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'web-5d8f7', uid: 'rs-uid', controller: true }] },
    spec: { serviceAccountName: 'web', containers },
    status: { phase: 'Running', podIP: '127.0.0.1' },
  } as unknown as KubeObject;
}

async function stat(): Promise<StatResponse> {
  const r = await fetch(`${apiUrl}/api/v1/stat?kind=workload&namespace=shop&window=1m`);
  assert.equal(r.status, 200);
  return (await r.json()) as StatResponse;
}

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'weft-kube-metrics-'));
  app = http.createServer((req, res) => {
    res.statusCode = req.url === '/fail' ? 500 : 200;
    res.end('ok');
  });
  await new Promise<void>((r) => app!.listen(0, '127.0.0.1', r));
  const appPort = (app.address() as net.AddressInfo).port;
  // A port nothing listens on: bound, then released.
  const probe = net.createServer();
  await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
  deadPort = (probe.address() as net.AddressInfo).port;
  await new Promise((r) => probe.close(r));

  proxy = await spawnProxy({ name: 'web-proxy', env: { WEFT_PROXY_INBOUND_ADDR: '127.0.0.1:0', WEFT_PROXY_APP_PORT: String(appPort) }, startTimeoutMs: 30_000 });
  api = await startFakeKubeApi({ namespaces: ['default', 'shop'] });
  api.store.create(POD, 'shop', pod('web-5d8f7-aaaaa', proxy.admin.port));
  api.store.create(POD, 'shop', pod('web-5d8f7-bbbbb', deadPort));
  api.store.create(POD, 'shop', pod('web-5d8f7-ccccc', undefined));
  const kubeconfig = writeKubeconfig(dir, { server: api.url });
  service = spawn(process.execPath, ['--import', 'tsx', 'mesh/cli/main.ts', 'metrics-api', '--kube', '--kubeconfig', kubeconfig, '--listen', '127.0.0.1:0', '--scrape-interval', '500ms'], { stdio: ['ignore', 'ignore', 'pipe'] });
  service.stderr!.setEncoding('utf8');
  service.stderr!.on('data', (d: string) => (serviceLog += d));
  const port = await waitFor('weft metrics-api --kube to sync and listen', async () => /synced: .*listening on 127\.0\.0\.1:(\d+)/.exec(serviceLog)?.[1] ?? (service!.exitCode !== null ? 'exited' : undefined), 60_000);
  assert.notEqual(port, 'exited', serviceLog);
  apiUrl = `http://127.0.0.1:${port}`;
});

after(async () => {
  if (service && service.exitCode === null) {
    const exited = new Promise((r) => service!.once('exit', r));
    service.kill('SIGTERM');
    await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
    if (service.exitCode === null) service.kill('SIGKILL');
  }
  await proxy?.stop(3_000).catch(() => undefined);
  await api?.close();
  if (app) await new Promise((r) => app!.close(r));
  if (dir) rmSync(dir, { recursive: true, force: true });
});

test('the pods in the API are the inventory: workload web (from its ReplicaSet), 2 meshed of 3 pods, the requests the proxy served, the closed admin port as a scrape error', async () => {
  assert.match(serviceLog, /synced: 2 meshed of 3 pods/);
  // A scrape error for the closed port means a whole scrape round has completed (the live proxy too).
  await waitFor('the first scrape round', async () => ((await stat()).scrapeErrors.length > 0 ? true : undefined));
  const { scrapeErrors } = await stat();
  assert.deepEqual(scrapeErrors.map((e) => e.pod), ['shop/web-5d8f7-bbbbb']);
  assert.match(scrapeErrors[0]!.error, new RegExp(`127\\.0\\.0\\.1:${deadPort}`));

  const inbound = proxy!.inbound!;
  for (const path of ['/', '/', '/', '/', '/', '/', '/', '/', '/', '/fail']) {
    const r = await fetch(`http://${inbound.host}:${inbound.port}${path}`);
    await r.text();
  }
  const web = await waitFor('the 10 requests in the workload row', async () => {
    const row = (await stat()).rows.find((r) => r.name === 'web');
    return row && row.responses === 10 ? row : undefined;
  });
  assert.deepEqual([web.namespace, web.meshedPods, web.totalPods, web.successRate], ['shop', 2, 3, 0.9]);
  assert.ok(web.rps > 0 && web.p50Ms !== undefined);
});

test('deleting a pod in the API removes it from the inventory (no more scrape error, 1 meshed of 2)', async () => {
  api!.store.delete(POD, 'shop', 'web-5d8f7-bbbbb');
  const after = await waitFor('the inventory to follow the delete', async () => {
    const s = await stat();
    return s.scrapeErrors.length === 0 ? s : undefined;
  });
  const web = after.rows.find((r) => r.name === 'web')!;
  assert.deepEqual([web.meshedPods, web.totalPods], [1, 2]);
});

test('weft metrics-api --kube stops cleanly on SIGTERM', { timeout: 30_000 }, async () => {
  const code = await new Promise<number | null>((resolve) => {
    service!.once('exit', (c) => resolve(c));
    service!.kill('SIGTERM');
  });
  assert.equal(code, 0, serviceLog);
});
