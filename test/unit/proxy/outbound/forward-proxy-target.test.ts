import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { IncomingMessage } from 'node:http';
import { forwardProxyTarget } from '../../../../mesh/proxy/outbound/outbound';

const req = (url: string, host?: string): IncomingMessage => ({ url, headers: host ? { host } : {} }) as unknown as IncomingMessage;

test('absolute-form URIs name the target and become origin-form', () => {
  assert.deepEqual(forwardProxyTarget(req('http://web.demo:8080/a/b?c=1')), { authority: 'web.demo:8080', path: '/a/b?c=1' });
  assert.deepEqual(forwardProxyTarget(req('http://web.demo/')), { authority: 'web.demo:80', path: '/' });
  assert.deepEqual(forwardProxyTarget(req('http://[::1]:9000/x')), { authority: '[::1]:9000', path: '/x' });
});

test('origin-form requests fall back to the Host header, port 80 by default', () => {
  assert.deepEqual(forwardProxyTarget(req('/x', 'api.demo:9090')), { authority: 'api.demo:9090', path: '/x' });
  assert.deepEqual(forwardProxyTarget(req('/x', 'api.demo')), { authority: 'api.demo:80', path: '/x' });
  assert.equal(forwardProxyTarget(req('/x')), undefined);
});
