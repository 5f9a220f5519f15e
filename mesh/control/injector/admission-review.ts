/**
 * The injector webhook's pure core: an AdmissionReview v1 body in, an AdmissionReview response out.
 * No I/O: the HTTPS shell (webhook-server.ts) reads the body, looks the namespace up and writes the
 * answer. The webhook never refuses a pod: it answers `allowed: true` with a JSON patch when it
 * injects, and with the reason as a warning (shown by kubectl) when it does not.
 */
import { ADMISSION_REVIEW_API_VERSION } from '../../config/injector';
import { inject } from './injector';
import type { NamespaceLike, PodLike } from './kube-types';
import type { MeshConfig } from './mesh-config';

/** The fields of `request` the injector reads (the API server sends more; they are ignored). */
export interface AdmissionRequest {
  uid: string;
  kind?: { group?: string; version?: string; kind?: string };
  namespace?: string;
  operation?: string;
  name?: string;
  dryRun?: boolean;
  object?: unknown;
}

export interface AdmissionResponse {
  uid: string;
  allowed: true;
  patchType?: 'JSONPatch';
  /** base64 of the RFC 6902 patch (JSON). */
  patch?: string;
  warnings?: string[];
}

export interface AdmissionReviewResponse {
  apiVersion: typeof ADMISSION_REVIEW_API_VERSION;
  kind: 'AdmissionReview';
  response: AdmissionResponse;
}

export type ParsedReview = { ok: true; request: AdmissionRequest } | { ok: false; error: string };

/** What the decision was, for logs and Kubernetes Events (the shell may report it). */
export interface ReviewOutcome {
  review: AdmissionReviewResponse;
  injected: boolean;
  /** The injector's event sentences (why skipped, or what was injected and any warning). */
  events: string[];
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Checks the envelope: an AdmissionReview of admission.k8s.io/v1 with a request carrying a uid. */
export function parseAdmissionReview(body: unknown): ParsedReview {
  if (!isRecord(body)) return { ok: false, error: 'the body is not a JSON object' };
  if (body.kind !== 'AdmissionReview') return { ok: false, error: `expected kind AdmissionReview, got ${JSON.stringify(body.kind ?? null)}` };
  if (body.apiVersion !== ADMISSION_REVIEW_API_VERSION) {
    return { ok: false, error: `expected apiVersion ${ADMISSION_REVIEW_API_VERSION}, got ${JSON.stringify(body.apiVersion ?? null)}` };
  }
  const req = body.request;
  if (!isRecord(req)) return { ok: false, error: 'the AdmissionReview has no request object' };
  if (typeof req.uid !== 'string' || req.uid === '') return { ok: false, error: 'request.uid is missing or not a string' };
  if (req.namespace !== undefined && typeof req.namespace !== 'string') return { ok: false, error: 'request.namespace is not a string' };
  const kind = isRecord(req.kind) ? (req.kind as AdmissionRequest['kind']) : undefined;
  return {
    ok: true,
    request: {
      uid: req.uid,
      kind,
      namespace: req.namespace as string | undefined,
      operation: typeof req.operation === 'string' ? req.operation : undefined,
      name: typeof req.name === 'string' ? req.name : undefined,
      dryRun: req.dryRun === true,
      object: req.object,
    },
  };
}

/** The namespace the pod is created in: the request's (a new pod often has no metadata.namespace yet). */
export function requestNamespace(request: AdmissionRequest): string | undefined {
  if (request.namespace) return request.namespace;
  const obj = request.object;
  if (isRecord(obj) && isRecord(obj.metadata) && typeof obj.metadata.namespace === 'string') return obj.metadata.namespace;
  return undefined;
}

/** The API server may truncate a warning past 256 characters; warnings are single lines. */
export const MAX_WARNING_CHARS = 256;

/** A warning as the API server passes it on: one line, at most MAX_WARNING_CHARS. */
export function warningText(s: string): string {
  const line = s.replace(/\s*[\r\n]+\s*/g, ' ');
  return line.length <= MAX_WARNING_CHARS ? line : `${line.slice(0, MAX_WARNING_CHARS - 1)}…`;
}

function allowed(uid: string, warnings: string[]): AdmissionReviewResponse {
  const w = warnings.map(warningText);
  return { apiVersion: ADMISSION_REVIEW_API_VERSION, kind: 'AdmissionReview', response: { uid, allowed: true, ...(w.length ? { warnings: w } : {}) } };
}

/**
 * Decides one review. `namespace` is what the namespace lookup returned (undefined when unknown: the
 * pod's own annotations then decide, and kube-system / the control plane are still recognised by name).
 */
export function reviewPod(request: AdmissionRequest, namespace: NamespaceLike | undefined, meshConfig: MeshConfig): ReviewOutcome {
  const kind = request.kind;
  if (kind?.kind !== 'Pod' || (kind.group ?? '') !== '' || (kind.version !== undefined && kind.version !== 'v1')) {
    const what = kind?.kind ? `${kind.group ? kind.group + '/' : ''}${kind.version ?? ''} ${kind.kind}`.trim() : 'an object of unknown kind';
    const events = [`Not injected: the injector only mutates v1 Pods, not ${what}.`];
    return { review: allowed(request.uid, events), injected: false, events };
  }
  if (request.operation !== undefined && request.operation !== 'CREATE') {
    const events = [`Not injected: pods are injected on CREATE only (this is ${request.operation}).`];
    return { review: allowed(request.uid, events), injected: false, events };
  }
  if (!isRecord(request.object)) {
    const events = ['Not injected: the request carries no pod object.'];
    return { review: allowed(request.uid, events), injected: false, events };
  }
  const pod = request.object as PodLike;
  const nsName = requestNamespace(request);
  // The lookup may not know the namespace: keep at least its name, so that kube-system and the
  // control-plane namespace are never injected.
  const ns: NamespaceLike | undefined = namespace ?? (nsName !== undefined ? { metadata: { name: nsName } } : undefined);
  const { patch, events } = inject(pod, ns, meshConfig);
  if (patch.length === 0) return { review: allowed(request.uid, events), injected: false, events };
  const warnings = events.filter((e) => e.startsWith('Warning:'));
  const review = allowed(request.uid, warnings);
  review.response.patchType = 'JSONPatch';
  review.response.patch = Buffer.from(JSON.stringify(patch)).toString('base64');
  return { review, injected: true, events };
}
