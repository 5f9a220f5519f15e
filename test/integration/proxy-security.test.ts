/**
 * mTLS refusals, end to end: a server proxy whose certificate comes from another CA, an endpoint
 * whose certificate names another identity than the destination file says, and an impostor that
 * presents a valid mesh certificate of the wrong identity are all refused by the client proxy
 * (502 with weft-proxy-error) and no request reaches an app; plaintext straight to an inbound port
 * is served and labelled tls="no_identity".
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import http2 from 'node:http2';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { identityName } from '../../mesh/config/identity';
import { createDevCa } from '../../mesh/control/identity/ca';
import { formatAddr } from '../../mesh/proxy/discovery/discovery';
import { ALPN_MESH_H2 } from '../../mesh/proxy/transport/transport-header';
import { IdentityCerts } from '../../mesh/proxy/tls/identity-certs';
import { connectMtls } from '../../mesh/proxy/tls/mtls';
import { closeServer, listenLocal, SERVER_IDENTITY, startMesh, type Mesh } from '../helpers/mesh';
import { findSamples, parsePromText } from '../helpers/prometheus';

const OTHER_IDENTITY = identityName({ serviceAccount: 'billing', namespace: 'demo' });
const IMPOSTOR = 'impostor.demo:8080';

let requests = 0;
const app = http.createServer((req, res) => {
  requests++;
  res.end(`app ${req.url}\n`);
});
let impostorStreams = 0;
let impostor: http2.Http2SecureServer | undefined;
let foreign: Mesh | undefined;
let misnamed: Mesh | undefined;

before(async () => {
  const appPort = await listenLocal(app);
  const ca = await createDevCa();
  // A TLS server with a genuine mesh certificate — for the wrong identity — that answers any SNI.
  const leaf = await ca.issue(OTHER_IDENTITY);
  impostor = http2.createSecureServer({ key: leaf.keyPem, cert: leaf.certPem, ALPNProtocols: [ALPN_MESH_H2], minVersion: 'TLSv1.3' });
  impostor.on('stream', (stream) => {
    impostorStreams++;
    stream.respond({ ':status': 200 });
    stream.end('impostor\n');
  });
  const impostorPort = await listenLocal(impostor);
  [foreign, misnamed] = await Promise.all([
    startMesh({ servers: [{ appPort, foreignCa: true }] }),
    startMesh({
      ca,
      servers: [{ appPort, identity: SERVER_IDENTITY, advertisedIdentity: OTHER_IDENTITY }],
      extraDestinations: [{ authority: IMPOSTOR, endpoints: [{ addr: `127.0.0.1:${impostorPort}`, identity: SERVER_IDENTITY, targetPort: appPort }] }],
    }),
  ]);
});

after(async () => {
  await Promise.all([foreign?.close(), misnamed?.close()]);
  if (impostor) await closeServer(impostor);
  await closeServer(app);
});

async function get(url: string, proxy?: string): Promise<{ status: number; error: string | undefined }> {
  const u = new URL(url);
  const target = proxy ? new URL(proxy) : u;
  return new Promise((resolve, reject) => {
    http
      .get({ host: target.hostname, port: target.port, path: proxy ? url : u.pathname, agent: false, headers: { host: u.host } }, (res) => {
        res.resume();
        res.on('end', () => resolve({ status: res.statusCode ?? 0, error: res.headers['weft-proxy-error'] as string | undefined }));
      })
      .on('error', reject)
      .setTimeout(15_000, function (this: http.ClientRequest) {
        this.destroy(new Error(`no answer from ${url} in 15 s`));
      });
  });
}

test('a server proxy whose certificate comes from another CA is refused', async () => {
  const before = requests;
  const r = await get(foreign!.url('/foreign'));
  assert.equal(r.status, 502);
  assert.ok(r.error, 'weft-proxy-error is set');
  assert.match(r.error!, /mTLS|certificate|verify/i);
  assert.equal(requests, before, 'no request reached the app');
});

// The server proxy passes a ClientHello whose SNI is not its identity through to the app as the app's
// own TLS; the app's plaintext answer fails the handshake and the client proxy answers 502 (the
// reason, which quotes that answer, is made header-safe).
test('an endpoint whose certificate names another identity than discovery says is refused', async () => {
  const before = requests;
  const r = await get(misnamed!.url('/misnamed'));
  assert.equal(r.status, 502);
  assert.ok(r.error, 'weft-proxy-error is set');
  assert.equal(requests, before, 'no request reached the app');
});

test('an impostor presenting a valid mesh certificate of the wrong identity is refused by the client', async () => {
  const r = await get(`http://${IMPOSTOR}/steal`, `http://${formatAddr(misnamed!.httpProxy)}`);
  assert.equal(r.status, 502);
  assert.match(r.error ?? '', /identity|mTLS/i);
  assert.equal(impostorStreams, 0, 'no request was sent to the impostor');
});

test('plaintext straight to the inbound port is served and labelled tls="no_identity"', async () => {
  const server = foreign!.servers[0]!;
  const r = await get(`http://${formatAddr(server.inbound)}/plain`);
  assert.equal(r.status, 200);
  const samples = parsePromText(await foreign!.metrics(server.proxy));
  const plain = findSamples(samples, 'request_total', { direction: 'inbound', tls: 'no_identity' });
  assert.equal(plain.reduce((a, s) => a + s.value, 0), 1);
  // The refused mesh attempts never became inbound requests.
  assert.equal(findSamples(samples, 'request_total', { direction: 'inbound', tls: 'true' }).length, 0);
});

test('mesh connections the peer closes are closed by the server proxy too (none left in CLOSE-WAIT)', async () => {
  const m = misnamed!;
  const server = m.servers[0]!;
  const dir = join(m.dir, 'client-identity');
  const certs = await IdentityCerts.load({ certFile: join(dir, 'tls.crt'), keyFile: join(dir, 'tls.key'), trustAnchorsFile: join(dir, 'ca.crt') });
  try {
    for (let i = 0; i < 5; i++) {
      const s = await connectMtls({ host: server.inbound.host, port: server.inbound.port, expectedIdentity: SERVER_IDENTITY, alpn: [ALPN_MESH_H2], certs, timeoutMs: 10_000 });
      // FIN, then gone (not waiting for the server's own FIN: that is what is being tested).
      s.end();
      await new Promise((r) => s.once('finish', r));
      s.destroy();
    }
  } finally {
    certs.close();
  }
  const open = async (): Promise<number> =>
    findSamples(parsePromText(await m.metrics(server.proxy)), 'tcp_open_connections', { direction: 'inbound', tls: 'true' }).reduce((a, x) => a + x.value, 0);
  const closes = async (): Promise<number> =>
    findSamples(parsePromText(await m.metrics(server.proxy)), 'tcp_close_total', { direction: 'inbound', tls: 'true' }).reduce((a, x) => a + x.value, 0);
  const t0 = Date.now();
  while (((await open()) > 0 || (await closes()) < 5) && Date.now() - t0 < 10_000) await new Promise((r) => setTimeout(r, 100));
  assert.equal(await open(), 0, 'every mesh connection the client closed is closed');
  assert.ok((await closes()) >= 5);
});
