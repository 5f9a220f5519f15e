/**
 * mesh/proxy/listeners.ts: one listener on several addresses. IPv4 and IPv6 share a port on separate
 * sockets; an IPv6 address the host cannot use is skipped (not the first one, and not another error).
 */
import assert from 'node:assert/strict';
import net from 'node:net';
import { after, test } from 'node:test';
import { listenAll } from '../../../mesh/proxy/listeners';
import type { Logger } from '../../../mesh/proxy/log';

const open: net.Server[] = [];
after(() => {
  for (const s of open) s.close();
});

function recorder(): { log: Logger; warnings: string[] } {
  const warnings: string[] = [];
  const none = (): void => undefined;
  return { warnings, log: { error: none, info: none, debug: none, warn: (m) => void warnings.push(m), enabled: () => true } };
}

async function freePort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as net.AddressInfo).port;
  await new Promise((r) => s.close(r));
  return port;
}

function connectTo(host: string, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const c = net.connect({ host, port }, () => {
      c.destroy();
      resolve();
    });
    c.on('error', reject);
  });
}

test('IPv4 and IPv6 on the same port, each on its own socket; connections arrive on both', async () => {
  const port = await freePort();
  const seen: string[] = [];
  const { log, warnings } = recorder();
  const { bound, servers } = await listenAll([{ host: '0.0.0.0', port }, { host: '::', port }], () => net.createServer((s) => void seen.push(s.localAddress ?? '')), log, 'test');
  open.push(...servers);
  assert.deepEqual(bound, [{ host: '0.0.0.0', port }, { host: '::', port }]);
  await connectTo('127.0.0.1', port);
  await connectTo('::1', port);
  await new Promise((r) => setTimeout(r, 50));
  assert.deepEqual(seen.sort(), ['127.0.0.1', '::1'].sort());
  assert.deepEqual(warnings, []);
});

test('an IPv6 address the host does not have is skipped with a warning; the others serve', async () => {
  const { log, warnings } = recorder();
  const { bound, servers } = await listenAll([{ host: '127.0.0.1', port: 0 }, { host: '2001:db8::1', port: 0 }], () => net.createServer(), log, 'outbound listener');
  open.push(...servers);
  assert.equal(bound.length, 1);
  assert.equal(servers.length, 1);
  assert.match(warnings.join('\n'), /^outbound listener: IPv6 address \[2001:db8::1\]:0 is not usable here \(EADDRNOTAVAIL\); serving the other addresses$/);
});

test('the first address must bind, and so must an IPv4 address or another error; what was bound is closed', async () => {
  const { log } = recorder();
  await assert.rejects(listenAll([{ host: '2001:db8::1', port: 0 }], () => net.createServer(), log, 'inbound listener'), /inbound listener cannot listen on \[2001:db8::1\]:0: .*EADDRNOTAVAIL/);
  const taken = net.createServer();
  await new Promise<void>((r) => taken.listen(0, '127.0.0.1', r));
  open.push(taken);
  const port = (taken.address() as net.AddressInfo).port;
  const made: net.Server[] = [];
  await assert.rejects(
    listenAll([{ host: '::1', port: 0 }, { host: '127.0.0.1', port }], () => (made.push(net.createServer()), made.at(-1)!), log, 'admin server'),
    /admin server cannot listen on 127\.0\.0\.1:\d+: .*EADDRINUSE/,
  );
  assert.equal(made[0]!.listening, false, 'the first server, bound before the failure, is closed');
});
