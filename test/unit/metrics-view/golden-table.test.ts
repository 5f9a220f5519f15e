import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatLatency, formatPercent, renderGoldenTable } from '../../../mesh/metrics-view/golden-table';
import type { GoldenRow } from '../../../mesh/metrics-view/golden-metrics';

const row = (o: Partial<GoldenRow>): GoldenRow => ({
  workload: 'api', direction: 'inbound', authority: 'api.demo:80', responses: 40, rps: 20, successRate: 0.95,
  p50Ms: 2.5, p95Ms: 18, p99Ms: 1500, mtls: 'yes', tcpOpen: 1, ...o,
});

test('formatting of rates and latencies', () => {
  assert.equal(formatPercent(0.95), '95.00%');
  assert.equal(formatPercent(undefined), '-');
  assert.equal(formatLatency(2.5), '2.5ms');
  assert.equal(formatLatency(18.4), '18ms');
  assert.equal(formatLatency(1500), '1.50s');
  assert.equal(formatLatency(undefined), '-');
});

test('a header and one aligned line per row', () => {
  const out = renderGoldenTable([row({}), row({ workload: 'traffic', direction: 'outbound', authority: 'web.demo:80', successRate: undefined, rps: 0, mtls: undefined, tcpOpen: 12 })]);
  const lines = out.trimEnd().split('\n');
  assert.equal(lines.length, 3);
  assert.match(renderGoldenTable([row({ tcpOpen: undefined })]), /yes\s+-\n$/);
  assert.match(lines[0]!, /^WORKLOAD\s+DIRECTION\s+AUTHORITY\s+SUCCESS\s+RPS\s+P50\s+P95\s+P99\s+MTLS\s+TCP$/);
  assert.match(lines[1]!, /^api\s+inbound\s+api\.demo:80\s+95\.00%\s+20\.0\s+2\.5ms\s+18ms\s+1\.50s\s+yes\s+1$/);
  assert.match(lines[2]!, /^traffic\s+outbound\s+web\.demo:80\s+-\s+0\.0\s.*-\s+12$/);
  // Columns line up: every SUCCESS cell ends where the header's does.
  const end = lines[0]!.indexOf('SUCCESS') + 'SUCCESS'.length;
  for (const l of lines.slice(1)) assert.match(l.slice(0, end), /(%|-)$/);
});
