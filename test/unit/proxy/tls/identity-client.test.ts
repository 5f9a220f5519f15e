import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as prom from 'prom-client';
import { createDevCa } from '../../../../mesh/control/identity/ca';
import { startIdentityServer } from '../../../../mesh/control/identity/server';
import { LocalTokenVerifier, mintLocalToken } from '../../../../mesh/control/identity/token';
import { IDENTITY_SERVICE_ACCOUNT, identityName } from '../../../../mesh/config/identity';
import { CONTROL_PLANE_NAMESPACE } from '../../../../mesh/config/names';
import { CertificateRenewer, createCsr, obtainCertificate, startCertificateRenewal, type RenewerClock } from '../../../../mesh/proxy/tls/identity-client';
import { IdentityCerts } from '../../../../mesh/proxy/tls/identity-certs';

/** Timers that fire only when the test advances time. */
class FakeClock implements RenewerClock {
  t = 1_000_000;
  private timers: { at: number; fn: () => void; id: number }[] = [];
  private next = 0;
  now(): number {
    return this.t;
  }
  setTimeout(fn: () => void, ms: number): unknown {
    const id = this.next++;
    this.timers.push({ at: this.t + ms, fn, id });
    return id;
  }
  clearTimeout(h: unknown): void {
    this.timers = this.timers.filter((x) => x.id !== h);
  }
  pending(): number[] {
    return this.timers.map((x) => x.at - this.t);
  }
  async advance(ms: number): Promise<void> {
    const end = this.t + ms;
    for (;;) {
      this.timers.sort((a, b) => a.at - b.at);
      const due = this.timers[0];
      if (!due || due.at > end) break;
      this.timers.shift();
      this.t = due.at;
      due.fn();
      for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
    }
    this.t = end;
  }
}

test('renews at 70 % of the lifetime counted from receipt, and reports the metrics', async () => {
  const clock = new FakeClock();
  const calls: number[] = [];
  const registry = new prom.Registry();
  const seen: { expirationSeconds: number; refreshCount: number }[] = [];
  const renewer = new CertificateRenewer({
    clock,
    registry,
    onMetrics: (m) => seen.push(m),
    obtain: () => {
      calls.push(clock.now());
      return Promise.resolve({ notAfter: new Date(clock.now() + 10_000) });
    },
  }).start();
  await clock.advance(0);
  const first = await renewer.ready;
  assert.equal(first.notAfter.getTime(), 1_010_000);
  assert.deepEqual(clock.pending(), [7000]);
  await clock.advance(6999);
  assert.equal(calls.length, 1, 'not before 70 %');
  await clock.advance(1);
  assert.deepEqual(calls, [1_000_000, 1_007_000]);
  await clock.advance(7000);
  assert.deepEqual(calls, [1_000_000, 1_007_000, 1_014_000]);
  assert.deepEqual(seen.at(-1), { expirationSeconds: 1_024, refreshCount: 3 });
  const text = await registry.metrics();
  assert.match(text, /^identity_cert_expiration_timestamp_seconds 1024$/m);
  assert.match(text, /^identity_cert_refresh_count 3$/m);
  renewer.stop();
  assert.deepEqual(clock.pending(), []);
});

test('failures back off exponentially (capped), never past a still-valid certificate, then recover', async () => {
  const clock = new FakeClock();
  const calls: number[] = [];
  const errors: number[] = [];
  let failNext = 0;
  let firstOk = true;
  const renewer = new CertificateRenewer({
    clock,
    initialBackoffMs: 1000,
    maxBackoffMs: 4000,
    random: () => 0,
    onError: (_e, retryIn) => errors.push(retryIn),
    obtain: () => {
      calls.push(clock.now() - 1_000_000);
      if (firstOk) {
        firstOk = false;
        return Promise.resolve({ notAfter: new Date(clock.now() + 100_000) });
      }
      if (failNext > 0) {
        failNext--;
        return Promise.reject(new Error('identity service unreachable'));
      }
      return Promise.resolve({ notAfter: new Date(clock.now() + 100_000) });
    },
  }).start();
  await clock.advance(0);
  await renewer.ready;
  failNext = 5;
  await clock.advance(70_000 + 1000 + 2000 + 4000 + 4000 + 4000);
  assert.deepEqual(errors, [1000, 2000, 4000, 4000, 4000]);
  assert.deepEqual(calls, [0, 70_000, 71_000, 73_000, 77_000, 81_000, 85_000]);
  assert.deepEqual(clock.pending(), [70_000], 'after recovery, back to 70 % of the new lifetime');

  // The current certificate (valid until 185 000) caps the back-off at its remaining life; after expiry the
  // plain back-off applies again.
  errors.length = 0;
  calls.length = 0;
  failNext = 100;
  await clock.advance(70_000 + 34_000);
  assert.deepEqual(calls, [155_000, 156_000, 158_000, 162_000, 166_000, 170_000, 174_000, 178_000, 182_000, 185_000, 189_000]);
  assert.deepEqual(errors.slice(7, 10), [4000, 3000, 4000]);
  renewer.stop();

  const r = new CertificateRenewer({ obtain: () => Promise.reject(new Error('x')), initialBackoffMs: 500, maxBackoffMs: 3000, jitter: 0.5, random: () => 1 });
  assert.deepEqual([1, 2, 3, 4, 5].map((f) => r.backoffMs(f)), [250, 500, 1000, 1500, 1500]);
});

test('the first certificate is retried until it comes; ready waits for it', async () => {
  const clock = new FakeClock();
  let attempts = 0;
  const renewer = new CertificateRenewer({
    clock,
    random: () => 0,
    obtain: () => (++attempts < 3 ? Promise.reject(new Error('down')) : Promise.resolve({ notAfter: new Date(clock.now() + 1000) })),
  }).start();
  let ready = false;
  void renewer.ready.then(() => (ready = true));
  await clock.advance(1000);
  assert.equal(ready, false);
  await clock.advance(2000);
  assert.equal(ready, true);
  assert.equal(attempts, 3);
  renewer.stop();
  await renewer.ready; // still the first certificate after stop()
});

test('stop() before the first certificate rejects ready (a shutdown during start-up does not hang)', async () => {
  const clock = new FakeClock();
  const renewer = new CertificateRenewer({ clock, random: () => 0, obtain: () => Promise.reject(new Error('down')) }).start();
  await clock.advance(5000);
  renewer.stop();
  await assert.rejects(renewer.ready, /stopped before the first certificate/);
  assert.deepEqual(clock.pending(), []);
});

test('end to end: 3 s leaves are renewed at ~70 % and IdentityCerts picks up the new files', async () => {
  const SECRET = 'a-local-signing-secret-of-32-bytes!!';
  const WEB = identityName({ serviceAccount: 'web', namespace: 'emojivoto' });
  const ca = await createDevCa();
  const dir = await mkdtemp(join(tmpdir(), 'weft-renew-'));
  const server = await startIdentityServer({
    host: '127.0.0.1',
    port: 0,
    issuer: ca.issuer,
    trustAnchorPem: ca.anchor.certPem,
    verifier: new LocalTokenVerifier(SECRET),
    serverCert: await ca.issue(identityName({ serviceAccount: IDENTITY_SERVICE_ACCOUNT, namespace: CONTROL_PLANE_NAMESPACE })),
    leafLifetimeMs: 3000,
  });
  const registry = new prom.Registry();
  const issued: { at: number; notAfter: Date }[] = [];
  const attempts: number[] = [];
  const renewer = new CertificateRenewer({
    registry,
    obtain: async () => {
      attempts.push(Date.now());
      const token = mintLocalToken(SECRET, { sa: 'web', ns: 'emojivoto', ttl: 60 });
      const got = await obtainCertificate({ addr: `127.0.0.1:${server.port}`, trustAnchorsPem: ca.anchor.certPem, token, identity: WEB, dir });
      issued.push({ at: Date.now(), notAfter: got.notAfter });
      return got;
    },
  });
  let certs: IdentityCerts | undefined;
  try {
    renewer.start();
    await renewer.ready;
    certs = await IdentityCerts.load({ certFile: join(dir, 'tls.crt'), keyFile: join(dir, 'tls.key'), trustAnchorsFile: join(dir, 'ca.crt') }, { debounceMs: 50, pollIntervalMs: 1000 });
    certs.watch();
    const firstNotAfter = certs.notAfter.getTime();
    const firstChain = await readFile(join(dir, 'tls.crt'), 'utf8');
    await new Promise<void>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error('no rotation within 4 s')), 4000);
      certs!.once('rotated', () => {
        clearTimeout(t);
        resolve();
      });
    });
    assert.ok(issued.length >= 2);
    const [a, b] = issued as [{ at: number; notAfter: Date }, { at: number; notAfter: Date }];
    const expected = 0.7 * (a.notAfter.getTime() - a.at);
    const actual = attempts[1]! - a.at;
    assert.ok(Math.abs(actual - expected) < 250, `renewal started ${actual} ms after the first leaf arrived, expected ~${expected.toFixed(0)} ms`);
    assert.ok(b.at < a.notAfter.getTime(), 'renewed before expiry');
    assert.equal(certs.identity, WEB);
    assert.ok(certs.notAfter.getTime() > firstNotAfter, 'IdentityCerts now serves the renewed leaf');
    assert.notEqual(await readFile(join(dir, 'tls.crt'), 'utf8'), firstChain);
    assert.match(await registry.metrics(), /^identity_cert_refresh_count [2-9]$/m);
  } finally {
    renewer.stop();
    certs?.close();
    await server.close();
    await rm(dir, { recursive: true, force: true });
  }
});

test('startCertificateRenewal reads the token file before every request (a rotated token is used, a bad one refused)', async () => {
  const SECRET = 'a-local-signing-secret-of-32-bytes!!';
  const WEB = identityName({ serviceAccount: 'web', namespace: 'emojivoto' });
  const ca = await createDevCa();
  const root = await mkdtemp(join(tmpdir(), 'weft-renewal-'));
  const tokenFile = join(root, 'token');
  const server = await startIdentityServer({
    host: '127.0.0.1',
    port: 0,
    issuer: ca.issuer,
    trustAnchorPem: ca.anchor.certPem,
    verifier: new LocalTokenVerifier(SECRET),
    serverCert: await ca.issue(identityName({ serviceAccount: IDENTITY_SERVICE_ACCOUNT, namespace: CONTROL_PLANE_NAMESPACE })),
    leafLifetimeMs: 1500,
  });
  const errors: string[] = [];
  let renewer: CertificateRenewer | undefined;
  try {
    renewer = startCertificateRenewal(
      { addr: `127.0.0.1:${server.port}`, tokenFile, identity: WEB, dir: join(root, 'id'), trustAnchorsPem: ca.anchor.certPem },
      { initialBackoffMs: 100, onError: (e) => errors.push(e.message) },
    );
    await new Promise((r) => setTimeout(r, 150));
    assert.match(errors[0] ?? '', /cannot read the identity token .*token \(ENOENT\)/);
    await writeFile(tokenFile, mintLocalToken(SECRET, { sa: 'web', ns: 'emojivoto', ttl: 60 }) + '\n');
    await renewer.ready;
    const before = errors.length;
    await writeFile(tokenFile, mintLocalToken(SECRET, { sa: 'voting', ns: 'emojivoto', ttl: 60 }));
    const deadline = Date.now() + 3000;
    while (errors.length === before && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    assert.match(errors.at(-1) ?? '', /token is for ServiceAccount emojivoto\/voting/);
    assert.ok(renewer.certificate, 'the first certificate stays in place');
  } finally {
    renewer?.stop();
    await server.close();
    await rm(root, { recursive: true, force: true });
  }
});

test('createCsr: a P-256 key and a PKCS#10 request for the identity (one DNS SAN), self-signed with ECDSA-SHA256, that the identity service reads', async () => {
  const { parseCsr } = await import('../../../../mesh/control/identity/csr');
  const { createPublicKey } = await import('node:crypto');
  const id = identityName({ serviceAccount: 'web', namespace: 'shop' });
  const { csrPem, keyPem } = await createCsr(id);
  const csr = parseCsr(csrPem);
  assert.equal(csr.keyType, 'ec');
  assert.equal(csr.namedCurve, 'prime256v1');
  assert.equal(csr.sanExtensions, 1);
  assert.deepEqual(csr.names, [{ type: 'dns', value: id }]);
  assert.ok(csr.signatureValid(), 'signed by its own key');
  // The key handed back is the one the request certifies.
  const fromKey = createPublicKey(keyPem).export({ type: 'spki', format: 'der' });
  assert.deepEqual(Buffer.from(csr.spkiDer), fromKey);
  // A request altered after signing no longer verifies.
  const der = Buffer.from(csrPem.replace(/-----[^-]+-----/g, '').replace(/\s+/g, ''), 'base64');
  const at = der.indexOf(Buffer.from(id));
  der[at] = der[at]! ^ 1;
  const forged = `-----BEGIN CERTIFICATE REQUEST-----\n${der.toString('base64')}\n-----END CERTIFICATE REQUEST-----\n`;
  assert.equal(parseCsr(forged).signatureValid(), false);
});
