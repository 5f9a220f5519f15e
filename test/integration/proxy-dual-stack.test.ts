/**
 * A proxy process whose listeners each have an IPv4 and an IPv6 address (what the injector gives a
 * pod: `0.0.0.0:4143,[::]:4143` …): requests reach the app through either address, the admin server
 * answers on both, and an IPv6 address this host does not have is skipped with one warning instead
 * of failing the start (a pod without IPv6).
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import { after, before, test } from 'node:test';
import { spawnProxy, type ProxyProcess } from '../../dev-cluster/local/proxy-process';
import { formatAddr } from '../../mesh/proxy/discovery/discovery';
import { closeServer, listenLocal } from '../helpers/mesh';

const app = http.createServer((req, res) => res.end(JSON.stringify({ url: req.url, from: req.socket.remoteAddress })));
let proxy: ProxyProcess | undefined;
let port = 0;

async function freePort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '::', r));
  const p = (s.address() as net.AddressInfo).port;
  await new Promise((r) => s.close(r));
  return p;
}

function get(host: string, p: number, path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    http
      .get({ host, port: p, path, agent: false }, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (body += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      })
      .on('error', reject);
  });
}

before(async () => {
  const appPort = await listenLocal(app);
  port = await freePort();
  proxy = await spawnProxy({
    name: 'dual-stack',
    env: {
      WEFT_PROXY_INBOUND_ADDR: `127.0.0.1:${port},[::1]:${port}`,
      WEFT_PROXY_ADMIN_ADDR: '127.0.0.1:0,[::1]:0,[2001:db8::1]:0',
      WEFT_PROXY_APP_PORT: String(appPort),
    },
  });
});

after(async () => {
  await proxy?.stop();
  await closeServer(app);
});

test('the inbound listener serves its IPv4 and its IPv6 address, on the same port', async () => {
  assert.deepEqual(proxy!.listening.inbound, [
    { host: '127.0.0.1', port },
    { host: '::1', port },
  ]);
  for (const host of ['127.0.0.1', '::1']) {
    const r = await get(host, port, `/via-${host}`);
    assert.equal(r.status, 200, `${host}: ${r.body}`);
    assert.equal((JSON.parse(r.body) as { url: string }).url, `/via-${host}`);
  }
});

test('the admin server answers on each address it could bind; the one this host lacks is skipped with a warning', async () => {
  const admin = proxy!.listening.admin;
  assert.deepEqual(admin.map((a) => a.host), ['127.0.0.1', '::1']);
  for (const a of admin) assert.equal((await get(a.host, a.port, '/ready')).status, 200, formatAddr(a));
  const warnings = proxy!.logs.filter((l) => l['level'] === 'warn' && /listen|address/.test(String(l['msg']))).map((l) => String(l['msg']));
  assert.deepEqual(warnings, ['admin server: IPv6 address [2001:db8::1]:0 is not usable here (EADDRNOTAVAIL); serving the other addresses']);
});
