/**
 * Forward-proxy mode: apps that speak to an HTTP proxy (curl -x, http_proxy / HTTP_PROXY) name
 * the service in the request; the client proxy resolves it and carries it over mTLS.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import http from 'node:http';
import { after, before, test } from 'node:test';
import { promisify } from 'node:util';
import { formatAddr } from '../../mesh/proxy/discovery/discovery';
import { CLIENT_IDENTITY, closeServer, listenLocal, startMesh, type Mesh } from '../helpers/mesh';

const run = promisify(execFile);
const PYTHON = '/usr/bin/python3';

const app = http.createServer((req, res) => {
  res.setHeader('content-type', 'application/json');
  res.end(JSON.stringify({ url: req.url, host: req.headers.host, clientId: req.headers['weft-client-id'] ?? null }));
});
let appPort = 0;
let mesh: Mesh | undefined;
let proxyUrl = '';

interface Seen {
  url: string;
  host: string;
  clientId: string | null;
}

before(async () => {
  appPort = await listenLocal(app);
  mesh = await startMesh({ servers: [{ appPort }], authorities: ['web.demo:8080', 'svc.ns:80'] });
  proxyUrl = `http://${formatAddr(mesh.httpProxy)}`;
});

after(async () => {
  await mesh?.close();
  await closeServer(app);
});

const curl = async (args: string[], env: NodeJS.ProcessEnv = {}): Promise<string> =>
  (await run('curl', ['-sS', '--fail', '--max-time', '10', ...args], { env: { PATH: process.env['PATH'], ...env } })).stdout;

test('curl -x http://proxy http://svc.ns:80/ goes over the mesh', async () => {
  const seen = JSON.parse(await curl(['-x', proxyUrl, 'http://svc.ns:80/path?q=1'])) as Seen;
  assert.deepEqual(seen, { url: '/path?q=1', host: 'svc.ns:80', clientId: CLIENT_IDENTITY });
});

test('the http_proxy environment variable (curl) and HTTP_PROXY (Python urllib) work', async () => {
  const viaCurl = JSON.parse(await curl(['http://web.demo:8080/env'], { http_proxy: proxyUrl })) as Seen;
  assert.equal(viaCurl.clientId, CLIENT_IDENTITY);
  assert.equal(viaCurl.url, '/env');
  if (!existsSync(PYTHON)) return;
  const { stdout } = await run(PYTHON, ['-c', 'import urllib.request,sys; sys.stdout.write(urllib.request.urlopen("http://svc.ns/py", timeout=10).read().decode())'], {
    env: { PATH: process.env['PATH'], HTTP_PROXY: proxyUrl },
  });
  const viaPython = JSON.parse(stdout) as Seen;
  assert.equal(viaPython.url, '/py');
  assert.equal(viaPython.clientId, CLIENT_IDENTITY);
});

test('an origin-form request with a Host header is routed by the Host', async () => {
  const seen = JSON.parse(await curl(['-H', 'Host: svc.ns:80', `${proxyUrl}/by-host`])) as Seen;
  assert.equal(seen.url, '/by-host');
  assert.equal(seen.clientId, CLIENT_IDENTITY);
});

test('CONNECT svc.ns:80 opens a tunnel over the mesh (curl -p)', async () => {
  const seen = JSON.parse(await curl(['-p', '-x', proxyUrl, 'http://svc.ns:80/tunnel'])) as Seen;
  assert.equal(seen.url, '/tunnel');
  // An opaque tunnel: the app sees no HTTP header from the proxy.
  assert.equal(seen.clientId, null);
});

test('a host discovery does not know goes to its own address in plaintext', async () => {
  const seen = JSON.parse(await curl(['-x', proxyUrl, `http://127.0.0.1:${appPort}/direct`])) as Seen;
  assert.equal(seen.url, '/direct');
  assert.equal(seen.clientId, null);
});
