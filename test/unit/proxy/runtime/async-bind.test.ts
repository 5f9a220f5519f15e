/**
 * The proxy's lean AsyncResource#bind (mesh/proxy/runtime/async-bind.ts) binds as Node's does (async
 * scope, `this`, arguments, length, the error for a non-function) without the deprecated
 * `asyncResource` accessors, and an HTTP/2 request behaves the same before and after it is installed.
 */
import assert from 'node:assert/strict';
import { AsyncLocalStorage, AsyncResource } from 'node:async_hooks';
import http2 from 'node:http2';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import { installLeanAsyncBind } from '../../../../mesh/proxy/runtime/async-bind';

const als = new AsyncLocalStorage<string>();

/** What an HTTP/2 client sees of its async context: in the response handler and in the stream's close. */
async function h2Contexts(): Promise<{ response: string | undefined; close: string | undefined; status: number }> {
  const server = http2.createServer((_req, res) => res.end('ok'));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const session = http2.connect(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
  try {
    return await new Promise((resolve, reject) => {
      als.run('request-scope', () => {
        const out: { response: string | undefined; close: string | undefined; status: number } = { response: undefined, close: undefined, status: 0 };
        const stream = session.request({ ':path': '/' });
        stream.on('response', (h) => {
          out.response = als.getStore();
          out.status = Number(h[':status']);
        });
        stream.resume();
        stream.on('close', () => {
          out.close = als.getStore();
          resolve(out);
        });
        stream.on('error', reject);
      });
    });
  } finally {
    session.close();
    await new Promise((r) => server.close(r));
  }
}

test('Node 20 bind defines the deprecated accessors; the lean bind does not, and installs once', async () => {
  const before = await h2Contexts();
  assert.ok('asyncResource' in new AsyncResource('T').bind(() => 1), "Node's own bind (what the lean one replaces)");
  assert.equal(installLeanAsyncBind(), true);
  assert.equal(installLeanAsyncBind(), false, 'idempotent');
  assert.equal('asyncResource' in new AsyncResource('T').bind(() => 1), false);
  // ClientHttp2Session#request goes through bind: same status and the same async context seen.
  assert.deepEqual(await h2Contexts(), before);
  assert.deepEqual(before, { response: 'request-scope', close: 'request-scope', status: 200 });
});

test('a bound function runs in the async scope of its resource, wherever it is called', () => {
  installLeanAsyncBind();
  const resource = als.run('created-here', () => new AsyncResource('T'));
  const bound = resource.bind(() => als.getStore());
  assert.equal(als.run('called-here', bound), 'created-here');
  assert.equal(AsyncResource.bind(() => als.getStore())(), undefined, 'the static bind goes through it too');
  assert.equal(als.run('outer', () => AsyncResource.bind(() => als.getStore()))(), 'outer');
});

test('this, arguments and length as with Node: call-site this unless thisArg is given', () => {
  installLeanAsyncBind();
  const r = new AsyncResource('T');
  function f(this: unknown, a: number, b: number): [unknown, number] {
    return [this, a + b];
  }
  const free = r.bind(f);
  const obj = { m: free, tag: 'obj' };
  assert.deepEqual(obj.m(1, 2), [obj, 3]);
  assert.equal(free.length, 2);
  // @types/node leaves out bind's second parameter (thisArg); Node has it.
  const bindWithThis = r.bind as unknown as (this: AsyncResource, fn: typeof f, thisArg: unknown) => typeof f;
  const fixed = bindWithThis.call(r, f, 'this-arg');
  assert.deepEqual(fixed.call('ignored', 3, 4), ['this-arg', 7]);
  assert.equal(fixed.length, 2);
  assert.throws(() => r.bind('nope' as unknown as () => void), { name: 'TypeError', code: 'ERR_INVALID_ARG_TYPE' });
});
