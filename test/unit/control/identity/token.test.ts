import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LocalTokenVerifier, mintLocalToken } from '../../../../mesh/control/identity/token';

const SECRET = 'a-local-signing-secret-of-32-bytes!!';
const NOW = new Date('2026-01-01T00:00:00Z');
const later = (s: number): Date => new Date(NOW.getTime() + s * 1000);

test('a minted token verifies to its ServiceAccount and namespace until it expires', async () => {
  const token = mintLocalToken(SECRET, { sa: 'web', ns: 'emojivoto', ttl: 60 }, NOW);
  const v = new LocalTokenVerifier(SECRET);
  assert.deepEqual(await v.verify(token, later(59)), { ok: true, serviceAccount: 'web', namespace: 'emojivoto' });
  const expired = await v.verify(token, later(60));
  assert.equal(expired.ok, false);
  assert.match(!expired.ok ? expired.reason : '', /token expired at 2026-01-01T00:01:00/);
});

test('a token signed with another secret is refused as forged', async () => {
  const token = mintLocalToken('another-secret-that-is-32-bytes-long', { sa: 'web', ns: 'emojivoto', ttl: 60 }, NOW);
  const verdict = await new LocalTokenVerifier(SECRET).verify(token, NOW);
  assert.deepEqual(verdict, { ok: false, reason: 'token signature is invalid' });
});

test('changing the claims of a valid token breaks its signature', async () => {
  const token = mintLocalToken(SECRET, { sa: 'web', ns: 'emojivoto', ttl: 60 }, NOW);
  const [, sig] = token.split('.');
  const payload = Buffer.from(JSON.stringify({ sa: 'admin', ns: 'weft', exp: 9_999_999_999 })).toString('base64url');
  const verdict = await new LocalTokenVerifier(SECRET).verify(`${payload}.${sig}`, NOW);
  assert.deepEqual(verdict, { ok: false, reason: 'token signature is invalid' });
});

test('malformed tokens are refused with a reason, never thrown', async () => {
  const v = new LocalTokenVerifier(SECRET);
  for (const [token, reason] of [
    ['', /no token/],
    ['nodot', /malformed/],
    ['a.b.c', /malformed/],
    ['x'.repeat(5000), /too long/],
  ] as const) {
    const verdict = await v.verify(token, NOW);
    assert.equal(verdict.ok, false, token.slice(0, 20));
    assert.match(!verdict.ok ? verdict.reason : '', reason);
  }
  // Correctly signed, but not the claims we expect.
  const { createHmac } = await import('node:crypto');
  const payload = Buffer.from(JSON.stringify({ sa: 'web' })).toString('base64url');
  const sig = createHmac('sha256', SECRET).update(payload).digest('base64url');
  const verdict = await v.verify(`${payload}.${sig}`, NOW);
  assert.deepEqual(verdict, { ok: false, reason: 'token payload lacks sa, ns or exp' });
});

test('secrets shorter than 32 bytes and non-positive ttls are refused', () => {
  assert.throws(() => new LocalTokenVerifier('short'), /too short/);
  assert.throws(() => mintLocalToken('short', { sa: 'a', ns: 'b', ttl: 1 }), /too short/);
  assert.throws(() => mintLocalToken(SECRET, { sa: 'a', ns: 'b', ttl: 0 }), /ttl must be positive/);
});
