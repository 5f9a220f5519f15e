// The explorer's cluster connection against the fake Kubernetes API: it lists and then follows
// namespaces, deployments and pods by watch (no polling); a namespace deleted disappears; a
// kubeconfig that stops working turns the state to `failed` with the cause, and it recovers by
// itself once the kubeconfig works again; switching context reconnects.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, connect, type AddressInfo, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ClusterConnection } from '../../../../extension/kube/cluster-connection';
import type { ClusterInput } from '../../../../extension/explorer/explorer-model';
import { findResourceType, kubeconfigYaml, startFakeKubeApi, type FakeKubeApi, type KubeObject } from '../../../fixtures/kube-api';
import { deployment, pod } from './fixtures';

const type = (group: string, version: string, plural: string) => {
  const t = findResourceType(group, version, plural);
  if (!t) throw new Error(`no resource type ${plural}`);
  return t;
};
const NAMESPACES = type('', 'v1', 'namespaces');
const PODS = type('', 'v1', 'pods');
const DEPLOYMENTS = type('apps', 'v1', 'deployments');

async function until(cond: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((ok) => setTimeout(ok, 25));
  }
}

/** A TCP forwarder to the fake API on a port of its own that can go down and come back. */
async function forwarder(targetPort: string): Promise<{ port: number; down(): Promise<void>; up(): Promise<void> }> {
  const sockets = new Set<Socket>();
  let server: Server | undefined;
  let port = 0;
  const up = (): Promise<void> =>
    new Promise((ok, fail) => {
      const s = createServer((client) => {
        const upstream = connect(Number(targetPort), '127.0.0.1');
        for (const sock of [client, upstream]) {
          sockets.add(sock);
          sock.on('close', () => sockets.delete(sock));
          sock.on('error', () => undefined);
        }
        client.pipe(upstream).pipe(client);
      });
      s.once('error', fail);
      s.listen(port, '127.0.0.1', () => {
        port = (s.address() as AddressInfo).port;
        server = s;
        ok();
      });
    });
  const down = async (): Promise<void> => {
    for (const sock of sockets) sock.destroy();
    const s = server;
    server = undefined;
    if (s) await new Promise<void>((ok) => s.close(() => ok()));
  };
  await up();
  return { port, up, down };
}

const names = (s: ClusterInput, what: 'namespaces' | 'deployments' | 'pods'): string[] => s[what].map((o) => o.metadata?.name ?? '').sort();

describe('ClusterConnection', () => {
  let api: FakeKubeApi;
  let dir: string;
  let kubeconfig: string;
  const conns: ClusterConnection[] = [];
  const writeConfig = (name: string, server: string): string => {
    const path = join(dir, name);
    writeFileSync(path, kubeconfigYaml({ server, contextName: 'fake' }));
    return path;
  };
  const open = (o: ConstructorParameters<typeof ClusterConnection>[0] = {}): ClusterConnection => {
    const c = new ClusterConnection({ env: { KUBECONFIG: kubeconfig }, retryMs: 100, maxRetryMs: 400, probeTimeoutMs: 2_000, ...o });
    conns.push(c);
    return c;
  };

  before(async () => {
    api = await startFakeKubeApi({ namespaces: ['default', 'shop'] });
    dir = mkdtempSync(join(tmpdir(), 'weft-explorer-conn-'));
    kubeconfig = join(dir, 'kubeconfig');
    writeFileSync(kubeconfig, kubeconfigYaml({ server: api.url, contextName: 'fake' }));
    api.store.create(DEPLOYMENTS, 'shop', deployment('shop', 'web') as KubeObject);
    api.store.create(PODS, 'shop', pod('shop', 'web-1', 'web', { meshed: true }) as KubeObject);
  });
  after(async () => {
    for (const c of conns) await c.dispose();
    await api.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('lists, then follows changes by watch', async () => {
    const c = open();
    const seen: string[] = [];
    c.onChange((s) => seen.push(s.state));
    await c.connect();
    assert.equal(c.snapshot.state, 'connected');
    assert.equal(c.snapshot.synced, true);
    assert.equal(c.snapshot.context, 'fake');
    assert.deepEqual(names(c.snapshot, 'namespaces'), ['default', 'shop']);
    assert.deepEqual(names(c.snapshot, 'deployments'), ['web']);
    assert.deepEqual(names(c.snapshot, 'pods'), ['web-1']);
    assert.ok(seen.includes('connecting') && seen.at(-1) === 'connected');
    const watchesBefore = api.watchCount();
    assert.ok(watchesBefore >= 3, `three watches open (${watchesBefore})`);
    api.store.create(NAMESPACES, '', { metadata: { name: 'billing' } } as KubeObject);
    api.store.patch(NAMESPACES, '', 'shop', 'application/merge-patch+json', { metadata: { annotations: { 'weft.dev/inject': 'enabled' } } });
    await until(() => names(c.snapshot, 'namespaces').includes('billing'), 'the new namespace');
    await until(() => c.snapshot.namespaces.find((n) => n.metadata?.name === 'shop')?.metadata?.annotations?.['weft.dev/inject'] === 'enabled', 'the annotation');
    // A deleted namespace takes its objects with it, and the snapshot follows.
    api.store.delete(NAMESPACES, '', 'shop');
    await until(() => !names(c.snapshot, 'namespaces').includes('shop') && c.snapshot.pods.length === 0 && c.snapshot.deployments.length === 0, 'shop and its objects gone');
    await c.dispose();
    await until(() => api.watchCount() <= watchesBefore - 3, 'the watches closed on dispose');
  });

  it('an API server that goes away: failed with the cause; recovers by itself when it comes back', async () => {
    // The connection talks to the API through a forwarder this test can take down and bring back.
    const fwd = await forwarder(new URL(api.url).port);
    try {
      const c = open({ env: { KUBECONFIG: writeConfig('via-forwarder', `http://127.0.0.1:${fwd.port}`) } });
      await c.connect();
      assert.equal(c.snapshot.state, 'connected');
      await fwd.down();
      await until(() => c.snapshot.state === 'failed', 'the failed state');
      assert.equal(c.snapshot.error?.kind, 'unreachable');
      assert.match(c.snapshot.error?.message ?? '', new RegExp(`cannot reach the Kubernetes API server at http://127\\.0\\.0\\.1:${fwd.port}`));
      assert.ok((c.snapshot.error?.hint ?? '').length > 10);
      await fwd.up();
      await until(() => c.snapshot.state === 'connected' && c.snapshot.synced, 'the reconnect', 15_000);
      assert.ok(names(c.snapshot, 'namespaces').includes('default'));
    } finally {
      await fwd.down();
    }
  });

  it('a kubeconfig that goes bad is reported as such on the next connect', async () => {
    const path = writeConfig('goes-bad', api.url);
    const c = open({ env: { KUBECONFIG: path } });
    await c.connect();
    assert.equal(c.snapshot.state, 'connected');
    writeFileSync(path, 'clusters: [unclosed');
    await c.connect();
    assert.equal(c.snapshot.state, 'failed');
    assert.equal(c.snapshot.error?.kind, 'bad-kubeconfig');
    assert.match(c.snapshot.error?.message ?? '', /is not valid YAML/);
    writeConfig('goes-bad', api.url);
    await until(() => c.snapshot.state === 'connected' && c.snapshot.synced, 'the retry after the fix', 15_000);
  });

  it('a context that does not exist is a failure value naming the available ones; switching fixes it', async () => {
    const c = open({ context: 'nope' });
    await c.connect();
    assert.equal(c.snapshot.state, 'failed');
    assert.equal(c.snapshot.error?.kind, 'context-not-found');
    assert.match(c.snapshot.error?.message ?? '', /available: fake/);
    await c.switchContext('fake');
    assert.equal(c.snapshot.state, 'connected');
    assert.equal(c.snapshot.context, 'fake');
  });

  it('no kubeconfig: failed with kind no-kubeconfig, no retry storm while paused', async () => {
    const c = open({ env: { KUBECONFIG: join(dir, 'missing') } });
    c.pause();
    let attempts = 0;
    c.onChange((s) => { if (s.state === 'connecting') attempts++; });
    await c.connect();
    assert.equal(c.snapshot.error?.kind, 'no-kubeconfig');
    await new Promise((ok) => setTimeout(ok, 500));
    assert.equal(attempts, 1, 'paused (view hidden): no retries');
  });
});
