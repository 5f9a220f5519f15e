import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as net from 'node:net';
import * as tls from 'node:tls';
import { once } from 'node:events';
import { parseClientHello } from '../../../../mesh/proxy/tls/client-hello';

/** Captures the first bytes a real Node tls client sends (its ClientHello) on a plain TCP listener. */
async function captureClientHello(opts: tls.ConnectionOptions): Promise<Buffer> {
  const server = net.createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as net.AddressInfo;
  const received = new Promise<Buffer>((resolve) => {
    server.once('connection', (s) => {
      s.once('data', (d: Buffer) => {
        resolve(d);
        s.destroy();
      });
    });
  });
  const client = tls.connect({ host: '127.0.0.1', port, ...opts });
  client.on('error', () => undefined); // the server hangs up on it
  try {
    return await received;
  } finally {
    client.destroy();
    server.close();
  }
}

test('a real ClientHello from a Node tls client: SNI and ALPN', async () => {
  const hello = await captureClientHello({
    servername: 'web.emojivoto.serviceaccount.identity.weft.cluster.local',
    ALPNProtocols: ['weft.h2', 'h2'],
  });
  assert.deepEqual(parseClientHello(hello), {
    sni: 'web.emojivoto.serviceaccount.identity.weft.cluster.local',
    alpn: ['weft.h2', 'h2'],
  });
});

test('a real ClientHello without SNI or ALPN', async () => {
  // Node sends no SNI for an IP address host.
  const hello = await captureClientHello({});
  assert.deepEqual(parseClientHello(hello), {});
});

test('every strict prefix of a ClientHello asks for more bytes', async () => {
  const hello = await captureClientHello({ servername: 'a.b.serviceaccount.identity.weft.cluster.local' });
  for (let n = 0; n < hello.length; n++) {
    assert.equal(parseClientHello(hello.subarray(0, n)), 'need-more', `prefix of ${n} bytes`);
  }
  // Extra bytes after the ClientHello do not matter.
  assert.equal((parseClientHello(Buffer.concat([hello, Buffer.from('xyz')])) as { sni?: string }).sni, 'a.b.serviceaccount.identity.weft.cluster.local');
});

test('a ClientHello fragmented over two TLS records is reassembled', async () => {
  const hello = await captureClientHello({ servername: 'frag.example', ALPNProtocols: ['h2'] });
  const body = hello.subarray(5, 5 + hello.readUInt16BE(3));
  const cut = 50;
  const record = (b: Buffer) => Buffer.concat([Buffer.from([0x16, 0x03, 0x01, b.length >> 8, b.length & 0xff]), b]);
  const two = Buffer.concat([record(body.subarray(0, cut)), record(body.subarray(cut))]);
  assert.deepEqual(parseClientHello(two), { sni: 'frag.example', alpn: ['h2'] });
  assert.equal(parseClientHello(two.subarray(0, 5 + cut + 3)), 'need-more');
});

test('HTTP and other plaintext are not TLS', () => {
  assert.equal(parseClientHello(Buffer.from('GET / HTTP/1.1\r\nHost: web\r\n\r\n')), 'not-tls');
  assert.equal(parseClientHello(Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n')), 'not-tls');
  assert.equal(parseClientHello(Buffer.from('G')), 'not-tls');
  assert.equal(parseClientHello(Buffer.from([0x16, 0x01])), 'not-tls', 'record version major must be 3');
  assert.equal(parseClientHello(Buffer.from([0x16, 0x03, 0x01, 0x00, 0x30, 0x02])), 'not-tls', 'a ServerHello is not a ClientHello');
});

test('a complete but malformed ClientHello is not TLS', () => {
  // Handshake header says 40 bytes of body, but the body is garbage (session id length runs past the end).
  const body = Buffer.alloc(42, 0xff);
  body[0] = 0x01; // client_hello
  body.writeUIntBE(38, 1, 3);
  const rec = Buffer.concat([Buffer.from([0x16, 0x03, 0x01, 0x00, body.length]), body]);
  assert.equal(parseClientHello(rec), 'not-tls');
});
