import { test } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate, createPrivateKey } from 'node:crypto';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  createDevCa,
  createIssuer,
  createTrustAnchor,
  issueLeaf,
  spiffeId,
  splitPemCertificates,
  writeIdentityDir,
  CLOCK_SKEW_ALLOWANCE_MS,
} from '../../../../mesh/control/identity/ca';
import { identityName } from '../../../../mesh/config/identity';

const WEB = identityName({ serviceAccount: 'web', namespace: 'emojivoto' });

test('anchor → issuer → leaf: a P-256 chain with the identity as DNS SAN and SPIFFE URI SAN', async () => {
  const anchor = await createTrustAnchor();
  const issuer = await createIssuer(anchor);
  const leaf = await issueLeaf(issuer, WEB);

  const [leafPem, issuerPem, ...rest] = splitPemCertificates(leaf.certPem);
  assert.equal(rest.length, 0, 'chain = leaf + issuer');
  const a = new X509Certificate(anchor.certPem);
  const i = new X509Certificate(issuerPem);
  const l = new X509Certificate(leafPem);
  assert.equal(i.fingerprint256, new X509Certificate(issuer.certPem).fingerprint256);

  assert.ok(a.ca && a.checkIssued(a) && a.verify(a.publicKey), 'anchor is a self-signed CA');
  assert.ok(i.ca && i.checkIssued(a) && i.verify(a.publicKey), 'issuer is a CA signed by the anchor');
  assert.ok(!l.ca && l.checkIssued(i) && l.verify(i.publicKey), 'leaf is signed by the issuer');
  assert.ok(!l.verify(a.publicKey));

  assert.equal(l.subjectAltName, `DNS:${WEB}, URI:spiffe://cluster.local/ns/emojivoto/sa/web`);
  assert.deepEqual(l.keyUsage, ['1.3.6.1.5.5.7.3.1', '1.3.6.1.5.5.7.3.2'], 'serverAuth + clientAuth');
  assert.equal(l.publicKey.asymmetricKeyDetails?.namedCurve, 'prime256v1');
  assert.ok(l.checkPrivateKey(createPrivateKey(leaf.keyPem)));
  assert.match(leaf.keyPem, /^-----BEGIN PRIVATE KEY-----/, 'PKCS#8');
});

test('leaf lifetime: 24 h by default, from a little before now; notBefore and lifetime can be set', async () => {
  const now = new Date('2026-03-01T12:00:00Z');
  const ca = await createDevCa({ now: () => now });
  const l = new X509Certificate(splitPemCertificates((await ca.issue(WEB)).certPem)[0]);
  assert.equal(new Date(l.validFrom).getTime(), now.getTime() - CLOCK_SKEW_ALLOWANCE_MS);
  assert.equal(new Date(l.validTo).getTime(), now.getTime() + 24 * 3_600_000);

  const nb = new Date('2026-03-01T00:00:00Z');
  const l2 = new X509Certificate(splitPemCertificates((await ca.issue(WEB, { notBefore: nb, lifetimeMs: 3_600_000 })).certPem)[0]);
  assert.equal(new Date(l2.validFrom).getTime(), nb.getTime());
  assert.equal(new Date(l2.validTo).getTime(), nb.getTime() + 3_600_000);
});

test('an issuer never outlives its anchor', async () => {
  const anchor = await createTrustAnchor({ lifetimeMs: 3_600_000 });
  const issuer = await createIssuer(anchor, { lifetimeMs: 365 * 24 * 3_600_000 });
  assert.equal(new X509Certificate(issuer.certPem).validTo, new X509Certificate(anchor.certPem).validTo);
});

test('names that are not Weft identities are refused', async () => {
  const ca = await createDevCa();
  await assert.rejects(ca.issue('web.emojivoto.svc.cluster.local'), /not a Weft identity/);
  assert.equal(spiffeId(WEB), 'spiffe://cluster.local/ns/emojivoto/sa/web');
});

test('writeIdentityDir writes ca.crt, tls.crt and a 0600 tls.key', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'weft-ca-'));
  try {
    const ca = await createDevCa();
    const leaf = await ca.issue(WEB);
    const target = join(dir, 'nested', 'identity');
    await writeIdentityDir(target, ca.anchor.certPem, leaf);
    assert.equal(await readFile(join(target, 'ca.crt'), 'utf8'), ca.anchor.certPem);
    assert.equal(await readFile(join(target, 'tls.crt'), 'utf8'), leaf.certPem);
    assert.equal(await readFile(join(target, 'tls.key'), 'utf8'), leaf.keyPem);
    assert.equal((await stat(join(target, 'tls.key'))).mode & 0o777, 0o600);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
