// KubeInformer against the fake API server, driven by client-node: initial list then watch,
// typed events, bookmarks that spare a relist, 410 Gone → relist with deletions reported, an
// unreachable API retried with back-off while the cache is kept, and a clean stop.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CoreV1Api, KubeConfig, type V1ConfigMap } from '@kubernetes/client-node';
import { backoffDelay, KubeInformer, type InformerEvent } from '../../../mesh/platform/kube-informer';
import { findResourceType, kubeconfigYaml, startFakeKubeApi, type FakeKubeApi } from '../../fixtures/kube-api';
import { startApiSwitch } from './api-switch';

const cmType = findResourceType('', 'v1', 'configmaps')!;
const secretType = findResourceType('', 'v1', 'secrets')!;

async function until(what: string, cond: () => boolean, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

function kubeConfigFor(url: string): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromString(kubeconfigYaml({ server: url }));
  return kc;
}

function informerFor(url: string, extra: { initialBackoffMs?: number; log?: (l: 'info' | 'warn', m: string) => void } = {}): KubeInformer<V1ConfigMap> {
  const kc = kubeConfigFor(url);
  const core = kc.makeApiClient(CoreV1Api);
  return new KubeInformer<V1ConfigMap>({ kubeConfig: kc, path: '/api/v1/configmaps', list: () => core.listConfigMapForAllNamespaces(), name: 'configmaps', ...extra });
}

const names = (inf: KubeInformer<V1ConfigMap>): string[] => inf.list().map((o) => `${o.metadata?.namespace}/${o.metadata?.name}=${o.data?.['v'] ?? ''}`).sort();

describe('backoffDelay', () => {
  it('doubles from the initial delay up to the cap, with ±20 % jitter', () => {
    assert.equal(backoffDelay(0, 100, 10_000, () => 0.5), 100);
    assert.equal(backoffDelay(3, 100, 10_000, () => 0.5), 800);
    assert.equal(backoffDelay(20, 100, 10_000, () => 0.5), 10_000);
    assert.equal(backoffDelay(0, 100, 10_000, () => 0), 80);
    assert.equal(backoffDelay(0, 100, 10_000, () => 1), 120);
  });
});

describe('KubeInformer', () => {
  let api: FakeKubeApi;
  let dir: string;
  before(async () => {
    api = await startFakeKubeApi();
    dir = mkdtempSync(join(tmpdir(), 'weft-informer-'));
  });
  after(async () => {
    await api.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('lists, resolves synced after the initial adds, then follows add/update/delete', async () => {
    api.store.create(cmType, 'default', { metadata: { name: 'a' }, data: { v: '1' } });
    api.store.create(cmType, 'kube-system', { metadata: { name: 'b' }, data: { v: '1' } });
    const inf = informerFor(api.url);
    const events: string[] = [];
    inf.on((e: InformerEvent<V1ConfigMap>) => events.push(`${e.type} ${e.object.metadata?.name}`));
    inf.start();
    try {
      await inf.synced;
      assert.deepEqual(events.sort(), ['add a', 'add b'], 'synced comes after the listed objects were delivered');
      assert.deepEqual(names(inf), ['default/a=1', 'kube-system/b=1']);
      events.length = 0;
      api.store.create(cmType, 'default', { metadata: { name: 'c' }, data: { v: '1' } });
      api.store.patch(cmType, 'default', 'a', 'application/merge-patch+json', { data: { v: '2' } });
      api.store.delete(cmType, 'kube-system', 'b');
      await until('three events', () => events.length === 3);
      assert.deepEqual(events, ['add c', 'update a', 'delete b']);
      assert.deepEqual(names(inf), ['default/a=2', 'default/c=1']);
      assert.equal(inf.get('a', 'default')?.data?.['v'], '2');
      assert.equal(inf.stats.lists, 1);
      assert.equal(inf.resourceVersion(), String(api.store.resourceVersion));
    } finally {
      await inf.stop();
    }
    await until('its watch to close', () => api.watchCount() === 0);
    for (const n of ['a', 'c']) api.store.delete(cmType, 'default', n);
  });

  it('a bookmark advances the version, so a re-watch after compaction needs no relist', async () => {
    const inf = informerFor(api.url);
    inf.start();
    try {
      await inf.synced;
      await until('the watch', () => api.watchCount() === 1);
      // Changes of another type move the global version on; this watch sees none of them.
      for (let i = 0; i < 3; i++) api.store.create(secretType, 'default', { metadata: { name: `s${i}` } });
      const before = inf.stats.watches;
      api.sendBookmarks();
      await until('the bookmark', () => inf.stats.bookmarks === 1);
      assert.equal(inf.resourceVersion(), String(api.store.resourceVersion));
      api.compact();
      api.closeWatches();
      await until('a new watch', () => inf.stats.watches > before && api.watchCount() === 1);
      api.store.create(cmType, 'default', { metadata: { name: 'after' }, data: { v: '1' } });
      await until('the new object', () => inf.get('after', 'default') !== undefined);
      assert.equal(inf.stats.gone, 0, 'no 410: the bookmark kept the version current');
      assert.equal(inf.stats.lists, 1, 'no relist');
    } finally {
      await inf.stop();
    }
    api.store.delete(cmType, 'default', 'after');
  });

  it('410 Gone → relist; objects deleted or changed while the watch was away are reported', async () => {
    api.store.create(cmType, 'default', { metadata: { name: 'keep' }, data: { v: '1' } });
    api.store.create(cmType, 'default', { metadata: { name: 'gone' }, data: { v: '1' } });
    const switcher = await startApiSwitch(api.url);
    const inf = informerFor(switcher.url, { initialBackoffMs: 50 });
    const events: string[] = [];
    inf.on((e) => events.push(`${e.type} ${e.object.metadata?.name}`));
    inf.start();
    try {
      await inf.synced;
      await until('the watch', () => api.watchCount() === 1);
      // The informer is cut off; meanwhile things change and the history is compacted away.
      await switcher.down();
      api.store.delete(cmType, 'default', 'gone');
      api.store.patch(cmType, 'default', 'keep', 'application/merge-patch+json', { data: { v: '2' } });
      api.store.create(cmType, 'default', { metadata: { name: 'new' }, data: { v: '1' } });
      api.compact();
      events.length = 0;
      await switcher.up();
      await until('the relist', () => inf.stats.lists === 2 && events.length === 3);
      assert.ok(inf.stats.gone >= 1, 'the re-watch met 410 Gone');
      assert.deepEqual(events.sort(), ['add new', 'delete gone', 'update keep']);
      assert.deepEqual(names(inf), ['default/keep=2', 'default/new=1']);
      // And it watches again from the relist's version.
      api.store.create(cmType, 'default', { metadata: { name: 'later' }, data: { v: '1' } });
      await until('a live event after the relist', () => inf.get('later', 'default') !== undefined);
    } finally {
      await inf.stop();
      await switcher.close();
    }
    for (const n of ['keep', 'new', 'later']) api.store.delete(cmType, 'default', n);
  });

  it('an unreachable API is retried with back-off; the cache is kept and catches up when it is back', async () => {
    api.store.create(cmType, 'default', { metadata: { name: 'x' }, data: { v: '1' } });
    const switcher = await startApiSwitch(api.url);
    const logs: string[] = [];
    const inf = informerFor(switcher.url, { initialBackoffMs: 50, log: (_l, m) => logs.push(m) });
    inf.start();
    try {
      await inf.synced;
      await switcher.down();
      await until('a few failed attempts', () => inf.stats.errors >= 3);
      assert.deepEqual(names(inf), ['default/x=1'], 'last-known state kept during the outage');
      assert.ok(inf.failing >= 3);
      assert.equal(logs.filter((l) => l.includes('retrying')).length, 1, 'the same failure is logged once, not per attempt');
      api.store.patch(cmType, 'default', 'x', 'application/merge-patch+json', { data: { v: '2' } });
      await switcher.up();
      await until('the change made during the outage', () => inf.get('x', 'default')?.data?.['v'] === '2');
      assert.equal(inf.failing, 0);
      assert.ok(logs.some((l) => l.includes('connected again')));
    } finally {
      await inf.stop();
      await switcher.close();
    }
    api.store.delete(cmType, 'default', 'x');
  });

  it('an API that is down from the start: synced waits, then resolves when it comes up; stop before sync rejects it', async () => {
    const switcher = await startApiSwitch(api.url);
    await switcher.down();
    const inf = informerFor(switcher.url, { initialBackoffMs: 50 });
    inf.start();
    let synced = false;
    void inf.synced.then(() => (synced = true));
    try {
      await until('failed attempts', () => inf.stats.errors >= 2);
      assert.equal(synced, false);
      await switcher.up();
      await inf.synced;
    } finally {
      await inf.stop();
      await switcher.close();
    }
    const never = informerFor('http://127.0.0.1:1', { initialBackoffMs: 50 });
    never.start();
    await never.stop();
    await assert.rejects(never.synced, /stopped before its first list/);
  });
});
