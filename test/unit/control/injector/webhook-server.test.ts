import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:https';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import jsonpatch, { type Operation } from 'fast-json-patch';
import { Ajv } from 'ajv';
import { createDevCa, type DevCa } from '../../../../mesh/control/identity/ca';
import { startInjectorWebhook, type InjectorWebhook } from '../../../../mesh/control/injector/webhook-server';
import type { AdmissionRequest, ReviewOutcome } from '../../../../mesh/control/injector/admission-review';
import type { NamespaceLike, PodLike } from '../../../../mesh/control/injector/kube-types';
import { ANNOTATIONS } from '../../../../mesh/config/annotations';
import { INIT_CONTAINER, PROXY_CONTAINER } from '../../../../mesh/config/names';
import { identityName } from '../../../../mesh/config/identity';

const SERVER_NAME = identityName({ serviceAccount: 'weft-proxy-injector', namespace: 'weft' });
const NAMESPACES: Record<string, NamespaceLike> = {
  shop: { metadata: { name: 'shop', annotations: { [ANNOTATIONS.inject]: 'enabled', [ANNOTATIONS.skipOutboundPorts]: '3306' } } },
  plain: { metadata: { name: 'plain' } },
};

let ca: DevCa;
let webhook: InjectorWebhook;
const reviews: { request: AdmissionRequest; outcome: ReviewOutcome }[] = [];

const schemaPath = fileURLToPath(new URL('../../../fixtures/k8s-schema/pod.schema.json', import.meta.url));
const ajv = new Ajv({ allErrors: true, strict: false });
ajv.addFormat('int32', { type: 'number', validate: (n: number) => Number.isInteger(n) && n >= -(2 ** 31) && n < 2 ** 31 });
ajv.addFormat('int64', { type: 'number', validate: (n: number) => Number.isInteger(n) });
const validatePod = ajv.compile(JSON.parse(readFileSync(schemaPath, 'utf8')) as Record<string, unknown>);

before(async () => {
  ca = await createDevCa();
  const leaf = await ca.issue(SERVER_NAME);
  webhook = await startInjectorWebhook({
    host: '127.0.0.1',
    port: 0,
    certPem: leaf.certPem,
    keyPem: leaf.keyPem,
    meshConfig: { proxyImage: 'ghcr.io/weft/mesh:0.1.0', proxyVersion: '0.1.0', trustAnchorsPem: ca.anchor.certPem },
    namespaceLookup: (ns) => {
      if (ns === 'broken') throw new Error('informer not synced');
      if (ns === 'slow') return new Promise(() => {}); // never answers
      return NAMESPACES[ns];
    },
    lookupTimeoutMs: 200,
    onReview: (request, outcome) => reviews.push({ request, outcome }),
  });
});
after(async () => {
  await webhook?.close();
});

interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  json: unknown;
}

/** One request over real TLS, verifying the server against the dev CA's anchor (no rejectUnauthorized: false). */
function call(body: string | Buffer, opts: { method?: string; path?: string } = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: webhook.host,
        port: webhook.port,
        method: opts.method ?? 'POST',
        path: opts.path ?? '/inject',
        ca: ca.anchor.certPem,
        servername: SERVER_NAME,
        headers: { 'content-type': 'application/json' },
        agent: false,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let json: unknown = text;
          try {
            json = JSON.parse(text);
          } catch {
            // plain text answers (/ready) stay text
          }
          resolve({ status: res.statusCode ?? 0, headers: res.headers, json });
        });
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

function pod(annotations?: Record<string, string>): PodLike {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { generateName: 'web-7d9f-', labels: { app: 'web' }, ...(annotations ? { annotations } : {}) },
    spec: { serviceAccountName: 'web', containers: [{ name: 'web', image: 'web:1', ports: [{ containerPort: 8080 }] }] },
  };
}

function review(uid: string, namespace: string, object: unknown, kind = { group: '', version: 'v1', kind: 'Pod' }, operation = 'CREATE'): string {
  return JSON.stringify({
    apiVersion: 'admission.k8s.io/v1',
    kind: 'AdmissionReview',
    request: {
      uid,
      kind,
      resource: { group: '', version: 'v1', resource: 'pods' },
      requestKind: kind,
      namespace,
      operation,
      userInfo: { username: 'system:serviceaccount:kube-system:replicaset-controller' },
      object,
      oldObject: null,
      dryRun: false,
      options: { apiVersion: 'meta.k8s.io/v1', kind: 'CreateOptions' },
    },
  });
}

interface ResponseBody {
  apiVersion: string;
  kind: string;
  response: { uid: string; allowed: boolean; patchType?: string; patch?: string; warnings?: string[] };
}

test('inject: uid echoed, allowed, base64 JSONPatch that yields a schema-valid Pod with weft-init and weft-proxy', async () => {
  const input = pod();
  const r = await call(review('705ab4f5-6393-11e8-b7cc-42010a800002', 'shop', input));
  assert.equal(r.status, 200);
  assert.match(String(r.headers['content-type']), /application\/json/);
  const body = r.json as ResponseBody;
  assert.equal(body.apiVersion, 'admission.k8s.io/v1');
  assert.equal(body.kind, 'AdmissionReview');
  assert.equal(body.response.uid, '705ab4f5-6393-11e8-b7cc-42010a800002');
  assert.equal(body.response.allowed, true);
  assert.equal(body.response.patchType, 'JSONPatch');
  assert.equal(body.response.warnings, undefined);
  const patch = JSON.parse(Buffer.from(body.response.patch!, 'base64').toString('utf8')) as Operation[];
  const out = jsonpatch.applyPatch(structuredClone(input), patch, true, false).newDocument as PodLike;
  assert.deepEqual(out.spec!.initContainers!.map((c) => c.name), [INIT_CONTAINER, PROXY_CONTAINER]);
  // The namespace came from the lookup: its config annotation was inherited, its name is in the labels.
  assert.equal(out.metadata!.annotations![ANNOTATIONS.skipOutboundPorts], '3306');
  const env = Object.fromEntries(out.spec!.initContainers![1]!.env!.map((e) => [e.name, e.value]));
  assert.equal(env.WEFT_PROXY_WORKLOAD_LABELS, 'namespace=shop,serviceaccount=web');
  assert.ok(validatePod(out), ajv.errorsText(validatePod.errors, { separator: '\n' }));
  const seen = reviews.find((x) => x.request.uid === '705ab4f5-6393-11e8-b7cc-42010a800002');
  assert.equal(seen?.outcome.injected, true);
});

test('skip: allowed without a patch, the reason as a warning', async () => {
  const r = await call(review('uid-skip', 'plain', pod()));
  assert.equal(r.status, 200);
  const body = r.json as ResponseBody;
  assert.equal(body.response.uid, 'uid-skip');
  assert.equal(body.response.allowed, true);
  assert.equal(body.response.patch, undefined);
  assert.equal(body.response.patchType, undefined);
  assert.deepEqual(body.response.warnings, ['Not injected: neither the pod nor its namespace has weft.dev/inject: enabled.']);
});

test('skip: the pod\'s disabled annotation wins over an enabled namespace', async () => {
  const body = (await call(review('uid-disabled', 'shop', pod({ [ANNOTATIONS.inject]: 'disabled' })))).json as ResponseBody;
  assert.equal(body.response.patch, undefined);
  assert.match(body.response.warnings![0]!, /disabled/);
});

test('an unknown namespace still counts by name: kube-system is never injected, even when the pod asks', async () => {
  const body = (await call(review('uid-ks', 'kube-system', pod({ [ANNOTATIONS.inject]: 'enabled' })))).json as ResponseBody;
  assert.equal(body.response.patch, undefined);
  assert.match(body.response.warnings![0]!, /kube-system/);
  const other = (await call(review('uid-unknown', 'nowhere', pod({ [ANNOTATIONS.inject]: 'enabled' })))).json as ResponseBody;
  assert.equal(other.response.patchType, 'JSONPatch', 'a pod annotation alone suffices when the namespace is unknown');
});

test('wrong kind: a Deployment review is allowed untouched with a warning; a non-AdmissionReview body is a 400', async () => {
  const dep = { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'web' }, spec: { template: pod() } };
  const body = (await call(review('uid-dep', 'shop', dep, { group: 'apps', version: 'v1', kind: 'Deployment' }))).json as ResponseBody;
  assert.equal(body.response.uid, 'uid-dep');
  assert.equal(body.response.allowed, true);
  assert.equal(body.response.patch, undefined);
  assert.match(body.response.warnings![0]!, /only mutates v1 Pods, not apps\/v1 Deployment/);

  const notReview = await call(JSON.stringify({ apiVersion: 'admission.k8s.io/v1', kind: 'ConversionReview', request: { uid: 'x' } }));
  assert.equal(notReview.status, 400);
  assert.match((notReview.json as { message: string }).message, /expected kind AdmissionReview, got "ConversionReview"/);
  const v1beta1 = await call(JSON.stringify({ apiVersion: 'admission.k8s.io/v1beta1', kind: 'AdmissionReview', request: { uid: 'x' } }));
  assert.equal(v1beta1.status, 400);
  assert.match((v1beta1.json as { message: string }).message, /admission\.k8s\.io\/v1/);
});

test('UPDATE is not injected (CREATE only)', async () => {
  const body = (await call(review('uid-upd', 'shop', pod(), undefined, 'UPDATE'))).json as ResponseBody;
  assert.equal(body.response.patch, undefined);
  assert.match(body.response.warnings![0]!, /CREATE only/);
});

test('malformed bodies are 400 with a JSON message, and the server keeps serving', async () => {
  const cases: [string, RegExp][] = [
    ['{"apiVersion": "admission.k8s.io/v1", "kind": ', /not JSON/],
    ['', /not JSON/],
    ['[1,2,3]', /not a JSON object/],
    ['null', /not a JSON object/],
    [JSON.stringify({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview' }), /no request object/],
    [JSON.stringify({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', request: { kind: { kind: 'Pod' } } }), /request\.uid/],
    [JSON.stringify({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', request: { uid: 7 } }), /request\.uid/],
  ];
  for (const [body, message] of cases) {
    const r = await call(body);
    assert.equal(r.status, 400, body);
    assert.match(String(r.headers['content-type']), /application\/json/);
    assert.match((r.json as { message: string }).message, message, body);
  }
  const ok = await call(review('uid-after', 'shop', pod()));
  assert.equal((ok.json as ResponseBody).response.patchType, 'JSONPatch');
});

test('a review without a pod object, an oversized body and a failing namespace lookup', async () => {
  const noObject = (await call(review('uid-noobj', 'shop', null))).json as ResponseBody;
  assert.equal(noObject.response.allowed, true);
  assert.match(noObject.response.warnings![0]!, /no pod object/);

  const big = await call(Buffer.alloc(5 * 1024 * 1024, 0x20));
  assert.equal(big.status, 413);

  const failed = await call(review('uid-broken', 'broken', pod()));
  assert.equal(failed.status, 500, 'the API server then applies the failurePolicy');
  assert.match((failed.json as { message: string }).message, /could not look up namespace broken: informer not synced/);

  const slow = await call(review('uid-slow', 'slow', pod()));
  assert.equal(slow.status, 500);
  assert.match((slow.json as { message: string }).message, /could not look up namespace slow: no answer within 200 ms/);
});

test('other paths and methods; /ready answers', async () => {
  assert.equal((await call('', { method: 'GET' })).status, 405);
  assert.equal((await call('{}', { path: '/mutate' })).status, 404);
  const ready = await call('', { method: 'GET', path: '/ready' });
  assert.equal(ready.status, 200);
});

test('setCertificate: new connections see the new certificate', async () => {
  const other = await createDevCa();
  const leaf = await other.issue(SERVER_NAME);
  const oldCa = ca;
  webhook.setCertificate(leaf.certPem, leaf.keyPem);
  try {
    await assert.rejects(call(review('uid-old', 'shop', pod())), /certificate|self.signed|unable/i);
    ca = other;
    assert.equal((await call(review('uid-new', 'shop', pod()))).status, 200);
  } finally {
    ca = oldCa;
    const back = await oldCa.issue(SERVER_NAME);
    webhook.setCertificate(back.certPem, back.keyPem);
  }
});
