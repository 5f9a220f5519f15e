// The identity service over real TLS on loopback, driven by the proxy's certificate client.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as https from 'node:https';
import type * as http from 'node:http';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createDevCa, type DevCa } from '../../../../mesh/control/identity/ca';
import { startIdentityServer, type IdentityServer } from '../../../../mesh/control/identity/server';
import { LocalTokenVerifier, mintLocalToken } from '../../../../mesh/control/identity/token';
import { IDENTITY_SERVICE_ACCOUNT, identityName } from '../../../../mesh/config/identity';
import { CONTROL_PLANE_NAMESPACE } from '../../../../mesh/config/names';
import { createCsr, IdentityRequestError, obtainCertificate } from '../../../../mesh/proxy/tls/identity-client';
import { IdentityCerts } from '../../../../mesh/proxy/tls/identity-certs';
import { connectMtls, serverTlsOptions, verifiedPeerIdentity } from '../../../../mesh/proxy/tls/mtls';
import * as tls from 'node:tls';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';

const SECRET = 'a-local-signing-secret-of-32-bytes!!';
const WEB = identityName({ serviceAccount: 'web', namespace: 'emojivoto' });
const SERVICE = identityName({ serviceAccount: IDENTITY_SERVICE_ACCOUNT, namespace: CONTROL_PLANE_NAMESPACE });

let ca: DevCa;
let server: IdentityServer;
let root: string;
let n = 0;
const dir = (): string => join(root, `id-${n++}`);

before(async () => {
  ca = await createDevCa();
  root = await mkdtemp(join(tmpdir(), 'weft-identity-'));
  server = await startIdentityServer({
    host: '127.0.0.1',
    port: 0,
    issuer: ca.issuer,
    trustAnchorPem: ca.anchor.certPem,
    verifier: new LocalTokenVerifier(SECRET),
    serverCert: await ca.issue(SERVICE),
  });
});

after(async () => {
  await server?.close();
  if (root) await rm(root, { recursive: true, force: true });
});

const addr = (): string => `127.0.0.1:${server.port}`;

test('a proxy obtains a certificate over TLS; the files load as its identity', async () => {
  const d = dir();
  const token = mintLocalToken(SECRET, { sa: 'web', ns: 'emojivoto', ttl: 600 });
  const got = await obtainCertificate({ addr: addr(), trustAnchorsPem: ca.anchor.certPem, token, identity: WEB, dir: d });
  assert.equal(got.identity, WEB);
  assert.ok(got.notAfter.getTime() - Date.now() > 23.9 * 3_600_000);
  const certs = await IdentityCerts.load(got.files);
  assert.equal(certs.identity, WEB);
  assert.equal(certs.notAfter.getTime(), Math.floor(got.notAfter.getTime() / 1000) * 1000);
  assert.equal((await stat(got.files.keyFile)).mode & 0o777, 0o600);
  certs.close();
});

async function refusal(token: string, identity = WEB): Promise<IdentityRequestError> {
  const d = dir();
  const err = await obtainCertificate({ addr: addr(), trustAnchorsPem: ca.anchor.certPem, token, identity, dir: d }).then(
    () => assert.fail('expected a refusal'),
    (e: unknown) => e,
  );
  assert.ok(err instanceof IdentityRequestError, String(err));
  await assert.rejects(stat(d), /ENOENT/, 'nothing is written on refusal');
  return err;
}

test('a forged token is refused with 403 and the reason', async () => {
  const err = await refusal(mintLocalToken('some-other-secret-at-least-32-bytes', { sa: 'web', ns: 'emojivoto', ttl: 600 }));
  assert.equal(err.status, 403);
  assert.equal(err.code, 'bad-token');
  assert.match(err.message, /refused web\.emojivoto\..*: token refused: token signature is invalid/);
});

test('an expired token is refused with 403 and the reason', async () => {
  const err = await refusal(mintLocalToken(SECRET, { sa: 'web', ns: 'emojivoto', ttl: 1 }, new Date(Date.now() - 10_000)));
  assert.equal(err.status, 403);
  assert.match(err.message, /token refused: token expired at/);
});

test('a CSR whose name does not match the token is refused with 403 and both names', async () => {
  const token = mintLocalToken(SECRET, { sa: 'voting', ns: 'emojivoto', ttl: 600 });
  const err = await refusal(token);
  assert.equal(err.status, 403);
  assert.equal(err.code, 'identity-mismatch');
  assert.match(err.message, /asks for web\.emojivoto\..* but the token is for ServiceAccount emojivoto\/voting/);
});

test('a client that does not trust the service (other anchors) or expects another name does not send its token', async () => {
  const other = await createDevCa();
  const token = mintLocalToken(SECRET, { sa: 'web', ns: 'emojivoto', ttl: 600 });
  await assert.rejects(
    obtainCertificate({ addr: addr(), trustAnchorsPem: other.anchor.certPem, token, identity: WEB, dir: dir() }),
    /unreachable: .*(self-signed|unable to (get|verify))/i,
  );
  await assert.rejects(
    obtainCertificate({ addr: addr(), trustAnchorsPem: ca.anchor.certPem, token, identity: WEB, dir: dir(), serverIdentity: WEB }),
    /unreachable: .*does not match certificate's altnames/,
  );
});

function raw(method: string, path: string, body?: string, port = server.port): Promise<{ status: number; json: Record<string, unknown>; headers: http.IncomingHttpHeaders }> {
  return new Promise((resolve, reject) => {
    const req = https.request(
      { host: '127.0.0.1', port, method, path, ca: ca.anchor.certPem, servername: SERVICE, checkServerIdentity: () => undefined, agent: false },
      (res) => {
        let text = '';
        res.on('data', (c: Buffer) => (text += c.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, json: text.startsWith('{') ? JSON.parse(text) : { text }, headers: res.headers }));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

test('a token that could not be checked gets 503 with Retry-After, counted apart from refused tokens; the proxy side sees the code', async () => {
  const down = await startIdentityServer({
    host: '127.0.0.1',
    port: 0,
    issuer: ca.issuer,
    trustAnchorPem: ca.anchor.certPem,
    verifier: { verify: () => Promise.resolve({ ok: false, unavailable: true, reason: 'the Kubernetes API TokenReview failed (ECONNREFUSED); retry later' }) },
    serverCert: await ca.issue(SERVICE),
  });
  try {
    const { csrPem } = await createCsr(WEB);
    const r = await raw('POST', '/v1/certify', JSON.stringify({ csr: csrPem, token: 'any' }), down.port);
    assert.equal(r.status, 503);
    assert.equal(r.headers['retry-after'], '1');
    assert.deepEqual(r.json, { error: 'token-check-unavailable', reason: 'token not checked: the Kubernetes API TokenReview failed (ECONNREFUSED); retry later' });
    const err = await obtainCertificate({ addr: `127.0.0.1:${down.port}`, trustAnchorsPem: ca.anchor.certPem, token: 'any', identity: WEB, dir: dir() }).then(
      () => assert.fail('expected an error'),
      (e: unknown) => e as IdentityRequestError,
    );
    assert.deepEqual([err.status, err.code], [503, 'token-check-unavailable']);
    const metrics = (await raw('GET', '/metrics', undefined, down.port)).json['text'] as string;
    assert.match(metrics, /identity_certify_requests_total\{result="token-check-unavailable"\} 2/);
  } finally {
    await down.close();
  }
});

test('malformed requests get 400/405/413 JSON errors; /metrics counts results', async () => {
  assert.equal((await raw('POST', '/v1/certify', 'not json')).status, 400);
  const missing = await raw('POST', '/v1/certify', '{"csr": 1}');
  assert.deepEqual([missing.status, missing.json.error], [400, 'bad-request']);
  const badCsr = await raw('POST', '/v1/certify', JSON.stringify({ csr: 'nope', token: 'x' }));
  assert.deepEqual([badCsr.status, badCsr.json.error], [400, 'bad-csr']);
  assert.equal((await raw('GET', '/v1/certify')).status, 405);
  assert.equal((await raw('POST', '/v1/certify', 'x'.repeat(70_000))).status, 413);
  assert.equal((await raw('GET', '/nope')).status, 404);
  const metrics = String((await raw('GET', '/metrics')).json.text);
  assert.match(metrics, /identity_certify_requests_total\{result="ok"\} [1-9]/);
  assert.match(metrics, /identity_certify_requests_total\{result="bad-token"\} [1-9]/);
  assert.match(metrics, /identity_certify_requests_total\{result="identity-mismatch"\} [1-9]/);
  assert.match(metrics, /identity_certify_requests_total\{result="bad-csr"\} 1/);
});

test('the service refuses to start with an issuer that does not chain to the anchor or a key that is not the issuer\'s', async () => {
  const other = await createDevCa();
  await assert.rejects(
    startIdentityServer({
      host: '127.0.0.1',
      port: 0,
      issuer: other.issuer,
      trustAnchorPem: ca.anchor.certPem,
      verifier: new LocalTokenVerifier(SECRET),
      serverCert: await ca.issue(SERVICE),
    }),
    /is not signed by any trust anchor/,
  );
  await assert.rejects(
    startIdentityServer({
      host: '127.0.0.1',
      port: 0,
      issuer: { certPem: ca.issuer.certPem, keyPem: other.issuer.keyPem },
      trustAnchorPem: ca.anchor.certPem,
      verifier: new LocalTokenVerifier(SECRET),
      serverCert: await ca.issue(SERVICE),
    }),
    /issuer key does not match the issuer certificate/,
  );
});

test('two proxies holding service-issued certificates complete mTLS and see each other\'s identity', async () => {
  const VOTING = identityName({ serviceAccount: 'voting', namespace: 'emojivoto' });
  const get = async (sa: string, identity: string) => {
    const got = await obtainCertificate({
      addr: addr(),
      trustAnchorsPem: ca.anchor.certPem,
      token: mintLocalToken(SECRET, { sa, ns: 'emojivoto', ttl: 600 }),
      identity,
      dir: dir(),
    });
    return IdentityCerts.load(got.files);
  };
  const [web, voting] = await Promise.all([get('web', WEB), get('voting', VOTING)]);
  const seen: (string | undefined)[] = [];
  const srv = tls.createServer(serverTlsOptions(voting, ['weft.test']), (s) => {
    seen.push(verifiedPeerIdentity(s));
    s.end('ok');
  });
  srv.listen(0, '127.0.0.1');
  await once(srv, 'listening');
  try {
    const sock = await connectMtls({ host: '127.0.0.1', port: (srv.address() as AddressInfo).port, expectedIdentity: VOTING, alpn: ['weft.test'], certs: web });
    const [data] = (await once(sock, 'data')) as [Buffer];
    assert.equal(data.toString(), 'ok');
    sock.destroy();
    assert.deepEqual(seen, [WEB]);
  } finally {
    web.close();
    voting.close();
    await new Promise((r) => srv.close(r));
  }
});
