import { test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { writeFile } from 'node:fs/promises';
import { X509Certificate } from 'node:crypto';
import { IdentityCerts } from '../../../../mesh/proxy/tls/identity-certs';
import { identityFilePaths, writeIdentityDir } from '../../../../mesh/control/identity/ca';
import { makePki, WEB, EMOJI } from './mesh-pki.fixture';

test('loads a good identity: identity from the DNS SAN, notAfter, one reused context', async (t) => {
  const pki = await makePki();
  t.after(() => pki.cleanup());
  const paths = await pki.ca.writeIdentity(pki.dir('web'), WEB);
  const certs = await IdentityCerts.load(paths);
  t.after(() => certs.close());
  assert.equal(certs.identity, WEB);
  assert.ok(Math.abs(certs.notAfter.getTime() - (Date.now() + 24 * 3_600_000)) < 5_000);
  assert.equal(certs.secureContext(), certs.secureContext(), 'one context per identity');
  assert.equal(certs.trustAnchorsPem(), pki.ca.anchor.certPem);
});

test('an expired leaf is refused at load, naming the file and the time', async (t) => {
  const pki = await makePki();
  t.after(() => pki.cleanup());
  const paths = await pki.ca.writeIdentity(pki.dir('old'), WEB, {
    notBefore: new Date(Date.now() - 2 * 3_600_000),
    lifetimeMs: 3_600_000,
  });
  await assert.rejects(IdentityCerts.load(paths), /^Error: tls\.crt: certificate expired at \d{4}-\d\d-\d\dT/);
});

test('a key that does not match the certificate is refused at load', async (t) => {
  const pki = await makePki();
  t.after(() => pki.cleanup());
  const paths = await pki.ca.writeIdentity(pki.dir('web'), WEB);
  await writeFile(paths.keyFile, (await pki.ca.issue(WEB)).keyPem);
  await assert.rejects(IdentityCerts.load(paths), /tls\.key: private key does not match the certificate in tls\.crt/);
});

test('a leaf from another CA than the trust anchors is refused at load', async (t) => {
  const pki = await makePki();
  t.after(() => pki.cleanup());
  const paths = identityFilePaths(pki.dir('web'));
  await writeIdentityDir(pki.dir('web'), pki.ca.anchor.certPem, await pki.otherCa.issue(WEB));
  await assert.rejects(IdentityCerts.load(paths), /tls\.crt: certificate chain does not lead to a trust anchor in ca\.crt/);
});

test('a chain without its issuer certificate is refused at load', async (t) => {
  const pki = await makePki();
  t.after(() => pki.cleanup());
  const leaf = await pki.ca.issue(WEB);
  const leafOnly = leaf.certPem.slice(0, leaf.certPem.indexOf('-----END CERTIFICATE-----') + 26);
  await writeIdentityDir(pki.dir('web'), pki.ca.anchor.certPem, { certPem: leafOnly, keyPem: leaf.keyPem });
  await assert.rejects(IdentityCerts.load(identityFilePaths(pki.dir('web'))), /does not lead to a trust anchor/);
});

test('missing files and non-PEM content are named', async (t) => {
  const pki = await makePki();
  t.after(() => pki.cleanup());
  const paths = await pki.ca.writeIdentity(pki.dir('web'), WEB);
  await assert.rejects(IdentityCerts.load({ ...paths, keyFile: pki.dir('nope.key') }), /nope\.key: cannot read .*ENOENT/);
  await writeFile(paths.trustAnchorsFile, 'hello');
  await assert.rejects(IdentityCerts.load(paths), /ca\.crt: no PEM certificate found/);
});

test('a certificate whose SAN is not a Weft identity is refused', async (t) => {
  // Built by hand with the CA's leaf-less path: an issuer certificate has no SAN at all.
  const pki = await makePki();
  t.after(() => pki.cleanup());
  await writeIdentityDir(pki.dir('x'), pki.ca.anchor.certPem, pki.ca.issuer);
  await assert.rejects(IdentityCerts.load(identityFilePaths(pki.dir('x'))), /tls\.crt: certificate carries no Weft identity/);
});

test('reload: a bad change keeps the old material and emits reload-error; a good one rotates', async (t) => {
  const pki = await makePki();
  t.after(() => pki.cleanup());
  const dir = pki.dir('web');
  const paths = await pki.ca.writeIdentity(dir, WEB);
  const certs = await IdentityCerts.load(paths);
  t.after(() => certs.close());
  const ctx = certs.secureContext();
  const errors: Error[] = [];
  certs.on('reload-error', (e: Error) => errors.push(e));

  assert.equal(await certs.reload(), false, 'unchanged files are not a rotation');
  await writeFile(paths.certFile, (await pki.otherCa.issue(EMOJI)).certPem);
  assert.equal(await certs.reload(), false);
  assert.equal(errors.length, 1);
  assert.match(errors[0].message, /reload refused, keeping web\.emojivoto.*tls\.key: private key does not match/);
  assert.equal(certs.identity, WEB);
  assert.equal(certs.secureContext(), ctx);

  const rotated = once(certs, 'rotated');
  await writeIdentityDir(dir, pki.ca.anchor.certPem, await pki.ca.issue(EMOJI));
  assert.equal(await certs.reload(), true);
  assert.deepEqual(await rotated, [EMOJI]);
  assert.equal(certs.identity, EMOJI);
  assert.notEqual(certs.secureContext(), ctx);
});

test('watch(): files rewritten on disk are picked up without a call', async (t) => {
  const pki = await makePki();
  t.after(() => pki.cleanup());
  const dir = pki.dir('web');
  const paths = await pki.ca.writeIdentity(dir, WEB);
  const certs = await IdentityCerts.load(paths, { debounceMs: 20, pollIntervalMs: 60_000 });
  t.after(() => certs.close());
  certs.watch();
  // The watchers and timers do not keep a process alive by design; this test has nothing else pending.
  const keepAlive = setTimeout(() => undefined, 5_000);
  t.after(() => clearTimeout(keepAlive));
  const before = certs.notAfter;
  const rotated = once(certs, 'rotated');
  const next = await pki.ca.issue(WEB, { lifetimeMs: 2 * 3_600_000 });
  await writeIdentityDir(dir, pki.ca.anchor.certPem, next);
  await rotated;
  assert.equal(certs.identity, WEB);
  assert.notEqual(certs.notAfter.getTime(), before.getTime());
  assert.equal(certs.notAfter.getTime(), new Date(new X509Certificate(next.certPem).validTo).getTime());
});

test('watch(): the poll fallback catches changes when fs events are missed', async (t) => {
  const pki = await makePki();
  t.after(() => pki.cleanup());
  const paths = await pki.ca.writeIdentity(pki.dir('web'), WEB);
  const certs = await IdentityCerts.load(paths, { debounceMs: 1, pollIntervalMs: 50 });
  t.after(() => certs.close());
  certs.watch();
  // The watchers and timers do not keep a process alive by design; this test has nothing else pending.
  const keepAlive = setTimeout(() => undefined, 5_000);
  t.after(() => clearTimeout(keepAlive));
  // Stop the fs watchers to simulate a filesystem without events (e.g. some network/overlay mounts).
  for (const w of (certs as unknown as { watchers: { close(): void }[] }).watchers) w.close();
  const rotated = once(certs, 'rotated');
  await writeIdentityDir(pki.dir('web'), pki.ca.anchor.certPem, await pki.ca.issue(EMOJI));
  assert.deepEqual(await rotated, [EMOJI]);
});
