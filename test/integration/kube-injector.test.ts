/**
 * `weft injector` as a real process behind the fake API server: pods created in a namespace with
 * `weft.dev/inject: enabled` come back with weft-proxy (the API server called the webhook over TLS
 * with the CA bundle); pods elsewhere are left alone. Namespace annotations come from the cluster.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { createWebhookCertificates } from '../../mesh/control/injector/webhook-certificate';
import { ANNOTATIONS } from '../../mesh/config/annotations';
import { parseInjectorArgs, meshConfigFromJson } from '../../mesh/cli/injector.command';
import { startFakeKubeApi, writeKubeconfig, type FakeKubeApi } from '../fixtures/kube-api';

let api: FakeKubeApi;
let dir: string;
let child: ChildProcess | undefined;
let out = '';
let core: CoreV1Api;

async function freePort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as net.AddressInfo).port;
  await new Promise((r) => s.close(r));
  return port;
}

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'weft-kube-injector-'));
  const certs = await createWebhookCertificates();
  writeFileSync(join(dir, 'tls.crt'), certs.serving.certPem);
  writeFileSync(join(dir, 'tls.key'), certs.serving.keyPem);
  writeFileSync(join(dir, 'mesh-config.json'), JSON.stringify({ proxyImage: 'ghcr.io/weft-dev/weft:test', proxyVersion: '0.1.0', controlPlaneNamespace: 'weft' }));
  const port = await freePort();
  api = await startFakeKubeApi({
    namespaces: ['default', 'weft'],
    admissionWebhooks: [{ name: 'proxy-injector.weft.dev', url: `https://127.0.0.1:${port}/inject`, caBundle: certs.ca.certPem, serverName: 'weft-proxy-injector.weft.svc', resources: ['pods'], mutating: true, failurePolicy: 'Fail' }],
  });
  const kubeconfig = writeKubeconfig(dir, { server: api.url });
  const kc = new KubeConfig();
  kc.loadFromFile(kubeconfig);
  core = kc.makeApiClient(CoreV1Api);
  await core.createNamespace({ body: { metadata: { name: 'shop', annotations: { [ANNOTATIONS.inject]: 'enabled' } } } });
  await core.createNamespace({ body: { metadata: { name: 'plain' } } });
  child = spawn(process.execPath, ['--import', 'tsx', 'mesh/cli/main.ts', 'injector', '--listen', `127.0.0.1:${port}`, '--tls-cert', join(dir, 'tls.crt'), '--tls-key', join(dir, 'tls.key'), '--mesh-config', join(dir, 'mesh-config.json'), '--kubeconfig', kubeconfig], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  child.stderr!.on('data', (c: Buffer) => (out += c.toString()));
  const end = Date.now() + 30_000;
  while (!/listening on https/.test(out)) {
    if (Date.now() > end || child.exitCode !== null) throw new Error(`injector did not start: ${out}`);
    await new Promise((r) => setTimeout(r, 50));
  }
});

after(async () => {
  if (child && child.exitCode === null && child.signalCode === null) {
    const exited = new Promise((r) => child!.once('exit', r));
    child.kill('SIGTERM');
    await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
    if (child.exitCode === null) child.kill('SIGKILL');
  }
  await api?.close();
  rmSync(dir, { recursive: true, force: true });
});

const podBody = (name: string) => ({ metadata: { name }, spec: { containers: [{ name: 'app', image: 'app:1' }] } });

test('a pod in an injected namespace gets the proxy; one in a plain namespace does not', async () => {
  const meshed = await core.createNamespacedPod({ namespace: 'shop', body: podBody('web') });
  const names = [...(meshed.spec?.initContainers ?? []), ...(meshed.spec?.containers ?? [])].map((c) => c.name);
  assert.ok(names.includes('weft-proxy'), `containers: ${names.join(', ')}\n${out}`);
  assert.equal(meshed.spec?.initContainers?.find((c) => c.name === 'weft-proxy')?.image, 'ghcr.io/weft-dev/weft:test');
  const plain = await core.createNamespacedPod({ namespace: 'plain', body: podBody('web') });
  assert.deepEqual(plain.spec?.containers?.map((c) => c.name), ['app']);
  assert.equal(plain.spec?.initContainers, undefined);
});

test('arguments and mesh config: every problem named', () => {
  assert.match(parseInjectorArgs(['--bogus']) as string, /unknown argument '--bogus'.*--tls-cert FILE is required.*--tls-key FILE is required.*--mesh-config FILE is required/);
  const ok = parseInjectorArgs(['--tls-cert', 'c', '--tls-key', 'k', '--mesh-config=m']);
  assert.deepEqual(ok, { listen: { host: '0.0.0.0', port: 8443 }, tlsCert: 'c', tlsKey: 'k', meshConfig: 'm' });
  assert.match(meshConfigFromJson('{', 'm.json') as string, /m\.json is not JSON/);
  assert.match(meshConfigFromJson('{}', 'm.json') as string, /proxyImage/);
});
