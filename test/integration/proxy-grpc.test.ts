/**
 * @grpc/grpc-js through the client proxy's upstream listener → mTLS → server proxy → a grpc-js
 * server: unary, server streaming, an expiring deadline (cancellation reaches the server) and an
 * error status passed through.
 */
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { after, before, test } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { formatAddr } from '../../mesh/proxy/discovery/discovery';
import { CLIENT_IDENTITY, startMesh, type Mesh } from '../helpers/mesh';
import { eventually } from '../helpers/prometheus';

const PROTO = fileURLToPath(new URL('../fixtures/grpc/echo.proto', import.meta.url));

interface EchoReply {
  message: string;
  index: number;
  clientId: string;
}
type Callback = (err: grpc.ServiceError | null, reply?: EchoReply) => void;
interface EchoClient extends grpc.Client {
  unary(req: { message: string }, cb: Callback): grpc.ClientUnaryCall;
  count(req: { count: number; intervalMs: number }): grpc.ClientReadableStream<EchoReply>;
  slow(req: { delayMs: number }, md: grpc.Metadata, opts: grpc.CallOptions, cb: Callback): grpc.ClientUnaryCall;
  fail(req: { code: number; message: string }, cb: Callback): grpc.ClientUnaryCall;
}

const def = protoLoader.loadSync(PROTO, { keepCase: false, longs: Number, defaults: true });
const pkg = grpc.loadPackageDefinition(def) as unknown as { weft: { test: { Echo: grpc.ServiceClientConstructor } } };
const Echo = pkg.weft.test.Echo;

let slowCancelled = 0;
const server = new grpc.Server();
server.addService(Echo.service, {
  unary(call: grpc.ServerUnaryCall<{ message: string }, EchoReply>, cb: grpc.sendUnaryData<EchoReply>) {
    const id = call.metadata.get('weft-client-id')[0];
    cb(null, { message: `echo: ${call.request.message}`, index: 0, clientId: typeof id === 'string' ? id : '' });
  },
  count(call: grpc.ServerWritableStream<{ count: number; intervalMs: number }, EchoReply>) {
    let i = 0;
    const next = (): void => {
      if (call.cancelled) return;
      if (i >= call.request.count) return void call.end();
      call.write({ message: `n${i}`, index: i, clientId: '' });
      i++;
      setTimeout(next, call.request.intervalMs);
    };
    next();
  },
  slow(call: grpc.ServerUnaryCall<{ delayMs: number }, EchoReply>, cb: grpc.sendUnaryData<EchoReply>) {
    const t = setTimeout(() => cb(null, { message: 'late', index: 0, clientId: '' }), call.request.delayMs);
    call.on('cancelled', () => {
      slowCancelled++;
      clearTimeout(t);
    });
  },
  fail(call: grpc.ServerUnaryCall<{ code: number; message: string }, EchoReply>, cb: grpc.sendUnaryData<EchoReply>) {
    cb({ code: call.request.code, details: call.request.message });
  },
});

let mesh: Mesh | undefined;
let client: EchoClient | undefined;

before(async () => {
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p))),
  );
  mesh = await startMesh({ servers: [{ appPort: port }] });
  client = new Echo(formatAddr(mesh.upstream), grpc.credentials.createInsecure()) as unknown as EchoClient;
});

after(async () => {
  client?.close();
  await mesh?.close();
  await new Promise<void>((r) => server.tryShutdown(() => r()));
  server.forceShutdown();
});

const unary = (msg: string) =>
  new Promise<EchoReply>((resolve, reject) => client!.unary({ message: msg }, (e, r) => (e ? reject(e) : resolve(r!))));

test('unary call returns the reply; the server sees the client identity', async () => {
  const r = await unary('hi');
  assert.equal(r.message, 'echo: hi');
  assert.equal(r.clientId, CLIENT_IDENTITY);
});

test('server streaming: N messages arrive in order', async () => {
  const n = 50;
  const got: number[] = [];
  await new Promise<void>((resolve, reject) => {
    const s = client!.count({ count: n, intervalMs: 1 });
    s.on('data', (m: EchoReply) => got.push(m.index));
    s.on('error', reject);
    s.on('end', () => resolve());
  });
  assert.deepEqual(got, Array.from({ length: n }, (_v, i) => i));
});

test('an expiring deadline gives DEADLINE_EXCEEDED and the server sees the cancellation', async () => {
  const before = slowCancelled;
  const started = Date.now();
  const err = await new Promise<grpc.ServiceError>((resolve, reject) =>
    client!.slow({ delayMs: 5000 }, new grpc.Metadata(), { deadline: Date.now() + 300 }, (e) =>
      e ? resolve(e) : reject(new Error('the slow call succeeded')),
    ),
  );
  assert.equal(err.code, grpc.status.DEADLINE_EXCEEDED);
  assert.ok(Date.now() - started < 2000);
  await eventually(async () => (slowCancelled > before ? true : undefined), 3000, 'server-side cancellation');
});

test('a server error status and message pass through', async () => {
  const err = await new Promise<grpc.ServiceError>((resolve, reject) =>
    client!.fail({ code: grpc.status.NOT_FOUND, message: 'no such widget' }, (e) => (e ? resolve(e) : reject(new Error('succeeded')))),
  );
  assert.equal(err.code, grpc.status.NOT_FOUND, err.details);
  assert.equal(err.details, 'no such widget');
  // The channel still works after the error.
  assert.equal((await unary('again')).message, 'echo: again');
});
