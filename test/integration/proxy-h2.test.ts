/**
 * nghttp (nghttp2-client, HTTP/2 prior knowledge) through the client proxy's upstream listener →
 * mTLS → server proxy → an h2c app: a request works, and concurrent streams share one connection.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import http2 from 'node:http2';
import { after, before, test } from 'node:test';
import { promisify } from 'node:util';
import { closeServer, listenLocal, startMesh, type Mesh } from '../helpers/mesh';

const run = promisify(execFile);
const nghttp = (args: string[]) => run('nghttp', ['-t', '20', ...args], { maxBuffer: 4 << 20 });

const DELAY_MS = 400;
let inFlight = 0;
let maxInFlight = 0;

const app = http2.createServer((req, res) => {
  if (req.url.startsWith('/slow')) {
    inFlight++;
    maxInFlight = Math.max(maxInFlight, inFlight);
    setTimeout(() => {
      inFlight--;
      res.end(`slow ${req.url}\n`);
    }, DELAY_MS);
    return;
  }
  res.setHeader('x-app-proto', `HTTP/${req.httpVersion}`);
  res.end(`h2 hello ${req.url}\n`);
});

let mesh: Mesh | undefined;

before(async () => {
  mesh = await startMesh({ servers: [{ appPort: await listenLocal(app) }] });
});

after(async () => {
  await mesh?.close();
  await closeServer(app);
});

test('nghttp -v over h2c reaches the app over HTTP/2', async () => {
  const { stdout } = await nghttp(['-v', mesh!.url('/')]);
  assert.match(stdout, /recv \(stream_id=\d+\) :status: 200/);
  assert.match(stdout, /recv \(stream_id=\d+\) x-app-proto: HTTP\/2\.0/);
  assert.match(stdout, /h2 hello \//);
});

test('several concurrent streams multiplex on one connection', async () => {
  const m = mesh!;
  const n = 6;
  maxInFlight = 0;
  const urls = Array.from({ length: n }, (_v, i) => m.url(`/slow/${i}`));
  const started = Date.now();
  // -n: discard bodies; -v: frames (one connection, stream ids 1, 3, 5 …).
  const { stdout } = await nghttp(['-v', '-n', ...urls]);
  const elapsed = Date.now() - started;
  const statuses = stdout.match(/recv \(stream_id=\d+\) :status: 200/g) ?? [];
  assert.equal(statuses.length, n, stdout);
  assert.equal((stdout.match(/Connected/g) ?? []).length, 1);
  assert.equal(maxInFlight, n, 'the app saw every stream in flight at once');
  assert.ok(elapsed < DELAY_MS * 3, `took ${elapsed} ms: streams were serialised`);
});
