import { test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import * as net from 'node:net';
import * as tls from 'node:tls';
import { IdentityCerts } from '../../../../mesh/proxy/tls/identity-certs';
import {
  attachRotation,
  confirmedServerIdentity,
  connectMtls,
  serverTlsOptions,
  verifiedPeerIdentity,
} from '../../../../mesh/proxy/tls/mtls';
import { identityFilePaths, writeIdentityDir } from '../../../../mesh/control/identity/ca';
import { makePki, WEB, EMOJI, VOTING, type Pki } from './mesh-pki.fixture';

const ALPN = ['weft.test'];

interface Accepted {
  identity: string | undefined;
  destroyed: boolean;
  alpn: string | false | null;
  serial: string | undefined;
}

/** A mesh TLS echo server: greets with the client's verified identity, then echoes. */
async function startServer(t: test.TestContext, certs: IdentityCerts) {
  const accepted: Accepted[] = [];
  const sockets = new Set<tls.TLSSocket>();
  const server = tls.createServer(serverTlsOptions(certs, ALPN), (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    s.on('error', () => undefined);
    const identity = verifiedPeerIdentity(s);
    accepted.push({ identity, destroyed: s.destroyed, alpn: s.alpnProtocol, serial: s.getPeerX509Certificate()?.serialNumber });
    if (s.destroyed) return;
    s.write(`hello ${identity ?? 'anonymous'}\n`);
    s.pipe(s);
  });
  server.on('tlsClientError', () => undefined);
  const detach = attachRotation(server, certs, ALPN);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  t.after(async () => {
    detach();
    for (const s of sockets) s.destroy();
    await new Promise((r) => server.close(r));
  });
  return { port: (server.address() as net.AddressInfo).port, accepted };
}

async function load(t: test.TestContext, pki: Pki, name: string, identity: string, ca = pki.ca, anchorsPem?: string) {
  const dir = pki.dir(name);
  await writeIdentityDir(dir, anchorsPem ?? ca.anchor.certPem, await ca.issue(identity));
  const certs = await IdentityCerts.load(identityFilePaths(dir), { debounceMs: 10, pollIntervalMs: 60_000 });
  t.after(() => certs.close());
  return { certs, dir };
}

function readLine(s: net.Socket): Promise<string> {
  return new Promise((resolve, reject) => {
    let buf = '';
    const onData = (d: Buffer): void => {
      buf += d.toString();
      const nl = buf.indexOf('\n');
      if (nl >= 0) {
        s.off('data', onData);
        s.off('close', onClose);
        resolve(buf.slice(0, nl));
      }
    };
    const onClose = (): void => reject(new Error(`closed before a line (got ${JSON.stringify(buf)})`));
    s.on('data', onData);
    s.once('close', onClose);
  });
}

function track(t: test.TestContext, s: tls.TLSSocket): tls.TLSSocket {
  s.on('error', () => undefined);
  t.after(() => s.destroy());
  return s;
}

test('a good pair connects and each side sees the other identity', async (t) => {
  const pki = await makePki();
  t.after(() => pki.cleanup());
  const { certs: serverCerts } = await load(t, pki, 'emoji', EMOJI);
  const { certs: clientCerts } = await load(t, pki, 'web', WEB);
  const { port, accepted } = await startServer(t, serverCerts);

  const s = track(t, await connectMtls({ host: '127.0.0.1', port, expectedIdentity: EMOJI, alpn: ALPN, certs: clientCerts, timeoutMs: 5_000 }));
  assert.equal(await readLine(s), `hello ${WEB}`);
  assert.equal(confirmedServerIdentity(s), EMOJI);
  assert.equal(s.getProtocol(), 'TLSv1.3');
  assert.equal(s.alpnProtocol, 'weft.test');
  assert.deepEqual(accepted.map((a) => [a.identity, a.destroyed, a.alpn]), [[WEB, false, 'weft.test']]);
  s.write('ping\n');
  assert.equal(await readLine(s), 'ping');
});

test('the client refuses a server certificate from another CA', async (t) => {
  const pki = await makePki();
  t.after(() => pki.cleanup());
  const { certs: serverCerts } = await load(t, pki, 'emoji', EMOJI, pki.otherCa);
  const { certs: clientCerts } = await load(t, pki, 'web', WEB);
  const { port } = await startServer(t, serverCerts);
  await assert.rejects(
    connectMtls({ host: '127.0.0.1', port, expectedIdentity: EMOJI, alpn: ALPN, certs: clientCerts, timeoutMs: 5_000 }),
    (err: Error & { code?: string }) => {
      assert.equal(err.code, 'ERR_WEFT_UNKNOWN_CA');
      assert.match(err.message, /unknown CA, it does not chain to our trust anchors/);
      return true;
    },
  );
});

test('the server refuses a client certificate from another CA', async (t) => {
  const pki = await makePki();
  t.after(() => pki.cleanup());
  const { certs: serverCerts } = await load(t, pki, 'emoji', EMOJI);
  // The client trusts both anchors (so it accepts the server) but its own leaf comes from the other CA.
  const { certs: clientCerts } = await load(t, pki, 'web', WEB, pki.otherCa, pki.ca.anchor.certPem + pki.otherCa.anchor.certPem);
  const { port, accepted } = await startServer(t, serverCerts);
  const s = track(t, await connectMtls({ host: '127.0.0.1', port, expectedIdentity: EMOJI, alpn: ALPN, certs: clientCerts, timeoutMs: 5_000 }));
  await assert.rejects(readLine(s), /closed before a line/);
  assert.deepEqual(accepted.map((a) => [a.identity, a.destroyed]), [[undefined, true]]);
});

test('a client without a certificate is let through as anonymous (policy decides)', async (t) => {
  const pki = await makePki();
  t.after(() => pki.cleanup());
  const { certs: serverCerts } = await load(t, pki, 'emoji', EMOJI);
  const { port, accepted } = await startServer(t, serverCerts);
  const s = track(t, tls.connect({ host: '127.0.0.1', port, servername: EMOJI, ca: pki.ca.anchor.certPem, ALPNProtocols: ALPN }));
  assert.equal(await readLine(s), 'hello anonymous');
  assert.deepEqual(accepted.map((a) => [a.identity, a.destroyed]), [[undefined, false]]);
});

test('a server with the wrong identity is refused with both names in the message', async (t) => {
  const pki = await makePki();
  t.after(() => pki.cleanup());
  const { certs: serverCerts } = await load(t, pki, 'emoji', EMOJI);
  const { certs: clientCerts } = await load(t, pki, 'web', WEB);
  const { port } = await startServer(t, serverCerts);
  await assert.rejects(
    connectMtls({ host: '127.0.0.1', port, expectedIdentity: VOTING, alpn: ALPN, certs: clientCerts, timeoutMs: 5_000 }),
    (err: Error & { code?: string }) => {
      assert.equal(err.code, 'ERR_WEFT_WRONG_IDENTITY');
      assert.ok(err.message.includes(`expected ${VOTING}, got ${EMOJI}`), err.message);
      return true;
    },
  );
});

test('connect errors: refused port, timeout and abort say what happened', async (t) => {
  const pki = await makePki();
  t.after(() => pki.cleanup());
  const { certs } = await load(t, pki, 'web', WEB);
  const closed = net.createServer().listen(0, '127.0.0.1');
  await once(closed, 'listening');
  const port = (closed.address() as net.AddressInfo).port;
  await new Promise((r) => closed.close(r));
  await assert.rejects(connectMtls({ host: '127.0.0.1', port, expectedIdentity: EMOJI, alpn: ALPN, certs }), /ECONNREFUSED/);

  // A TCP server that never answers the ClientHello.
  const held = new Set<net.Socket>();
  const silent = net.createServer((s) => held.add(s)).listen(0, '127.0.0.1');
  await once(silent, 'listening');
  t.after(async () => {
    for (const s of held) s.destroy();
    await new Promise((r) => silent.close(r));
  });
  const silentPort = (silent.address() as net.AddressInfo).port;
  await assert.rejects(
    connectMtls({ host: '127.0.0.1', port: silentPort, expectedIdentity: EMOJI, alpn: ALPN, certs, timeoutMs: 50 }),
    /handshake not done after 50 ms/,
  );
  const ac = new AbortController();
  const p = connectMtls({ host: '127.0.0.1', port: silentPort, expectedIdentity: EMOJI, alpn: ALPN, certs, signal: ac.signal });
  setTimeout(() => ac.abort(), 20);
  await assert.rejects(p, /aborted/);
});

test('rotation: new connections get the new certificates, an open connection keeps working', async (t) => {
  const pki = await makePki();
  t.after(() => pki.cleanup());
  const server = await load(t, pki, 'emoji', EMOJI);
  const client = await load(t, pki, 'web', WEB);
  server.certs.watch();
  client.certs.watch();
  const { port, accepted } = await startServer(t, server.certs);
  const connect = () => connectMtls({ host: '127.0.0.1', port, expectedIdentity: EMOJI, alpn: ALPN, certs: client.certs, timeoutMs: 5_000 });
  const serialSeenByClient = (s: tls.TLSSocket) => s.getPeerCertificate().serialNumber;

  const open = track(t, await connect());
  assert.equal(await readLine(open), `hello ${WEB}`);
  const oldServerSerial = serialSeenByClient(open);
  const oldClientSerial = accepted[0].serial;

  const serverRotated = once(server.certs, 'rotated');
  await writeIdentityDir(server.dir, pki.ca.anchor.certPem, await pki.ca.issue(EMOJI));
  await serverRotated;

  // New mesh connection (SNI): the new server certificate.
  const fresh = track(t, await connect());
  assert.equal(await readLine(fresh), `hello ${WEB}`);
  assert.notEqual(serialSeenByClient(fresh), oldServerSerial);
  // A client without SNI gets the server's default context, which attachRotation swapped.
  const noSni = track(t, tls.connect({ host: '127.0.0.1', port, ca: pki.ca.anchor.certPem, ALPNProtocols: ALPN, checkServerIdentity: () => undefined }));
  assert.equal(await readLine(noSni), 'hello anonymous');
  assert.equal(serialSeenByClient(noSni), serialSeenByClient(fresh));
  // The connection opened before the rotation still exchanges data.
  open.write('still here\n');
  assert.equal(await readLine(open), 'still here');

  // Client-side rotation: the next connect presents the new client certificate.
  const clientRotated = once(client.certs, 'rotated');
  await writeIdentityDir(client.dir, pki.ca.anchor.certPem, await pki.ca.issue(WEB));
  await clientRotated;
  const third = track(t, await connect());
  assert.equal(await readLine(third), `hello ${WEB}`);
  const clientSerials = accepted.filter((a) => a.identity === WEB).map((a) => a.serial);
  assert.equal(clientSerials.length, 3);
  assert.equal(clientSerials[1], oldClientSerial);
  assert.notEqual(clientSerials[2], oldClientSerial);
  open.write('and still\n');
  assert.equal(await readLine(open), 'and still');
});

test('a bare TLSSocket from serverTlsOptions: verifies clients, and serves the new identity after a rotation', async (t) => {
  const pki = await makePki();
  t.after(() => pki.cleanup());
  const server = await load(t, pki, 'emoji', EMOJI);
  const { certs: clientCerts } = await load(t, pki, 'web', WEB);
  const sockets: tls.TLSSocket[] = [];
  const raw = net.createServer((sock) => {
    // What the inbound proxy does after peeking the ClientHello: wrap the accepted socket.
    const s = new tls.TLSSocket(sock, { isServer: true, ...serverTlsOptions(server.certs, ALPN) });
    sockets.push(s);
    s.on('error', () => undefined);
    s.on('secure', () => {
      const id = verifiedPeerIdentity(s);
      if (!s.destroyed) s.end(`hello ${id} ${s.alpnProtocol}\n`);
    });
  });
  raw.listen(0, '127.0.0.1');
  await once(raw, 'listening');
  t.after(async () => {
    for (const s of sockets) s.destroy();
    await new Promise((r) => raw.close(r));
  });
  const port = (raw.address() as net.AddressInfo).port;
  const s1 = track(t, await connectMtls({ host: '127.0.0.1', port, expectedIdentity: EMOJI, alpn: ALPN, certs: clientCerts, timeoutMs: 5_000 }));
  assert.equal(await readLine(s1), `hello ${WEB} weft.test`);

  // Rotate to another identity: the next bare socket presents it.
  await writeIdentityDir(server.dir, pki.ca.anchor.certPem, await pki.ca.issue(VOTING));
  assert.equal(await server.certs.reload(), true);
  const s2 = track(t, await connectMtls({ host: '127.0.0.1', port, expectedIdentity: VOTING, alpn: ALPN, certs: clientCerts, timeoutMs: 5_000 }));
  assert.equal(await readLine(s2), `hello ${WEB} weft.test`);

  // A bare socket has no tls.Server to set socket.authorized: a client leaf from another CA must still be refused.
  const { certs: strangerCerts } = await load(t, pki, 'stranger', WEB, pki.otherCa, pki.ca.anchor.certPem + pki.otherCa.anchor.certPem);
  const s3 = track(t, await connectMtls({ host: '127.0.0.1', port, expectedIdentity: VOTING, alpn: ALPN, certs: strangerCerts, timeoutMs: 5_000 }));
  await assert.rejects(readLine(s3), /closed before a line/);
});
