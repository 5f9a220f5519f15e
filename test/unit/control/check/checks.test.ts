import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import jsonpatch, { type Operation } from 'fast-json-patch';
import { collectChecks, podReady, type AccessAttributes, type CheckClient, type CheckResult, type Json } from '../../../../mesh/control/check/checks';
import { installManifests, type KubeObject } from '../../../../mesh/control/install/install-manifests';
import { createWebhookCertificates } from '../../../../mesh/control/injector/webhook-certificate';
import { inject } from '../../../../mesh/control/injector/injector';
import { createDevCa, createTrustAnchor, createIssuer } from '../../../../mesh/control/identity/ca';
import { CONFIG_MAP_KEYS, CONTROL_PLANE_COMPONENTS, CONTROL_PLANE_COMPONENT_LABEL, CONTROL_PLANE_OBJECTS } from '../../../../mesh/config/control-plane';
import { ANNOTATIONS } from '../../../../mesh/config/annotations';
import { CONTROL_PLANE_NAMESPACE, PROXY_CONTAINER } from '../../../../mesh/config/names';
import { INJECTOR_WEBHOOK } from '../../../../mesh/config/injector';

const PLURALS: Record<string, string> = {
  Namespace: 'namespaces', Pod: 'pods', Service: 'services', ConfigMap: 'configmaps', Secret: 'secrets', ServiceAccount: 'serviceaccounts',
  Deployment: 'deployments', CustomResourceDefinition: 'customresourcedefinitions', ClusterRole: 'clusterroles', ClusterRoleBinding: 'clusterrolebindings',
  MutatingWebhookConfiguration: 'mutatingwebhookconfigurations',
};
const DAY = 86_400_000;

function pathOf(o: KubeObject): string {
  const base = o.apiVersion.includes('/') ? `/apis/${o.apiVersion}` : `/api/${o.apiVersion}`;
  return `${base}${o.metadata.namespace ? `/namespaces/${o.metadata.namespace}` : ''}/${PLURALS[o.kind]}/${o.metadata.name}`;
}

interface MemoryOptions {
  version?: { major: string; minor: string; gitVersion: string; date?: Date };
  unreachable?: boolean;
  deny?: (a: AccessAttributes) => string | undefined;
}

/** A CheckClient over a list of objects: GET by path, lists by collection path (namespace and label equality filters). */
function memoryClient(objects: KubeObject[], o: MemoryOptions = {}): CheckClient & { asked: AccessAttributes[] } {
  const asked: AccessAttributes[] = [];
  return {
    asked,
    async version() {
      if (o.unreachable) throw new Error('cannot reach https://127.0.0.1:1: ECONNREFUSED');
      return o.version ?? { major: '1', minor: '30', gitVersion: 'v1.30.0', date: new Date() };
    },
    async canI(a) {
      asked.push(a);
      const reason = o.deny?.(a);
      return reason ? { allowed: false, reason } : { allowed: true };
    },
    async get(path) {
      const found = objects.find((x) => pathOf(x) === path);
      return found ? (structuredClone(found) as Json) : undefined;
    },
    async list(path) {
      const u = new URL(path, 'http://x');
      const m = /^\/api\/v1(?:\/namespaces\/([^/]+))?\/([a-z]+)$/.exec(u.pathname);
      assert.ok(m, `unexpected list path ${path}`);
      const sel = u.searchParams.get('labelSelector');
      const [k, v] = sel ? sel.split('=') : [];
      return objects
        .filter((x) => PLURALS[x.kind] === m[2] && (!m[1] || x.metadata.namespace === m[1]))
        .filter((x) => !k || x.metadata.labels?.[k] === v)
        .map((x) => structuredClone(x) as Json);
    },
  };
}

function controlPlanePods(ready = true): KubeObject[] {
  return Object.entries(CONTROL_PLANE_COMPONENTS).map(([component, { name }]) => ({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: `${name}-abc12`, namespace: CONTROL_PLANE_NAMESPACE, labels: { [CONTROL_PLANE_COMPONENT_LABEL]: component } },
    spec: { containers: [{ name: component, image: 'x' }] },
    status: { phase: 'Running', conditions: [{ type: 'Ready', status: ready ? 'True' : 'False' }] },
  }));
}

const byName = (rs: CheckResult[], name: RegExp): CheckResult => {
  const r = rs.find((x) => name.test(x.name));
  assert.ok(r, `no check named ${name}; got ${rs.map((x) => x.name).join(' | ')}`);
  return r;
};
const failed = (rs: CheckResult[]) => rs.filter((r) => !r.ok);

describe('runChecks --pre', () => {
  it('passes on a reachable 1.30 cluster with all permissions and no skew, asking one review per kind install creates', async () => {
    const c = memoryClient([]);
    const rs = await collectChecks(c, { mode: 'pre' });
    assert.deepEqual(failed(rs), []);
    assert.equal(rs[0]!.name, 'can reach the Kubernetes API');
    assert.ok(c.asked.some((a) => a.resource === 'mutatingwebhookconfigurations' && a.group === 'admissionregistration.k8s.io' && a.verb === 'create'));
    assert.ok(c.asked.some((a) => a.resource === 'deployments' && a.group === 'apps' && a.namespace === CONTROL_PLANE_NAMESPACE));
  });

  it('an unreachable API is one failed check with a hint, and nothing else runs', async () => {
    const rs = await collectChecks(memoryClient([], { unreachable: true }), { mode: 'pre' });
    assert.equal(rs.length, 1);
    assert.equal(rs[0]!.ok, false);
    assert.match(rs[0]!.message, /ECONNREFUSED/);
    assert.match(rs[0]!.hint!, /kubectl cluster-info/);
  });

  it('Kubernetes older than 1.29 fails (native sidecars); "29+" minors pass', async () => {
    const old = await collectChecks(memoryClient([], { version: { major: '1', minor: '28', gitVersion: 'v1.28.9', date: new Date() } }), { mode: 'pre' });
    const v = byName(old, /Kubernetes version/);
    assert.equal(v.ok, false);
    assert.match(v.message, /native sidecars/);
    assert.match(v.hint!, /upgrade the cluster/);
    const gke = await collectChecks(memoryClient([], { version: { major: '1', minor: '29+', gitVersion: 'v1.29.4-gke.1', date: new Date() } }), { mode: 'pre' });
    assert.equal(byName(gke, /Kubernetes version/).ok, true);
  });

  it('clock skew beyond 5 minutes, or no Date header, fails with a hint', async () => {
    const now = new Date('2026-01-01T00:00:00Z');
    const skewed = await collectChecks(memoryClient([], { version: { major: '1', minor: '30', gitVersion: 'v1.30.0', date: new Date(now.getTime() - 10 * 60_000) } }), { mode: 'pre', now: () => now });
    const s = byName(skewed, /clock skew/);
    assert.equal(s.ok, false);
    assert.match(s.message, /600 s behind/);
    assert.match(s.hint!, /NTP/);
    const within = await collectChecks(memoryClient([], { version: { major: '1', minor: '30', gitVersion: 'v1.30.0', date: new Date(now.getTime() + 60_000) } }), { mode: 'pre', now: () => now });
    assert.equal(byName(within, /clock skew/).ok, true);
    const none = await collectChecks(memoryClient([], { version: { major: '1', minor: '30', gitVersion: 'v1.30.0' } }), { mode: 'pre' });
    assert.match(byName(none, /clock skew/).message, /no Date header/);
  });

  it('a missing permission fails its own check, with the reason and the kubectl command to see it', async () => {
    const rs = await collectChecks(memoryClient([], { deny: (a) => (a.resource === 'clusterroles' ? 'RBAC: not bound' : undefined) }), { mode: 'pre' });
    assert.equal(failed(rs).length, 1);
    const r = byName(rs, /can create clusterroles/);
    assert.match(r.message, /not allowed: RBAC: not bound/);
    assert.match(r.hint!, /kubectl auth can-i create clusterroles\.rbac\.authorization\.k8s\.io/);
  });
});

describe('runChecks (control plane)', () => {
  let installed: KubeObject[];
  before(async () => {
    installed = await installManifests();
  });

  it('nothing installed: namespace, CRDs, pods, trust anchors, issuer and webhook each fail with a hint', async () => {
    const rs = await collectChecks(memoryClient([]), { mode: 'control-plane' });
    assert.equal(byName(rs, /namespace weft exists/).ok, false);
    assert.match(byName(rs, /namespace weft exists/).hint!, /weft install/);
    assert.match(byName(rs, /policy CRDs/).message, /missing: servers\.policy\.weft\.dev/);
    assert.match(byName(rs, /weft-identity pods are ready/).message, /no pod found/);
    assert.match(byName(rs, /trust anchors/).message, /not found/);
    assert.match(byName(rs, /issuer/).message, /not found/);
    assert.match(byName(rs, /webhook certificate/).message, /not found: pods will not be injected/);
    for (const r of failed(rs)) assert.ok(r.hint, `${r.name} has a hint`);
  });

  it('installed without pods: only the pod checks fail; with ready pods all pass', async () => {
    const rs = await collectChecks(memoryClient(installed), { mode: 'control-plane' });
    assert.deepEqual(failed(rs).map((r) => r.name).sort(), Object.values(CONTROL_PLANE_COMPONENTS).map((c) => `${c.name} pods are ready`).sort());
    assert.match(byName(rs, /weft-destination pods/).hint!, /kubectl -n weft describe deployment weft-destination/);
    const green = await collectChecks(memoryClient([...installed, ...controlPlanePods()]), { mode: 'control-plane' });
    assert.deepEqual(failed(green), []);
  });

  it('a Running pod that is not Ready fails, naming it', async () => {
    const rs = await collectChecks(memoryClient([...installed, ...controlPlanePods(false)]), { mode: 'control-plane' });
    const r = byName(rs, /weft-policy pods/);
    assert.equal(r.ok, false);
    assert.match(r.message, /weft\/weft-policy-abc12 is Running but not Ready/);
    assert.match(r.hint!, /kubectl -n weft logs -l weft\.dev\/control-plane-component=policy/);
    assert.equal(podReady({ status: { phase: 'Pending', conditions: [{ type: 'Ready', status: 'True' }] } }), false);
  });

  it('a trust anchor expiring within 60 days fails; 90 days passes', async () => {
    const mk = async (days: number) => {
      const anchor = await createTrustAnchor({ lifetimeMs: days * DAY });
      const issuer = await createIssuer(anchor, { lifetimeMs: days * DAY });
      return installManifests({ identity: { trustAnchorsPem: anchor.certPem, issuerCertPem: issuer.certPem, issuerKeyPem: issuer.keyPem } });
    };
    const soon = await collectChecks(memoryClient([...(await mk(30)), ...controlPlanePods()]), { mode: 'control-plane' });
    const r = byName(soon, /trust anchors are valid/);
    assert.equal(r.ok, false);
    assert.match(r.message, /in (29|30) days \(less than 60\)/);
    assert.match(r.hint!, /rotate the trust anchor/);
    const fine = await collectChecks(memoryClient([...(await mk(90)), ...controlPlanePods()]), { mode: 'control-plane' });
    assert.deepEqual(failed(fine), []);
  });

  it('an issuer that does not chain to the anchors fails', async () => {
    const other = await createDevCa();
    const objs = structuredClone(installed);
    const secret = objs.find((o) => o.metadata.name === CONTROL_PLANE_OBJECTS.issuerSecret)!;
    (secret.data as Record<string, string>)['tls.crt'] = Buffer.from(other.issuer.certPem).toString('base64');
    const r = byName(await collectChecks(memoryClient([...objs, ...controlPlanePods()]), { mode: 'control-plane' }), /issuer/);
    assert.equal(r.ok, false);
    assert.match(r.message, /is not signed by any trust anchor/);
  });

  it('a webhook serving certificate from another CA than the caBundle fails', async () => {
    const other = await createWebhookCertificates();
    const objs = structuredClone(installed);
    const secret = objs.find((o) => o.metadata.name === CONTROL_PLANE_OBJECTS.webhookSecret)!;
    (secret.data as Record<string, string>)['tls.crt'] = Buffer.from(other.serving.certPem).toString('base64');
    const r = byName(await collectChecks(memoryClient([...objs, ...controlPlanePods()]), { mode: 'control-plane' }), /webhook certificate/);
    assert.equal(r.ok, false);
    assert.match(r.message, new RegExp(`not signed by the caBundle of ${INJECTOR_WEBHOOK.configurationName}`));
    assert.match(r.hint!, /current identity .*rollout restart deploy weft-proxy-injector/);
  });
});

describe('runChecks --proxy', () => {
  let installed: KubeObject[];
  let anchorsPem: string;
  before(async () => {
    installed = [...(await installManifests()), ...controlPlanePods()];
    anchorsPem = String((installed.find((o) => o.kind === 'ConfigMap')!.data as Record<string, string>)[CONFIG_MAP_KEYS.trustAnchors]);
  });

  /** A pod as the injector makes it (through inject()), with the status a kubelet would report. */
  function meshedPod(name: string, opts: { ready?: boolean; anchors?: string; annotations?: Record<string, string> } = {}): KubeObject {
    const pod = {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name, namespace: 'shop', labels: { app: 'db' }, annotations: { [ANNOTATIONS.inject]: 'enabled', ...opts.annotations } },
      spec: { serviceAccountName: 'db', containers: [{ name: 'db', image: 'postgres', ports: [{ name: 'pg', containerPort: 5432 }] }] },
    };
    const { patch } = inject(pod, { metadata: { name: 'shop' } }, { proxyImage: 'img', proxyVersion: '0.1.0', trustAnchorsPem: opts.anchors ?? anchorsPem });
    const out = jsonpatch.applyPatch(structuredClone(pod), patch as Operation[], true, false).newDocument as unknown as KubeObject;
    out.status = { phase: 'Running', conditions: [{ type: 'Ready', status: 'True' }], initContainerStatuses: [{ name: PROXY_CONTAINER, ready: opts.ready ?? true }] };
    return out;
  }
  const service = (annotations: Record<string, string> = {}): KubeObject => ({
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: 'db', namespace: 'shop', annotations },
    spec: { selector: { app: 'db' }, ports: [{ port: 5432, targetPort: 'pg' }] },
  });

  it('no meshed pods: passes and says how to mesh', async () => {
    const rs = await collectChecks(memoryClient(installed), { mode: 'proxy' });
    assert.deepEqual(failed(rs), []);
    assert.match(byName(rs, /proxies are ready/).message, /no meshed pods yet/);
  });

  it('ready proxies with the current anchors and agreeing opaque ports pass; the anchors come from the pod annotation (said so)', async () => {
    const rs = await collectChecks(memoryClient([...installed, meshedPod('db-0'), service()]), { mode: 'proxy' });
    assert.deepEqual(failed(rs), []);
    assert.match(byName(rs, /trust the current trust anchors/).message, /annotation; the proxies' admin endpoints are not reached/);
  });

  it('a proxy that is not ready fails, naming the pod', async () => {
    const rs = await collectChecks(memoryClient([...installed, meshedPod('db-0'), meshedPod('db-1', { ready: false })]), { mode: 'proxy' });
    const r = byName(rs, /proxies are ready/);
    assert.equal(r.ok, false);
    assert.match(r.message, /weft-proxy not ready in shop\/db-1$/);
    assert.match(r.hint!, /kubectl logs -n NS POD -c weft-proxy/);
  });

  it('a pod injected with other anchors fails the trust check', async () => {
    const old = await createTrustAnchor();
    const rs = await collectChecks(memoryClient([...installed, meshedPod('db-0', { anchors: old.certPem })]), { mode: 'proxy' });
    const r = byName(rs, /trust the current trust anchors/);
    assert.equal(r.ok, false);
    assert.match(r.message, /shop\/db-0/);
    assert.match(r.hint!, /rollout restart/);
  });

  it('opaque ports that disagree between a pod and its Service fail, both ways', async () => {
    // The pod gets the default opaque ports (5432 among them); the Service says only 3306.
    const a = await collectChecks(memoryClient([...installed, meshedPod('db-0'), service({ [ANNOTATIONS.opaquePorts]: '3306' })]), { mode: 'proxy' });
    const r = byName(a, /opaque ports agree/);
    assert.equal(r.ok, false);
    assert.match(r.message, /pod shop\/db-0 marks port 5432 opaque but service shop\/db does not mark port 5432/);
    assert.match(r.hint!, /WEFT1003/);
    const b = await collectChecks(memoryClient([...installed, meshedPod('db-0', { annotations: { [ANNOTATIONS.opaquePorts]: '3306' } }), service()]), { mode: 'proxy' });
    assert.match(byName(b, /opaque ports agree/).message, /service shop\/db marks port 5432 opaque but pod shop\/db-0 does not mark its target port 5432/);
  });
});
