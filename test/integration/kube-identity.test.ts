/**
 * `weft identity --kube` as a real process: the issuer read from a Secret through the fake API
 * server, proxies' tokens checked with TokenReview. A valid projected token gets a certificate; a
 * forged, expired (no longer known), wrong-audience or foreign-ServiceAccount token is refused with
 * its reason; with the API unreachable the refusal says so.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { createDevCa, type DevCa } from '../../mesh/control/identity/ca';
import { identityName } from '../../mesh/config/identity';
import { obtainCertificate } from '../../mesh/proxy/tls/identity-client';
import { findResourceType, serviceAccountUser, startFakeKubeApi, writeKubeconfig, type FakeKubeApi } from '../fixtures/kube-api';
import { startApiSwitch, type ApiSwitch } from '../unit/platform/api-switch';

const AUD = 'identity.weft.dev';
let api: FakeKubeApi;
let sw: ApiSwitch;
let ca: DevCa;
let dir: string;
let child: ChildProcess | undefined;
let out = '';
let url = '';

const web = identityName({ serviceAccount: 'web', namespace: 'shop' });

function ask(token: string, identity = web) {
  return obtainCertificate({ addr: url, trustAnchorsPem: ca.anchor.certPem, token, identity, dir: join(dir, `proxy-${Math.random().toString(36).slice(2)}`) });
}

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'weft-kube-identity-'));
  ca = await createDevCa();
  api = await startFakeKubeApi({
    namespaces: ['default', 'weft', 'shop'],
    tokens: {
      'web-token': serviceAccountUser('shop', 'web', [AUD]),
      'db-token': serviceAccountUser('shop', 'db', [AUD]),
      'api-audience': serviceAccountUser('shop', 'web', ['https://kubernetes.default.svc']),
    },
  });
  const b64 = (s: string) => Buffer.from(s).toString('base64');
  api.store.create(findResourceType('', 'v1', 'secrets')!, 'weft', {
    metadata: { name: 'weft-identity-issuer' },
    type: 'kubernetes.io/tls',
    data: { 'tls.crt': b64(ca.issuer.certPem), 'tls.key': b64(ca.issuer.keyPem), 'ca.crt': b64(ca.anchor.certPem) },
  });
  sw = await startApiSwitch(api.url);
  const kubeconfig = writeKubeconfig(dir, { server: sw.url });
  child = spawn(process.execPath, ['--import', 'tsx', 'mesh/cli/main.ts', 'identity', '--kube', '--kubeconfig', kubeconfig, '--issuer-secret', 'weft/weft-identity-issuer', '--addr', '127.0.0.1:0', '--leaf-lifetime', '1h'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  url = await new Promise<string>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`not listening after 30 s: ${out}`)), 30_000);
    child!.stdout!.on('data', (c: Buffer) => {
      out += c.toString();
      const m = /listening on (https:\/\/\S+)/.exec(out);
      if (m) {
        clearTimeout(t);
        resolve(m[1]!);
      }
    });
    child!.stderr!.on('data', (c: Buffer) => (out += c.toString()));
    child!.on('exit', (code) => reject(new Error(`exited ${code}: ${out}`)));
  });
});

after(async () => {
  if (child && child.exitCode === null && child.signalCode === null) {
    const exited = new Promise((r) => child!.once('exit', r));
    child.kill('SIGTERM');
    await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
    if (child.exitCode === null) child.kill('SIGKILL');
  }
  await sw?.close();
  await api?.close();
  rmSync(dir, { recursive: true, force: true });
});

test('the service says it checks tokens with TokenReview', () => {
  assert.match(out, /TokenReview via .*kubeconfig/);
});

test('a valid projected ServiceAccount token gets a certificate for its identity', async () => {
  const got = await ask('web-token');
  assert.equal(got.identity, web);
  assert.ok(Math.abs(got.notAfter.getTime() - Date.now() - 3_600_000) < 10_000);
});

test('forged, expired, wrong-audience and foreign-ServiceAccount tokens are refused with their reason', async () => {
  await assert.rejects(ask('forged'), (e: Error & { status?: number }) => e.status === 403 && /did not authenticate/.test(e.message));
  await assert.rejects(ask('api-audience'), (e: Error & { status?: number }) => e.status === 403 && /did not authenticate|audience/.test(e.message));
  // A token for ServiceAccount db asking for web's identity.
  await assert.rejects(ask('db-token'), (e: Error & { status?: number; code?: string }) => e.status === 403 && /token is for ServiceAccount shop\/db/.test(e.message));
  // Expired: the API server no longer authenticates a token it accepted before.
  api.setToken('short', serviceAccountUser('shop', 'web', [AUD]));
  await ask('short');
  api.setToken('short', undefined);
  await assert.rejects(ask('short'), /did not authenticate/);
});

test('with the Kubernetes API unreachable, the refusal says so; it works again when the API is back', async () => {
  await sw.down();
  await assert.rejects(ask('web-token'), (e: Error & { status?: number; code?: string }) => e.status === 503 && e.code === 'token-check-unavailable' && /TokenReview failed \(ECONNREFUSED\); retry later/.test(e.message));
  await sw.up();
  assert.equal((await ask('web-token')).identity, web);
});
