/**
 * curl (HTTP/1.1) through client proxy → mTLS HTTP/2 → server proxy → app: keep-alive, a large
 * streamed upload, chunked responses with trailers, Expect: 100-continue, hop-by-hop headers and
 * the weft-client-id header.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import http from 'node:http';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { promisify } from 'node:util';
import { formatAddr } from '../../mesh/proxy/discovery/discovery';
import { CLIENT_IDENTITY, closeServer, listenLocal, startMesh, type Mesh } from '../helpers/mesh';

const run = promisify(execFile);
const curl = (args: string[]) => run('curl', ['-sS', '--max-time', '20', ...args], { maxBuffer: 16 << 20 });

const TRAILER_BODY = ['alpha-', 'beta-', 'gamma'];
let continueSeen = 0;

/** The app behind the server proxy. */
const app = http.createServer((req, res) => {
  const url = req.url ?? '/';
  if (url.startsWith('/headers')) {
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify(req.headers));
  } else if (url === '/upload') {
    const hash = createHash('sha256');
    let bytes = 0;
    req.on('data', (c: Buffer) => {
      bytes += c.length;
      hash.update(c);
    });
    req.on('end', () => {
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ bytes, sha256: hash.digest('hex'), chunked: req.headers['transfer-encoding'] === 'chunked' }));
    });
  } else if (url === '/trailers') {
    res.writeHead(200, { 'content-type': 'text/plain', trailer: 'x-checksum' });
    let i = 0;
    const next = (): void => {
      if (i < TRAILER_BODY.length) {
        res.write(TRAILER_BODY[i++]);
        setTimeout(next, 5);
      } else {
        res.addTrailers({ 'x-checksum': createHash('sha256').update(TRAILER_BODY.join('')).digest('hex') });
        res.end();
      }
    };
    next();
  } else {
    res.end(`hello ${url}\n`);
  }
});
app.on('checkContinue', (req, res) => {
  continueSeen++;
  res.writeContinue();
  app.emit('request', req, res);
});

let mesh: Mesh | undefined;
/** proxy-http1-node-engine.test.ts runs this file again with both proxies on node:http. */
const ENGINE = process.env['WEFT_TEST_HTTP1_ENGINE'] ?? 'lean';
const engineEnv = { WEFT_PROXY_HTTP1_ENGINE: ENGINE };

before(async () => {
  const port = await listenLocal(app);
  mesh = await startMesh({ servers: [{ appPort: port, env: engineEnv }], clientEnv: engineEnv });
  // The engine really is the one asked for (the proxies say so when ready).
  for (const p of [mesh.client, ...mesh.servers.map((s) => s.proxy)]) {
    assert.equal(p.logs.find((l) => l['msg'] === 'proxy ready')?.['http1'], ENGINE);
  }
});

after(async () => {
  await mesh?.close();
  await closeServer(app);
});

test('GET with keep-alive: two requests ride one connection', async () => {
  const m = mesh!;
  const { stdout } = await curl(['-w', '%{http_code} %{num_connects}\n', m.url('/one'), m.url('/two')]);
  const lines = stdout.trim().split('\n');
  assert.deepEqual(lines, ['hello /one', '200 1', 'hello /two', '200 0']);
});

test('POST of a 6 MB chunked body streams through with the exact byte count', async () => {
  const m = mesh!;
  const body = randomBytes(6 * 1024 * 1024 + 123);
  const file = join(m.dir, 'upload.bin');
  await writeFile(file, body);
  const { stdout } = await curl(['-H', 'Transfer-Encoding: chunked', '-H', 'Expect:', '--data-binary', `@${file}`, m.url('/upload')]);
  const got = JSON.parse(stdout) as { bytes: number; sha256: string; chunked: boolean };
  assert.equal(got.bytes, body.length);
  assert.equal(got.sha256, createHash('sha256').update(body).digest('hex'));
});

test('chunked response with trailers: curl --raw sees the chunks and the trailer', async () => {
  const m = mesh!;
  const checksum = createHash('sha256').update(TRAILER_BODY.join('')).digest('hex');
  const { stdout } = await curl(['--raw', '-H', 'TE: trailers', m.url('/trailers')]);
  // Chunked framing: hex size lines, the data, a last 0-chunk, then the trailer field.
  assert.match(stdout, /\r\n0\r\nx-checksum: [0-9a-f]{64}\r\n\r\n$/i);
  assert.ok(stdout.includes(`x-checksum: ${checksum}`), stdout);
  const data = stdout.replace(/\r\n0\r\n[\s\S]*$/, '').split('\r\n').filter((_l, i) => i % 2 === 1).join('');
  assert.equal(data, TRAILER_BODY.join(''));
});

test('chunked response with trailers: a node http client reads res.trailers', async () => {
  const m = mesh!;
  const { body, trailers } = await new Promise<{ body: string; trailers: NodeJS.Dict<string> }>((resolve, reject) => {
    http
      .get(m.url('/trailers'), { agent: false }, (res) => {
        let b = '';
        res.setEncoding('utf8').on('data', (c: string) => (b += c));
        res.on('end', () => resolve({ body: b, trailers: res.trailers }));
      })
      .on('error', reject);
  });
  assert.equal(body, TRAILER_BODY.join(''));
  assert.equal(trailers['x-checksum'], createHash('sha256').update(body).digest('hex'));
});

test('Expect: 100-continue gets its 100 at once and the body is delivered', async () => {
  const m = mesh!;
  const before = continueSeen;
  const started = Date.now();
  const { stdout, stderr } = await curl([
    '-v',
    '--expect100-timeout',
    '10',
    '-H',
    'Expect: 100-continue',
    '--data-binary',
    'x'.repeat(5000),
    m.url('/upload'),
  ]);
  assert.match(stderr, /< HTTP\/1\.1 100 Continue/);
  assert.equal((JSON.parse(stdout) as { bytes: number }).bytes, 5000);
  assert.ok(Date.now() - started < 5000, 'curl waited for its expect100 timeout');
  assert.equal(continueSeen, before + 1, 'the app saw Expect: 100-continue');
});

test('hop-by-hop headers: fields named by Connection are removed, others kept', async () => {
  const m = mesh!;
  const { stdout } = await curl(['-H', 'Connection: x-foo', '-H', 'x-foo: secret', '-H', 'Keep-Alive: timeout=5', '-H', 'x-keep: yes', m.url('/headers')]);
  const h = JSON.parse(stdout) as Record<string, string>;
  assert.equal(h['x-keep'], 'yes');
  assert.equal(h['x-foo'], undefined);
  assert.equal(h['keep-alive'], undefined);
});

test('weft-client-id carries the client identity; a forged one is replaced', async () => {
  const m = mesh!;
  const plain = JSON.parse((await curl([m.url('/headers')])).stdout) as Record<string, string>;
  assert.equal(plain['weft-client-id'], CLIENT_IDENTITY);
  const forged = JSON.parse((await curl(['-H', 'weft-client-id: admin.kube-system.serviceaccount.identity.weft.cluster.local', m.url('/headers')])).stdout) as Record<string, string>;
  assert.equal(forged['weft-client-id'], CLIENT_IDENTITY);
});

test('a forged weft-client-id sent in plaintext straight to the server proxy never reaches the app', async () => {
  const m = mesh!;
  const inbound = formatAddr(m.servers[0]!.inbound);
  const h = JSON.parse((await curl(['-H', `weft-client-id: ${CLIENT_IDENTITY}`, `http://${inbound}/headers`])).stdout) as Record<string, string>;
  assert.equal(h['weft-client-id'], undefined);
});
