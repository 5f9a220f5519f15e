import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseIdentityArgs } from '../../../mesh/cli/identity.command';
import { createDevCa } from '../../../mesh/control/identity/ca';
import { mintLocalToken } from '../../../mesh/control/identity/token';
import { identityName } from '../../../mesh/config/identity';
import { CONTROL_PLANE_PORTS } from '../../../mesh/config/ports';
import { obtainCertificate } from '../../../mesh/proxy/tls/identity-client';

const FILES = ['--trust-anchors', 'a.crt', '--issuer-cert', 'i.crt', '--issuer-key', 'i.key', '--token-secret-file', 's'];

test('flags win over WEFT_IDENTITY_* variables; defaults for address, lifetime and trust domain', () => {
  const r = parseIdentityArgs([...FILES, '--leaf-lifetime=90s'], { WEFT_IDENTITY_ISSUER_KEY: 'env.key', WEFT_IDENTITY_TRUST_DOMAIN: 'example.org' });
  assert.ok(r.ok);
  assert.deepEqual(r.config, {
    addr: { host: '127.0.0.1', port: CONTROL_PLANE_PORTS.identity },
    trustAnchorsFile: 'a.crt',
    issuerCertFile: 'i.crt',
    issuerKeyFile: 'i.key',
    tokenSecretFile: 's',
    serverCertFile: undefined,
    serverKeyFile: undefined,
    leafLifetimeMs: 90_000,
    trustDomain: 'example.org',
  });
  const fromEnv = parseIdentityArgs([], {
    WEFT_IDENTITY_ADDR: '[::1]:0',
    WEFT_IDENTITY_TRUST_ANCHORS: 'a',
    WEFT_IDENTITY_ISSUER_CERT: 'b',
    WEFT_IDENTITY_ISSUER_KEY: 'c',
    WEFT_IDENTITY_TOKEN_SECRET_FILE: 'd',
  });
  assert.ok(fromEnv.ok);
  assert.deepEqual(fromEnv.config.addr, { host: '::1', port: 0 });
  assert.equal(fromEnv.config.leafLifetimeMs, 86_400_000);
});

test('every problem is reported at once', () => {
  const r = parseIdentityArgs(['--addr', 'nope', '--leaf-lifetime', '10', '--server-cert', 'x', '--bogus'], {});
  assert.ok(!r.ok);
  assert.deepEqual(r.errors, [
    'unknown argument --bogus',
    '--addr "nope" is not HOST:PORT',
    '--leaf-lifetime: duration "10" has no unit; expected a number and a unit (ms, s, m, h), e.g. "500ms", "10s", "1.5s", "1m30s"',
    '--trust-anchors (or WEFT_IDENTITY_TRUST_ANCHORS) is required',
    '--issuer-cert (or WEFT_IDENTITY_ISSUER_CERT) is required',
    '--issuer-key (or WEFT_IDENTITY_ISSUER_KEY) is required',
    '--token-secret-file (or WEFT_IDENTITY_TOKEN_SECRET_FILE) is required',
    '--server-cert and --server-key go together',
  ]);
});

test('`weft identity` serves certificates from files and stops on SIGTERM', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'weft-identity-cli-'));
  const ca = await createDevCa();
  const secret = 'cli-test-secret-cli-test-secret-cli-test';
  await Promise.all([
    writeFile(join(dir, 'ca.crt'), ca.anchor.certPem),
    writeFile(join(dir, 'issuer.crt'), ca.issuer.certPem),
    writeFile(join(dir, 'issuer.key'), ca.issuer.keyPem),
    writeFile(join(dir, 'secret'), `${secret}\n`),
  ]);
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', 'mesh/cli/main.ts', 'identity', '--addr', '127.0.0.1:0', '--trust-anchors', join(dir, 'ca.crt'),
      '--issuer-cert', join(dir, 'issuer.crt'), '--issuer-key', join(dir, 'issuer.key'), '--token-secret-file', join(dir, 'secret'), '--leaf-lifetime', '1h'],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  try {
    let out = '';
    const url = await new Promise<string>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`not listening after 15 s: ${out}`)), 15_000);
      child.stdout.on('data', (c: Buffer) => {
        out += c.toString();
        const m = /listening on (https:\/\/\S+)/.exec(out);
        if (m) {
          clearTimeout(t);
          resolve(m[1]!);
        }
      });
      child.stderr.on('data', (c: Buffer) => (out += c.toString()));
      child.on('exit', (code) => reject(new Error(`exited ${code}: ${out}`)));
    });
    const web = identityName({ serviceAccount: 'web', namespace: 'emojivoto' });
    const got = await obtainCertificate({
      addr: url,
      trustAnchorsPem: ca.anchor.certPem,
      token: mintLocalToken(secret, { sa: 'web', ns: 'emojivoto', ttl: 60 }),
      identity: web,
      dir: join(dir, 'proxy'),
    });
    assert.equal(got.identity, web);
    assert.ok(Math.abs(got.notAfter.getTime() - Date.now() - 3_600_000) < 5000);
    const code = await new Promise<number | null>((resolve) => {
      child.once('exit', (c) => resolve(c));
      child.kill('SIGTERM');
    });
    assert.equal(code, 0);
  } finally {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await rm(dir, { recursive: true, force: true });
  }
});
