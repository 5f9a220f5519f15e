// A destination service in its own process for destination-client.test.ts (so that it can be
// SIGKILLed). argv[2]: `{ port, authority, ports }`; answers `{ port }` on IPC once listening.
import { startDestinationServer } from '../../../../mesh/control/destination/destination-server';
import { MemoryModelSource } from '../../../../mesh/control/destination/model-source';

const arg = JSON.parse(process.argv[2] ?? '{}') as { port: number; authority: string; ports: number[] };
const source = new MemoryModelSource({
  services: [{ authority: arg.authority, name: 'svc', namespace: 'test', endpoints: arg.ports.map((port) => ({ addr: { host: '127.0.0.1', port }, labels: {} })) }],
});
const server = await startDestinationServer({ host: '127.0.0.1', port: arg.port, source });
process.on('disconnect', () => process.exit(0));
process.send?.({ port: server.port });
