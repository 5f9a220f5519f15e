/**
 * `weft check`'s core: check definitions over a small client interface (CheckClient), so each one
 * is unit-testable without a cluster.
 *
 *   runChecks(client: CheckClient, { mode: 'pre' | 'control-plane' | 'proxy', now? }): AsyncGenerator<CheckResult>
 *     yields { category, name, ok, message, hint? } one by one. Every mode starts with "can reach
 *     the Kubernetes API" and stops there when it fails. 'pre' adds the pre-install checks;
 *     'control-plane' (the default) the installed control plane; 'proxy' the control plane and
 *     then the data plane. The extension's "Check Mesh" and `weft check` both consume it;
 *     kubeCheckClient() (kube-check-client.ts) makes a CheckClient from a kubeconfig.
 */
import { X509Certificate } from 'node:crypto';
import { ANNOTATIONS } from '../../config/annotations';
import {
  CERTIFICATE_MIN_REMAINING_MS,
  CONFIG_MAP_KEYS,
  CONTROL_PLANE_COMPONENTS,
  CONTROL_PLANE_COMPONENT_LABEL,
  CONTROL_PLANE_OBJECTS,
  MAX_CLOCK_SKEW_MS,
  MIN_KUBERNETES_VERSION,
  TRUST_ANCHORS_ANNOTATION,
  type ControlPlaneComponent,
} from '../../config/control-plane';
import { INJECTOR_WEBHOOK } from '../../config/injector';
import { CONTROL_PLANE_NAMESPACE, DEFAULT_OPAQUE_PORTS, PROXY_CONTAINER } from '../../config/names';
import { parsePortRanges, type PortRange } from '../../proxy/redirect-rules';
import { splitPemCertificates } from '../identity/ca';
import { serviceDnsNames } from '../injector/webhook-certificate';
import { selectorMatches } from '../policy/label-selector';
import { policyCrdNames } from '../install/crds';

export type CheckMode = 'pre' | 'control-plane' | 'proxy';

export interface CheckResult {
  category: string;
  name: string;
  ok: boolean;
  message: string;
  /** The next step, on failure. */
  hint?: string;
}

export interface AccessAttributes {
  verb: string;
  group: string;
  resource: string;
  namespace?: string;
}

/** An object as the API returns it (JSON). */
export type Json = Record<string, unknown>;

export interface CheckClient {
  /** GET /version, with the Date header of the answer. Throws when the API cannot be reached. */
  version(): Promise<{ major: string; minor: string; gitVersion: string; date?: Date }>;
  /** A SelfSubjectAccessReview. */
  canI(a: AccessAttributes): Promise<{ allowed: boolean; reason?: string }>;
  /** GET an API path; undefined on 404. */
  get(path: string): Promise<Json | undefined>;
  /** GET a list path; its items ([] on 404). */
  list(path: string): Promise<Json[]>;
}

export interface RunChecksOptions {
  mode: CheckMode;
  now?: () => Date;
}

/** What `weft install` creates: the permissions `--pre` asks for, one SelfSubjectAccessReview each. */
export const INSTALL_PERMISSIONS: readonly (AccessAttributes & { kind: string })[] = [
  { kind: 'Namespace', verb: 'create', group: '', resource: 'namespaces' },
  { kind: 'CustomResourceDefinition', verb: 'create', group: 'apiextensions.k8s.io', resource: 'customresourcedefinitions' },
  { kind: 'ClusterRole', verb: 'create', group: 'rbac.authorization.k8s.io', resource: 'clusterroles' },
  { kind: 'ClusterRoleBinding', verb: 'create', group: 'rbac.authorization.k8s.io', resource: 'clusterrolebindings' },
  { kind: 'MutatingWebhookConfiguration', verb: 'create', group: 'admissionregistration.k8s.io', resource: 'mutatingwebhookconfigurations' },
  { kind: 'ServiceAccount', verb: 'create', group: '', resource: 'serviceaccounts', namespace: CONTROL_PLANE_NAMESPACE },
  { kind: 'Secret', verb: 'create', group: '', resource: 'secrets', namespace: CONTROL_PLANE_NAMESPACE },
  { kind: 'ConfigMap', verb: 'create', group: '', resource: 'configmaps', namespace: CONTROL_PLANE_NAMESPACE },
  { kind: 'Service', verb: 'create', group: '', resource: 'services', namespace: CONTROL_PLANE_NAMESPACE },
  { kind: 'Deployment', verb: 'create', group: 'apps', resource: 'deployments', namespace: CONTROL_PLANE_NAMESPACE },
];

const NS = CONTROL_PLANE_NAMESPACE;
const DAY = 86_400_000;
const errText = (e: unknown): string => (e instanceof Error ? e.message : String(e));
const isObj = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);
const field = (o: unknown, ...path: string[]): unknown => path.reduce<unknown>((v, k) => (isObj(v) ? v[k] : undefined), o);
const strMap = (v: unknown): Record<string, string> => (isObj(v) ? (Object.fromEntries(Object.entries(v).filter(([, x]) => typeof x === 'string')) as Record<string, string>) : {});
const arrOf = (v: unknown): Json[] => (Array.isArray(v) ? v.filter(isObj) : []);

function podName(p: Json): string {
  return `${String(field(p, 'metadata', 'namespace') ?? '')}/${String(field(p, 'metadata', 'name') ?? '')}`;
}

/** Ready: phase Running and condition Ready=True (what `kubectl get pods` shows as READY). */
export function podReady(p: Json): boolean {
  if (field(p, 'status', 'phase') !== 'Running') return false;
  return arrOf(field(p, 'status', 'conditions')).some((c) => c.type === 'Ready' && c.status === 'True');
}

function parseCerts(pem: string): X509Certificate[] {
  return splitPemCertificates(pem).map((b) => new X509Certificate(b));
}

function remaining(cert: X509Certificate, now: Date): number {
  return new Date(cert.validTo).getTime() - now.getTime();
}

/** ok when every certificate is already valid and stays valid CERTIFICATE_MIN_REMAINING_MS more. */
function validityProblem(certs: X509Certificate[], what: string, now: Date): string | undefined {
  for (const c of certs) {
    const left = remaining(c, now);
    const subject = c.subject.replace(/\n/g, ', ');
    if (new Date(c.validFrom).getTime() > now.getTime()) return `${what} (${subject}) is not valid before ${new Date(c.validFrom).toISOString()}`;
    if (left <= 0) return `${what} (${subject}) expired on ${new Date(c.validTo).toISOString()}`;
    if (left < CERTIFICATE_MIN_REMAINING_MS) return `${what} (${subject}) expires on ${new Date(c.validTo).toISOString()}, in ${Math.floor(left / DAY)} days (less than ${CERTIFICATE_MIN_REMAINING_MS / DAY})`;
  }
  return undefined;
}

function secretField(secret: Json | undefined, key: string): string | undefined {
  const v = field(secret, 'data', key);
  return typeof v === 'string' ? Buffer.from(v, 'base64').toString('utf8') : undefined;
}

/** kubectl's way of naming a pod selector on the command line. */
function selectorArg(component: ControlPlaneComponent): string {
  return `${CONTROL_PLANE_COMPONENT_LABEL}=${component}`;
}

const REINSTALL = 'run `weft install | kubectl apply -f -` to (re)create it (on an installed mesh, keep its identity: docs/install.md, "Re-installing")';
/** Re-issuing the webhook certificate without changing the mesh's identity. */
const REISSUE_WEBHOOK = 're-run `weft install` with the current identity (docs/install.md, "Re-installing": it keeps the anchors and issuer, and replaces the webhook Secret and caBundle together), then `kubectl -n weft rollout restart deploy weft-proxy-injector`';

async function* apiChecks(client: CheckClient, now: Date, pre: boolean): AsyncGenerator<CheckResult, boolean> {
  const category = 'kubernetes-api';
  let v: Awaited<ReturnType<CheckClient['version']>>;
  try {
    v = await client.version();
  } catch (e) {
    yield {
      category,
      name: 'can reach the Kubernetes API',
      ok: false,
      message: errText(e),
      hint: 'check that the cluster is running (`kubectl cluster-info`) and that the kubeconfig context points at it',
    };
    return false;
  }
  yield { category, name: 'can reach the Kubernetes API', ok: true, message: `server ${v.gitVersion}` };
  if (!pre) return true;
  const cat = 'pre-kubernetes-setup';
  const minor = Number.parseInt(v.minor, 10);
  const major = Number.parseInt(v.major, 10);
  const min = MIN_KUBERNETES_VERSION;
  const okVersion = major > min.major || (major === min.major && minor >= min.minor);
  yield {
    category: cat,
    name: `Kubernetes version is at least ${min.major}.${min.minor}`,
    ok: okVersion,
    message: Number.isNaN(minor) ? `cannot read the version ${JSON.stringify(v)}` : `the API server runs ${v.gitVersion}${okVersion ? '' : `: native sidecars (the weft-proxy init container with restartPolicy: Always) need ${min.major}.${min.minor}`}`,
    ...(okVersion ? {} : { hint: `upgrade the cluster to Kubernetes ${min.major}.${min.minor} or newer (kind: \`kind create cluster --image kindest/node:v1.30.0\`)` }),
  };
  if (!v.date) {
    yield { category: cat, name: 'clock skew with the API server is small', ok: false, message: 'the API server sent no Date header', hint: 'check that the kubeconfig points straight at the API server, not at a proxy that strips headers' };
  } else {
    const skew = v.date.getTime() - now.getTime();
    // HTTP dates have 1 s resolution: allow that on top of the limit.
    const ok = Math.abs(skew) <= MAX_CLOCK_SKEW_MS + 1000;
    yield {
      category: cat,
      name: 'clock skew with the API server is small',
      ok,
      message: `the API server's clock is ${Math.round(Math.abs(skew) / 1000)} s ${skew >= 0 ? 'ahead of' : 'behind'} this machine's (limit ${MAX_CLOCK_SKEW_MS / 1000} s)`,
      ...(ok ? {} : { hint: 'synchronise the clocks (NTP: `timedatectl set-ntp true`); certificates are checked against the clock, and a skewed one makes fresh certificates look not yet valid' }),
    };
  }
  for (const p of INSTALL_PERMISSIONS) {
    const what = `${p.group ? `${p.resource}.${p.group}` : p.resource}${p.namespace ? ` in namespace ${p.namespace}` : ''}`;
    const name = `can create ${what}`;
    try {
      const r = await client.canI(p);
      yield {
        category: cat,
        name,
        ok: r.allowed,
        message: r.allowed ? 'allowed' : `not allowed${r.reason ? `: ${r.reason}` : ''}`,
        ...(r.allowed ? {} : { hint: `weft install creates ${p.kind} objects: run it as a cluster admin, or grant "${p.verb}" on ${what} (\`kubectl auth can-i ${p.verb} ${p.group ? `${p.resource}.${p.group}` : p.resource}${p.namespace ? ` -n ${p.namespace}` : ''}\` shows the answer)` }),
      };
    } catch (e) {
      yield { category: cat, name, ok: false, message: `the access review failed: ${errText(e)}`, hint: 'check that the API server serves authorization.k8s.io/v1' };
    }
  }
  return true;
}

interface ControlPlaneFacts {
  anchors?: X509Certificate[];
}

async function* controlPlaneChecks(client: CheckClient, now: Date, facts: ControlPlaneFacts): AsyncGenerator<CheckResult> {
  let category = 'control-plane-existence';
  const ns = await client.get(`/api/v1/namespaces/${NS}`);
  yield ns
    ? { category, name: `namespace ${NS} exists`, ok: true, message: 'found' }
    : { category, name: `namespace ${NS} exists`, ok: false, message: `namespace ${NS} not found: the mesh is not installed`, hint: 'install it: `weft check --pre && weft install | kubectl apply -f -`' };

  const missing: string[] = [];
  for (const crd of policyCrdNames()) if (!(await client.get(`/apis/apiextensions.k8s.io/v1/customresourcedefinitions/${crd}`))) missing.push(crd);
  yield missing.length === 0
    ? { category, name: 'policy CRDs are installed', ok: true, message: `${policyCrdNames().length} found` }
    : { category, name: 'policy CRDs are installed', ok: false, message: `missing: ${missing.join(', ')}`, hint: REINSTALL };

  for (const component of Object.keys(CONTROL_PLANE_COMPONENTS) as ControlPlaneComponent[]) {
    const name = `${CONTROL_PLANE_COMPONENTS[component].name} pods are ready`;
    const pods = await client.list(`/api/v1/namespaces/${NS}/pods?labelSelector=${encodeURIComponent(selectorArg(component))}`);
    const ready = pods.filter(podReady);
    if (ready.length > 0) {
      yield { category, name, ok: true, message: `${ready.length}/${pods.length} ready` };
      continue;
    }
    const why = pods.length === 0 ? 'no pod found' : pods.map((p) => `${podName(p)} is ${String(field(p, 'status', 'phase') ?? 'Unknown')}${field(p, 'status', 'phase') === 'Running' ? ' but not Ready' : ''}`).join('; ');
    yield {
      category,
      name,
      ok: false,
      message: why,
      hint:
        pods.length === 0
          ? `check the Deployment: \`kubectl -n ${NS} describe deployment ${CONTROL_PLANE_COMPONENTS[component].name}\` (an image that cannot be pulled or a quota shows there)`
          : `see why: \`kubectl -n ${NS} describe pods -l ${selectorArg(component)}\` and \`kubectl -n ${NS} logs -l ${selectorArg(component)}\``,
    };
  }

  category = 'control-plane-certificates';
  const cm = await client.get(`/api/v1/namespaces/${NS}/configmaps/${CONTROL_PLANE_OBJECTS.configMap}`);
  const anchorsPem = field(cm, 'data', CONFIG_MAP_KEYS.trustAnchors);
  const anchorsName = 'trust anchors are valid for at least 60 more days';
  if (typeof anchorsPem !== 'string') {
    yield { category, name: anchorsName, ok: false, message: `ConfigMap ${NS}/${CONTROL_PLANE_OBJECTS.configMap} ${cm ? `has no ${CONFIG_MAP_KEYS.trustAnchors}` : 'not found'}`, hint: REINSTALL };
  } else {
    let anchors: X509Certificate[] = [];
    try {
      anchors = parseCerts(anchorsPem);
    } catch (e) {
      yield { category, name: anchorsName, ok: false, message: `the trust anchors in ConfigMap ${NS}/${CONTROL_PLANE_OBJECTS.configMap} cannot be parsed: ${errText(e)}`, hint: REINSTALL };
    }
    if (anchors.length > 0) {
      facts.anchors = anchors;
      const problem = validityProblem(anchors, 'a trust anchor', now);
      yield problem
        ? { category, name: anchorsName, ok: false, message: problem, hint: 'rotate the trust anchor: add a new anchor to the bundle, re-issue the issuer from it, then remove the old one (docs/install.md, "Rotating certificates")' }
        : { category, name: anchorsName, ok: true, message: `${anchors.length} anchor(s), the first expires ${new Date(anchors[0]!.validTo).toISOString().slice(0, 10)}` };
    } else if (typeof anchorsPem === 'string' && splitPemCertificates(anchorsPem).length === 0) {
      yield { category, name: anchorsName, ok: false, message: `ConfigMap ${NS}/${CONTROL_PLANE_OBJECTS.configMap} holds no PEM certificate in ${CONFIG_MAP_KEYS.trustAnchors}`, hint: REINSTALL };
    }
  }

  const issuerName = 'issuer is valid for at least 60 more days and chains to a trust anchor';
  const issuerSecret = await client.get(`/api/v1/namespaces/${NS}/secrets/${CONTROL_PLANE_OBJECTS.issuerSecret}`);
  const issuerPem = secretField(issuerSecret, 'tls.crt');
  if (!issuerPem) {
    yield { category, name: issuerName, ok: false, message: `Secret ${NS}/${CONTROL_PLANE_OBJECTS.issuerSecret} ${issuerSecret ? 'has no tls.crt' : 'not found'}`, hint: REINSTALL };
  } else {
    try {
      const issuer = parseCerts(issuerPem)[0];
      if (!issuer) throw new Error('no PEM certificate in tls.crt');
      const problem = validityProblem([issuer], 'the issuer certificate', now);
      const chains = (facts.anchors ?? []).some((a) => issuer.checkIssued(a) && issuer.verify(a.publicKey));
      if (problem) yield { category, name: issuerName, ok: false, message: problem, hint: 'issue a new issuer from the trust anchor and update the Secret (docs/install.md, "Rotating certificates")' };
      else if (!chains) yield { category, name: issuerName, ok: false, message: `the issuer (${issuer.subject.replace(/\n/g, ', ')}) is not signed by any trust anchor in ConfigMap ${NS}/${CONTROL_PLANE_OBJECTS.configMap}`, hint: 'proxies will refuse each other\'s certificates: put the anchor that signed the issuer into the bundle, or re-issue the issuer from the current anchor' };
      else yield { category, name: issuerName, ok: true, message: `expires ${new Date(issuer.validTo).toISOString().slice(0, 10)}` };
    } catch (e) {
      yield { category, name: issuerName, ok: false, message: `Secret ${NS}/${CONTROL_PLANE_OBJECTS.issuerSecret}: ${errText(e)}`, hint: REINSTALL };
    }
  }

  category = 'proxy-injector';
  const webhookName = 'webhook certificate is valid and matches the MutatingWebhookConfiguration';
  const mwc = await client.get(`/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations/${INJECTOR_WEBHOOK.configurationName}`);
  const hook = arrOf(field(mwc, 'webhooks')).find((w) => w.name === INJECTOR_WEBHOOK.webhookName);
  const caBundleB64 = field(hook, 'clientConfig', 'caBundle');
  const webhookSecret = await client.get(`/api/v1/namespaces/${NS}/secrets/${CONTROL_PLANE_OBJECTS.webhookSecret}`);
  const servingPem = secretField(webhookSecret, 'tls.crt');
  if (!mwc || typeof caBundleB64 !== 'string') {
    yield { category, name: webhookName, ok: false, message: mwc ? `webhook ${INJECTOR_WEBHOOK.webhookName} or its caBundle missing from ${INJECTOR_WEBHOOK.configurationName}` : `MutatingWebhookConfiguration ${INJECTOR_WEBHOOK.configurationName} not found: pods will not be injected`, hint: REINSTALL };
  } else if (!servingPem) {
    yield { category, name: webhookName, ok: false, message: `Secret ${NS}/${CONTROL_PLANE_OBJECTS.webhookSecret} ${webhookSecret ? 'has no tls.crt' : 'not found'}`, hint: REINSTALL };
  } else {
    try {
      const leaf = parseCerts(servingPem)[0];
      if (!leaf) throw new Error('no PEM certificate in tls.crt');
      const bundle = parseCerts(Buffer.from(caBundleB64, 'base64').toString('utf8'));
      const problem = validityProblem([leaf], 'the webhook serving certificate', now);
      const dns = serviceDnsNames(INJECTOR_WEBHOOK.service, NS)[0]!;
      const signed = bundle.some((ca) => leaf.checkIssued(ca) && leaf.verify(ca.publicKey));
      if (problem) yield { category, name: webhookName, ok: false, message: problem, hint: REISSUE_WEBHOOK };
      else if (!signed) yield { category, name: webhookName, ok: false, message: `the serving certificate in Secret ${NS}/${CONTROL_PLANE_OBJECTS.webhookSecret} is not signed by the caBundle of ${INJECTOR_WEBHOOK.configurationName}: the API server will refuse the webhook's TLS`, hint: REISSUE_WEBHOOK };
      else if (!leaf.checkHost(dns)) yield { category, name: webhookName, ok: false, message: `the serving certificate does not name ${dns}, the host the API server calls`, hint: REISSUE_WEBHOOK };
      else yield { category, name: webhookName, ok: true, message: `names ${dns}, expires ${new Date(leaf.validTo).toISOString().slice(0, 10)}` };
    } catch (e) {
      yield { category, name: webhookName, ok: false, message: `cannot read the webhook certificates: ${errText(e)}`, hint: REINSTALL };
    }
  }
}

function opaqueSet(annotations: Record<string, string>, fallback: readonly number[]): { ports: PortRange[]; error?: string } {
  const raw = annotations[ANNOTATIONS.opaquePorts];
  if (raw === undefined) return { ports: fallback.map((p) => ({ from: p, to: p })) };
  const parsed = parsePortRanges(raw);
  return parsed.ok ? { ports: parsed.ranges } : { ports: [], error: parsed.error };
}
const inRanges = (port: number, ranges: readonly PortRange[]): boolean => ranges.some((r) => port >= r.from && port <= r.to);

function isMeshed(p: Json): boolean {
  return [...arrOf(field(p, 'spec', 'initContainers')), ...arrOf(field(p, 'spec', 'containers'))].some((c) => c.name === PROXY_CONTAINER);
}

function proxyReady(p: Json): boolean {
  return [...arrOf(field(p, 'status', 'initContainerStatuses')), ...arrOf(field(p, 'status', 'containerStatuses'))].some((s) => s.name === PROXY_CONTAINER && s.ready === true);
}

function containerPort(pod: Json, target: unknown): number | undefined {
  if (typeof target === 'number') return target;
  if (typeof target !== 'string') return undefined;
  if (/^\d+$/.test(target)) return Number(target);
  for (const c of arrOf(field(pod, 'spec', 'containers'))) for (const p of arrOf(c.ports)) if (p.name === target && typeof p.containerPort === 'number') return p.containerPort;
  return undefined;
}

const normalisePem = (pem: string): string => splitPemCertificates(pem).map((b) => b.replace(/\s+/g, '')).sort().join('|');

async function* dataPlaneChecks(client: CheckClient, facts: ControlPlaneFacts): AsyncGenerator<CheckResult> {
  const category = 'data-plane';
  const pods = (await client.list('/api/v1/pods')).filter(isMeshed);
  const notReady = pods.filter((p) => !proxyReady(p));
  yield pods.length === 0
    ? { category, name: 'data plane proxies are ready', ok: true, message: 'no meshed pods yet (annotate a namespace with weft.dev/inject: enabled and restart its workloads)' }
    : notReady.length === 0
      ? { category, name: 'data plane proxies are ready', ok: true, message: `${pods.length} meshed pod(s), every ${PROXY_CONTAINER} ready` }
      : {
          category,
          name: 'data plane proxies are ready',
          ok: false,
          message: `${PROXY_CONTAINER} not ready in ${notReady.map(podName).join(', ')}`,
          hint: `a proxy stays unready until it has a certificate from the identity service: \`kubectl logs -n NS POD -c ${PROXY_CONTAINER}\` tells why`,
        };

  const trustName = 'data plane proxies trust the current trust anchors';
  if (pods.length > 0) {
    if (!facts.anchors) {
      yield { category, name: trustName, ok: false, message: 'the control plane\'s trust anchors could not be read (see above)', hint: REINSTALL };
    } else {
      const current = normalisePem(facts.anchors.map((a) => a.toString()).join(''));
      const stale = pods.filter((p) => {
        const pem = strMap(field(p, 'metadata', 'annotations'))[TRUST_ANCHORS_ANNOTATION];
        return pem === undefined || normalisePem(pem) !== current;
      });
      yield stale.length === 0
        ? { category, name: trustName, ok: true, message: `${pods.length} pod(s) were injected with the current anchors (read from each pod's ${TRUST_ANCHORS_ANNOTATION} annotation; the proxies' admin endpoints are not reached from here)` }
        : {
            category,
            name: trustName,
            ok: false,
            message: `injected with other trust anchors than ConfigMap ${NS}/${CONTROL_PLANE_OBJECTS.configMap} holds (from the pods' ${TRUST_ANCHORS_ANNOTATION} annotation): ${stale.map(podName).join(', ')}`,
            hint: 'their certificates will not chain to the current anchor: restart those workloads (`kubectl rollout restart deploy -n NS NAME`) so the injector gives them the current anchors',
          };
    }
  }

  const opaqueName = 'opaque ports agree between pods and the Services selecting them';
  const services = await client.list('/api/v1/services');
  const problems: string[] = [];
  for (const svc of services) {
    const selector = strMap(field(svc, 'spec', 'selector'));
    if (Object.keys(selector).length === 0) continue;
    const ns = field(svc, 'metadata', 'namespace');
    const svcName = `${String(ns)}/${String(field(svc, 'metadata', 'name'))}`;
    const svcOpaque = opaqueSet(strMap(field(svc, 'metadata', 'annotations')), DEFAULT_OPAQUE_PORTS);
    if (svcOpaque.error) {
      problems.push(`service ${svcName}: bad ${ANNOTATIONS.opaquePorts}: ${svcOpaque.error}`);
      continue;
    }
    for (const pod of pods) {
      if (field(pod, 'metadata', 'namespace') !== ns) continue;
      if (!selectorMatches({ matchLabels: selector, matchExpressions: [] }, strMap(field(pod, 'metadata', 'labels')))) continue;
      const podOpaque = opaqueSet(strMap(field(pod, 'metadata', 'annotations')), DEFAULT_OPAQUE_PORTS);
      for (const sp of arrOf(field(svc, 'spec', 'ports'))) {
        const port = sp.port;
        const target = containerPort(pod, sp.targetPort ?? port);
        if (typeof port !== 'number' || target === undefined) continue;
        const s = inRanges(port, svcOpaque.ports);
        const p = inRanges(target, podOpaque.ports);
        if (s !== p) problems.push(s ? `service ${svcName} marks port ${port} opaque but pod ${podName(pod)} does not mark its target port ${target}` : `pod ${podName(pod)} marks port ${target} opaque but service ${svcName} does not mark port ${port}`);
      }
    }
  }
  yield problems.length === 0
    ? { category, name: opaqueName, ok: true, message: `${services.length} service(s) checked` }
    : {
        category,
        name: opaqueName,
        ok: false,
        message: problems.join('; '),
        hint: `put the same ${ANNOTATIONS.opaquePorts} annotation on the Service and on the pod template (or on their namespace); a mismatch makes detection wait on server-speaks-first protocols (\`weft validate\` rules WEFT1003 and WEFT1004 find it in manifests)`,
      };
}

export async function* runChecks(client: CheckClient, opts: RunChecksOptions): AsyncGenerator<CheckResult> {
  const now = (opts.now ?? (() => new Date()))();
  const reachable = yield* apiChecks(client, now, opts.mode === 'pre');
  if (!reachable || opts.mode === 'pre') return;
  const facts: ControlPlaneFacts = {};
  yield* controlPlaneChecks(client, now, facts);
  if (opts.mode === 'proxy') yield* dataPlaneChecks(client, facts);
}

/** Every result of a run, for callers that want an array. */
export async function collectChecks(client: CheckClient, opts: RunChecksOptions): Promise<CheckResult[]> {
  const out: CheckResult[] = [];
  for await (const r of runChecks(client, opts)) out.push(r);
  return out;
}
