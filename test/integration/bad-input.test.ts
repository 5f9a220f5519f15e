/**
 * Bad input to the outbound (client proxy's upstream listener) and inbound (server proxy, plaintext)
 * listeners of real proxy processes: garbage, malformed and oversized headers, slow headers,
 * half-closed clients, an app that resets mid-response and an app that is down. After each, a normal
 * request still succeeds, and the proxy said what happened in one log line.
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import type { SocketAddr } from '../../mesh/proxy/discovery/discovery';
import type { ProxyProcess } from '../../dev-cluster/local/proxy-process';
import { deadPort, httpGet, listenServer, rawExchange, startTcpMesh, type TcpMesh } from '../helpers/tcp-mesh';

const WEB = 'web.tcptest:8080';
const DOWN = 'down.tcptest:8081';
const HEADER_TIMEOUT_MS = 1000;

let app: Awaited<ReturnType<typeof listenServer<http.Server>>>;
let mesh: TcpMesh;

before(async () => {
  app = await listenServer(
    http.createServer((req, res) => {
      if (req.url === '/reset') {
        res.writeHead(200, { 'content-type': 'text/plain', 'content-length': '100000' });
        res.write('x'.repeat(1000));
        setTimeout(() => req.socket.resetAndDestroy(), 20);
        return;
      }
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end(`hello ${req.method} ${req.url}`);
    }),
  );
  const limits = { WEFT_PROXY_MAX_HEADER_BYTES: '1024', WEFT_PROXY_HEADER_TIMEOUT: `${HEADER_TIMEOUT_MS}ms`, WEFT_PROXY_DETECT_TIMEOUT: '1s' };
  mesh = await startTcpMesh({
    destinations: [
      { authority: WEB, appPort: app.port },
      { authority: DOWN, appPort: await deadPort() },
    ],
    clientEnv: limits,
    // Per-request failures (app unreachable) are logged at debug only, by design (docs/proxy.md).
    serverEnv: { ...limits, WEFT_PROXY_APP_PORT: String(app.port), WEFT_PROXY_LOG: 'debug' },
  });
});
after(async () => {
  await mesh?.close();
  await app?.close();
});

const sides = (): [string, SocketAddr, ProxyProcess][] => [
  ['outbound', mesh.upstream(WEB), mesh.client],
  ['inbound', mesh.server.inbound!, mesh.server],
];

async function stillServes(addr: SocketAddr): Promise<void> {
  const r = await httpGet(addr, '/ok');
  assert.equal(r.status, 200);
  assert.equal(r.body, 'hello GET /ok');
}

/** Runs `fn` and returns the log lines the proxy wrote meanwhile (waiting briefly for stragglers). */
async function newLogs(p: ProxyProcess, fn: () => Promise<void>): Promise<Record<string, unknown>[]> {
  const from = p.logs.length;
  await fn();
  await new Promise((r) => setTimeout(r, 150));
  return p.logs.slice(from);
}
const msgs = (lines: Record<string, unknown>[]): string => JSON.stringify(lines.map((l) => `${l['level']} ${l['msg']} ${l['error'] ?? ''}`));

describe('bad input', () => {
  test('binary garbage is closed or forwarded as opaque bytes, and the proxy keeps serving', async () => {
    for (const [side, addr] of sides()) {
      const r = await rawExchange(addr, [Buffer.concat([Buffer.from([0, 0xff, 0x13]), randomBytes(4096)])], { timeoutMs: 4_000 });
      assert.notEqual(r.how, 'timeout', `${side}: the connection was left hanging`);
      // Opaque-forwarded to the HTTP app, which answers 400 and closes; or closed by the proxy.
      assert.ok(r.data.length === 0 || r.data.toString('latin1').startsWith('HTTP/1.1 400'), `${side}: ${r.data.toString('latin1').slice(0, 80)}`);
      await stillServes(addr);
    }
  });

  test('a malformed header line gets 400 and one log line', async () => {
    for (const [side, addr, proxy] of sides()) {
      let r: Awaited<ReturnType<typeof rawExchange>> | undefined;
      const logs = await newLogs(proxy, async () => {
        r = await rawExchange(addr, ['GET / HTTP/1.1\r\nhost: a\r\nthis is not a header\r\n\r\n'], { timeoutMs: 3_000 });
      });
      assert.match(r!.data.toString('latin1'), /^HTTP\/1\.1 400 /, side);
      assert.equal(logs.filter((l) => String(l['msg']).includes('bad HTTP request')).length, 1, `${side}: ${msgs(logs)}`);
      await stillServes(addr);
    }
  });

  test('oversized request headers get 431 and one log line', async () => {
    for (const [side, addr, proxy] of sides()) {
      let r: Awaited<ReturnType<typeof rawExchange>> | undefined;
      const logs = await newLogs(proxy, async () => {
        r = await rawExchange(addr, [`GET / HTTP/1.1\r\nhost: a\r\nx-big: ${'b'.repeat(4096)}\r\n\r\n`], { timeoutMs: 3_000 });
      });
      assert.match(r!.data.toString('latin1'), /^HTTP\/1\.1 431 /, side);
      const lines = logs.filter((l) => String(l['msg']).includes('bad HTTP request'));
      assert.equal(lines.length, 1, `${side}: ${msgs(logs)}`);
      assert.equal(lines[0]!['error'], 'HPE_HEADER_OVERFLOW');
      await stillServes(addr);
    }
  });

  test('a client that never finishes its headers gets 408 within the header timeout', async () => {
    const problems = await Promise.all(
      sides().map(async ([side, addr, proxy]) => {
        let r: Awaited<ReturnType<typeof rawExchange>> | undefined;
        const logs = await newLogs(proxy, async () => {
          r = await rawExchange(addr, ['GET /slow HTTP/1.1\r\n', 'host: a\r\n', 'x-a: 1\r\n'], { gapMs: 100, timeoutMs: HEADER_TIMEOUT_MS + 3_000 });
        });
        const got = `${side}: ${r!.how} after ${r!.ms.toFixed(0)} ms with ${JSON.stringify(r!.data.toString('latin1').slice(0, 40))}`;
        if (!/^HTTP\/1\.1 408 /.test(r!.data.toString('latin1')) || r!.ms > HEADER_TIMEOUT_MS + 1_500) return got;
        if (logs.filter((l) => String(l['msg']).includes('bad HTTP request')).length !== 1) return `${side}: logs ${msgs(logs)}`;
        await stillServes(addr);
        return undefined;
      }),
    );
    assert.deepEqual(problems.filter(Boolean), []);
  });

  test('a half-closed client (write side shut after its request) still gets the response', async () => {
    const problems: string[] = [];
    for (const [side, addr] of sides()) {
      const r = await rawExchange(addr, ['GET /half HTTP/1.1\r\nhost: a\r\n\r\n'], { halfClose: true, timeoutMs: 3_000, until: (d) => d.includes('hello GET /half') });
      // The app answers without Content-Length, so the body arrives chunked: look for it, not for the end.
      if (!/^HTTP\/1\.1 200 [\s\S]*hello GET \/half/.test(r.data.toString('latin1'))) problems.push(`${side}: ${r.how} with ${JSON.stringify(r.data.toString('latin1').slice(0, 60))}`);
      await stillServes(addr);
    }
    assert.deepEqual(problems, []);
  });

  test('an app that resets mid-response: the client sees an error or a 502, the next request succeeds', async () => {
    for (const [side, addr] of sides()) {
      const outcome = await httpGet(addr, '/reset').then(
        (r) => `status ${r.status}, ${r.body.length} bytes`,
        (e: Error) => `error ${e.message}`,
      );
      assert.ok(/^error /.test(outcome) || /^status 502/.test(outcome), `${side}: ${outcome} (a truncated body must not look complete)`);
      await stillServes(addr);
    }
  });

  test('an app that is down: 502 with weft-proxy-error, one log line, and the proxy keeps serving', async () => {
    let r: Awaited<ReturnType<typeof httpGet>> | undefined;
    const logs = await newLogs(mesh.server, async () => {
      r = await httpGet(mesh.upstream(DOWN), '/');
    });
    assert.equal(r!.status, 502);
    assert.ok(r!.headers['weft-proxy-error'], `headers: ${JSON.stringify(r!.headers)}`);
    assert.equal(logs.filter((l) => String(l['msg']).includes('unreachable')).length, 1, `server proxy logs: ${msgs(logs)}`);
    await stillServes(mesh.upstream(WEB));
  });
});
