/**
 * The destination service in its own process for test/bench/destination.bench.ts (so its RSS is its
 * own). argv[2]: `{ services, endpointsPerService }`. IPC in: `{ type: 'set', version, scope }` (svc-0's
 * first endpoint, or every endpoint, moves to a port that encodes the version), `{ type: 'rss' }`. IPC out: `ready` with the port,
 * `set` once the model is applied, `rss` with MB after a GC when exposed. Exits with its parent.
 */
import { startDestinationServer } from '../../../mesh/control/destination/destination-server';
import { MemoryModelSource } from '../../../mesh/control/destination/model-source';
import type { MeshModel } from '../../../mesh/control/destination/destination-model';

const { services, endpointsPerService } = JSON.parse(process.argv[2] ?? '{}') as { services: number; endpointsPerService: number };

/** `one`: only the first endpoint of svc-0 moves (a pod restarted); `all`: every endpoint moves. */
function benchModel(nServices: number, perService: number, version: number, scope: 'one' | 'all'): MeshModel {
  return {
    services: Array.from({ length: nServices }, (_, i) => ({
      authority: `svc-${i}.bench.svc.cluster.local:8080`,
      name: `svc-${i}`,
      namespace: 'bench',
      endpoints: Array.from({ length: perService }, (_, j) => ({
        addr: { host: `10.${i & 255}.${(j >> 8) & 255}.${j & 255}`, port: scope === 'all' || (i === 0 && j === 0) ? 10_000 + (version % 50_000) : 9_000 },
        identity: `svc-${i}.bench.serviceaccount.identity.weft.cluster.local`,
        targetPort: 8080,
        labels: { pod: `svc-${i}-${j}`, serviceaccount: `svc-${i}` },
      })),
    })),
  };
}

const source = new MemoryModelSource(benchModel(services, endpointsPerService, 0, 'all'));
const server = await startDestinationServer({ host: '127.0.0.1', port: 0, source });
process.on('message', (m: { type: string; version?: number; scope?: 'one' | 'all' }) => {
  if (m.type === 'set') {
    source.set(benchModel(services, endpointsPerService, m.version ?? 0, m.scope ?? 'one'));
    process.send?.({ type: 'set' });
  } else if (m.type === 'rss') {
    (globalThis as { gc?: () => void }).gc?.();
    process.send?.({ type: 'rss', mb: process.memoryUsage().rss / 1048576, watches: server.watchCount() });
  }
});
process.on('disconnect', () => void server.close().then(() => process.exit(0)));
process.on('SIGTERM', () => void server.close().then(() => process.exit(0)));
process.send?.({ type: 'ready', port: server.port });
