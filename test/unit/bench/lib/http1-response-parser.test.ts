import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Http1FramingError, Http1ResponseFramer } from '../../../bench/lib/http1-response-parser';

const feedAll = (f: Http1ResponseFramer, text: string, step = text.length): number[] => {
  const out: number[] = [];
  const buf = Buffer.from(text, 'latin1');
  for (let i = 0; i < buf.length; i += step) out.push(...f.feed(buf.subarray(i, i + step)));
  return out;
};

const CL = 'HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok';
const CHUNKED = 'HTTP/1.1 201 Created\r\nTransfer-Encoding: chunked\r\n\r\n2;ext=1\r\nok\r\n3\r\nabc\r\n0\r\nX-Trailer: 1\r\n\r\n';

test('a Content-Length response completes only when its whole body has arrived', () => {
  const f = new Http1ResponseFramer();
  assert.deepEqual(f.feed(Buffer.from('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\no')), []);
  assert.deepEqual(f.feed(Buffer.from('k')), [200]);
});

test('several keep-alive responses in one chunk are all reported, in order', () => {
  assert.deepEqual(feedAll(new Http1ResponseFramer(), CL + CHUNKED + CL.replace('200 OK', '503 Busy')), [200, 201, 503]);
});

test('chunked bodies with extensions and trailers frame correctly, even fed one byte at a time', () => {
  assert.deepEqual(feedAll(new Http1ResponseFramer(), CHUNKED + CL, 1), [201, 200]);
});

test('a chunk whose data contains CRLF is not mistaken for the next size line', () => {
  const body = 'HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n4\r\n\r\n\r\n\r\n0\r\n\r\n';
  assert.deepEqual(feedAll(new Http1ResponseFramer(), body + CL, 3), [200, 200]);
});

test('interim 100 Continue is skipped; 204 and 304 have no body', () => {
  const text = 'HTTP/1.1 100 Continue\r\n\r\n' + CL + 'HTTP/1.1 204 No Content\r\n\r\n' + 'HTTP/1.1 304 Not Modified\r\nContent-Length: 10\r\n\r\n' + CL;
  assert.deepEqual(feedAll(new Http1ResponseFramer(), text, 5), [200, 204, 304, 200]);
});

test('Content-Length: 0 completes at the end of the head', () => {
  assert.deepEqual(feedAll(new Http1ResponseFramer(), 'HTTP/1.0 404 Not Found\r\nContent-Length: 0\r\n\r\n'), [404]);
});

test('a response framed by connection close, or garbage, is an error', () => {
  assert.throws(() => new Http1ResponseFramer().feed(Buffer.from('HTTP/1.1 200 OK\r\n\r\nbody')), Http1FramingError);
  assert.throws(() => new Http1ResponseFramer().feed(Buffer.from('SSH-2.0-OpenSSH\r\n\r\n')), Http1FramingError);
  assert.throws(() => new Http1ResponseFramer().feed(Buffer.alloc(70_000, 0x61)), Http1FramingError);
});
