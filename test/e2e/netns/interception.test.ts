/**
 * Transparent interception proven in network namespaces (root): the netns local mode runs a
 * topology as pods — one namespace each on a bridge, IPv4 and IPv6, `weft init` rules before the
 * app, the proxy as UID 2102 — and unmodified clients (curl, a @grpc/grpc-js client, redis-cli)
 * call services by name. A capture on the bridge shows no plaintext byte of a marker sent through
 * the mesh, while the same marker crosses in plaintext with the mesh off (and on skip ports).
 * Every namespace, link, /etc/netns directory and process is removed even when a test fails.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { netnsName, planNetns, type NetnsPlanOptions } from '../../../dev-cluster/netns/netns-plan';
import { NETNS_ETC, pickSubnet, removeNetnsRun, startNetnsMesh, type RunningNetnsMesh } from '../../../dev-cluster/netns/netns-mesh';
import { parseTopology } from '../../../dev-cluster/local/topology-file';
import { captureTool, readPcap, startCapture } from './capture';
import { netnsSkipReason, REPO, sh, skipOrFail } from './netns-env';

const APPS = join(REPO, 'test/e2e/netns/apps');
const TOPOLOGY = `
namespace: e2e
workloads:
  - name: web
    command: [node, ${join(APPS, 'http-echo.mjs')}]
    env: { PORTS: "8080,9090" }
    ports: [{ port: 8080 }, { port: 9090, name: direct }]
  - name: api
    command: [node, ${join(APPS, 'grpc-echo.mjs')}]
    ports: [{ port: 50051, appProtocol: grpc }]
  - name: cache
    command: [redis-server, --port, "6379", --bind, 0.0.0.0, "::", --protected-mode, "no", --save, "", --appendonly, "no"]
    ports: [{ port: 6379, opaque: true }]
  - name: client
    # The local mode's UPSTREAM_WEB_URL names the service; the mesh catches the call transparently.
    command: [sh, -c, 'curl -sS --max-time 30 "$UPSTREAM_WEB_URL/from-env"; echo; exec sleep infinity']
    upstreams: [web]
`;

const skipReason = ((): string | false => {
  const r = netnsSkipReason(['curl', 'redis-cli', 'redis-server']);
  if (r) return r;
  if (!captureTool()) return 'neither tshark nor tcpdump is installed (apt-get install tshark)';
  if (!existsSync(join(REPO, 'dist/weft.js'))) return 'dist/weft.js is missing: run `npm run build` first';
  return false;
})();

const runIds: string[] = [];
const tmp = mkdtempSync(join(tmpdir(), 'weft-netns-e2e-'));
chmodSync(tmp, 0o755); // the proxies run as UID 2102 and read their identities from here
let meshOn: RunningNetnsMesh | undefined;

async function start(mesh: boolean, skipPorts?: NetnsPlanOptions['skipPorts']): Promise<RunningNetnsMesh> {
  const parsed = parseTopology(TOPOLOGY, 'e2e.yaml');
  assert.ok(parsed.ok, JSON.stringify(!parsed.ok && parsed.errors));
  const runId = randomBytes(3).toString('hex');
  runIds.push(runId);
  const planned = planNetns(parsed.topology, { runId, subnet: await pickSubnet(), mesh, ...(skipPorts ? { skipPorts } : {}) });
  assert.ok(planned.ok, !planned.ok ? planned.error : '');
  return startNetnsMesh(planned.plan, { workDir: join(tmp, runId), startTimeoutMs: 40_000, onProgress: (msg) => process.env['WEFT_NETNS_DEBUG'] && console.error(new Date().toISOString(), msg) });
}

before(async () => {
  if (skipReason) return;
  meshOn = await start(true, { web: { inbound: [{ from: 9090, to: 9090 }] }, client: { outbound: [{ from: 9090, to: 9090 }] } });
});

after(async () => {
  await meshOn?.stop();
  for (const id of runIds) await removeNetnsRun(id);
  rmSync(tmp, { recursive: true, force: true });
  // Nothing of any run is left: no namespace, no link, no /etc/netns directory.
  for (const id of runIds) {
    assert.ok(!sh('ip', ['netns', 'list']).stdout.includes(`weft-${id}-`), `namespaces of run ${id} left`);
    assert.ok(!sh('ip', ['-o', 'link', 'show']).stdout.includes(id), `links of run ${id} left`);
    assert.ok(!existsSync(join(NETNS_ETC, netnsName(id, 'client'))), `/etc/netns of run ${id} left`);
  }
});

const CLIENT_ID = 'client.e2e.serviceaccount.identity.weft.cluster.local';
type Echo = { port: number; clientId: string | null; from: string; url: string };

async function curl(m: RunningNetnsMesh, url: string, ...flags: string[]): Promise<Echo> {
  const r = await m.exec('client', ['curl', '-sS', '--max-time', '15', ...flags, url]);
  assert.equal(r.code, 0, `curl ${flags.join(' ')} ${url}: ${r.stderr}`);
  try {
    return JSON.parse(r.stdout) as Echo;
  } catch {
    throw new Error(`curl ${flags.join(' ')} ${url}: not the echo app's answer: ${r.stdout.slice(0, 500)}`);
  }
}

test('unmodified curl reaches a service by name through both proxies (IPv4 and IPv6)', { timeout: 60_000 }, async (t) => {
  if (skipReason) return skipOrFail(t, skipReason);
  const m = meshOn!;
  // IPv6 neighbour discovery is multicast: a snooping bridge can drop it for a pod (netns-mesh.ts).
  assert.equal(readFileSync(`/sys/class/net/${m.plan.bridge}/bridge/multicast_snooping`, 'utf8').trim(), '0', 'the pods\' bridge floods multicast');
  for (const family of ['-4', '-6']) {
    const echo = await curl(m, 'http://web:8080/hello', family);
    assert.equal(echo.clientId, CLIENT_ID, `${family}: the server's inbound proxy verified the client's mTLS identity`);
    assert.match(echo.from, /^(::ffff:)?127\.0\.0\.1$/, `${family}: the app was called by its own inbound proxy`);
  }
  // A pod called by its own address (v6) is meshed too.
  const web = m.plan.pods.find((p) => p.name === 'web')!;
  const byIp = await curl(m, `http://[${web.ipv6}]:8080/`);
  assert.equal(byIp.clientId, CLIENT_ID);
});

test('an app started by the runner calls its upstream by the URL it is given, through the mesh', { timeout: 60_000 }, async (t) => {
  if (skipReason) return skipOrFail(t, skipReason);
  const client = meshOn!.pods.find((p) => p.plan.name === 'client')!;
  const deadline = Date.now() + 30_000;
  while (!client.app.tail().some((l) => l.includes('/from-env')) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
  const line = client.app.tail().find((l) => l.includes('/from-env'));
  assert.ok(line, `no answer in the client's output: ${client.app.tail().join(' | ')}`);
  assert.equal((JSON.parse(line) as Echo).clientId, CLIENT_ID);
});

test('an unmodified gRPC client (@grpc/grpc-js) reaches its server through both proxies', { timeout: 60_000 }, async (t) => {
  if (skipReason) return skipOrFail(t, skipReason);
  const r = await meshOn!.exec('client', [process.execPath, join(APPS, 'grpc-call.mjs'), 'api:50051', 'ping'], { timeoutMs: 30_000 });
  assert.equal(r.code, 0, r.stderr);
  const answer = JSON.parse(r.stdout) as { clientId: string | null; message: string };
  assert.equal(answer.message, 'ping');
  assert.equal(answer.clientId, CLIENT_ID);
});

test('redis-cli reaches redis through both proxies (opaque TCP)', { timeout: 60_000 }, async (t) => {
  if (skipReason) return skipOrFail(t, skipReason);
  const m = meshOn!;
  const set = await m.exec('client', ['redis-cli', '-h', 'cache', '-p', '6379', 'SET', 'k', 'v1']);
  assert.equal(set.stdout.trim(), 'OK', set.stderr);
  const get = await m.exec('client', ['redis-cli', '-h', 'cache', '-p', '6379', 'GET', 'k']);
  assert.equal(get.stdout.trim(), 'v1');
  // redis sees its client connect from loopback: the connection came through cache's inbound proxy.
  const list = await m.exec('client', ['redis-cli', '-h', 'cache', '-p', '6379', 'CLIENT', 'LIST']);
  assert.match(list.stdout, /addr=(::ffff:)?127\.0\.0\.1:\d+ .*cmd=client/);
});

test('a capture on the bridge shows no plaintext marker through the mesh, IPv4 and IPv6; skip ports do bypass it', { timeout: 90_000 }, async (t) => {
  if (skipReason) return skipOrFail(t, skipReason);
  const m = meshOn!;
  const marker = `weft-marker-${randomBytes(8).toString('hex')}`;
  const skipped = `weft-skipped-${randomBytes(8).toString('hex')}`;
  const web = m.plan.pods.find((p) => p.name === 'web')!;
  const cap = await startCapture(m.plan.bridge, join(tmp, `${m.plan.runId}-on.pcap`), web.ipv4);
  const client = m.plan.pods.find((p) => p.name === 'client')!;
  let bypass: Echo;
  try {
    await curl(m, `http://web:8080/${marker}`, '-4');
    await curl(m, `http://web:8080/${marker}`, '-6');
    await curl(m, `http://[${web.ipv6}]:8080/${marker}`);
    const g = await m.exec('client', [process.execPath, join(APPS, 'grpc-call.mjs'), 'api:50051', marker], { timeoutMs: 30_000 });
    assert.equal(g.code, 0, g.stderr);
    assert.equal((await m.exec('client', ['redis-cli', '-h', 'cache', '-p', '6379', 'SET', 'm', marker])).stdout.trim(), 'OK');
    // Port 9090 skips the client's outbound and web's inbound proxy: plaintext, no identity.
    bypass = await curl(m, `http://web.e2e.pod:9090/${skipped}`, '-4');
    // Sent last: once it is in the file, everything before it is too.
    assert.ok(await cap.waitFor(skipped), 'the skip-port marker crossed in plaintext (the capture sees plaintext when there is some)');
  } finally {
    await cap.stop();
  }
  assert.equal(bypass.clientId, null, 'the skipped port carried no mesh identity');
  assert.equal(bypass.from, `::ffff:${client.ipv4}`, 'the skipped port reached the app straight from the client pod');
  const pcap = readPcap(cap.file);
  assert.ok(pcap.tcpPayload.v4 > 0, `the capture saw the IPv4 traffic (${JSON.stringify(pcap.tcpPayload)})`);
  assert.ok(pcap.tcpPayload.v6 > 0, `the capture saw the IPv6 traffic (${JSON.stringify(pcap.tcpPayload)})`);
  assert.equal(pcap.raw.indexOf(marker), -1, 'no plaintext byte of the marker crossed the bridge');
});

test('the same marker crosses the bridge in plaintext with the mesh off (IPv4 and IPv6)', { timeout: 90_000 }, async (t) => {
  if (skipReason) return skipOrFail(t, skipReason);
  const off = await start(false);
  try {
    const marker4 = `weft-plain4-${randomBytes(8).toString('hex')}`;
    const marker6 = `weft-plain6-${randomBytes(8).toString('hex')}`;
    const markerGrpc = `weft-plaing-${randomBytes(8).toString('hex')}`;
    const cap = await startCapture(off.plan.bridge, join(tmp, `${off.plan.runId}-off.pcap`), off.plan.pods.find((p) => p.name === 'web')!.ipv4);
    try {
      const e4 = await curl(off, `http://web:8080/${marker4}`, '-4');
      assert.equal(e4.clientId, null);
      await curl(off, `http://web:8080/${marker6}`, '-6');
      const g = await off.exec('client', [process.execPath, join(APPS, 'grpc-call.mjs'), 'api:50051', markerGrpc], { timeoutMs: 30_000 });
      assert.equal(g.code, 0, g.stderr);
      await cap.waitFor(markerGrpc);
    } finally {
      await cap.stop();
    }
    const pcap = readPcap(cap.file);
    assert.ok(pcap.raw.indexOf(marker4) >= 0, 'IPv4 marker visible without the mesh');
    assert.ok(pcap.raw.indexOf(marker6) >= 0, 'IPv6 marker visible without the mesh');
    assert.ok(pcap.raw.indexOf(markerGrpc) >= 0, 'gRPC marker visible without the mesh');
  } finally {
    await off.stop();
  }
});

test('the proxy UID is not redirected (no loop), and an unredirected connection to the outbound port is refused', { timeout: 60_000 }, async (t) => {
  if (skipReason) return skipOrFail(t, skipReason);
  const m = meshOn!;
  const web = m.plan.pods.find((p) => p.name === 'web')!;
  // As UID 2102 the client pod's traffic skips its own proxy: web's inbound sees plaintext, no identity.
  const asProxy = await m.exec('client', ['curl', '-sS', '--max-time', '15', `http://${web.ipv4}:8080/`], { uid: 2102 });
  assert.equal(asProxy.code, 0, asProxy.stderr);
  assert.equal((JSON.parse(asProxy.stdout) as Echo).clientId, null, 'UID 2102 did not go through the client proxy');
  // The outbound listener is on loopback only, one socket per family.
  const clientProxy = m.pods.find((p) => p.plan.name === 'client')!.proxy!;
  assert.deepEqual(clientProxy.listening.outbound.map((a) => a.host), ['127.0.0.1', '::1']);
  // Loopback is not redirected; a direct connection to the outbound listener has no original
  // destination but itself, and must be refused rather than forwarded to itself.
  for (const host of ['127.0.0.1', '[::1]']) {
    const direct = await m.exec('client', ['curl', '-sS', '--max-time', '10', `http://${host}:4140/`]);
    assert.notEqual(direct.code, 0, `${host}:4140 answered: ${direct.stdout}`);
    assert.notEqual(direct.code, 28, `${host}:4140 hung (a loop?): ${direct.stderr}`);
  }
  // The proxy is still healthy and still meshes.
  assert.equal((await curl(m, 'http://web:8080/')).clientId, CLIENT_ID);
});

test('a connection straight to the inbound port that was not redirected is refused', { timeout: 60_000 }, async (t) => {
  if (skipReason) return skipOrFail(t, skipReason);
  const m = meshOn!;
  const web = m.plan.pods.find((p) => p.name === 'web')!;
  // From inside web's pod (loopback path, no PREROUTING) and from the host (PREROUTING keeps port 4143).
  const inside = await m.exec('web', ['curl', '-sS', '--max-time', '10', `http://${web.ipv4}:4143/`]);
  assert.notEqual(inside.code, 0, `answered from inside: ${inside.stdout}`);
  const fromHost = sh('curl', ['-sS', '--max-time', '10', `http://${web.ipv4}:4143/`]);
  assert.ok(!fromHost.ok, `answered from the host: ${fromHost.out}`);
  assert.doesNotMatch(fromHost.out, /clientId/);
});
