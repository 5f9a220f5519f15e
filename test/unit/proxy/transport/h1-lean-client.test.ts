// The proxy's lean HTTP/1.1 client against scripted servers on loopback: framing, keep-alive reuse
// and its limits, the stale-connection replay, bodies without a length, 1xx, HEAD, cancellation.
import assert from 'node:assert/strict';
import net from 'node:net';
import { Readable } from 'node:stream';
import { after, test } from 'node:test';
import { Cancel } from '../../../../mesh/proxy/http/cancel';
import { LeanH1Client, LeanRequestError, requestHead, type LeanRequest, type LeanResponse } from '../../../../mesh/proxy/transport/h1-lean-client';

interface Scripted {
  port: number;
  /** Raw request bytes received, per connection in order of arrival. */
  received: string[];
  connections: number;
  close(): Promise<void>;
}

/** A server that answers each complete request head (and its body, by content-length) with `answer(n, conn)`. */
async function scripted(answer: (requestIndex: number, socket: net.Socket, raw: string) => void): Promise<Scripted> {
  const received: string[] = [];
  const sockets = new Set<net.Socket>();
  let n = 0;
  const s: Scripted = { port: 0, received, connections: 0, close: async () => undefined };
  const server = net.createServer((socket) => {
    s.connections++;
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    const idx = received.push('') - 1;
    let buf = '';
    socket.setEncoding('latin1');
    socket.on('data', (d: string) => {
      received[idx] += d;
      buf += d;
      for (;;) {
        const end = buf.indexOf('\r\n\r\n');
        if (end < 0) return;
        const head = buf.slice(0, end);
        const len = Number(/content-length: (\d+)/i.exec(head)?.[1] ?? 0);
        const chunked = /transfer-encoding: chunked/i.test(head);
        let total = end + 4 + len;
        if (chunked) {
          const fin = buf.indexOf('0\r\n\r\n', end + 4);
          if (fin < 0) return;
          total = fin + 5;
        }
        if (buf.length < total) return;
        const raw = buf.slice(0, total);
        buf = buf.slice(total);
        answer(n++, socket, raw);
      }
    });
    socket.on('error', () => undefined);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  s.port = (server.address() as net.AddressInfo).port;
  s.close = () => {
    for (const x of sockets) x.destroy();
    return new Promise<void>((r) => server.close(() => r()));
  };
  return s;
}

const clients: LeanH1Client[] = [];
const servers: Scripted[] = [];
after(async () => {
  for (const c of clients) await c.close();
  for (const s of servers) await s.close();
});

function client(keepAliveTimeoutMs = 30_000): LeanH1Client {
  const c = new LeanH1Client({ keepAliveTimeoutMs, connectTimeoutMs: 2_000 });
  clients.push(c);
  return c;
}

async function server(answer: Parameters<typeof scripted>[0]): Promise<Scripted> {
  const s = await scripted(answer);
  servers.push(s);
  return s;
}

const get = (over: Partial<LeanRequest> = {}): LeanRequest => ({ method: 'GET', path: '/x', authority: 'svc:80', headers: {}, body: null, ...over });

async function readAll(r: LeanResponse): Promise<string> {
  const parts: Buffer[] = [];
  for await (const c of r.body) parts.push(c as Buffer);
  return Buffer.concat(parts).toString('latin1');
}

const ok = (body: string, extra = ''): string => `HTTP/1.1 200 OK\r\ncontent-length: ${body.length}\r\n${extra}\r\n${body}`;

test('request heads: Host first, repeated fields kept, framing from the actual body', () => {
  const h = requestHead(get({ headers: { 'x-a': ['1', '2'], accept: '*/*' } }));
  assert.equal(h.head, 'GET /x HTTP/1.1\r\nhost: svc:80\r\nx-a: 1\r\nx-a: 2\r\naccept: */*\r\n\r\n');
  assert.equal(h.chunked, false);
  // A buffered body: its real size, whatever the client claimed.
  assert.match(requestHead(get({ method: 'POST', headers: { 'content-length': '99' }, body: Buffer.from('abc') })).head, /\r\ncontent-length: 3\r\n\r\n$/);
  // POST without a body says so; GET without a body sends no framing at all.
  assert.match(requestHead(get({ method: 'POST' })).head, /content-length: 0\r\n\r\n$/);
  // A stream with a declared length is sent as is; without one, chunked.
  const withLen = requestHead(get({ method: 'PUT', headers: { 'content-length': '5' }, body: Readable.from([]) }));
  assert.equal(withLen.chunked, false);
  assert.match(withLen.head, /content-length: 5\r\n\r\n$/);
  const chunked = requestHead(get({ method: 'PUT', body: Readable.from([]) }));
  assert.equal(chunked.chunked, true);
  assert.match(chunked.head, /transfer-encoding: chunked\r\n\r\n$/);
});

test('keep-alive: sequential requests ride one connection; Connection: close is honoured', async () => {
  const s = await server((n, sock) => sock.write(ok(`r${n}`, n === 2 ? 'connection: close\r\n' : '')));
  const c = client();
  for (let i = 0; i < 3; i++) {
    const r = await c.request({ host: '127.0.0.1', port: s.port }, get());
    assert.equal(r.status, 200);
    assert.equal(await readAll(r), `r${i}`);
  }
  assert.equal(s.connections, 1);
  await new Promise((r) => setTimeout(r, 50));
  assert.equal(c.connectionCount, 0, 'the connection the server closed is gone from the pool');
  const r = await c.request({ host: '127.0.0.1', port: s.port }, get());
  assert.equal(await readAll(r), 'r3');
  assert.equal(s.connections, 2);
});

test('a reused connection the server closed as we wrote: the request goes once more on a new one', async () => {
  // The server answers, then closes the connection silently when the next request arrives (no bytes).
  const s = await server((n, sock) => (n === 1 ? sock.destroy() : sock.write(ok(`r${n}`))));
  const c = client();
  assert.equal(await readAll(await c.request({ host: '127.0.0.1', port: s.port }, get())), 'r0');
  assert.equal(await readAll(await c.request({ host: '127.0.0.1', port: s.port }, get())), 'r2');
  assert.equal(s.connections, 2);
});

test('a streamed body is not replayed: the failure reaches the caller', async () => {
  const s = await server((n, sock) => (n === 1 ? sock.destroy() : sock.write(ok('x'))));
  const c = client();
  await readAll(await c.request({ host: '127.0.0.1', port: s.port }, get()));
  await assert.rejects(
    c.request({ host: '127.0.0.1', port: s.port }, get({ method: 'POST', headers: { 'content-length': '3' }, body: Readable.from([Buffer.from('abc')]) })),
    (e: unknown) => e instanceof LeanRequestError && e.kind === 'reset',
  );
});

test('a refused connection is a connect error (safe to send elsewhere)', async () => {
  const s = await server(() => undefined);
  const port = s.port;
  await s.close();
  servers.splice(servers.indexOf(s), 1);
  await assert.rejects(client().request({ host: '127.0.0.1', port }, get()), (e: unknown) => e instanceof LeanRequestError && e.kind === 'connect' && e.code === 'ECONNREFUSED');
});

test('bodies: chunked with trailers, close-delimited, HEAD and 204 without body, 1xx skipped', async () => {
  const s = await server((n, sock, raw) => {
    if (n === 0) sock.write('HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\ntrailer: x-sum\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\nx-sum: 5\r\n\r\n');
    else if (n === 1) sock.write('HTTP/1.1 103 Early Hints\r\nlink: </a>\r\n\r\nHTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nhi');
    else if (n === 2) {
      assert.match(raw, /^HEAD /);
      sock.write('HTTP/1.1 200 OK\r\ncontent-length: 1000\r\n\r\n');
    } else if (n === 3) sock.write('HTTP/1.1 204 No Content\r\n\r\n');
    else sock.end('HTTP/1.1 200 OK\r\nconnection: close\r\n\r\nuntil the end');
  });
  const c = client();
  const r0 = await c.request({ host: '127.0.0.1', port: s.port }, get());
  assert.equal(await readAll(r0), 'abcde');
  assert.deepEqual(await r0.trailers, { 'x-sum': '5' });
  const r1 = await c.request({ host: '127.0.0.1', port: s.port }, get());
  assert.equal(r1.status, 200);
  assert.equal(await readAll(r1), 'hi');
  const r2 = await c.request({ host: '127.0.0.1', port: s.port }, get({ method: 'HEAD' }));
  assert.equal(r2.headers['content-length'], '1000');
  assert.equal(await readAll(r2), '');
  const r3 = await c.request({ host: '127.0.0.1', port: s.port }, get());
  assert.equal(r3.status, 204);
  assert.equal(await readAll(r3), '');
  assert.equal(s.connections, 1, 'HEAD and 204 left the connection reusable');
  const r4 = await c.request({ host: '127.0.0.1', port: s.port }, get());
  assert.equal(await readAll(r4), 'until the end');
});

test('a streamed request body without a length is sent chunked and arrives whole', async () => {
  const s = await server((_n, sock) => sock.write(ok('done')));
  const c = client();
  const body = Readable.from([Buffer.from('hello '), Buffer.from('world')]);
  const r = await c.request({ host: '127.0.0.1', port: s.port }, get({ method: 'POST', body }));
  assert.equal(await readAll(r), 'done');
  assert.match(s.received[0]!, /transfer-encoding: chunked\r\n\r\n6\r\nhello \r\n5\r\nworld\r\n0\r\n\r\n$/);
});

test('the server\'s Keep-Alive timeout hint shortens how long an idle connection is kept', async () => {
  const s = await server((_n, sock) => sock.write(ok('k', 'keep-alive: timeout=1\r\n')));
  const c = client(30_000);
  await readAll(await c.request({ host: '127.0.0.1', port: s.port }, get()));
  assert.equal(c.idleConnectionCount, 1);
  // timeout=1 s less a second of margin: closed at the next sweep.
  const t0 = Date.now();
  while (c.connectionCount > 0 && Date.now() - t0 < 5_000) await new Promise((r) => setTimeout(r, 20));
  assert.equal(c.connectionCount, 0);
});

test('cancelling mid-body closes the connection and errors the body; a bad response is a reset', async () => {
  const s = await server((n, sock) => (n === 0 ? sock.write('HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\npartial') : sock.write('HTTP/1.1 abc\r\n\r\n')));
  const c = client();
  const cancel = new Cancel();
  const r = await c.request({ host: '127.0.0.1', port: s.port }, get({ cancel }));
  const ended = readAll(r);
  cancel.abort('client went away');
  await assert.rejects(ended);
  await assert.rejects(c.request({ host: '127.0.0.1', port: s.port }, get()), (e: unknown) => e instanceof LeanRequestError && e.kind === 'reset' && /bad response/.test(e.message));
});

test('takeBody: the whole body at once when it has arrived, nothing (and nothing lost) while it is still coming', async () => {
  let late: net.Socket | undefined;
  const s = await server((n, sock) => {
    if (n === 0) sock.write(ok('whole'));
    else {
      sock.write('HTTP/1.1 200 OK\r\ncontent-length: 10\r\n\r\nfirst');
      late = sock;
    }
  });
  const c = client();
  const r0 = await c.request({ host: '127.0.0.1', port: s.port }, get());
  assert.equal(r0.takeBody()?.toString(), 'whole');
  const r1 = await c.request({ host: '127.0.0.1', port: s.port }, get());
  assert.equal(r1.takeBody(), undefined);
  late!.write('-rest');
  assert.equal(await readAll(r1), 'first-rest');
});

test('a connection that fails before the caller reads the body: the body errors when read, nothing is thrown meanwhile', async () => {
  const s = await server((_n, sock) => {
    sock.write('HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\npart');
    sock.destroy();
  });
  const uncaught: unknown[] = [];
  const spy = (e: unknown): void => void uncaught.push(e);
  process.on('uncaughtException', spy);
  try {
    const r = await client().request({ host: '127.0.0.1', port: s.port }, get());
    await new Promise((res) => setTimeout(res, 100));
    assert.deepEqual(uncaught, []);
    await assert.rejects(readAll(r));
  } finally {
    process.removeListener('uncaughtException', spy);
  }
});

test('a body over the stream buffer, taken whole: the connection goes back to the pool reading, and the next request on it is answered', async () => {
  const big = 'b'.repeat(40_000);
  const s = await server((n, sock) => sock.write(ok(n === 0 ? big : `r${n}`)));
  const c = client();
  const r0 = await c.request({ host: '127.0.0.1', port: s.port }, get());
  // On loopback the 40 KB nearly always arrive in one read, over the body's buffer (the socket is
  // paused), and are taken in one piece; if they were split, the rest waits for a reader: read it.
  let whole: Buffer | undefined;
  for (let i = 0; i < 50 && whole === undefined; i++) {
    await new Promise((r) => setTimeout(r, 10));
    whole = r0.takeBody();
  }
  assert.equal(whole?.toString() ?? (await readAll(r0)), big);
  const r1 = await Promise.race([c.request({ host: '127.0.0.1', port: s.port }, get()), new Promise<undefined>((r) => setTimeout(() => r(undefined), 2_000))]);
  assert.ok(r1, 'the second request on the reused connection was answered');
  assert.equal(await readAll(r1), 'r1');
  assert.equal(s.connections, 1);
});

test('a body streamed after it has all arrived, streamed while it arrives, or empty once taken', async () => {
  let late: net.Socket | undefined;
  const s = await server((n, sock) => {
    if (n === 1) {
      sock.write('HTTP/1.1 200 OK\r\ncontent-length: 6\r\n\r\nabc');
      late = sock;
    } else sock.write(ok(`body${n}`));
  });
  const c = client();
  const r0 = await c.request({ host: '127.0.0.1', port: s.port }, get());
  await new Promise((r) => setTimeout(r, 20));
  assert.equal(await readAll(r0), 'body0', 'a body that arrived before anyone asked is all in the stream');
  const r1 = await c.request({ host: '127.0.0.1', port: s.port }, get());
  const reading = readAll(r1);
  late!.write('def');
  assert.equal(await reading, 'abcdef');
  const r2 = await c.request({ host: '127.0.0.1', port: s.port }, get());
  await new Promise((r) => setTimeout(r, 20));
  assert.equal(r2.takeBody()?.toString(), 'body2');
  assert.equal(await readAll(r2), '', 'after takeBody the stream is empty and ended');
});
