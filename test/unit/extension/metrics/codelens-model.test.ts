import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { lensText, lensTooltip, manifestResources, rowFor } from '../../../../extension/codelens/metrics-codelens-model';
import { statRow } from './fixtures';

const MANIFEST = `# the voting service
apiVersion: v1
kind: Service
metadata:
  name: voting
  namespace: demo
spec:
  ports: [{ port: 8080 }]
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: voting
spec:
  replicas: 1
---
apiVersion: v1
kind: ConfigMap
metadata: { name: voting-config }
---
kind: Deployment
metadata: { name: [broken
`;

describe('CodeLens on manifests', () => {
  test('finds Services and workloads with their namespace and the line of their kind', () => {
    assert.deepEqual(manifestResources(MANIFEST), [
      { kind: 'service', manifestKind: 'Service', name: 'voting', namespace: 'demo', line: 2 },
      { kind: 'workload', manifestKind: 'Deployment', name: 'voting', namespace: undefined, line: 10 },
    ]);
    assert.deepEqual(manifestResources(''), []);
    assert.deepEqual(manifestResources('just: text\n'), []);
  });

  test('matches by kind, namespace and name; without a namespace only an unambiguous name', () => {
    const rows = [statRow({ name: 'voting', kind: 'service' }), statRow({ name: 'voting' }), statRow({ name: 'voting', namespace: 'other' }), statRow({ name: 'web' })];
    const [svc, deploy] = manifestResources(MANIFEST);
    assert.equal(rowFor(svc!, rows), rows[0]);
    assert.equal(rowFor(deploy!, rows), undefined, 'voting runs in two namespaces');
    assert.equal(rowFor(deploy!, rows.slice(0, 2)), rows[1]);
    assert.equal(rowFor({ ...svc!, namespace: 'elsewhere' }, rows), undefined);
  });

  test('the lens text: icon by health, success with one decimal (never rounded up to 100 %), rps', () => {
    assert.equal(lensText(statRow({ name: 'a', successRate: 0.98234, rps: 12.44 })), '✖ 98.2% success · 12.4 rps');
    assert.equal(lensText(statRow({ name: 'a', successRate: 0.9982, rps: 12.44 })), '⚠ 99.8% success · 12.4 rps');
    assert.equal(lensText(statRow({ name: 'a', successRate: 1, rps: 3 })), '✔ 100% success · 3.0 rps');
    assert.equal(lensText(statRow({ name: 'a', successRate: 0.99996, rps: 3 })), '✔ 99.9% success · 3.0 rps');
    assert.equal(lensText(statRow({ name: 'a', successRate: 0.5, rps: 1 })), '✖ 50.0% success · 1.0 rps');
  });

  test('no data, no lens', () => {
    assert.equal(lensText(undefined), undefined);
    assert.equal(lensText(statRow({ name: 'a', podsWithData: 0 })), undefined);
    assert.equal(lensText(statRow({ name: 'a', responses: 0, successRate: undefined })), undefined);
  });

  test('the tooltip names the percentiles and the source', () => {
    assert.match(lensTooltip(statRow({ name: 'web', p50Ms: 2.5, p95Ms: 40, p99Ms: undefined }), 'local mode', '30s'), /^workload demo\/web over the last 30s: p50 2\.5 ms, p95 40 ms, p99 –; .*local mode/);
  });
});
