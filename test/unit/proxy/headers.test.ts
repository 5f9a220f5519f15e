import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  forwardableHeaders,
  forwardableTrailers,
  headerObject,
  H_CLIENT_ID,
  H_DST_PORT,
  H_ORIG_PROTO,
  H_PROXY_ERROR,
  requestAuthority,
  responseHasNoBody,
  serializeRequestHead,
} from '../../../mesh/proxy/http/headers';

test('hop-by-hop fields never reach the next hop', () => {
  const out = forwardableHeaders({
    connection: 'keep-alive',
    'keep-alive': 'timeout=5',
    'proxy-connection': 'keep-alive',
    'proxy-authenticate': 'Basic',
    'proxy-authorization': 'Basic Zm9vOmJhcg==',
    'transfer-encoding': 'chunked',
    upgrade: 'h2c',
    trailer: 'grpc-status',
    host: 'web.demo:80',
    'http2-settings': 'AAMAAABkAAQAoAAAAAIAAAAA',
    'content-type': 'text/plain',
    'x-request-id': 'abc',
  });
  assert.deepEqual(out, { 'content-type': 'text/plain', 'x-request-id': 'abc' });
});

test('fields named by Connection are dropped, whatever their case and spacing', () => {
  assert.deepEqual(forwardableHeaders({ connection: 'close, X-Trace ,x-debug', 'x-trace': '1', 'x-debug': '2', 'x-keep': '3' }), { 'x-keep': '3' });
  assert.deepEqual(forwardableHeaders({ connection: ['x-a', 'X-B'], 'x-a': '1', 'x-b': '2', 'x-c': '3' } as never), { 'x-c': '3' });
});

test('te survives only as "te: trailers"', () => {
  assert.deepEqual(forwardableHeaders({ te: 'trailers' }), { te: 'trailers' });
  assert.deepEqual(forwardableHeaders({ te: 'Trailers, deflate;q=0.5' }), { te: 'trailers' });
  assert.deepEqual(forwardableHeaders({ te: 'gzip' }), {});
});

test('pseudo-headers are dropped and multi-valued fields kept whole', () => {
  const out = forwardableHeaders({ ':method': 'GET', ':path': '/', ':authority': 'a:1', 'set-cookie': ['a=1', 'b=2'], accept: '*/*' });
  assert.deepEqual(out, { 'set-cookie': ['a=1', 'b=2'], accept: '*/*' });
});

test('Weft internal fields are removed unless the mesh hop keeps them; a client cannot forge its identity', () => {
  const h = { [H_CLIENT_ID]: 'admin.kube-system.serviceaccount.identity.weft.cluster.local', [H_DST_PORT]: '8080', [H_ORIG_PROTO]: 'HTTP/1.1', [H_PROXY_ERROR]: 'x', 'weft-anything': 'y', a: 'b' };
  assert.deepEqual(forwardableHeaders(h), { a: 'b' });
  assert.deepEqual(forwardableHeaders(h, true), h);
});

test('trailers lose hop-by-hop and pseudo fields; nothing left means undefined', () => {
  assert.equal(forwardableTrailers(undefined), undefined);
  assert.equal(forwardableTrailers({}), undefined);
  assert.equal(forwardableTrailers({ connection: 'close', 'transfer-encoding': 'chunked' }), undefined);
  assert.deepEqual(forwardableTrailers({ ':status': '200', 'grpc-status': '0', 'grpc-message': 'ok', te: 'trailers' }), { 'grpc-status': '0', 'grpc-message': 'ok' });
});

test('authority, bodiless responses and request heads', () => {
  assert.equal(requestAuthority({ ':authority': 'a:1', host: 'b:2' }), 'a:1');
  assert.equal(requestAuthority({ host: 'b:2' }), 'b:2');
  assert.equal(requestAuthority({}), undefined);
  assert.equal(responseHasNoBody('HEAD', 200), true);
  for (const s of [204, 304, 100, 101]) assert.equal(responseHasNoBody('GET', s), true, String(s));
  for (const s of [200, 404, 502]) assert.equal(responseHasNoBody('GET', s), false, String(s));
  assert.equal(
    serializeRequestHead('GET', '/chat', ['Host', 'a', 'Upgrade', 'websocket', 'Connection', 'Upgrade']).toString('latin1'),
    'GET /chat HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n',
  );
});

test('headerSafe turns any reason into a valid header value', async () => {
  const { headerSafe } = await import('../../../mesh/proxy/http/headers');
  const { validateHeaderValue } = await import('node:http');
  const raw = 'mTLS to 127.0.0.1:1: unexpected answer "HTTP/1.1 400 Bad Request\r\n\r\n" \u0000\u00ff ü';
  const safe = headerSafe(raw);
  assert.doesNotThrow(() => validateHeaderValue('weft-proxy-error', safe));
  assert.equal(safe, 'mTLS to 127.0.0.1:1: unexpected answer "HTTP/1.1 400 Bad Request "');
  assert.equal(headerSafe('x'.repeat(500)).length, 200);
});

test('header objects follow node:http: lower-cased, set-cookie an array, singletons first, others joined', () => {
  assert.deepEqual(
    headerObject(['Set-Cookie', 'a=1', 'Content-Type', 'text/plain', 'set-cookie', 'b=2', 'X-Y', '1', 'x-y', '2', 'Host', 'a', 'host', 'b', 'Cookie', 'c=1', 'cookie', 'd=2']),
    { 'set-cookie': ['a=1', 'b=2'], 'content-type': 'text/plain', 'x-y': '1, 2', host: 'a', cookie: 'c=1; d=2' },
  );
});
