import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { runGenerator } from '../../../bench/lib/load-generator';

async function withServer(handler: http.RequestListener, f: (port: number) => Promise<void>): Promise<void> {
  const server = http.createServer(handler);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  try {
    await f((server.address() as AddressInfo).port);
  } finally {
    server.closeAllConnections();
    await new Promise<void>((r) => server.close(() => r()));
  }
}

test('open loop: sends at the rate over keep-alive connections and counts only post-warm-up answers', async () => {
  const sockets = new Set<unknown>();
  await withServer(
    (req, res) => {
      sockets.add(req.socket);
      res.end('ok');
    },
    async (port) => {
      const r = await runGenerator({ mode: 'open', host: '127.0.0.1', port, authority: 'x:1', connections: 2, seconds: 0.5, warmupSeconds: 0.1, rps: 100, spinUs: 500 });
      assert.equal(r.errors, 0, r.firstError);
      assert.equal(r.sent, 60);
      assert.equal(r.ok, 50);
      assert.equal(r.latencyUs.count, 50);
      assert.ok(r.latencyUs.p50 > 0 && r.latencyUs.p50 < 100_000);
      assert.ok(sockets.size <= 2, 'no connection beyond the pool');
    },
  );
});

test('open loop: a slow answer is charged from the intended start of the requests queued behind it', async () => {
  let n = 0;
  await withServer(
    (_req, res) => {
      // Request 3 takes 200 ms; with one connection the requests due meanwhile wait for it.
      if (++n === 3) setTimeout(() => res.end('ok'), 200);
      else res.end('ok');
    },
    async (port) => {
      const r = await runGenerator({ mode: 'open', host: '127.0.0.1', port, authority: 'x:1', connections: 1, seconds: 0.6, warmupSeconds: 0, rps: 50, spinUs: 0 });
      assert.equal(r.errors, 0, r.firstError);
      // ~10 requests fall due in those 200 ms: a closed-loop timer would record one slow request, the open loop several.
      const h = r.latencyUs;
      assert.ok(h.p90 >= 100_000, `p90 ${h.p90} µs should include queueing behind the slow answer`);
    },
  );
});

test('closed loop and errors: non-2xx answers are counted as errors with the first one named', async () => {
  await withServer(
    (_req, res) => {
      res.statusCode = 503;
      res.end('busy');
    },
    async (port) => {
      const r = await runGenerator({ mode: 'closed', host: '127.0.0.1', port, authority: 'x:1', connections: 4, seconds: 0.3, warmupSeconds: 0.05 });
      assert.equal(r.ok, 0);
      assert.ok(r.errors > 0);
      assert.equal(r.firstError, 'status 503');
    },
  );
});
