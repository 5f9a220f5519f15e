// The TokenReview verifier: the pure verdict on a review's status, and the verifier against the fake
// API server (valid, unknown, wrong-audience, non-ServiceAccount tokens, API unreachable).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { AuthenticationV1Api, KubeConfig } from '@kubernetes/client-node';
import { TokenReviewVerifier, verdictFromReview } from '../../../mesh/control/identity/token-review';
import { parseIdentityArgs } from '../../../mesh/cli/identity.command';
import { kubeconfigYaml, serviceAccountUser, startFakeKubeApi, type FakeKubeApi } from '../../fixtures/kube-api';

const AUD = 'identity.weft.dev';

describe('verdictFromReview', () => {
  it('an authenticated ServiceAccount token for our audience gives its namespace and name', () => {
    assert.deepEqual(verdictFromReview({ authenticated: true, audiences: [AUD], user: { username: 'system:serviceaccount:shop:web' } }, AUD), { ok: true, namespace: 'shop', serviceAccount: 'web' });
  });
  it('refusals name their cause', () => {
    const reason = (s: Parameters<typeof verdictFromReview>[0]) => {
      const v = verdictFromReview(s, AUD);
      assert.equal(v.ok, false);
      return v.ok ? '' : v.reason;
    };
    assert.match(reason({ authenticated: false, error: 'token has expired' }), /did not authenticate.*token has expired/);
    assert.match(reason(undefined), /did not authenticate/);
    assert.match(reason({ authenticated: true, audiences: ['https://kubernetes.default.svc'], user: { username: 'system:serviceaccount:shop:web' } }), /not for audience identity\.weft\.dev/);
    assert.match(reason({ authenticated: true, audiences: [AUD], user: { username: 'alice' } }), /"alice", not a ServiceAccount/);
    assert.match(reason({ authenticated: true, audiences: [AUD], user: { username: 'system:serviceaccount:shop:web:extra' } }), /not a valid ServiceAccount name/);
    assert.match(reason({ authenticated: true, audiences: [AUD], user: { username: 'system:serviceaccount:Shop:web' } }), /not a valid ServiceAccount name/);
  });
});

describe('TokenReviewVerifier against the fake API', () => {
  let api: FakeKubeApi;
  let verifier: TokenReviewVerifier;
  before(async () => {
    api = await startFakeKubeApi({
      tokens: {
        good: serviceAccountUser('shop', 'web', [AUD]),
        apiOnly: serviceAccountUser('shop', 'web', ['https://kubernetes.default.svc']),
        human: { username: 'alice', audiences: [AUD] },
      },
    });
    const kc = new KubeConfig();
    kc.loadFromString(kubeconfigYaml({ server: api.url }));
    verifier = new TokenReviewVerifier(kc.makeApiClient(AuthenticationV1Api));
  });
  after(() => api.close());

  it('accepts a projected token for identity.weft.dev and refuses the others', async () => {
    assert.deepEqual(await verifier.verify('good', new Date()), { ok: true, namespace: 'shop', serviceAccount: 'web' });
    const forged = await verifier.verify('forged', new Date());
    assert.ok(!forged.ok && /did not authenticate/.test(forged.reason));
    const aud = await verifier.verify('apiOnly', new Date());
    assert.ok(!aud.ok && /did not authenticate|audience/.test(aud.reason), JSON.stringify(aud));
    const human = await verifier.verify('human', new Date());
    assert.ok(!human.ok && /not a ServiceAccount/.test(human.reason));
    const none = await verifier.verify('', new Date());
    assert.ok(!none.ok && none.reason === 'no token');
  });

  it('a token revoked (or expired) since is refused on the next review', async () => {
    api.setToken('shortlived', serviceAccountUser('shop', 'web', [AUD]));
    assert.equal((await verifier.verify('shortlived', new Date())).ok, true);
    api.setToken('shortlived', undefined);
    assert.equal((await verifier.verify('shortlived', new Date())).ok, false);
  });

  it('an unreachable API is a refusal that says so, not a throw', async () => {
    const kc = new KubeConfig();
    kc.loadFromString(kubeconfigYaml({ server: 'http://127.0.0.1:1' }));
    const v = await new TokenReviewVerifier(kc.makeApiClient(AuthenticationV1Api), { timeoutMs: 3000 }).verify('good', new Date());
    assert.ok(!v.ok && /TokenReview failed \(ECONNREFUSED\); retry later/.test(v.reason), JSON.stringify(v));
    assert.equal(!v.ok && v.unavailable, true, 'no decision on the token, not a refusal of it');
  });
});

describe('weft identity --kube arguments', () => {
  it('needs no token secret; takes the issuer from a Secret or from files', () => {
    const r = parseIdentityArgs(['--kube', '--issuer-secret', 'weft/weft-identity-issuer', '--kubeconfig', 'k'], {});
    assert.ok(r.ok, JSON.stringify(r));
    assert.deepEqual(r.config.kube, { kubeconfig: 'k', issuerSecret: { namespace: 'weft', name: 'weft-identity-issuer' } });
    const files = parseIdentityArgs(['--issuer-cert', 'c', '--issuer-key', 'k', '--trust-anchors', 'a'], { WEFT_IDENTITY_KUBE: 'true' });
    assert.ok(files.ok);
    assert.deepEqual(files.config.kube, {});
  });
  it('mixing modes is refused with the reason', () => {
    const r = parseIdentityArgs(['--kube', '--issuer-secret', 'bad', '--issuer-cert', 'c', '--token-secret-file', 's', '--trust-anchors', 'a'], {});
    assert.ok(!r.ok);
    assert.deepEqual(r.errors, [
      '--issuer-secret "bad" is not NAMESPACE/NAME',
      '--issuer-secret and --issuer-cert/--issuer-key exclude each other',
      '--token-secret-file is for local mode; --kube checks tokens with TokenReview',
    ]);
    const local = parseIdentityArgs(['--issuer-secret', 'weft/x', '--kubeconfig', 'k'], {});
    assert.ok(!local.ok && local.errors.includes('--issuer-secret needs --kube') && local.errors.includes('--kubeconfig needs --kube'));
  });
});
