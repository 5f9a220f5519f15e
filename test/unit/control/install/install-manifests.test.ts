import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate, createPrivateKey as createKey } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';
import { Ajv } from 'ajv';
import { installManifests, manifestsYaml, type KubeObject } from '../../../../mesh/control/install/install-manifests';
import { policyCrdNames } from '../../../../mesh/control/install/crds';
import { InstallError } from '../../../../mesh/control/install/identity-material';
import { parsePolicyResource } from '../../../../mesh/control/policy/resources';
import { INSTALL_PERMISSIONS } from '../../../../mesh/control/check/checks';
import { createDevCa, createIssuer } from '../../../../mesh/control/identity/ca';
import { parseInstallArgs } from '../../../../mesh/cli/install.command';
import { parseIdentityArgs } from '../../../../mesh/cli/identity.command';
import { parseDestinationArgs } from '../../../../mesh/cli/destination.command';
import { CONFIG_MAP_KEYS, CONTROL_PLANE_COMPONENTS, CONTROL_PLANE_COMPONENT_LABEL, CONTROL_PLANE_OBJECTS } from '../../../../mesh/config/control-plane';
import { CONTROL_PLANE_NAMESPACE, POLICY_API_GROUP } from '../../../../mesh/config/names';
import { CONTROL_PLANE_PORTS } from '../../../../mesh/config/ports';
import { DEFAULT_MESH_IMAGE, INJECTOR_WEBHOOK } from '../../../../mesh/config/injector';
import { ANNOTATIONS } from '../../../../mesh/config/annotations';

type Obj = Record<string, unknown>;
const RFC1123 = /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/;
const CLUSTER_SCOPED = new Set(['Namespace', 'CustomResourceDefinition', 'ClusterRole', 'ClusterRoleBinding', 'MutatingWebhookConfiguration']);

const ajv = new Ajv({ allErrors: true, strict: false });
ajv.addFormat('int32', { type: 'number', validate: (n: number) => Number.isInteger(n) && n >= -(2 ** 31) && n < 2 ** 31 });
ajv.addFormat('int64', { type: 'number', validate: (n: number) => Number.isInteger(n) });
const podSchemaPath = fileURLToPath(new URL('../../../fixtures/k8s-schema/pod.schema.json', import.meta.url));
const validatePod = ajv.compile(JSON.parse(readFileSync(podSchemaPath, 'utf8')) as Obj);

const byKind = (objs: KubeObject[], kind: string) => objs.filter((o) => o.kind === kind);
const one = (objs: KubeObject[], kind: string, name: string): KubeObject => {
  const o = objs.find((x) => x.kind === kind && x.metadata.name === name);
  assert.ok(o, `${kind} ${name} missing`);
  return o;
};
const at = (o: unknown, ...path: (string | number)[]): unknown => path.reduce<unknown>((v, k) => (v as Record<string | number, unknown> | undefined)?.[k], o);
const secretText = (s: KubeObject, key: string) => Buffer.from(String(at(s, 'data', key)), 'base64').toString('utf8');

describe('installManifests', () => {
  let objs: KubeObject[];
  before(async () => {
    objs = await installManifests();
  });

  it('every object is named, scoped and unique; namespaced ones live in the control-plane namespace', () => {
    const seen = new Set<string>();
    for (const o of objs) {
      assert.match(o.apiVersion, /^([a-z0-9.]+\/)?v1(beta1)?$/, `${o.kind} apiVersion`);
      assert.match(o.metadata.name, RFC1123, `${o.kind} name`);
      if (CLUSTER_SCOPED.has(o.kind)) assert.equal(o.metadata.namespace, undefined, `${o.kind} ${o.metadata.name} is cluster-scoped`);
      else assert.equal(o.metadata.namespace, CONTROL_PLANE_NAMESPACE, `${o.kind} ${o.metadata.name}`);
      const key = `${o.kind}/${o.metadata.name}`;
      assert.ok(!seen.has(key), `duplicate ${key}`);
      seen.add(key);
    }
    assert.equal(objs[0]!.kind, 'Namespace', 'the namespace is applied first');
    assert.equal(objs.at(-1)!.kind, 'MutatingWebhookConfiguration', 'the webhook is registered last');
    assert.ok(objs.findIndex((o) => o.kind === 'CustomResourceDefinition') < objs.findIndex((o) => o.kind === 'Deployment'));
  });

  it('the control-plane namespace is never injected', () => {
    const ns = one(objs, 'Namespace', CONTROL_PLANE_NAMESPACE);
    assert.equal(ns.metadata.annotations?.[ANNOTATIONS.inject], 'disabled');
  });

  it('Deployments and Services use the names and ports of mesh/config, the default image, and pod templates that are valid Pods', () => {
    const ports: Record<string, number> = {
      identity: CONTROL_PLANE_PORTS.identity,
      destination: CONTROL_PLANE_PORTS.destination,
      policy: CONTROL_PLANE_PORTS.policy,
      'proxy-injector': CONTROL_PLANE_PORTS.webhook,
      'metrics-api': CONTROL_PLANE_PORTS.metricsApi,
    };
    const commands: Record<string, string> = { identity: 'identity', destination: 'destination', policy: 'policy', 'proxy-injector': 'injector', 'metrics-api': 'metrics-api' };
    assert.deepEqual(Object.keys(CONTROL_PLANE_COMPONENTS).sort(), Object.keys(ports).sort());
    for (const [component, { name }] of Object.entries(CONTROL_PLANE_COMPONENTS)) {
      const dep = one(objs, 'Deployment', name);
      const svc = one(objs, 'Service', name);
      const template = at(dep, 'spec', 'template') as Obj;
      const labels = at(template, 'metadata', 'labels') as Record<string, string>;
      assert.equal(labels[CONTROL_PLANE_COMPONENT_LABEL], component);
      assert.deepEqual(at(dep, 'spec', 'selector', 'matchLabels'), { [CONTROL_PLANE_COMPONENT_LABEL]: component });
      for (const [k, v] of Object.entries(at(svc, 'spec', 'selector') as Record<string, string>)) assert.equal(labels[k], v, `Service ${name} selects its pods`);
      assert.equal(at(svc, 'spec', 'ports', 0, 'port'), ports[component]);
      assert.equal(at(template, 'spec', 'serviceAccountName'), name);
      const c = at(template, 'spec', 'containers', 0) as Obj;
      assert.equal(c.image, DEFAULT_MESH_IMAGE);
      assert.deepEqual(c.command, ['weft']);
      assert.equal((c.args as string[])[0], commands[component]);
      assert.ok((c.args as string[]).some((a) => a.endsWith(`:${ports[component]}`)), `${component} listens on its port`);
      assert.equal(at(c, 'ports', 0, 'containerPort'), ports[component]);
      const pod = { apiVersion: 'v1', kind: 'Pod', metadata: { name: `${name}-x`, namespace: CONTROL_PLANE_NAMESPACE, ...(template.metadata as Obj) }, spec: template.spec };
      assert.ok(validatePod(pod), `${name}: ${ajv.errorsText(validatePod.errors)}`);
      assert.equal(at(dep, 'spec', 'replicas'), 1);
    }
    assert.equal(one(objs, 'Service', INJECTOR_WEBHOOK.service).metadata.name, CONTROL_PLANE_COMPONENTS['proxy-injector'].name);
  });

  it('the identity and destination commands accept the arguments their Deployments give them', () => {
    const argsOf = (name: string) => at(one(objs, 'Deployment', name), 'spec', 'template', 'spec', 'containers', 0, 'args') as string[];
    const identity = argsOf(CONTROL_PLANE_COMPONENTS.identity.name);
    assert.equal(identity[0], 'identity');
    const id = parseIdentityArgs(identity.slice(1), {});
    assert.ok(id.ok, id.ok ? '' : id.errors.join('; '));
    assert.equal(id.config.addr.port, CONTROL_PLANE_PORTS.identity);
    assert.ok(id.config.kube, 'Kubernetes mode (TokenReview)');
    const destination = argsOf(CONTROL_PLANE_COMPONENTS.destination.name);
    const d = parseDestinationArgs(destination.slice(1));
    assert.ok(typeof d !== 'string', String(d));
    assert.equal(d.listen.port, CONTROL_PLANE_PORTS.destination);
    assert.ok(d.kube);
  });

  it('RBAC is least privilege: exactly the rules each component needs, no wildcards, no Secrets', () => {
    const expected: Record<string, string[]> = {
      identity: ['authentication.k8s.io/tokenreviews:create', '/events:create,patch'],
      destination: ['/services:list,watch', '/pods:list,watch', '/namespaces:list,watch', 'discovery.k8s.io/endpointslices:list,watch', 'gateway.networking.k8s.io/httproutes:list,watch'],
      policy: [
        `${POLICY_API_GROUP}/servers:get,list,watch`,
        `${POLICY_API_GROUP}/authorizationpolicies:get,list,watch`,
        `${POLICY_API_GROUP}/meshtlsauthentications:get,list,watch`,
        `${POLICY_API_GROUP}/networkauthentications:get,list,watch`,
        'gateway.networking.k8s.io/httproutes:list,watch',
        '/pods:list,watch',
        '/namespaces:list,watch',
      ],
      'proxy-injector': ['/namespaces:get', '/events:create,patch'],
      'metrics-api': ['/pods:list,watch'],
    };
    for (const [component, { name }] of Object.entries(CONTROL_PLANE_COMPONENTS)) {
      const role = one(objs, 'ClusterRole', name);
      const rules = at(role, 'rules') as { apiGroups: string[]; resources: string[]; verbs: string[] }[];
      const flat = rules.flatMap((r) => r.apiGroups.flatMap((g) => r.resources.map((res) => `${g}/${res}:${r.verbs.join(',')}`)));
      assert.deepEqual(flat.sort(), [...expected[component]!].sort(), component);
      for (const r of rules) {
        assert.ok(![...r.apiGroups, ...r.resources, ...r.verbs].includes('*'), `${component}: no wildcard`);
        assert.ok(!r.resources.includes('secrets'), `${component}: Secrets are mounted, never read through the API`);
      }
      const binding = one(objs, 'ClusterRoleBinding', name);
      assert.deepEqual(at(binding, 'roleRef'), { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name });
      assert.deepEqual(at(binding, 'subjects'), [{ kind: 'ServiceAccount', name, namespace: CONTROL_PLANE_NAMESPACE }]);
      one(objs, 'ServiceAccount', name);
    }
  });

  it('certificates: the issuer chains to the anchors in the ConfigMap; the webhook leaf is signed by the caBundle and names the Service', () => {
    const cm = one(objs, 'ConfigMap', CONTROL_PLANE_OBJECTS.configMap);
    const anchor = new X509Certificate(String(at(cm, 'data', CONFIG_MAP_KEYS.trustAnchors)));
    const issuerSecret = one(objs, 'Secret', CONTROL_PLANE_OBJECTS.issuerSecret);
    const issuer = new X509Certificate(secretText(issuerSecret, 'tls.crt'));
    assert.ok(issuer.ca && issuer.verify(anchor.publicKey));
    assert.equal(secretText(issuerSecret, 'ca.crt'), String(at(cm, 'data', CONFIG_MAP_KEYS.trustAnchors)));
    assert.ok(issuer.checkPrivateKey(createKey(secretText(issuerSecret, 'tls.key'))));
    const webhookSecret = one(objs, 'Secret', CONTROL_PLANE_OBJECTS.webhookSecret);
    const mwc = one(objs, 'MutatingWebhookConfiguration', INJECTOR_WEBHOOK.configurationName);
    const caBundle = new X509Certificate(Buffer.from(String(at(mwc, 'webhooks', 0, 'clientConfig', 'caBundle')), 'base64'));
    const leaf = new X509Certificate(secretText(webhookSecret, 'tls.crt'));
    assert.ok(leaf.verify(caBundle.publicKey));
    assert.equal(leaf.checkHost(`${INJECTOR_WEBHOOK.service}.${CONTROL_PLANE_NAMESPACE}.svc`), `${INJECTOR_WEBHOOK.service}.${CONTROL_PLANE_NAMESPACE}.svc`);
    assert.equal(at(mwc, 'webhooks', 0, 'failurePolicy'), 'Ignore');
    const cfg = JSON.parse(String(at(cm, 'data', CONFIG_MAP_KEYS.meshConfig))) as Obj;
    assert.equal(cfg.defaultInboundPolicy, 'all-unauthenticated');
    assert.equal(at(cfg, 'addresses', 'identity'), `weft-identity.weft.svc.cluster.local:${CONTROL_PLANE_PORTS.identity}`);
  });

  it('CRDs: one per policy kind, structural schemas that accept what the policy parser accepts and refuse bad enums', () => {
    const crds = byKind(objs, 'CustomResourceDefinition');
    assert.deepEqual(crds.map((c) => c.metadata.name).sort(), [...policyCrdNames()].sort());
    const structural = (s: Obj, path: string): void => {
      assert.ok(typeof s.type === 'string' || s['x-kubernetes-int-or-string'] === true, `${path} has a type`);
      for (const [k, v] of Object.entries((s.properties as Record<string, Obj>) ?? {})) structural(v, `${path}.${k}`);
      if (s.items) structural(s.items as Obj, `${path}[]`);
      if (typeof s.additionalProperties === 'object') structural(s.additionalProperties as Obj, `${path}{}`);
    };
    const validators = new Map<string, ReturnType<typeof ajv.compile>>();
    for (const crd of crds) {
      const v = at(crd, 'spec', 'versions', 0) as Obj;
      assert.equal(v.name, 'v1beta1');
      const schema = at(v, 'schema', 'openAPIV3Schema') as Obj;
      structural(schema, crd.metadata.name);
      validators.set(String(at(crd, 'spec', 'names', 'kind')), ajv.compile(schema));
    }
    const api = `${POLICY_API_GROUP}/v1beta1`;
    const samples: Obj[] = [
      { apiVersion: api, kind: 'Server', metadata: { name: 's', namespace: 'shop' }, spec: { podSelector: { matchLabels: { app: 'web' } }, port: 'http', proxyProtocol: 'HTTP/1', accessPolicy: 'deny' } },
      { apiVersion: api, kind: 'Server', metadata: { name: 's2', namespace: 'shop' }, spec: { podSelector: { matchExpressions: [{ key: 'app', operator: 'In', values: ['db'] }] }, port: 5432 } },
      { apiVersion: api, kind: 'AuthorizationPolicy', metadata: { name: 'a', namespace: 'shop' }, spec: { targetRef: { group: POLICY_API_GROUP, kind: 'Server', name: 's' }, requiredAuthenticationRefs: [{ group: POLICY_API_GROUP, kind: 'MeshTLSAuthentication', name: 'm' }] } },
      { apiVersion: api, kind: 'MeshTLSAuthentication', metadata: { name: 'm', namespace: 'shop' }, spec: { identities: ['*.shop.serviceaccount.identity.weft.cluster.local'] } },
      { apiVersion: api, kind: 'MeshTLSAuthentication', metadata: { name: 'm2', namespace: 'shop' }, spec: { identityRefs: [{ kind: 'ServiceAccount', name: 'web' }] } },
      { apiVersion: api, kind: 'NetworkAuthentication', metadata: { name: 'n', namespace: 'shop' }, spec: { networks: [{ cidr: '10.0.0.0/8', except: ['10.1.0.0/16'] }] } },
    ];
    for (const s of samples) {
      assert.ok(parsePolicyResource(s).ok, `parser accepts ${String(s.kind)}`);
      const validate = validators.get(String(s.kind))!;
      assert.ok(validate(s), `${String(s.kind)}: ${ajv.errorsText(validate.errors)}`);
    }
    const bad = structuredClone(samples[0]!);
    (bad.spec as Obj).proxyProtocol = 'HTTP/3';
    assert.equal(parsePolicyResource(bad).ok, false);
    assert.equal(validators.get('Server')!(bad), false, 'the CRD refuses what the parser refuses');
    assert.equal(validators.get('NetworkAuthentication')!({ apiVersion: api, kind: 'NetworkAuthentication', metadata: {}, spec: {} }), false, 'networks is required');
  });

  it('YAML output: one document per object, parsing back to the same objects', () => {
    const docs = parseAllDocuments(manifestsYaml(objs));
    assert.equal(docs.length, objs.length);
    assert.deepEqual(docs.map((d) => d.toJS() as unknown), JSON.parse(JSON.stringify(objs)));
  });

  it('`weft check --pre` asks for exactly the kinds install creates', () => {
    assert.deepEqual([...new Set(objs.map((o) => o.kind))].sort(), INSTALL_PERMISSIONS.map((p) => p.kind).sort());
  });
});

describe('installManifests options', () => {
  it('--image, --ha, --webhook-failure-policy Fail and --default-inbound-policy reach the objects', async () => {
    const objs = await installManifests({ image: 'registry.local/weft:dev', ha: true, webhookFailurePolicy: 'Fail', defaultInboundPolicy: 'deny' });
    for (const dep of byKind(objs, 'Deployment')) {
      assert.equal(at(dep, 'spec', 'template', 'spec', 'containers', 0, 'image'), 'registry.local/weft:dev');
      assert.equal(at(dep, 'spec', 'replicas'), 3);
      assert.ok(at(dep, 'spec', 'template', 'spec', 'affinity', 'podAntiAffinity'));
    }
    assert.equal(at(one(objs, 'MutatingWebhookConfiguration', INJECTOR_WEBHOOK.configurationName), 'webhooks', 0, 'failurePolicy'), 'Fail');
    const policy = one(objs, 'Deployment', CONTROL_PLANE_COMPONENTS.policy.name);
    const args = at(policy, 'spec', 'template', 'spec', 'containers', 0, 'args') as string[];
    assert.equal(args[args.indexOf('--default-inbound-policy') + 1], 'deny');
    assert.equal(one(objs, 'Namespace', CONTROL_PLANE_NAMESPACE).metadata.annotations?.[ANNOTATIONS.defaultInboundPolicy], 'deny');
  });

  it('bad options are refused with a hint', async () => {
    await assert.rejects(installManifests({ image: 'Not An Image' }), (e: unknown) => e instanceof InstallError && /not an image reference/.test(e.message) && /REGISTRY\/NAME:TAG/.test(e.hint));
    assert.throws(() => parseInstallArgs(['--default-inbound-policy', 'open']), /is not a policy/);
    assert.throws(() => parseInstallArgs(['--webhook-failure-policy', 'Maybe']), /neither Ignore nor Fail/);
    assert.throws(() => parseInstallArgs(['--identity-trust-anchors-file', 'a.crt']), /go together/);
    assert.throws(() => parseInstallArgs(['--bogus']), /unknown option --bogus/);
    assert.throws(() => parseInstallArgs(['--image']), /--image needs a value/);
    const ok = parseInstallArgs(['--ha', '--image=r/w:1', '--webhook-failure-policy', 'Fail']);
    assert.deepEqual(ok, { help: false, files: { trustAnchors: undefined, issuerCert: undefined, issuerKey: undefined }, options: { image: 'r/w:1', webhookFailurePolicy: 'Fail', ha: true } });
  });
});

describe('user-supplied trust anchors and issuer', () => {
  const sources = { trustAnchors: 'ca.crt', issuerCert: 'issuer.crt', issuerKey: 'issuer.key' };

  it('are accepted and used as given', async () => {
    const ca = await createDevCa();
    const objs = await installManifests({ identity: { trustAnchorsPem: ca.anchor.certPem, issuerCertPem: ca.issuer.certPem, issuerKeyPem: ca.issuer.keyPem, sources } });
    const cm = one(objs, 'ConfigMap', CONTROL_PLANE_OBJECTS.configMap);
    assert.equal(new X509Certificate(String(at(cm, 'data', CONFIG_MAP_KEYS.trustAnchors))).fingerprint256, new X509Certificate(ca.anchor.certPem).fingerprint256);
    const secret = one(objs, 'Secret', CONTROL_PLANE_OBJECTS.issuerSecret);
    assert.equal(new X509Certificate(secretText(secret, 'tls.crt')).fingerprint256, new X509Certificate(ca.issuer.certPem).fingerprint256);
    assert.ok(new X509Certificate(ca.issuer.certPem).checkPrivateKey(createKey(secretText(secret, 'tls.key'))));
    assert.equal(secretText(secret, 'tls.crt'), ca.issuer.certPem, 'kept byte for byte');
    // A SEC1 ("EC PRIVATE KEY") issuer key is accepted and stored as PKCS#8, which the identity service imports.
    const sec1 = createKey(ca.issuer.keyPem).export({ type: 'sec1', format: 'pem' }).toString();
    const again = await installManifests({ identity: { trustAnchorsPem: ca.anchor.certPem, issuerCertPem: ca.issuer.certPem, issuerKeyPem: sec1, sources } });
    const stored = secretText(one(again, 'Secret', CONTROL_PLANE_OBJECTS.issuerSecret), 'tls.key');
    assert.match(stored, /^-----BEGIN PRIVATE KEY-----/);
    assert.ok(new X509Certificate(ca.issuer.certPem).checkPrivateKey(createKey(stored)));
  });

  const refuse = async (identity: Parameters<typeof installManifests>[0], message: RegExp, hint: RegExp) =>
    assert.rejects(installManifests(identity), (e: unknown) => {
      assert.ok(e instanceof InstallError, String(e));
      assert.match(e.message, message);
      assert.match(e.hint, hint);
      return true;
    });

  it('are refused when the issuer was signed by another anchor', async () => {
    const [a, b] = await Promise.all([createDevCa(), createDevCa()]);
    await refuse({ identity: { trustAnchorsPem: a.anchor.certPem, issuerCertPem: b.issuer.certPem, issuerKeyPem: b.issuer.keyPem, sources } }, /issuer\.crt .* is not signed by any certificate in ca\.crt/, /pass the trust anchor that signed the issuer/);
  });

  it('are refused when the key does not match the issuer', async () => {
    const ca = await createDevCa();
    const other = await createIssuer(ca.anchor);
    await refuse({ identity: { trustAnchorsPem: ca.anchor.certPem, issuerCertPem: ca.issuer.certPem, issuerKeyPem: other.keyPem, sources } }, /issuer\.key does not match issuer\.crt/, /generated together with the issuer certificate/);
  });

  it('are refused when the issuer has expired', async () => {
    const twoDaysAgo = new Date(Date.now() - 2 * 86_400_000);
    const ca = await createDevCa({ now: () => twoDaysAgo, issuerLifetimeMs: 86_400_000 });
    await refuse({ identity: { trustAnchorsPem: ca.anchor.certPem, issuerCertPem: ca.issuer.certPem, issuerKeyPem: ca.issuer.keyPem, sources } }, /issuer\.crt expired on /, /issue a new one/);
  });

  it('are refused when the issuer is not a CA, or the files hold no certificate or key', async () => {
    const ca = await createDevCa();
    const leaf = await ca.issue('web.shop.serviceaccount.identity.weft.cluster.local');
    await refuse({ identity: { trustAnchorsPem: ca.anchor.certPem, issuerCertPem: leaf.certPem, issuerKeyPem: leaf.keyPem, sources } }, /issuer\.crt is not a CA certificate/, /intermediate CA/);
    await refuse({ identity: { trustAnchorsPem: ca.anchor.keyPem, issuerCertPem: ca.issuer.certPem, issuerKeyPem: ca.issuer.keyPem, sources } }, /ca\.crt holds no PEM certificate/, /not the key/);
    await refuse({ identity: { trustAnchorsPem: ca.anchor.certPem, issuerCertPem: ca.issuer.certPem, issuerKeyPem: 'not a key', sources } }, /issuer\.key is not a readable private key/, /unencrypted PEM key/);
  });
});
