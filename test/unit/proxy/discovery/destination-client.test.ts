// The destination service and the proxy's DestinationClient together on loopback (h2c).
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import http2 from 'node:http2';
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { startDestinationServer, HEARTBEAT_LINE, type DestinationServer } from '../../../../mesh/control/destination/destination-server';
import { MemoryModelSource } from '../../../../mesh/control/destination/model-source';
import type { MeshModel, ModelService } from '../../../../mesh/control/destination/destination-model';
import { DestinationClient, backoffDelayMs, parseWatchLine } from '../../../../mesh/proxy/discovery/destination-client';
import type { DestinationUpdate, DiscoveryHandlers } from '../../../../mesh/proxy/discovery/discovery';

const HOST = '127.0.0.1';

function service(authority: string, ports: number[]): ModelService {
  return {
    authority,
    name: authority.split('.')[0]!,
    namespace: 'demo',
    endpoints: ports.map((p) => ({ addr: { host: HOST, port: p }, identity: 'x.demo.serviceaccount.identity.weft.cluster.local', targetPort: 9000, labels: {} })),
  };
}
const model = (...s: ModelService[]): MeshModel => ({ services: s });

type Event = { kind: 'update'; u: DestinationUpdate } | { kind: 'notFound' } | { kind: 'error'; err: Error };

function recorder(): DiscoveryHandlers & { events: Event[]; waitFor(pred: (e: Event) => boolean, timeoutMs?: number): Promise<Event> } {
  const events: Event[] = [];
  const waiters: { pred: (e: Event) => boolean; resolve: (e: Event) => void }[] = [];
  const push = (e: Event): void => {
    events.push(e);
    for (const w of [...waiters]) {
      if (!w.pred(e)) continue;
      waiters.splice(waiters.indexOf(w), 1);
      w.resolve(e);
    }
  };
  return {
    events,
    update: (u) => push({ kind: 'update', u }),
    notFound: () => push({ kind: 'notFound' }),
    error: (err) => push({ kind: 'error', err }),
    waitFor(pred, timeoutMs = 3_000) {
      return new Promise<Event>((resolve, reject) => {
        const t = setTimeout(() => reject(new Error(`no matching event in ${timeoutMs} ms; got ${JSON.stringify(events.map((e) => e.kind))}`)), timeoutMs);
        waiters.push({ pred, resolve: (e) => (clearTimeout(t), resolve(e)) });
      });
    },
  };
}
const ports = (e: Event): number[] => (e.kind === 'update' ? e.u.endpoints.map((x) => x.addr.port) : []);

async function setup(t: TestContext, m: MeshModel, opts: { heartbeatMs?: number } = {}) {
  const source = new MemoryModelSource(m);
  const server = await startDestinationServer({ host: HOST, port: 0, source, ...opts });
  t.after(() => server.close());
  const client = new DestinationClient({ addr: `${HOST}:${server.port}`, minBackoffMs: 20, maxBackoffMs: 100 });
  t.after(() => client.close());
  return { source, server, client };
}

async function eventually(cond: () => boolean, timeoutMs = 3_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 10));
  }
}

test('an update reaches the client; an unknown authority is notFound', async (t) => {
  const { client } = await setup(t, model(service('voting.demo:8080', [14001, 14002])));
  const r = recorder();
  client.watch('voting.demo:8080', r);
  assert.deepEqual(ports(await r.waitFor((e) => e.kind === 'update')), [14001, 14002]);
  const n = recorder();
  client.watch('nope.demo:80', n);
  await n.waitFor((e) => e.kind === 'notFound');
});

test('a change propagates to the watchers of that authority only; a removed service becomes notFound', async (t) => {
  const { client, source } = await setup(t, model(service('voting.demo:8080', [14001]), service('web.demo:80', [14010])));
  const voting = recorder();
  const web = recorder();
  client.watch('voting.demo:8080', voting);
  client.watch('web.demo:80', web);
  await voting.waitFor((e) => e.kind === 'update');
  await web.waitFor((e) => e.kind === 'update');
  source.set(model(service('voting.demo:8080', [14001, 14003]), service('web.demo:80', [14010])));
  assert.deepEqual(ports(await voting.waitFor((e) => e.kind === 'update' && e.u.endpoints.length === 2)), [14001, 14003]);
  source.set(model(service('voting.demo:8080', [14001, 14003])));
  await web.waitFor((e) => e.kind === 'notFound');
  assert.equal(voting.events.length, 2, 'voting saw its first answer and one change, nothing for web');
  assert.equal(web.events.filter((e) => e.kind === 'update').length, 1);
});

test('two handlers of one authority share one stream; closing both cancels it on the server', async (t) => {
  const { client, server } = await setup(t, model(service('voting.demo:8080', [14001])));
  const a = recorder();
  const b = recorder();
  const wa = client.watch('voting.demo:8080', a);
  await a.waitFor((e) => e.kind === 'update');
  const wb = client.watch('voting.demo:8080', b);
  await b.waitFor((e) => e.kind === 'update');
  assert.equal(server.watchCount(), 1);
  wa.close();
  await new Promise((r) => setTimeout(r, 50));
  assert.equal(server.watchCount(), 1);
  wb.close();
  await eventually(() => server.watchCount() === 0);
});

test('the server sends heartbeats on an idle watch; bad requests get 400/404', async (t) => {
  const { server } = await setup(t, model(service('voting.demo:8080', [14001])), { heartbeatMs: 30 });
  const s = http2.connect(`http://${HOST}:${server.port}`);
  t.after(() => s.destroy());
  const get = (path: string) =>
    new Promise<{ status: number; body: string }>((resolve) => {
      const req = s.request({ ':path': path });
      let status = 0;
      let body = '';
      req.setEncoding('utf8');
      req.on('response', (h) => (status = Number(h[':status'])));
      req.on('data', (c: string) => {
        body += c;
        if (body.split(HEARTBEAT_LINE).length > 2) {
          req.close();
          resolve({ status, body });
        }
      });
      req.on('end', () => resolve({ status, body }));
    });
  const watch = await get('/v1/watch?authority=voting.demo%3A8080');
  assert.equal(watch.status, 200);
  const lines = watch.body.trim().split('\n');
  assert.ok('update' in JSON.parse(lines[0]!));
  assert.ok(lines.slice(1).every((l) => l === HEARTBEAT_LINE.trim()));
  assert.equal((await get('/v1/watch?authority=nonsense')).status, 400);
  assert.equal((await get('/v2/other')).status, 404);
});

test('service killed: the client keeps last-known endpoints, reports error, and catches up when the service comes back', async (t) => {
  const source = new MemoryModelSource(model(service('voting.demo:8080', [14001])));
  let server: DestinationServer = await startDestinationServer({ host: HOST, port: 0, source });
  const port = server.port;
  t.after(() => server.close());
  const client = new DestinationClient({ addr: `${HOST}:${port}`, minBackoffMs: 20, maxBackoffMs: 80 });
  t.after(() => client.close());
  const r = recorder();
  client.watch('voting.demo:8080', r);
  await r.waitFor((e) => e.kind === 'update');

  await server.close();
  const err = await r.waitFor((e) => e.kind === 'error');
  assert.match((err as { err: Error }).err.message, /keeping last-known/);
  await new Promise((res) => setTimeout(res, 300)); // several failed reconnects
  assert.deepEqual(
    r.events.map((e) => e.kind),
    ['update', 'error'],
    'one error per outage; never notFound or an empty update',
  );
  const late = recorder();
  client.watch('voting.demo:8080', late);
  await late.waitFor((e) => e.kind === 'error');
  assert.deepEqual(ports(late.events[0]!), [14001], 'a watch opened during the outage gets the last-known answer first');

  source.set(model(service('voting.demo:8080', [14001, 14005])));
  const back = r.waitFor((e) => e.kind === 'update', 5_000);
  const lateBack = late.waitFor((e) => e.kind === 'update', 5_000);
  server = await startDestinationServer({ host: HOST, port, source });
  assert.deepEqual(ports(await back), [14001, 14005]);
  await lateBack;
});

test('a session that goes silent (no heartbeat) is dropped and re-established', async (t) => {
  let opened = 0;
  const silent = http2.createServer();
  silent.on('stream', (stream) => {
    opened++;
    stream.on('error', () => undefined);
    stream.respond({ ':status': 200 });
    if (opened === 1) stream.write('{"notFound":true}\n'); // then nothing, ever
  });
  const sessions = new Set<http2.Http2Session>();
  silent.on('session', (s) => (sessions.add(s), s.on('error', () => undefined)));
  await new Promise<void>((r) => silent.listen(0, HOST, r));
  t.after(() => new Promise<void>((r) => (sessions.forEach((s) => s.destroy()), silent.close(() => r()))));
  const addr = silent.address() as { port: number };
  const client = new DestinationClient({ addr: `${HOST}:${addr.port}`, heartbeatTimeoutMs: 150, minBackoffMs: 10, maxBackoffMs: 20 });
  t.after(() => client.close());
  const r = recorder();
  client.watch('voting.demo:8080', r);
  await r.waitFor((e) => e.kind === 'notFound');
  const err = await r.waitFor((e) => e.kind === 'error');
  assert.match((err as { err: Error }).err.message, /silent/);
  await eventually(() => opened >= 2);
});

test('back-off doubles up to its cap with jitter in [50 %, 100 %]; watch lines are checked', () => {
  assert.equal(backoffDelayMs(0, 100, 10_000, () => 0.999999), 100);
  assert.equal(backoffDelayMs(3, 100, 10_000, () => 0), 400);
  assert.equal(backoffDelayMs(40, 100, 10_000, () => 0.999999), 10_000);
  assert.equal(parseWatchLine(HEARTBEAT_LINE.trim()), 'heartbeat');
  assert.deepEqual(parseWatchLine('{"notFound":true}'), { kind: 'notFound' });
  assert.ok('error' in (parseWatchLine('{"update":{"endpoints":[{"addr":"x"}],"profile":{}}}') as object));
  assert.ok('error' in (parseWatchLine('not json') as object));
});

test('a watch that stops reading is closed by the server instead of buffering without bound', async (t) => {
  const big = (v: number) => model(service('voting.demo:8080', Array.from({ length: 400 }, (_, i) => 20_000 + v + i)));
  const source = new MemoryModelSource(big(0));
  const server = await startDestinationServer({ host: HOST, port: 0, source, maxBufferedBytes: 256 * 1024 });
  t.after(() => server.close());
  const s = http2.connect(`http://${HOST}:${server.port}`);
  t.after(() => s.destroy());
  s.on('error', () => undefined);
  const req = s.request({ ':path': '/v1/watch?authority=voting.demo%3A8080' });
  req.on('error', () => undefined);
  const closed = new Promise<number>((r) => req.once('close', () => r(req.rstCode ?? -1)));
  req.once('data', () => req.pause()); // first chunk read, then never again: the 64 KiB window fills
  await eventually(() => server.watchCount() === 1);
  for (let v = 1; v <= 40 && server.watchCount() === 1; v++) {
    source.set(big(v));
    await new Promise((r) => setTimeout(r, 5));
  }
  const timeout = new Promise<string>((r) => setTimeout(() => r('still open'), 3_000).unref());
  assert.equal(await Promise.race([closed, timeout]), http2.constants.NGHTTP2_ENHANCE_YOUR_CALM);
  await eventually(() => server.watchCount() === 0);
});

test('service process SIGKILLed: last-known endpoints stay, the client reconnects to its successor', async (t) => {
  const script = new URL('./destination-server.child.ts', import.meta.url);
  const children: ChildProcess[] = [];
  t.after(() => children.forEach((c) => c.kill('SIGKILL')));
  const spawnServer = (port: number, endpointPorts: number[]) =>
    new Promise<{ child: ChildProcess; port: number }>((resolve, reject) => {
      const child = fork(fileURLToPath(script), [JSON.stringify({ port, authority: 'voting.demo:8080', ports: endpointPorts })], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
      children.push(child);
      child.once('message', (m: { port: number }) => resolve({ child, port: m.port }));
      child.once('exit', (code) => reject(new Error(`destination child exited (${code})`)));
    });
  const first = await spawnServer(0, [14001]);
  const client = new DestinationClient({ addr: `${HOST}:${first.port}`, minBackoffMs: 20, maxBackoffMs: 100 });
  t.after(() => client.close());
  const r = recorder();
  client.watch('voting.demo:8080', r);
  await r.waitFor((e) => e.kind === 'update', 10_000);
  const gone = r.waitFor((e) => e.kind === 'error');
  first.child.kill('SIGKILL');
  await gone;
  const back = r.waitFor((e) => e.kind === 'update', 10_000);
  await spawnServer(first.port, [14001, 14002]);
  assert.deepEqual(ports(await back), [14001, 14002]);
  assert.deepEqual(
    r.events.map((e) => e.kind),
    ['update', 'error', 'update'],
  );
});

test('changes made together reach the client as one update with the latest endpoints', async (t) => {
  const { client, source } = await setup(t, model(service('voting.demo:8080', [14001])));
  const r = recorder();
  client.watch('voting.demo:8080', r);
  await r.waitFor((e) => e.kind === 'update');
  for (const p of [14002, 14003, 14004]) source.set(model(service('voting.demo:8080', [p])));
  assert.deepEqual(ports(await r.waitFor((e) => e.kind === 'update')), [14004]);
  await new Promise((res) => setTimeout(res, 100));
  assert.equal(r.events.length, 2);
});

test('a watch started while the session is being torn down is served once the client reconnects', async (t) => {
  const { client, server } = await setup(t, model(service('voting.demo:8080', [14001]), service('web.demo:80', [14010])));
  const r = recorder();
  client.watch('voting.demo:8080', r);
  await r.waitFor((e) => e.kind === 'update');
  // Tear the client's session down and watch in the same tick, before its 'close' event.
  (client as unknown as { session: http2.ClientHttp2Session }).session.destroy();
  const w = recorder();
  assert.doesNotThrow(() => client.watch('web.demo:80', w));
  assert.deepEqual(ports(await w.waitFor((e) => e.kind === 'update')), [14010]);
  await eventually(() => server.watchCount() === 2);
});

test('deltas: a watcher that asks gets a delta for a small change, others a snapshot; the client rebuilds the full answer', async (t) => {
  const ten = (last: number) => service('voting.demo:8080', [14001, 14002, 14003, 14004, 14005, 14006, 14007, 14008, 14009, last]);
  const { client, source, server } = await setup(t, model(ten(14010)));
  const s = http2.connect(`http://${HOST}:${server.port}`);
  t.after(() => s.destroy());
  const rawLines = (path: string) => {
    const lines: string[] = [];
    const req = s.request({ ':path': path });
    req.setEncoding('utf8');
    let buf = '';
    req.on('data', (c: string) => {
      buf += c;
      const parts = buf.split('\n');
      buf = parts.pop()!;
      lines.push(...parts);
    });
    return lines;
  };
  const withDeltas = rawLines('/v1/watch?authority=voting.demo%3A8080&deltas=1');
  const without = rawLines('/v1/watch?authority=voting.demo%3A8080');
  const r = recorder();
  client.watch('voting.demo:8080', r);
  await r.waitFor((e) => e.kind === 'update');
  await eventually(() => server.watchCount() === 3);
  source.set(model(ten(14011)));
  const u = await r.waitFor((e) => e.kind === 'update' && ports(e).includes(14011));
  assert.deepEqual(ports(u).sort(), [14001, 14002, 14003, 14004, 14005, 14006, 14007, 14008, 14009, 14011]);
  await eventually(() => withDeltas.length === 2 && without.length === 2);
  assert.match(withDeltas[0]!, /^\{"update"/);
  assert.match(withDeltas[1]!, /^\{"delta":\{"add":\[\{"addr":\{"host":"127.0.0.1","port":14011\}/);
  assert.match(without[1]!, /^\{"update"/);
});
