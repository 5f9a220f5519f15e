/**
 * Graceful shutdown of a real proxy process: a slow request in flight when SIGTERM arrives completes,
 * new connections are refused from then on, and the process exits within its grace period.
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import { after, before, test } from 'node:test';
import { spawnProxy, type ProxyProcess } from '../../dev-cluster/local/proxy-process';
import { httpGet, listenServer, track } from '../helpers/tcp-mesh';

const GRACE_MS = 3_000;
let app: Awaited<ReturnType<typeof listenServer<http.Server>>>;
let proxy: ProxyProcess | undefined;

before(async () => {
  app = await listenServer(
    http.createServer((req, res) => {
      const delay = req.url === '/slow' ? 1_000 : 0;
      setTimeout(() => res.writeHead(200, { 'content-type': 'text/plain' }).end(`done ${req.url}`), delay);
    }),
  );
  // A plain (no identity) proxy in front of the app: its upstream listener forwards to the app's address.
  proxy = await track(
    spawnProxy({
      name: 'shutdown',
      env: { WEFT_PROXY_UPSTREAMS: `127.0.0.1:${app.port}=127.0.0.1:0`, WEFT_PROXY_SHUTDOWN_GRACE: `${GRACE_MS}ms` },
    }),
  );
});
after(async () => {
  await proxy?.stop(1_000);
  await app?.close();
});

function refused(port: number): Promise<string> {
  return new Promise((resolve) => {
    const s = net.connect({ host: '127.0.0.1', port });
    s.once('connect', () => {
      s.destroy();
      resolve('connected');
    });
    s.once('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? e.message));
  });
}

test('SIGTERM: the in-flight slow request completes, new connections are refused, the process exits within the grace period', { timeout: 15_000 }, async () => {
  const p = proxy!;
  const listen = p.upstreams.get(`127.0.0.1:${app.port}`)!;
  assert.equal((await httpGet(listen, '/warm')).body, 'done /warm');

  const exited = new Promise<number>((resolve) => p.child.once('exit', () => resolve(performance.now())));
  // A keep-alive client, as most are: the connection stays open after the answer.
  const agent = new http.Agent({ keepAlive: true });
  const slow = new Promise<{ status: number; body: string }>((resolve, reject) => {
    http
      .get({ host: listen.host, port: listen.port, path: '/slow', agent }, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (body += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
        res.on('error', reject);
      })
      .on('error', reject);
  });
  await new Promise((r) => setTimeout(r, 200)); // the request is at the app now
  const signalled = performance.now();
  p.child.kill('SIGTERM');
  await new Promise((r) => setTimeout(r, 200));
  assert.equal(await refused(listen.port), 'ECONNREFUSED', 'a new connection after SIGTERM');

  const r = await slow;
  assert.deepEqual(r, { status: 200, body: 'done /slow' }, 'the in-flight request completed');
  const exitAt = await Promise.race([exited, new Promise<number>((resolve) => setTimeout(() => resolve(-1), GRACE_MS + 3_000))]);
  agent.destroy();
  assert.notEqual(exitAt, -1, `the proxy did not exit within ${GRACE_MS + 3_000} ms of SIGTERM`);
  assert.ok(exitAt - signalled < GRACE_MS + 1_000, `exited ${(exitAt - signalled).toFixed(0)} ms after SIGTERM (grace ${GRACE_MS} ms)`);
  assert.equal(p.child.exitCode, 0);
  assert.ok(p.logs.some((l) => l['msg'] === 'proxy stopped'));
});
