/**
 * `weft destination --kube` (a real process, driven through client-node against the fake API server)
 * feeding a real proxy process: an EndpointSlice change moves traffic; with the API cut off the
 * destination service keeps serving its last-known state; when the API comes back after its history
 * was compacted, the re-watch meets 410 Gone, relists, and traffic follows the cluster's new state.
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { spawnProxy, type ProxyProcess } from '../../dev-cluster/local/proxy-process';
import { findResourceType, startFakeKubeApi, writeKubeconfig, type FakeKubeApi } from '../fixtures/kube-api';
import { startApiSwitch, type ApiSwitch } from '../unit/platform/api-switch';

const T = {
  svc: findResourceType('', 'v1', 'services')!,
  pod: findResourceType('', 'v1', 'pods')!,
  slice: findResourceType('discovery.k8s.io', 'v1', 'endpointslices')!,
};
const AUTHORITY = 'web.shop.svc.cluster.local:80';
// Two "pods" on two loopback addresses, the same port, as two pod IPs behind one slice port.
const IPS = { a: '127.0.0.2', b: '127.0.0.3' } as const;

let api: FakeKubeApi;
let sw: ApiSwitch;
let dir: string;
let appPort = 0;
const apps: http.Server[] = [];
let dest: ChildProcess | undefined;
let destLog = '';
let proxy: ProxyProcess | undefined;

function setEndpoints(which: (keyof typeof IPS)[]): void {
  api.store.patch(T.slice, 'shop', 'web-x1', 'application/merge-patch+json', {
    endpoints: which.map((w) => ({ addresses: [IPS[w]], conditions: { ready: true }, targetRef: { kind: 'Pod', name: `web-${w}`, namespace: 'shop' } })),
  });
}

async function get(): Promise<string> {
  const r = await fetch(`http://127.0.0.1:${proxy!.upstreams.get(AUTHORITY)!.port}/`);
  return r.text();
}

/** Sends requests until the set of answering pods is `want` (each seen in the last 20 answers). */
async function until(want: string[], ms = 15_000): Promise<void> {
  const end = Date.now() + ms;
  let seen: string[] = [];
  while (Date.now() < end) {
    const answers = new Set<string>();
    for (let i = 0; i < 20; i++) answers.add(await get());
    seen = [...answers].sort();
    if (JSON.stringify(seen) === JSON.stringify([...want].sort())) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  assert.fail(`traffic went to ${JSON.stringify(seen)}, want ${JSON.stringify(want)}\n${destLog}`);
}

async function waitFor(what: string, cond: () => boolean, ms = 15_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}\n${destLog}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'weft-kube-dest-'));
  for (const [name, ip] of Object.entries(IPS)) {
    const s = http.createServer((_req, res) => res.end(name));
    await new Promise<void>((r) => s.listen(appPort, ip, r));
    appPort = (s.address() as { port: number }).port;
    apps.push(s);
  }
  api = await startFakeKubeApi({ namespaces: ['default', 'shop'] });
  api.store.create(T.svc, 'shop', { metadata: { name: 'web' }, spec: { clusterIP: '10.96.0.5', ports: [{ name: 'http', port: 80, targetPort: appPort }] } });
  for (const w of ['a', 'b']) api.store.create(T.pod, 'shop', { metadata: { name: `web-${w}` }, spec: { serviceAccountName: 'web', containers: [{ name: 'app', image: 'web' }] } });
  api.store.create(T.slice, 'shop', { metadata: { name: 'web-x1', labels: { 'kubernetes.io/service-name': 'web' } }, addressType: 'IPv4', ports: [{ name: 'http', port: appPort }], endpoints: [] });
  setEndpoints(['a']);
  sw = await startApiSwitch(api.url);
  const kubeconfig = writeKubeconfig(dir, { server: sw.url });
  dest = spawn(process.execPath, ['--import', 'tsx', 'mesh/cli/main.ts', 'destination', '--kube', '--kubeconfig', kubeconfig, '--listen', '127.0.0.1:0'], { stdio: ['ignore', 'ignore', 'pipe'] });
  dest.stderr!.on('data', (c: Buffer) => (destLog += c.toString()));
  await waitFor('the destination service to sync and listen', () => /synced: .*listening on/.test(destLog) || dest!.exitCode !== null, 30_000);
  const port = /synced: .*listening on 127\.0\.0\.1:(\d+)/.exec(destLog)?.[1];
  assert.ok(port, destLog);
  proxy = await spawnProxy({ name: 'client', env: { WEFT_PROXY_UPSTREAMS: `${AUTHORITY}=127.0.0.1:0`, WEFT_PROXY_DESTINATION_ADDR: `127.0.0.1:${port}` } });
});

after(async () => {
  await proxy?.stop();
  if (dest && dest.exitCode === null) {
    const exited = new Promise((r) => dest!.once('exit', r));
    dest.kill('SIGTERM');
    await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
    if (dest.exitCode === null) dest.kill('SIGKILL');
  }
  await sw?.close();
  await api?.close();
  for (const s of apps) await new Promise((r) => s.close(r));
  rmSync(dir, { recursive: true, force: true });
});

test('scaling the EndpointSlice moves traffic: a → a+b → b', async () => {
  await until(['a']);
  setEndpoints(['a', 'b']);
  await until(['a', 'b']);
  setEndpoints(['b']);
  await until(['b']);
});

test('API cut off: last-known endpoints kept; back after compaction: 410 → relist → the new state', async () => {
  setEndpoints(['a']);
  await until(['a']);
  await sw.down();
  await waitFor('the informers to notice the outage', () => /keeping the last-known state/.test(destLog));
  // The cluster moves on while the destination service cannot see it; its history is compacted.
  setEndpoints(['b']);
  api.compact();
  for (let i = 0; i < 20; i++) assert.equal(await get(), 'a', 'the last-known endpoint keeps serving');
  await sw.up();
  await waitFor('a relist after 410 Gone', () => /endpointslices: watch expired \(410 Gone\), relisting/.test(destLog));
  await until(['b']);
});

test('the destination process stops cleanly on SIGTERM', { timeout: 30_000 }, async () => {
  const code = await new Promise<number | null>((resolve) => {
    dest!.once('exit', (c) => resolve(c));
    dest!.kill('SIGTERM');
  });
  assert.equal(code, 0, destLog);
});
