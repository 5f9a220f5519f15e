import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decodeTransportHeader, encodeTransportHeader, TRANSPORT_HEADER_LENGTH } from '../../../mesh/proxy/transport/transport-header';

test('the header is "weft", version 1, flags 0, then the port big-endian', () => {
  assert.equal(TRANSPORT_HEADER_LENGTH, 8);
  assert.deepEqual([...encodeTransportHeader(8080)], [0x77, 0x65, 0x66, 0x74, 1, 0, 0x1f, 0x90]);
});

test('every port round-trips, with or without bytes after the header', () => {
  for (const port of [1, 80, 6379, 8080, 65535]) {
    assert.deepEqual(decodeTransportHeader(encodeTransportHeader(port)), { port });
    assert.deepEqual(decodeTransportHeader(Buffer.concat([encodeTransportHeader(port), Buffer.from('*1\r\n$4\r\nPING\r\n')])), { port });
  }
});

test('fewer than eight bytes ask for more', () => {
  const h = encodeTransportHeader(443);
  for (let n = 0; n < TRANSPORT_HEADER_LENGTH; n++) assert.equal(decodeTransportHeader(h.subarray(0, n)), 'need-more', `${n} bytes`);
});

test('a wrong magic, version or port is an error', () => {
  assert.deepEqual(decodeTransportHeader(Buffer.from('GET / HTTP/1.1\r\n')), { error: 'missing transport header' });
  const v2 = encodeTransportHeader(80);
  v2[4] = 2;
  assert.deepEqual(decodeTransportHeader(v2), { error: 'unsupported transport header version 2' });
  assert.deepEqual(decodeTransportHeader(encodeTransportHeader(0)), { error: 'transport header names port 0' });
});

test('ports outside 16 bits cannot be encoded', () => {
  assert.throws(() => encodeTransportHeader(65536), RangeError);
  assert.throws(() => encodeTransportHeader(-1), RangeError);
});
