/**
 * A proxy process fed by the destination service: an endpoint change reaches it while it serves,
 * and when the service dies the proxy keeps its last-known endpoints and goes on serving.
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import { after, before, test } from 'node:test';
import { startDestinationServer, type DestinationServer } from '../../mesh/control/destination/destination-server';
import { MemoryModelSource } from '../../mesh/control/destination/model-source';
import type { MeshModel } from '../../mesh/control/destination/destination-model';
import { spawnProxy, type ProxyProcess } from '../../dev-cluster/local/proxy-process';

const apps: http.Server[] = [];
let ports: number[] = [];
let dest: DestinationServer | undefined;
let proxy: ProxyProcess | undefined;
const source = new MemoryModelSource();

const model = (appPort: number): MeshModel => ({
  services: [{ authority: 'web.demo:80', name: 'web', namespace: 'demo', endpoints: [{ addr: { host: '127.0.0.1', port: appPort }, labels: { pod: `web-${appPort}` } }] }],
});

async function get(): Promise<string> {
  const r = await fetch(`http://127.0.0.1:${proxy!.upstreams.get('web.demo:80')!.port}/`);
  return r.text();
}

async function until(want: string, ms = 5_000): Promise<string> {
  const end = Date.now() + ms;
  let got = '';
  while (Date.now() < end) {
    got = await get();
    if (got === want) return got;
    await new Promise((r) => setTimeout(r, 50));
  }
  return got;
}

before(async () => {
  for (const name of ['a', 'b']) {
    const s = http.createServer((_req, res) => res.end(name));
    await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
    apps.push(s);
  }
  ports = apps.map((s) => (s.address() as { port: number }).port);
  source.set(model(ports[0]!));
  dest = await startDestinationServer({ host: '127.0.0.1', port: 0, source });
  proxy = await spawnProxy({ name: 'web-client', env: { WEFT_PROXY_UPSTREAMS: 'web.demo:80=127.0.0.1:0', WEFT_PROXY_DESTINATION_ADDR: `127.0.0.1:${dest.port}` } });
});

after(async () => {
  await proxy?.stop();
  await dest?.close();
  for (const s of apps) await new Promise((r) => s.close(r));
});

test('the endpoints the destination service names are used, and a change reaches the proxy', async () => {
  assert.equal(await get(), 'a');
  const t0 = Date.now();
  source.set(model(ports[1]!));
  assert.equal(await until('b'), 'b');
  assert.ok(Date.now() - t0 < 5_000);
});

test('with the destination service gone, the proxy keeps its last-known endpoints', async () => {
  await dest!.close();
  dest = undefined;
  // Wait until the proxy has noticed the outage (it logs it once), then it must still serve.
  const end = Date.now() + 10_000;
  while (!proxy!.logs.some((l) => String(l['msg']).includes('keeping last-known endpoints')) && Date.now() < end) await new Promise((r) => setTimeout(r, 50));
  assert.ok(proxy!.logs.some((l) => String(l['msg']).includes('keeping last-known endpoints')), 'the proxy saw the destination service go away');
  for (let i = 0; i < 20; i++) assert.equal(await get(), 'b');
});
