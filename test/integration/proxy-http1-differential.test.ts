/**
 * The lean HTTP/1.1 engine against node:http's, differentially: the same seeded stream of varied
 * requests (methods, bodies with a length or chunked, HEAD, 204/304, trailers, repeated fields,
 * a client's Connection: close, large heads) goes through a 1-hop proxy on each engine to the same
 * app, and what the client gets back — and what the app saw — must be the same.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { spawnProxy, type ProxyProcess } from '../../dev-cluster/local/proxy-process';
import { closeServer, listenLocal } from '../helpers/mesh';
import { seededRandom } from '../helpers/seeded-random';

const AUTHORITY = 'svc.diff:8080';

const app = http.createServer((req, res) => {
  const hash = createHash('sha256');
  let bytes = 0;
  req.on('data', (c: Buffer) => {
    bytes += c.length;
    hash.update(c);
  });
  req.on('end', () => {
    const seen = JSON.stringify({
      method: req.method,
      url: req.url,
      version: req.httpVersion,
      host: req.headers.host,
      x: Object.entries(req.headers).filter(([k]) => k.startsWith('x-')),
      cookie: req.headers.cookie ?? null,
      bytes,
      sha: hash.digest('hex').slice(0, 16),
      trailers: req.trailers,
    });
    const [, kind, arg] = (req.url ?? '/').split('/');
    const n = Number(arg ?? 0);
    if (kind === 'len') {
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(seen) + n, 'x-kind': 'len' });
      res.end(seen + 'L'.repeat(n));
    } else if (kind === 'chunked') {
      res.writeHead(200, { 'content-type': 'text/plain', 'x-kind': 'chunked' });
      res.write(seen);
      let i = 0;
      const next = (): void => {
        if (i++ < n) {
          res.write(`part-${i};`);
          setImmediate(next);
        } else res.end();
      };
      next();
    } else if (kind === 'trailers') {
      // A HEAD response has no body to carry trailers (node:http refuses the field then).
      const head = req.method === 'HEAD';
      res.writeHead(200, head ? { 'content-type': 'text/plain' } : { 'content-type': 'text/plain', trailer: 'x-sum' });
      res.write(seen);
      if (!head) res.addTrailers({ 'x-sum': String(bytes) });
      res.end();
    } else if (kind === 'status') {
      res.writeHead(n, { 'x-kind': 'status' });
      res.end(n === 204 || n === 304 ? undefined : seen);
    } else if (kind === 'cookies') {
      res.setHeader('set-cookie', ['a=1; Path=/', 'b=2; Path=/']);
      res.setHeader('x-many', ['one', 'two']);
      res.end(seen);
    } else if (kind === 'close') {
      res.writeHead(200, { connection: 'close', 'content-type': 'text/plain' });
      res.end(seen);
    } else {
      res.end(seen);
    }
  });
});

let dir = '';
const proxies: Record<'lean' | 'node', ProxyProcess | undefined> = { lean: undefined, node: undefined };

before(async () => {
  const appPort = await listenLocal(app);
  dir = await mkdtemp(join(tmpdir(), 'weft-h1-diff-'));
  const file = join(dir, 'destinations.json');
  await writeFile(file, JSON.stringify({ destinations: [{ authority: AUTHORITY, endpoints: [{ addr: `127.0.0.1:${appPort}` }] }] }));
  for (const engine of ['lean', 'node'] as const) {
    proxies[engine] = await spawnProxy({
      name: `diff-${engine}`,
      env: { WEFT_PROXY_UPSTREAMS: `${AUTHORITY}=127.0.0.1:0`, WEFT_PROXY_DESTINATION_FILE: file, WEFT_PROXY_HTTP1_ENGINE: engine },
    });
  }
});

after(async () => {
  await Promise.all(Object.values(proxies).map((p) => p?.stop()));
  await closeServer(app);
  if (dir) await rm(dir, { recursive: true, force: true });
});

interface Req {
  method: string;
  path: string;
  headers: Record<string, string | string[]>;
  body: Buffer[] | undefined;
  chunked: boolean;
  /** The client asks to close after this request (Connection: close, no agent). */
  close: boolean;
}

function requests(count: number): Req[] {
  // Seeded: the same requests for both engines, and on every run.
  const r = seededRandom(20261123);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;
  const out: Req[] = [];
  for (let i = 0; i < count; i++) {
    const method = pick(['GET', 'GET', 'POST', 'PUT', 'HEAD', 'DELETE', 'PATCH']);
    const path = pick(['/len/0', '/len/10', '/len/70000', '/chunked/3', '/chunked/0', '/trailers/0', '/status/204', '/status/304', '/status/404', '/status/503', '/cookies/0', '/close/0', '/plain?q=a%20b&x=1']);
    const headers: Record<string, string | string[]> = { 'x-request': String(i) };
    if (r() < 0.3) headers['x-repeated'] = ['a', 'b'];
    if (r() < 0.2) headers['cookie'] = 'k=v';
    if (r() < 0.1) headers['x-large'] = 'v'.repeat(6000);
    const withBody = method === 'POST' || method === 'PUT' || method === 'PATCH';
    const size = withBody ? pick([0, 5, 1000, 200_000]) : 0;
    const body = withBody ? [Buffer.alloc(Math.floor(size / 2), 'a'), Buffer.alloc(size - Math.floor(size / 2), 'b')] : undefined;
    out.push({ method, path, headers, body, chunked: withBody && r() < 0.4, close: r() < 0.1 });
  }
  return out;
}

interface Outcome {
  status: number;
  headers: Record<string, unknown>;
  body: string;
  trailers: Record<string, unknown>;
}

/** Fields that legitimately differ between two correct proxies (framing and connection management). */
const FRAMING = new Set(['date', 'connection', 'keep-alive', 'transfer-encoding']);

function send(port: number, agent: http.Agent, q: Req): Promise<Outcome> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string | string[]> = { host: AUTHORITY, ...q.headers };
    if (q.body && !q.chunked) headers['content-length'] = String(q.body.reduce((a, b) => a + b.length, 0));
    if (q.close) headers['connection'] = 'close';
    const req = http.request({ host: '127.0.0.1', port, method: q.method, path: q.path, headers, agent: q.close ? false : agent }, (res) => {
      const parts: Buffer[] = [];
      res.on('data', (c: Buffer) => parts.push(c));
      res.on('end', () => {
        const h: Record<string, unknown> = {};
        for (const [k, v] of Object.entries(res.headers)) if (!FRAMING.has(k)) h[k] = v;
        resolve({ status: res.statusCode ?? 0, headers: h, body: Buffer.concat(parts).toString(), trailers: { ...res.trailers } });
      });
      res.on('error', reject);
    });
    req.on('error', reject);
    req.setTimeout(15_000, () => req.destroy(new Error(`no answer to ${q.method} ${q.path} in 15 s`)));
    for (const b of q.body ?? []) req.write(b);
    req.end();
  });
}

test('the lean and node:http engines answer 120 varied requests identically', async () => {
  const qs = requests(120);
  const agents = { lean: new http.Agent({ keepAlive: true, maxSockets: 1 }), node: new http.Agent({ keepAlive: true, maxSockets: 1 }) };
  try {
    for (const [i, q] of qs.entries()) {
      const lean = await send(proxies.lean!.upstreams.get(AUTHORITY)!.port, agents.lean, q);
      const node = await send(proxies.node!.upstreams.get(AUTHORITY)!.port, agents.node, q);
      assert.deepEqual(lean, node, `request ${i}: ${q.method} ${q.path}${q.chunked ? ' (chunked body)' : ''}${q.close ? ' (Connection: close)' : ''}`);
      assert.ok(lean.status >= 200, `request ${i} was answered`);
    }
  } finally {
    agents.lean.destroy();
    agents.node.destroy();
  }
});
