/**
 * A WebSocket echo (the `ws` package on both ends) through the client proxy's upstream listener:
 * the Upgrade is tunnelled over mTLS to the server proxy and on to the app.
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import { randomBytes } from 'node:crypto';
import { after, before, test } from 'node:test';
import WebSocket, { WebSocketServer } from 'ws';
import { formatAddr } from '../../mesh/proxy/discovery/discovery';
import { CLIENT_IDENTITY, closeServer, listenLocal, startMesh, type Mesh } from '../helpers/mesh';

const app = http.createServer((_req, res) => res.end('not a websocket\n'));
const wss = new WebSocketServer({ server: app });
const upgradeClientIds: (string | undefined)[] = [];
wss.on('connection', (ws, req) => {
  upgradeClientIds.push(req.headers['weft-client-id'] as string | undefined);
  ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }));
});

let mesh: Mesh | undefined;

before(async () => {
  mesh = await startMesh({ servers: [{ appPort: await listenLocal(app) }] });
});

after(async () => {
  for (const c of wss.clients) c.terminate();
  wss.close();
  await mesh?.close();
  await closeServer(app);
});

function open(url: string, headers: Record<string, string> = {}): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { headers });
    ws.once('open', () => resolve(ws));
    ws.once('error', reject);
  });
}

function next(ws: WebSocket): Promise<{ data: Buffer; isBinary: boolean }> {
  return new Promise((resolve, reject) => {
    ws.once('message', (data, isBinary) => resolve({ data: data as Buffer, isBinary }));
    ws.once('error', reject);
  });
}

test('WebSocket echo: text and a 1 MB binary message round-trip through the tunnel', async () => {
  const ws = await open(`ws://${formatAddr(mesh!.upstream)}/echo`);
  try {
    for (const msg of ['hello', 'through', 'the mesh']) {
      const reply = next(ws);
      ws.send(msg);
      const r = await reply;
      assert.equal(r.isBinary, false);
      assert.equal(r.data.toString(), msg);
    }
    const blob = randomBytes(1 << 20);
    const reply = next(ws);
    ws.send(blob);
    const r = await reply;
    assert.equal(r.isBinary, true);
    assert.ok(r.data.equals(blob));
  } finally {
    ws.close();
  }
});

test('a closed WebSocket closes cleanly with its code on the far side', async () => {
  const ws = await open(`ws://${formatAddr(mesh!.upstream)}/bye`);
  const serverClosed = new Promise<number>((resolve) => {
    const last = [...wss.clients].at(-1)!;
    last.once('close', (code) => resolve(code));
  });
  const closed = new Promise<number>((resolve) => ws.once('close', (code) => resolve(code)));
  ws.close(4001, 'done');
  assert.equal(await closed, 4001);
  assert.equal(await serverClosed, 4001);
});

// docs/proxy.md: "a client cannot forge [weft-client-id]: the header is removed from every incoming request".
const FORGED = 'admin.kube-system.serviceaccount.identity.weft.cluster.local';

test('a forged weft-client-id on an Upgrade through the client proxy does not reach the app', async () => {
  const ws = await open(`ws://${formatAddr(mesh!.upstream)}/forged`, { 'weft-client-id': FORGED });
  ws.close();
  const seen = upgradeClientIds.at(-1);
  assert.notEqual(seen, FORGED);
  assert.ok(seen === undefined || seen === CLIENT_IDENTITY, `app saw weft-client-id ${seen}`);
});

test('a forged weft-client-id on an Upgrade sent in plaintext to the server proxy does not reach the app', async () => {
  const ws = await open(`ws://${formatAddr(mesh!.servers[0]!.inbound)}/forged-direct`, { 'weft-client-id': FORGED });
  ws.close();
  assert.equal(upgradeClientIds.at(-1), undefined);
});
