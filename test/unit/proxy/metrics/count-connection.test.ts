import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { countConnection, ProxyMetrics, type TrafficLabels } from '../../../../mesh/proxy/metrics/proxy-metrics';

const labels: TrafficLabels = { direction: 'inbound', authority: '127.0.0.1:8080', target_addr: '127.0.0.1:8080', tls: 'true', client_id: 'web.demo.serviceaccount.identity.weft.cluster.local' };

function sample(text: string, name: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${name}{`) && l.includes('direction="inbound"'));
  return line === undefined ? undefined : Number(line.slice(line.lastIndexOf(' ') + 1));
}

test('an HTTP connection is open in tcp_* metrics until it closes, then reports its bytes', async () => {
  const metrics = new ProxyMetrics(undefined, { processMetrics: false });
  const socket = Object.assign(new PassThrough(), { bytesRead: 0, bytesWritten: 0 });
  countConnection(metrics, socket, labels);
  let text = await metrics.metricsText();
  assert.equal(sample(text, 'tcp_open_total'), 1);
  assert.equal(sample(text, 'tcp_open_connections'), 1);
  socket.bytesRead = 1234;
  socket.bytesWritten = 567;
  socket.destroy();
  await new Promise((r) => socket.once('close', r));
  text = await metrics.metricsText();
  assert.equal(sample(text, 'tcp_open_connections'), 0);
  assert.equal(sample(text, 'tcp_read_bytes_total'), 1234);
  assert.equal(sample(text, 'tcp_write_bytes_total'), 567);
  assert.equal(sample(text, 'tcp_close_total'), 1);
});
