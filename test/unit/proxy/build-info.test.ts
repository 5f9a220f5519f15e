import { test } from 'node:test';
import assert from 'node:assert/strict';
import { WEFT_VERSION } from '../../../mesh/config/names';
import { ProxyMetrics } from '../../../mesh/proxy/metrics/proxy-metrics';
import { recordBuildInfo } from '../../../mesh/proxy/proxy';

test('proxy_build_info carries the version, the identity and the workload labels', async () => {
  const metrics = new ProxyMetrics(undefined, { processMetrics: false });
  recordBuildInfo(metrics, 'web.demo.serviceaccount.identity.weft.cluster.local', { namespace: 'demo', pod: 'web-1' });
  const line = (await metrics.metricsText()).split('\n').find((l) => l.startsWith('proxy_build_info{'));
  assert.equal(
    line,
    `proxy_build_info{version="${WEFT_VERSION}",identity="web.demo.serviceaccount.identity.weft.cluster.local",namespace="demo",pod="web-1"} 1`,
  );
});

test('a proxy without identity or workload labels still reports its version', async () => {
  const metrics = new ProxyMetrics(undefined, { processMetrics: false });
  recordBuildInfo(metrics, undefined, {});
  assert.match(await metrics.metricsText(), new RegExp(`^proxy_build_info\\{version="${WEFT_VERSION.replace(/\./g, '\\.')}",identity=""\\} 1$`, 'm'));
});
