import { test } from 'node:test';
import assert from 'node:assert/strict';
import { identityName, parseIdentityName } from '../../../mesh/config/identity';

test('identity names round-trip', () => {
  const name = identityName({ serviceAccount: 'web', namespace: 'emojivoto' });
  assert.equal(name, 'web.emojivoto.serviceaccount.identity.weft.cluster.local');
  assert.deepEqual(parseIdentityName(name), { serviceAccount: 'web', namespace: 'emojivoto', trustDomain: 'cluster.local' });
});

test('names of another form are rejected', () => {
  assert.equal(parseIdentityName('web.emojivoto.svc.cluster.local'), undefined);
  assert.equal(parseIdentityName('a.b.c.serviceaccount.identity.weft.cluster.local'), undefined);
  assert.equal(parseIdentityName('.x.serviceaccount.identity.weft.cluster.local'), undefined);
});
