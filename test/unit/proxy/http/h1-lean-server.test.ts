// The lean HTTP/1.1 server side on loopback, with scripted upstream responses: framing of what it
// writes, pipelining answered in order, HTTP/1.0, HEAD, request bodies and trailers, and the hand-off
// of everything unusual to node:http with the request's bytes intact.
import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import { PassThrough, Readable } from 'node:stream';
import { after, test } from 'node:test';
import type { H1Downstream } from '../../../../mesh/proxy/http/downstream';
import type { UpstreamResponse } from '../../../../mesh/proxy/http/exchange';
import { LeanConnection } from '../../../../mesh/proxy/http/h1-lean-server';

interface Rig {
  port: number;
  handedOff: Buffer[];
  bad: string[];
  close(): Promise<void>;
}

const rigs: Rig[] = [];
after(async () => {
  for (const r of rigs) await r.close();
});

function upstream(status: number, headers: Record<string, string>, chunks: (string | Buffer)[], trailers?: Record<string, string>, delayMs = 0): UpstreamResponse {
  const body = new PassThrough();
  const t = new Promise<http.IncomingHttpHeaders | undefined>((r) => body.once('end', () => r(trailers)));
  const write = (): void => {
    for (const c of chunks) body.write(c);
    body.end();
  };
  if (delayMs > 0) setTimeout(write, delayMs);
  else write();
  return { status, headers, body, trailers: t, cancel: () => body.destroy() };
}

/** A server whose requests go to `handle`; handed-off connections get node:http's answer "node:<method> <url>". */
async function rig(handle: (ds: H1Downstream) => void): Promise<Rig> {
  const handedOff: Buffer[] = [];
  const bad: string[] = [];
  const nodeServer = http.createServer((req, res) => {
    let body = '';
    req.on('data', (d: Buffer) => (body += d.toString()));
    req.on('end', () => res.end(`node:${req.method} ${req.url} ${body}`));
  });
  const sockets = new Set<net.Socket>();
  const server = net.createServer({ allowHalfOpen: true }, (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
    new LeanConnection(socket, {}, {
      request: (ds) => handle(ds),
      handOff: (s) => {
        const peek = s.read() as Buffer | null;
        if (peek) {
          handedOff.push(peek);
          s.unshift(peek);
        }
        nodeServer.emit('connection', s);
        s.resume();
      },
      badRequest: (code) => bad.push(code),
      maxHeaderBytes: 4096,
    }, () => undefined);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const r: Rig = {
    port: (server.address() as net.AddressInfo).port,
    handedOff,
    bad,
    close: () => {
      for (const s of sockets) s.destroy();
      return new Promise<void>((res) => server.close(() => res()));
    },
  };
  rigs.push(r);
  return r;
}

/** Sends raw bytes, collects everything until the server closes or `until` matches. */
function exchange(port: number, data: string | Buffer, until?: RegExp, endAfterWrite = false): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = net.connect({ host: '127.0.0.1', port }, () => {
      s.write(data);
      if (endAfterWrite) s.end();
    });
    let got = '';
    const timer = setTimeout(() => {
      s.destroy();
      reject(new Error(`no complete answer; got ${JSON.stringify(got)}`));
    }, 5_000);
    s.setEncoding('latin1');
    s.on('data', (d: string) => {
      got += d;
      if (until?.test(got)) {
        clearTimeout(timer);
        s.destroy();
        resolve(got);
      }
    });
    s.on('end', () => {
      clearTimeout(timer);
      resolve(got);
    });
    s.on('error', reject);
  });
}

test('a response with a length is written as is; one without is chunked, its trailers in the last chunk', async () => {
  const r = await rig((ds) => {
    if (ds.path === '/len') void ds.respond(upstream(200, { 'content-length': '5', 'x-a': 'b' }, ['hel', 'lo']));
    else void ds.respond(upstream(200, { 'content-type': 'text/plain' }, ['abc', 'de'], { 'x-sum': '5' }));
  });
  const a = await exchange(r.port, 'GET /len HTTP/1.1\r\nHost: x\r\n\r\n', /hello$/);
  assert.match(a, /^HTTP\/1\.1 200 OK\r\n/);
  assert.match(a, /\r\ncontent-length: 5\r\n/);
  assert.doesNotMatch(a, /connection: close/i);
  const b = await exchange(r.port, 'GET /chunked HTTP/1.1\r\nHost: x\r\n\r\n', /0\r\n[^]*\r\n\r\n$/);
  // What the upstream had delivered goes out with the head, as one chunk.
  assert.match(b, /transfer-encoding: chunked\r\n\r\n5\r\nabcde\r\n0\r\nx-sum: 5\r\n\r\n$/);
});

test('pipelined requests are answered in order even when the later one is ready first', async () => {
  const r = await rig((ds) => {
    const slow = ds.path === '/slow';
    void ds.respond(upstream(200, { 'content-length': String(ds.path.length) }, [ds.path], undefined, slow ? 80 : 0));
  });
  const got = await exchange(r.port, 'GET /slow HTTP/1.1\r\nHost: x\r\n\r\nGET /b HTTP/1.1\r\nHost: x\r\n\r\n', /\/slow[^]*\/b$/);
  assert.ok(got.indexOf('/slow') < got.indexOf('/b'), got);
});

test('HTTP/1.0: keep-alive said back when asked, else the body ends with the connection', async () => {
  const r = await rig((ds) => void ds.respond(upstream(200, {}, ['ten bytes!'])));
  const closeDelimited = await exchange(r.port, 'GET / HTTP/1.0\r\n\r\n');
  assert.match(closeDelimited, /^HTTP\/1\.1 200 OK\r\nconnection: close\r\n\r\nten bytes!$/);
  const r2 = await rig((ds) => void ds.respond(upstream(200, { 'content-length': '2' }, ['ok'])));
  const ka = await exchange(r2.port, 'GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n', /ok$/);
  assert.match(ka, /\r\nconnection: keep-alive\r\n/);
});

test('HEAD keeps the length and sends no body; 204 sends neither', async () => {
  const r = await rig((ds) => void ds.respond(upstream(ds.method === 'HEAD' ? 200 : 204, { 'content-length': '1000' }, [])));
  const head = await exchange(r.port, 'HEAD / HTTP/1.1\r\nHost: x\r\n\r\n', /\r\n\r\n$/);
  assert.match(head, /content-length: 1000\r\n\r\n$/);
  const noContent = await exchange(r.port, 'DELETE / HTTP/1.1\r\nHost: x\r\n\r\n', /\r\n\r\n$/);
  assert.match(noContent, /^HTTP\/1\.1 204 No Content\r\n\r\n$/);
});

test('request bodies (length and chunked) reach the handler, with chunked trailers', async () => {
  const r = await rig((ds) => {
    const parts: Buffer[] = [];
    ds.body!.on('data', (d: Buffer) => parts.push(d));
    ds.body!.on('end', () => {
      const text = `${Buffer.concat(parts).toString()}|${JSON.stringify(ds.trailers() ?? {})}`;
      void ds.respond(upstream(200, { 'content-length': String(text.length) }, [text]));
    });
  });
  const a = await exchange(r.port, 'POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello', /\|\{\}$/);
  assert.match(a, /hello\|\{\}$/);
  const b = await exchange(r.port, 'POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\nx-t: 1\r\n\r\n', /\}$/);
  assert.match(b, /abc\|\{"x-t":"1"\}$/);
});

test('fail() answers with the reason; a half-closed client still gets its answer', async () => {
  const r = await rig((ds) => ds.fail(503, 'no endpoints for svc'));
  const got = await exchange(r.port, 'GET / HTTP/1.1\r\nHost: x\r\n\r\n', undefined, true);
  assert.match(got, /^HTTP\/1\.1 503 Service Unavailable\r\n/);
  assert.match(got, /weft-proxy-error: no endpoints for svc\r\n/);
  assert.match(got, /\r\n\r\nno endpoints for svc\n$/);
});

test('Expect, a head split over reads and garbage go to node:http with every byte', async () => {
  let lean = 0;
  const r = await rig((ds) => {
    lean++;
    void ds.respond(upstream(200, { 'content-length': '4' }, ['lean']));
  });
  const exp = await exchange(r.port, 'POST /e HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\nhi', /node:POST \/e hi$/);
  assert.match(exp, /node:POST \/e hi$/);
  // A head in two reads.
  const split = await new Promise<string>((resolve, reject) => {
    const s = net.connect({ host: '127.0.0.1', port: r.port }, () => {
      s.write('GET /split HTTP/1.1\r\nHo');
      setTimeout(() => s.write('st: x\r\n\r\n'), 50);
    });
    let got = '';
    s.setEncoding('latin1');
    s.on('data', (d: string) => {
      got += d;
      if (/node:GET \/split $/.test(got)) {
        s.destroy();
        resolve(got);
      }
    });
    s.on('error', reject);
    setTimeout(() => reject(new Error(got)), 5_000);
  });
  assert.match(split, /node:GET \/split $/);
  // After a lean request on the same connection, the upgrade still goes over whole.
  const both = await exchange(r.port, 'GET /a HTTP/1.1\r\nHost: x\r\n\r\n', /lean$/);
  assert.match(both, /lean$/);
  const garbage = await exchange(r.port, 'NOT HTTP AT ALL\r\n\r\n');
  assert.match(garbage, /^HTTP\/1\.1 400 Bad Request/);
  assert.equal(lean, 1);
  assert.ok(r.handedOff.some((b) => b.toString().startsWith('POST /e HTTP/1.1\r\n')), 'the Expect request reached node:http whole');
  assert.deepEqual(r.bad, [], 'malformed heads are node:http\'s to answer and log');
});

test('a pipelined request that cannot be handed off gets 400 after the answers before it', async () => {
  const r = await rig((ds) => void ds.respond(upstream(200, { 'content-length': '2' }, ['ok'], undefined, 30)));
  const got = await exchange(r.port, 'GET /a HTTP/1.1\r\nHost: x\r\n\r\nGET /ws HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n');
  assert.match(got, /^HTTP\/1\.1 200 OK\r\n[^]*\r\n\r\nokHTTP\/1\.1 400 Bad Request\r\n/);
  assert.deepEqual(r.bad, ['HPE_PIPELINED']);
});

test('a client that goes away mid-response: the exchange is told and the upstream cancelled', async () => {
  let cancelled = false;
  let aborted = false;
  const r = await rig((ds) => {
    ds.onAbort(() => (aborted = true));
    const body = new Readable({ read() {} });
    body.push('first part');
    void ds.respond({ status: 200, headers: { 'content-length': '100000' }, body, trailers: new Promise(() => undefined), cancel: () => (cancelled = true) });
  });
  await new Promise<void>((resolve, reject) => {
    const s = net.connect({ host: '127.0.0.1', port: r.port }, () => s.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n'));
    s.setEncoding('latin1');
    let got = '';
    s.on('data', (d: string) => {
      got += d;
      // A reset, not a FIN: a FIN is a half-closed client, which still gets its answer.
      if (got.endsWith('first part')) s.resetAndDestroy();
    });
    s.on('close', () => resolve());
    s.on('error', reject);
  });
  const t0 = Date.now();
  while (!(cancelled && aborted) && Date.now() - t0 < 3_000) await new Promise((res) => setTimeout(res, 10));
  assert.ok(aborted, 'onAbort ran');
  assert.ok(cancelled, 'the upstream was cancelled');
});

test('a request body nobody reads (an early 403) is dropped and the connection serves the next request', async () => {
  const r = await rig((ds) => (ds.path === '/deny' ? ds.fail(403, 'denied by policy') : void ds.respond(upstream(200, { 'content-length': '4' }, ['next']))));
  const big = 'x'.repeat(1 << 20);
  const got = await exchange(r.port, `POST /deny HTTP/1.1\r\nHost: x\r\nContent-Length: ${big.length}\r\n\r\n${big}GET /after HTTP/1.1\r\nHost: x\r\n\r\n`, /next$/);
  assert.match(got, /^HTTP\/1\.1 403 Forbidden\r\n/);
  assert.match(got, /\r\n\r\nnext$/);
});

test('an answer that comes after the client went away settles at once (false) and cancels the upstream', async () => {
  let ds: H1Downstream | undefined;
  const r = await rig((d) => (ds = d));
  await new Promise<void>((resolve, reject) => {
    const s = net.connect({ host: '127.0.0.1', port: r.port }, () => s.write('GET /slow HTTP/1.1\r\nHost: x\r\n\r\n'));
    const t0 = Date.now();
    const poll = setInterval(() => {
      if (ds || Date.now() - t0 > 3_000) {
        clearInterval(poll);
        s.resetAndDestroy();
      }
    }, 5);
    s.on('close', () => resolve());
    s.on('error', reject);
  });
  const t0 = Date.now();
  while (!ds!.aborted && Date.now() - t0 < 3_000) await new Promise((res) => setTimeout(res, 10));
  let cancelled = false;
  const up = upstream(200, { 'content-length': '2' }, ['ok']);
  const completed = await Promise.race([ds!.respond({ ...up, cancel: () => (cancelled = true) }), new Promise<string>((res) => setTimeout(() => res('never settled'), 3_000))]);
  assert.equal(completed, false);
  assert.ok(cancelled);
});
