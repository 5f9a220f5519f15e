/**
 * What a real `weft proxy` loads (docs/performance.md, "Proxy memory"): a client proxy (mTLS,
 * YAML destination file, upstream listener) and a server proxy (mTLS inbound → app) carry one request,
 * then report every module they loaded. None of the heavy packages other commands use may be among
 * them: each one costs megabytes of RSS in every pod. Also: spawnProxy starts them with the
 * runtime settings of mesh/config/proxy-runtime.ts.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { identityName } from '../../mesh/config/identity';
import { PROXY_RUNTIME_ENV } from '../../mesh/config/proxy-runtime';
import { createDevCa } from '../../mesh/control/identity/ca';
import { formatAddr } from '../../mesh/proxy/discovery/discovery';
import { spawnProxy, type ProxyProcess } from '../../dev-cluster/local/proxy-process';
import { closeServer, listenLocal } from '../helpers/mesh';

const PRELOAD = fileURLToPath(new URL('./proxy-start-modules.preload.mjs', import.meta.url));
const AUTHORITY = 'web.demo:8080';
const SERVER_ID = identityName({ serviceAccount: 'web', namespace: 'demo' });
const CLIENT_ID = identityName({ serviceAccount: 'client', namespace: 'demo' });

/**
 * Packages that must stay out of the proxy, with what loads them elsewhere. prom-client's index
 * (Pushgateway, Summary, cluster, @opentelemetry/api) is replaced by its parts (metrics/prom.ts).
 */
const HEAVY = [
  '@peculiar/x509', // the CA and the identity service
  'reflect-metadata',
  'yaml', // validator, install; YAML destination files use js-yaml
  '@kubernetes/client-node', // --kube services, check, dev cluster
  '@grpc/grpc-js', // demo apps
  '@grpc/proto-loader',
  'execa', // dev cluster
  'ajv',
  'ws',
  'fast-json-patch',
  '@opentelemetry/api',
];
const HEAVY_FILES = ['prom-client/index.js'];

interface Report {
  esm: string[];
  cjs: string[];
  builtins: string[];
  env: Record<string, string | undefined>;
  heap: { heap_size_limit: number };
}

let dir = '';
let app: http.Server | undefined;
const proxies: ProxyProcess[] = [];
const reports = new Map<string, Report>();

async function report(p: ProxyProcess): Promise<Report> {
  const file = join(dir, `${p.name}.modules.json`);
  p.child.kill('SIGUSR2');
  const deadline = Date.now() + 30_000;
  while (!existsSync(file)) {
    if (Date.now() > deadline) throw new Error(`${p.name}: no module report after SIGUSR2`);
    await new Promise((r) => setTimeout(r, 50));
  }
  await new Promise((r) => setTimeout(r, 50)); // written in one writeFileSync; let it finish
  return JSON.parse(readFileSync(file, 'utf8')) as Report;
}

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'weft-start-modules-'));
  const ca = await createDevCa();
  await ca.writeIdentity(join(dir, 'server-id'), SERVER_ID);
  await ca.writeIdentity(join(dir, 'client-id'), CLIENT_ID);
  app = http.createServer((_q, r) => r.end('ok'));
  const appPort = await listenLocal(app);
  const start = async (name: string, env: Record<string, string>): Promise<ProxyProcess> => {
    const p = await spawnProxy({ name, env: { ...env, WEFT_TEST_MODULES_OUT: join(dir, `${name}.modules.json`) }, nodeArgs: ['--import', PRELOAD] });
    proxies.push(p);
    return p;
  };
  const server = await start('server', { WEFT_PROXY_INBOUND_ADDR: '127.0.0.1:0', WEFT_PROXY_IDENTITY_DIR: join(dir, 'server-id'), WEFT_PROXY_APP_PORT: String(appPort) });
  const destinations = join(dir, 'destinations.yaml');
  await writeFile(
    destinations,
    ['destinations:', `  - authority: ${AUTHORITY}`, '    endpoints:', `      - addr: ${formatAddr(server.inbound!)}`, `        identity: ${SERVER_ID}`, `        targetPort: ${appPort}`, ''].join('\n'),
  );
  const client = await start('client', { WEFT_PROXY_UPSTREAMS: `${AUTHORITY}=127.0.0.1:0`, WEFT_PROXY_DESTINATION_FILE: destinations, WEFT_PROXY_IDENTITY_DIR: join(dir, 'client-id') });
  const res = await fetch(`http://${formatAddr(client.upstreams.get(AUTHORITY)!)}/`);
  assert.equal(await res.text(), 'ok', 'a request crosses both proxies before their modules are listed');
  for (const p of proxies) reports.set(p.name, await report(p));
});

after(async () => {
  await Promise.all(proxies.map((p) => p.stop(2_000)));
  if (app) await closeServer(app);
  if (dir) await rm(dir, { recursive: true, force: true });
});

const packageOf = (pathOrUrl: string): string | undefined => {
  const m = /\/node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(pathOrUrl);
  return m?.[1];
};

for (const name of ['client', 'server']) {
  test(`the ${name} proxy loads none of the heavy packages`, () => {
    const r = reports.get(name)!;
    const files = [...r.esm, ...r.cjs];
    assert.ok(files.some((f) => /\/dist\/chunks\/proxy\.command-/.test(f)), `the report lists the proxy's own chunks: ${files.slice(0, 5).join(', ')}`);
    const loaded = new Set(files.map(packageOf).filter((p): p is string => p !== undefined));
    assert.ok(loaded.has('prom-client'), 'the report lists packages (prom-client is always there)');
    assert.deepEqual(HEAVY.filter((p) => loaded.has(p)), []);
    assert.deepEqual(files.filter((f) => HEAVY_FILES.some((h) => f.endsWith(`/node_modules/${h}`))), []);
  });
}

test('the client proxy reads its YAML destination file with js-yaml', () => {
  assert.ok(reports.get('client')!.cjs.some((f) => packageOf(f) === 'js-yaml'));
});

test("spawnProxy starts proxies with the proxy's runtime settings (mesh/config/proxy-runtime.ts)", () => {
  for (const [name, r] of reports) {
    for (const [k, v] of Object.entries(PROXY_RUNTIME_ENV)) assert.equal(r.env[k], v, `${name}: ${k}`);
    // V8 took them: its heap limit is the old-space limit plus the young generation (3 semi-spaces of 2 MB).
    const limitMb = r.heap.heap_size_limit / 2 ** 20;
    assert.ok(limitMb >= 1024 && limitMb <= 1040, `${name}: V8 heap limit ${limitMb} MB (--max-old-space-size=1024 applied)`);
  }
});
