/**
 * Certificate rotation under load: 20 concurrent request loops run through client proxy → mTLS →
 * server proxy while the server proxy's identity files are rewritten with a new leaf. No request
 * may fail, and a new mTLS connection to the server proxy must see the new certificate.
 */
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import http from 'node:http';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import tls from 'node:tls';
import { IDENTITY_FILES } from '../../mesh/control/identity/ca';
import { ALPN_MESH_H2 } from '../../mesh/proxy/transport/transport-header';
import { CLIENT_IDENTITY, closeServer, findLog, listenLocal, SERVER_IDENTITY, startMesh, type Mesh } from '../helpers/mesh';
import { eventually } from '../helpers/prometheus';

const LOOPS = 20;
const RUN_MS = 4_000;

const app = http.createServer((_req, res) => res.end('ok'));
let mesh: Mesh | undefined;
const agent = new http.Agent({ keepAlive: true, maxSockets: LOOPS });

before(async () => {
  mesh = await startMesh({ servers: [{ appPort: await listenLocal(app) }] });
});

after(async () => {
  agent.destroy();
  await mesh?.close();
  await closeServer(app);
});

function request(url: string): Promise<number> {
  return new Promise((resolve) => {
    http
      .get(url, { agent }, (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
        res.on('error', () => resolve(-1));
      })
      .on('error', () => resolve(-1))
      .setTimeout(10_000, function (this: http.ClientRequest) {
        this.destroy();
      });
  });
}

async function serialFromFile(dir: string): Promise<string> {
  return new X509Certificate(await readFile(join(dir, IDENTITY_FILES.cert))).serialNumber.toUpperCase();
}

/** A direct mTLS handshake with the server proxy, as a peer proxy would: the leaf it presents now. */
async function presentedSerial(m: Mesh): Promise<string> {
  const leaf = await m.ca.issue(CLIENT_IDENTITY);
  const server = m.servers[0]!;
  return new Promise((resolve, reject) => {
    const s = tls.connect({
      host: server.inbound.host,
      port: server.inbound.port,
      servername: SERVER_IDENTITY,
      ALPNProtocols: [ALPN_MESH_H2],
      minVersion: 'TLSv1.3',
      key: leaf.keyPem,
      cert: leaf.certPem,
      ca: m.ca.anchor.certPem,
    });
    s.once('secureConnect', () => {
      const serial = s.getPeerX509Certificate()?.serialNumber.toUpperCase() ?? '';
      s.destroy();
      resolve(serial);
    });
    s.once('error', reject);
  });
}

test('rotating the server certificate under load fails no request; new connections get the new leaf', { timeout: 40_000 }, async () => {
  const m = mesh!;
  const server = m.servers[0]!;
  const oldSerial = await serialFromFile(server.identityDir);
  assert.equal(await presentedSerial(m), oldSerial);

  const counts = { ok: 0, failed: 0, afterRotation: 0 };
  let rotatedAt = Infinity;
  const deadline = Date.now() + RUN_MS;
  const loop = async (): Promise<void> => {
    while (Date.now() < deadline) {
      const status = await request(m.url('/load'));
      if (status === 200) counts.ok++;
      else counts.failed++;
      if (Date.now() > rotatedAt) counts.afterRotation++;
    }
  };
  const loops = Array.from({ length: LOOPS }, loop);

  await new Promise((r) => setTimeout(r, RUN_MS / 3));
  await m.ca.writeIdentity(server.identityDir, SERVER_IDENTITY);
  const newSerial = await serialFromFile(server.identityDir);
  assert.notEqual(newSerial, oldSerial);
  await eventually(async () => (findLog(server.proxy, 'identity certificate rotated') ? true : undefined), RUN_MS, 'rotation log line');
  rotatedAt = Date.now();
  await Promise.all(loops);

  assert.equal(counts.failed, 0, `${counts.failed} of ${counts.ok + counts.failed} requests failed`);
  assert.ok(counts.ok >= 100, `only ${counts.ok} requests completed`);
  assert.ok(counts.afterRotation > 0, 'no request ran after the rotation');
  assert.equal(await presentedSerial(m), newSerial, 'a new connection still sees the old certificate');
  // The pooled connection of the client proxy survived: a request after the run works too.
  assert.equal(await request(m.url('/after')), 200);
});
