import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { test } from 'node:test';
import { classifyPrefix, detectProtocol } from '../../../mesh/proxy/detect';

const b = (s: string): Buffer => Buffer.from(s, 'latin1');
const H2_PREFACE = 'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n';

test('HTTP/1.x request lines of every common method are http1', () => {
  for (const m of ['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'TRACE', 'CONNECT', 'M-SEARCH', 'PROPFIND', 'VERSION_CONTROL']) {
    const target = m === 'CONNECT' ? 'example.com:443' : m === 'OPTIONS' ? '*' : '/a/b?c=d';
    assert.equal(classifyPrefix(b(`${m} ${target} HTTP/1.1\r\nhost: x\r\n\r\n`)), 'http1', m);
  }
  assert.equal(classifyPrefix(b('GET / HTTP/1.0\r\n')), 'http1');
  assert.equal(classifyPrefix(b('GET http://example.com/ HTTP/1.1\r\n')), 'http1', 'absolute-form');
});

test('lines that look like HTTP but are not are opaque', () => {
  assert.equal(classifyPrefix(b('GET / HTTP/2.0\r\n')), 'opaque', 'HTTP/2.0 is not an HTTP/1 request line');
  assert.equal(classifyPrefix(b('GET  / HTTP/1.1\r\n')), 'opaque', 'two spaces');
  assert.equal(classifyPrefix(b('GET / HTTP/1.1 x\r\n')), 'opaque');
  assert.equal(classifyPrefix(b('get / HTTP/1.1\r\n')), 'opaque', 'methods are upper case');
  assert.equal(classifyPrefix(b('EHLO mail.example.com\r\n')), 'opaque', 'an SMTP client');
  assert.equal(classifyPrefix(b('*1\r\n$4\r\nPING\r\n')), 'opaque', 'a Redis client');
  assert.equal(classifyPrefix(b('SSH-2.0-OpenSSH_9.2\r\n')), 'opaque');
});

test('the HTTP/2 prior-knowledge preface is h2 only once complete', () => {
  assert.equal(classifyPrefix(b(H2_PREFACE)), 'h2');
  assert.equal(classifyPrefix(b(`${H2_PREFACE}\x00\x00\x00\x04`)), 'h2', 'a SETTINGS frame may follow at once');
  for (let n = 1; n < H2_PREFACE.length; n++) assert.equal(classifyPrefix(b(H2_PREFACE.slice(0, n))), 'need-more', `preface cut at ${n}`);
  assert.equal(classifyPrefix(b('PRI * HTTP/2.0\r\n\r\nXX\r\n\r\n')), 'opaque', 'a broken preface');
  assert.equal(classifyPrefix(b('PRIX / HTTP/1.1\r\n')), 'http1', 'a method that starts like the preface');
});

test('a TLS handshake record is tls; other 0x16 records are opaque', () => {
  assert.equal(classifyPrefix(Buffer.from([0x16, 0x03, 0x01, 0x02, 0x00])), 'tls');
  assert.equal(classifyPrefix(Buffer.from([0x16, 0x03, 0x03])), 'tls');
  assert.equal(classifyPrefix(Buffer.from([0x16, 0x03, 0x04])), 'tls');
  assert.equal(classifyPrefix(Buffer.from([0x16])), 'need-more');
  assert.equal(classifyPrefix(Buffer.from([0x16, 0x03])), 'need-more');
  assert.equal(classifyPrefix(Buffer.from([0x16, 0x02, 0x00])), 'opaque');
  assert.equal(classifyPrefix(Buffer.from([0x16, 0x03, 0x05])), 'opaque');
});

test('garbage is opaque at once', () => {
  assert.equal(classifyPrefix(Buffer.from([0x00, 0xff, 0x13, 0x37])), 'opaque');
  assert.equal(classifyPrefix(Buffer.from([0x80])), 'opaque');
  assert.equal(classifyPrefix(b(' GET / HTTP/1.1\r\n')), 'opaque', 'leading space');
  assert.equal(classifyPrefix(b('GET\t/ HTTP/1.1\r\n')), 'opaque', 'no space after the method');
  assert.equal(classifyPrefix(b('AB \x00')), 'opaque', 'a control byte settles it before the line ends');
  assert.equal(classifyPrefix(b('GET /\x7f')), 'opaque', 'DEL settles it too');
});

test('partial request lines ask for more bytes', () => {
  assert.equal(classifyPrefix(Buffer.alloc(0)), 'need-more');
  const line = 'GET /index.html HTTP/1.1';
  for (let n = 1; n <= line.length; n++) assert.equal(classifyPrefix(b(line.slice(0, n))), 'need-more', JSON.stringify(line.slice(0, n)));
});

test('a request line cut between CR and LF still asks for more bytes', () => {
  // A TCP segment may end right after the CR; the LF follows in the next one.
  assert.equal(classifyPrefix(b('GET / HTTP/1.1\r')), 'need-more');
  assert.equal(classifyPrefix(b('GET / HTTP/1.1\r\n')), 'http1');
  assert.equal(classifyPrefix(b('GET /\r')), 'need-more');
  assert.equal(classifyPrefix(b('GET / HTTP/1.1\rX')), 'opaque', 'a CR not followed by LF is not HTTP');
});

test('methods and request lines have length limits', () => {
  assert.equal(classifyPrefix(b('A'.repeat(20))), 'need-more');
  assert.equal(classifyPrefix(b('A'.repeat(21))), 'opaque', 'no method is that long');
  const longTarget = `/${'a'.repeat(8000)}`;
  assert.equal(classifyPrefix(b(`GET ${longTarget}`)), 'need-more', 'a long line still being read');
  assert.equal(classifyPrefix(b(`GET ${longTarget} HTTP/1.1\r\n`)), 'http1', 'a long but complete line');
  assert.equal(classifyPrefix(b(`GET /${'a'.repeat(8200)}`)), 'opaque', 'past 8 KiB without a line end');
});

test('detectProtocol classifies split input and gives every byte back', async () => {
  const s = new PassThrough();
  const d = detectProtocol(s, 1000);
  s.write('GET / HT');
  setTimeout(() => s.write('TP/1.1\r\nhost: a\r\n\r\n'), 10);
  const r = await d;
  assert.equal(r.protocol, 'http1');
  assert.equal(r.timedOut, false);
  assert.equal(s.read().toString('latin1'), 'GET / HTTP/1.1\r\nhost: a\r\n\r\n');
});

test('detectProtocol falls back to opaque when the client says nothing in time', async () => {
  const s = new PassThrough();
  const started = Date.now();
  const r = await detectProtocol(s, 80);
  assert.equal(r.protocol, 'opaque');
  assert.equal(r.timedOut, true);
  assert.ok(Date.now() - started >= 70, 'waited for the timeout');
  assert.equal(r.bytes.length, 0);
});

test('detectProtocol gives back partial bytes after a timeout, and stops at end of stream', async () => {
  const s = new PassThrough();
  s.write('GE');
  const r = await detectProtocol(s, 50);
  assert.deepEqual([r.protocol, r.timedOut], ['opaque', true]);
  assert.equal(s.read().toString('latin1'), 'GE');

  const e = new PassThrough();
  const d = detectProtocol(e, 5000);
  e.end('GET');
  const r2 = await d;
  assert.deepEqual([r2.protocol, r2.timedOut], ['opaque', false]);
});
