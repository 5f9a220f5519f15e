/**
 * The kind dev cluster end to end (where Docker runs and kind is installed; .github/workflows/kind.yml
 * runs it with WEFT_KIND_REQUIRED=1, which turns a skip into a failure): `clusterUp` builds and loads
 * the mesh image, installs the mesh, injects the demo and waits for its traffic in the metrics API;
 * the demo's pods then carry the init container and the proxy; a second `up` with the same name is
 * refused without touching the cluster; `clusterDown` removes it (also when a test fails).
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, test } from 'node:test';
import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { Kind, KindError } from '../../../dev-cluster/kind';
import { clusterDown, clusterUp, ClusterError, DEMO_NAMESPACE } from '../../../dev-cluster/cluster';

const NAME = `weft-e2e-${randomBytes(3).toString('hex')}`;
let created = false;
after(async () => {
  if (created) await clusterDown({ name: NAME }).catch((e: Error) => console.error(`cleanup: ${e.message}`));
});

async function skipReason(): Promise<string | false> {
  try {
    await new Kind().preflight();
    return false;
  } catch (e) {
    if (e instanceof KindError) return `${e.message} (${e.hint})`;
    throw e;
  }
}

test('weft cluster up: mesh installed, demo injected, its traffic in the metrics API; a taken name refused; down removes it', { timeout: 45 * 60_000 }, async (t) => {
  const skip = await skipReason();
  if (skip) {
    if (process.env['WEFT_KIND_REQUIRED'] === '1') throw new Error(`the kind suite is required here but cannot run: ${skip}`);
    return t.skip(`kind suite skipped: ${skip}`);
  }
  const steps: string[] = [];
  created = true;
  const { kubeconfig } = await clusterUp({ name: NAME, onStep: (e) => steps.push(`${e.step}: ${e.message}`) });
  assert.ok(steps.some((s) => s.startsWith('traffic: ready')), steps.join('\n'));

  const kc = new KubeConfig();
  kc.loadFromString(kubeconfig);
  const pods = (await kc.makeApiClient(CoreV1Api).listNamespacedPod({ namespace: DEMO_NAMESPACE })).items.filter((p) => p.status?.phase === 'Running');
  assert.ok(pods.length >= 5, `demo pods running: ${pods.length}`);
  for (const p of pods) {
    const names = [...(p.spec?.initContainers ?? []), ...(p.spec?.containers ?? [])].map((c) => c.name);
    assert.ok(names.some((n) => n.includes('init')), `${p.metadata?.name}: init container (${names.join(', ')})`);
    assert.ok(names.some((n) => n.includes('proxy')), `${p.metadata?.name}: proxy (${names.join(', ')})`);
  }

  await assert.rejects(clusterUp({ name: NAME }), (e: unknown) => e instanceof ClusterError && /already exists/.test(e.message));
  assert.ok((await new Kind().listClusters()).includes(NAME), 'a refused up leaves the existing cluster alone');

  assert.deepEqual(await clusterDown({ name: NAME }), { removed: true });
  created = false;
  assert.ok(!(await new Kind().listClusters()).includes(NAME));
});
