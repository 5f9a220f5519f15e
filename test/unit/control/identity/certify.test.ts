import { test } from 'node:test';
import assert from 'node:assert/strict';
import 'reflect-metadata';
import { X509Certificate, createPublicKey, webcrypto } from 'node:crypto';
import * as x509 from '@peculiar/x509';
import { createDevCa, splitPemCertificates, DEFAULT_LEAF_LIFETIME_MS, CLOCK_SKEW_ALLOWANCE_MS } from '../../../../mesh/control/identity/ca';
import { certify } from '../../../../mesh/control/identity/certify';
import { LocalTokenVerifier, mintLocalToken, type TokenVerifier } from '../../../../mesh/control/identity/token';
import { identityName } from '../../../../mesh/config/identity';
import { createCsr } from '../../../../mesh/proxy/tls/identity-client';

const SECRET = 'a-local-signing-secret-of-32-bytes!!';
const NOW = new Date('2026-03-01T12:00:00Z');
const WEB = identityName({ serviceAccount: 'web', namespace: 'emojivoto' });
const verifier = new LocalTokenVerifier(SECRET);
const webToken = mintLocalToken(SECRET, { sa: 'web', ns: 'emojivoto', ttl: 600 }, NOW);
const caP = createDevCa({ now: () => new Date(NOW.getTime() - 3_600_000) });

async function csrWith(opts: { keys?: CryptoKeyPair; names?: x509.JsonGeneralName[]; alg?: 'rsa' }): Promise<string> {
  let keys = opts.keys;
  let signingAlgorithm: Algorithm = { name: 'ECDSA', hash: 'SHA-256' } as EcdsaParams;
  if (!keys && opts.alg === 'rsa') {
    keys = (await webcrypto.subtle.generateKey(
      { name: 'RSASSA-PKCS1-v1_5', modulusLength: 1024, publicExponent: new Uint8Array([1, 0, 1]), hash: 'SHA-256' },
      true,
      ['sign', 'verify'],
    )) as CryptoKeyPair;
    signingAlgorithm = { name: 'RSASSA-PKCS1-v1_5' };
  }
  keys ??= (await webcrypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, true, ['sign', 'verify'])) as CryptoKeyPair;
  const csr = await x509.Pkcs10CertificateRequestGenerator.create({
    name: 'CN=test',
    keys,
    signingAlgorithm,
    extensions: opts.names ? [new x509.SubjectAlternativeNameExtension(opts.names)] : [],
  });
  return csr.toString('pem');
}

test('a valid CSR and token get a 24 h leaf for the CSR key, chaining to the anchor', async () => {
  const ca = await caP;
  const { csrPem } = await createCsr(WEB);
  const r = await certify({ csrPem, token: webToken, now: NOW }, ca.issuer, verifier);
  assert.ok(r.ok, !r.ok ? r.reason : '');
  assert.equal(r.identity, WEB);
  const [leafPem, issuerPem] = splitPemCertificates(r.certificateChainPem);
  const leaf = new X509Certificate(leafPem!);
  assert.match(leaf.subjectAltName ?? '', new RegExp(`DNS:${WEB.replace(/\./g, '\\.')}`));
  assert.ok(leaf.verify(new X509Certificate(issuerPem!).publicKey));
  assert.ok(new X509Certificate(issuerPem!).verify(new X509Certificate(ca.anchor.certPem).publicKey));
  // The leaf certifies the CSR's key, not a key of the service's own.
  const csrKey = new x509.Pkcs10CertificateRequest(csrPem).publicKey.rawData;
  assert.deepEqual(
    leaf.publicKey.export({ type: 'spki', format: 'der' }),
    createPublicKey({ key: Buffer.from(csrKey), format: 'der', type: 'spki' }).export({ type: 'spki', format: 'der' }),
  );
  assert.equal(r.notAfter.getTime(), NOW.getTime() + DEFAULT_LEAF_LIFETIME_MS);
  assert.equal(r.notBefore.getTime(), NOW.getTime() - CLOCK_SKEW_ALLOWANCE_MS);
  assert.equal(new Date(leaf.validTo).getTime(), Math.floor(r.notAfter.getTime() / 1000) * 1000);
});

test('the leaf lifetime is configurable', async () => {
  const ca = await caP;
  const { csrPem } = await createCsr(WEB);
  const r = await certify({ csrPem, token: webToken, now: NOW }, ca.issuer, verifier, { leafLifetimeMs: 3000 });
  assert.ok(r.ok);
  assert.equal(r.notAfter.getTime(), NOW.getTime() + 3000);
});

test('a CSR naming another identity than the token proves is refused (403) with both names', async () => {
  const ca = await caP;
  const { csrPem } = await createCsr(identityName({ serviceAccount: 'voting', namespace: 'emojivoto' }));
  const r = await certify({ csrPem, token: webToken, now: NOW }, ca.issuer, verifier);
  assert.equal(r.ok, false);
  assert.ok(!r.ok);
  assert.equal(r.status, 403);
  assert.equal(r.code, 'identity-mismatch');
  assert.match(r.reason, /asks for voting\.emojivoto\..* but the token is for ServiceAccount emojivoto\/web/);
  // Same ServiceAccount name in another namespace is another identity too.
  const other = await createCsr(identityName({ serviceAccount: 'web', namespace: 'prod' }));
  const r2 = await certify({ csrPem: other.csrPem, token: webToken, now: NOW }, ca.issuer, verifier);
  assert.equal(!r2.ok && r2.code, 'identity-mismatch');
});

test('forged and expired tokens are refused (403) with the verifier reason', async () => {
  const ca = await caP;
  const { csrPem } = await createCsr(WEB);
  const forged = mintLocalToken('not-the-secret-but-long-enough-32b!', { sa: 'web', ns: 'emojivoto', ttl: 600 }, NOW);
  const r1 = await certify({ csrPem, token: forged, now: NOW }, ca.issuer, verifier);
  assert.deepEqual(!r1.ok && [r1.status, r1.code, r1.reason], [403, 'bad-token', 'token refused: token signature is invalid']);
  const r2 = await certify({ csrPem, token: webToken, now: new Date(NOW.getTime() + 601_000) }, ca.issuer, verifier);
  assert.equal(!r2.ok && r2.code, 'bad-token');
  assert.match(!r2.ok ? r2.reason : '', /token refused: token expired/);
  const r3 = await certify({ csrPem, token: '', now: NOW }, ca.issuer, verifier);
  assert.equal(!r3.ok && r3.code, 'bad-token');
});

test('a token the verifier could not check (its backend did not answer) is a 503, not a refusal of the token', async () => {
  const ca = await caP;
  const { csrPem } = await createCsr(WEB);
  const down: TokenVerifier = { verify: () => Promise.resolve({ ok: false, unavailable: true, reason: 'the Kubernetes API TokenReview failed (ECONNREFUSED); retry later' }) };
  const r = await certify({ csrPem, token: webToken, now: NOW }, ca.issuer, down);
  assert.deepEqual(!r.ok && [r.status, r.code, r.reason], [503, 'token-check-unavailable', 'token not checked: the Kubernetes API TokenReview failed (ECONNREFUSED); retry later']);
});

test('CSRs that are not one P-256 key with exactly one Weft DNS SAN are refused (400) with the reason', async () => {
  const ca = await caP;
  const cases: [string, RegExp, string][] = [
    ['not a csr', /not a PEM certificate request/, 'bad-csr'],
    [await csrWith({ alg: 'rsa', names: [{ type: 'dns', value: WEB }] }), /must be ECDSA P-256, got rsa/, 'bad-csr'],
    [await csrWith({}), /exactly one subjectAltName extension/, 'bad-csr'],
    [await csrWith({ names: [{ type: 'dns', value: WEB }, { type: 'dns', value: 'other.example' }] }), /exactly one DNS subjectAltName/, 'bad-csr'],
    [await csrWith({ names: [{ type: 'url', value: 'spiffe://cluster.local/ns/emojivoto/sa/web' }] }), /exactly one DNS subjectAltName \(got uri:spiffe:/, 'bad-csr'],
    [await csrWith({ names: [{ type: 'dns', value: 'web.example.com' }] }), /is not a Weft identity/, 'bad-identity'],
  ];
  for (const [csrPem, reason, code] of cases) {
    const r = await certify({ csrPem, token: webToken, now: NOW }, ca.issuer, verifier);
    assert.ok(!r.ok, String(reason));
    assert.equal(r.status, 400, String(reason));
    assert.equal(r.code, code);
    assert.match(r.reason, reason);
  }
  const foreign = await csrWith({ names: [{ type: 'dns', value: identityName({ serviceAccount: 'web', namespace: 'emojivoto', trustDomain: 'other.org' }) }] });
  const r = await certify({ csrPem: foreign, token: webToken, now: NOW }, ca.issuer, verifier);
  assert.deepEqual(!r.ok && [r.status, r.code], [403, 'bad-identity']);
  assert.match(!r.ok ? r.reason : '', /outside trust domain cluster\.local/);
});

test('a CSR whose self-signature does not match its key is refused', async () => {
  const ca = await caP;
  const gen = () => webcrypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, true, ['sign', 'verify']) as Promise<CryptoKeyPair>;
  const [a, b] = await Promise.all([gen(), gen()]);
  // Carries a's public key but is signed with b's private key: whoever sent it does not hold a's key.
  const csrPem = await csrWith({ keys: { publicKey: a.publicKey, privateKey: b.privateKey }, names: [{ type: 'dns', value: WEB }] });
  const r = await certify({ csrPem, token: webToken, now: NOW }, ca.issuer, verifier);
  assert.deepEqual(!r.ok && [r.status, r.code, r.reason], [400, 'bad-csr', 'csr self-signature does not verify (or is not ECDSA-SHA256)']);
});
