/**
 * Opaque TCP through client proxy → mTLS → server proxy → app, with real processes on loopback:
 * Debian's redis-server driven by redis-cli (the port made opaque by the destination file or by
 * WEFT_PROXY_OUTBOUND_OPAQUE_PORTS), and a server-speaks-first app whose banner must arrive at once
 * when its port is opaque and only after the detection timeout when it is not.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import net from 'node:net';
import { after, before, describe, test } from 'node:test';
import type { SocketAddr } from '../../mesh/proxy/discovery/discovery';
import { CLIENT_ID, deadPort, eventually, listenServer, metricSum, rawExchange, scrape, SERVER_ID, startTcpMesh, type TcpMesh } from '../helpers/tcp-mesh';

const hasRedis = spawnSync('sh', ['-c', 'command -v redis-server && command -v redis-cli']).status === 0;
const REDIS = 'redis.tcptest:6379';

function redisCli(addr: SocketAddr, ...args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const c = spawn('redis-cli', ['-h', addr.host, '-p', String(addr.port), ...args], { stdio: ['ignore', 'pipe', 'pipe'], timeout: 5_000 });
    let out = '';
    c.stdout.on('data', (d: Buffer) => (out += d.toString()));
    c.stderr.on('data', (d: Buffer) => (out += d.toString()));
    c.on('error', reject);
    c.on('exit', (code) => (code === 0 ? resolve(out.trim()) : reject(new Error(`redis-cli ${args.map((a) => a.slice(0, 40)).join(' ')}: exit ${code}: ${out.slice(0, 300)}`))));
  });
}

describe('Redis through the mesh', { skip: hasRedis ? false : 'redis-server/redis-cli are not installed (apt-get install redis-server)' }, () => {
  let redis: ChildProcess | undefined;
  let redisPort = 0;
  const meshes: TcpMesh[] = [];

  before(async () => {
    redisPort = await deadPort();
    redis = spawn('redis-server', ['--port', String(redisPort), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
    await eventually(() => redisCli({ host: '127.0.0.1', port: redisPort }, 'PING').then((r) => r === 'PONG', () => false), 5_000, 'redis-server');
  });
  after(async () => {
    await Promise.all(meshes.map((m) => m.close()));
    if (redis && redis.exitCode === null) {
      const exited = new Promise((r) => redis!.once('exit', r));
      redis.kill('SIGKILL');
      await exited;
    }
  });

  const variants: [string, { opaque: boolean; clientEnv: Record<string, string> }][] = [
    ['opaque by the destination file (opaque: true)', { opaque: true, clientEnv: { WEFT_PROXY_OUTBOUND_OPAQUE_PORTS: '1' } }],
    ['opaque by WEFT_PROXY_OUTBOUND_OPAQUE_PORTS', { opaque: false, clientEnv: { WEFT_PROXY_OUTBOUND_OPAQUE_PORTS: '6379' } }],
  ];
  for (const [name, v] of variants) {
    test(`SET/GET with port 6379 ${name}; tcp_* metrics on both proxies`, async () => {
      const mesh = await startTcpMesh({ destinations: [{ authority: REDIS, appPort: redisPort, opaque: v.opaque }], clientEnv: v.clientEnv });
      meshes.push(mesh);
      const up = mesh.upstream(REDIS);
      const value = `v-${name.length}-${'x'.repeat(20_000)}`;
      assert.equal(await redisCli(up, 'SET', 'weft:key', value), 'OK');
      assert.equal(await redisCli(up, 'GET', 'weft:key'), value);
      assert.equal(await redisCli(up, 'DEL', 'weft:key'), '1');

      const out = { direction: 'outbound', authority: REDIS, tls: 'true', server_id: SERVER_ID, dst_service: 'redis' };
      const inb = { direction: 'inbound', tls: 'true', client_id: CLIENT_ID, target_addr: `127.0.0.1:${redisPort}` };
      await eventually(async () => metricSum(await scrape(mesh.client), 'tcp_close_total', out) === 3, 3_000, 'three closed outbound connections');
      const c = await scrape(mesh.client);
      assert.equal(metricSum(c, 'tcp_open_total', out), 3);
      assert.equal(metricSum(c, 'tcp_open_connections', out), 0);
      // The client wrote the 20 kB value once (SET) and read it back once (GET).
      assert.ok(metricSum(c, 'tcp_read_bytes_total', out) > 20_000, 'bytes read from the app side');
      assert.ok(metricSum(c, 'tcp_write_bytes_total', out) > 20_000, 'bytes written back to the app');
      assert.equal(metricSum(c, 'tcp_open_total', { direction: 'outbound', tls: 'no_identity' }), 0, 'nothing went around the mesh');
      await eventually(async () => metricSum(await scrape(mesh.server), 'tcp_close_total', inb) === 3, 3_000, 'three closed inbound connections');
      const s = await scrape(mesh.server);
      assert.equal(metricSum(s, 'tcp_open_total', inb), 3);
      assert.ok(metricSum(s, 'tcp_read_bytes_total', inb) > 20_000);
      assert.ok(metricSum(s, 'tcp_write_bytes_total', inb) > 20_000);
    });
  }
});

describe('a server-speaks-first app', () => {
  const BANNER = '220 smtp.tcptest ESMTP ready\r\n';
  let app: Awaited<ReturnType<typeof listenServer<net.Server>>>;
  const meshes: TcpMesh[] = [];
  before(async () => {
    app = await listenServer(
      net.createServer((s) => {
        s.write(BANNER);
        s.on('data', (d: Buffer) => s.write(`250 got ${d.toString().trim()}\r\n`));
        s.on('error', () => undefined);
      }),
    );
  });
  after(async () => {
    await Promise.all(meshes.map((m) => m.close()));
    await app?.close();
  });

  const untilBanner = (d: Buffer): boolean => d.toString().includes('\r\n');
  const MAIL = 'mail.tcptest:2525';

  test('gets its banner at once when its port is opaque (destination file or env), late but intact when detection must time out', async () => {
    const mesh = await startTcpMesh({
      destinations: [
        { authority: 'opaque-file.tcptest:2525', appPort: app.port, opaque: true },
        { authority: 'opaque-env.tcptest:2526', appPort: app.port },
        { authority: MAIL, appPort: app.port },
      ],
      clientEnv: { WEFT_PROXY_OUTBOUND_OPAQUE_PORTS: '2526', WEFT_PROXY_DETECT_TIMEOUT: '1s', WEFT_PROXY_LOG: 'debug' },
    });
    meshes.push(mesh);
    for (const authority of ['opaque-file.tcptest:2525', 'opaque-env.tcptest:2526']) {
      const r = await rawExchange(mesh.upstream(authority), [], { until: untilBanner, timeoutMs: 3_000 });
      assert.equal(r.data.toString(), BANNER, authority);
      assert.ok(r.ms < 1_000, `${authority}: banner after ${r.ms.toFixed(0)} ms`);
    }
    const before = mesh.client.logs.length;
    const late = await rawExchange(mesh.upstream(MAIL), [], { until: untilBanner, timeoutMs: 4_000 });
    assert.equal(late.data.toString(), BANNER);
    assert.ok(late.ms >= 950, `not opaque: detection waited ${late.ms.toFixed(0)} ms (expected ≈ 1 s)`);
    assert.ok(late.ms < 2_500, `not opaque: banner after ${late.ms.toFixed(0)} ms`);
    assert.ok(mesh.client.logs.slice(before).some((l) => l['msg'] === 'detection timed out; treating as opaque' && l['target'] === MAIL));

    // After the fallback the connection is a normal two-way opaque stream.
    const talk = await rawExchange(mesh.upstream(MAIL), [], { timeoutMs: 4_000, until: (d) => d.toString().includes('250 got') });
    assert.ok(talk.data.toString().startsWith(BANNER));
    const both = await new Promise<string>((resolve, reject) => {
      const s = net.connect(mesh.upstream('opaque-file.tcptest:2525'));
      let got = '';
      s.on('data', (d: Buffer) => {
        got += d.toString();
        if (got === BANNER) s.write('EHLO me\r\n');
        if (got.includes('250 got EHLO me')) {
          resolve(got);
          s.destroy();
        }
      });
      s.on('error', reject);
      setTimeout(() => reject(new Error(`no reply: ${got}`)), 3_000).unref();
    });
    assert.equal(both, `${BANNER}250 got EHLO me\r\n`);
    assert.equal(metricSum(await scrape(mesh.client), 'tcp_open_total', { direction: 'outbound', authority: MAIL, tls: 'true' }), 2);
  });
});
