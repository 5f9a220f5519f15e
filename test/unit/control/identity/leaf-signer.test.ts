import { test } from 'node:test';
import assert from 'node:assert/strict';
import 'reflect-metadata';
import { X509Certificate, webcrypto } from 'node:crypto';
import * as x509 from '@peculiar/x509';
import { createDevCa, issueLeafForPublicKey, splitPemCertificates } from '../../../../mesh/control/identity/ca';
import { LeafSigner } from '../../../../mesh/control/identity/leaf-signer';
import { parseCsr } from '../../../../mesh/control/identity/csr';
import { time, tlv, oid, readTlv } from '../../../../mesh/control/identity/der';
import { identityName } from '../../../../mesh/config/identity';
import { createCsr } from '../../../../mesh/proxy/tls/identity-client';

const WEB = identityName({ serviceAccount: 'web', namespace: 'emojivoto' });
const NOW = new Date('2026-03-01T12:00:00Z');

test('the DER leaf has the same profile as ca.ts issueLeaf: byte-identical extensions, names and algorithms', async () => {
  const ca = await createDevCa({ now: () => new Date(NOW.getTime() - 3_600_000) });
  const { csrPem } = await createCsr(WEB);
  const csr = parseCsr(csrPem);
  const ours = new LeafSigner(ca.issuer).sign(WEB, csr.spkiDer, NOW, 86_400_000);
  const ref = await issueLeafForPublicKey(ca.issuer, WEB, csr.spkiDer as BufferSource, { now: () => NOW, lifetimeMs: 86_400_000 });

  const [a, b] = [ours.chainPem, ref.certPem].map((p) => new x509.X509Certificate(splitPemCertificates(p)[0]!));
  assert.deepEqual(
    a!.extensions.map((e) => [e.type, e.critical, Buffer.from(e.value).toString('hex')]),
    b!.extensions.map((e) => [e.type, e.critical, Buffer.from(e.value).toString('hex')]),
  );
  assert.equal(a!.subject, b!.subject);
  assert.equal(a!.issuer, b!.issuer);
  assert.deepEqual(a!.signatureAlgorithm, b!.signatureAlgorithm);
  assert.equal(a!.notBefore.getTime(), b!.notBefore.getTime());
  assert.equal(a!.notAfter.getTime(), b!.notAfter.getTime());
  assert.equal(Buffer.from(a!.publicKey.rawData).toString('hex'), Buffer.from(b!.publicKey.rawData).toString('hex'));
  // Chain: leaf + issuer; the leaf verifies under the issuer, which verifies under the anchor.
  const [leafPem, issuerPem, ...rest] = splitPemCertificates(ours.chainPem);
  assert.equal(rest.length, 0);
  assert.ok(new X509Certificate(leafPem!).verify(new X509Certificate(issuerPem!).publicKey));
  assert.ok(await a!.verify({ publicKey: new x509.X509Certificate(issuerPem!).publicKey, signatureOnly: true }));
});

test('a leaf never outlives its issuer; non-identities and bad issuers are refused', async () => {
  const ca = await createDevCa({ issuerLifetimeMs: 3_600_000 });
  const { csrPem } = await createCsr(WEB);
  const signer = new LeafSigner(ca.issuer);
  const leaf = signer.sign(WEB, parseCsr(csrPem).spkiDer, new Date(), 86_400_000);
  const issuerNotAfter = new Date(new X509Certificate(splitPemCertificates(ca.issuer.certPem)[0]!).validTo);
  assert.equal(leaf.notAfter.getTime(), issuerNotAfter.getTime());
  assert.throws(() => signer.sign('web.example.com', parseCsr(csrPem).spkiDer, new Date()), /not a Weft identity/);
  assert.throws(() => new LeafSigner({ certPem: ca.issuer.certPem, keyPem: ca.anchor.keyPem }), /does not match/);
  const leafAsIssuer = await ca.issue(WEB);
  assert.throws(() => new LeafSigner(leafAsIssuer), /is not a CA certificate/);
});

test('DER: times switch to GeneralizedTime from 2050; long lengths; OIDs with multi-byte arcs', () => {
  assert.equal(time(new Date('2049-12-31T23:59:59.999Z')).toString('latin1', 2), '491231235959Z');
  assert.equal(time(new Date('2049-12-31T23:59:59Z'))[0], 0x17);
  const g = time(new Date('2050-01-01T00:00:00Z'));
  assert.deepEqual([g[0], g.toString('latin1', 2)], [0x18, '20500101000000Z']);
  const big = tlv(0x04, Buffer.alloc(300));
  assert.deepEqual([...big.subarray(0, 4)], [0x04, 0x82, 0x01, 0x2c]);
  assert.deepEqual(readTlv(big, 0), { tag: 0x04, start: 0, contentStart: 4, end: 304 });
  assert.throws(() => readTlv(big.subarray(0, 100), 0), /truncated/);
  assert.equal(oid('1.2.840.10045.4.3.2').toString('hex'), '06082a8648ce3d040302');
});

test('CSR reader: names of every kind, a tampered request fails its signature', async () => {
  const keys = (await webcrypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, true, ['sign', 'verify'])) as CryptoKeyPair;
  const req = await x509.Pkcs10CertificateRequestGenerator.create({
    name: 'CN=x',
    keys,
    signingAlgorithm: { name: 'ECDSA', hash: 'SHA-256' },
    extensions: [new x509.SubjectAlternativeNameExtension([
      { type: 'dns', value: 'a.example' },
      { type: 'url', value: 'spiffe://x/y' },
      { type: 'ip', value: '10.0.0.1' },
      { type: 'email', value: 'a@b.c' },
    ])],
  });
  const csr = parseCsr(req.toString('pem'));
  assert.deepEqual(csr.names, [
    { type: 'dns', value: 'a.example' },
    { type: 'uri', value: 'spiffe://x/y' },
    { type: 'ip', value: '10.0.0.1' },
    { type: 'email', value: 'a@b.c' },
  ]);
  assert.equal(csr.keyType, 'ec');
  assert.equal(csr.namedCurve, 'prime256v1');
  assert.equal(csr.signatureValid(), true);
  // Flip one byte of the DNS name: still parses, no longer verifies.
  const der = Buffer.from(req.rawData);
  const at = der.indexOf(Buffer.from('a.example'));
  der[at] = 'b'.charCodeAt(0);
  const pem = `-----BEGIN CERTIFICATE REQUEST-----\n${der.toString('base64')}\n-----END CERTIFICATE REQUEST-----\n`;
  const tampered = parseCsr(pem);
  assert.equal(tampered.names[0]!.value, 'b.example');
  assert.equal(tampered.signatureValid(), false);
  assert.throws(() => parseCsr('-----BEGIN CERTIFICATE REQUEST-----\nMAMCAQA=\n-----END CERTIFICATE REQUEST-----\n'), /not a CertificationRequest/);
});
