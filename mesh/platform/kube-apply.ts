/**
 * Applies Kubernetes objects through @kubernetes/client-node, create-or-patch, one at a time in the
 * order given (installManifests() orders them: namespace and CRDs before what lives in them).
 *
 *   applyObjects(kubeConfig: KubeConfig, objects: KubeObject[], opts?: ApplyOptions): Promise<ApplyResult>
 *     For each object: GET it; absent → create; present → JSON merge patch with the object
 *     (fields it leaves out are kept, as `kubectl apply` without last-applied pruning).
 *     opts.onProgress({ index, total, object, action }) is called after each one ('created',
 *     'configured' or 'unchanged'). The first failure stops the run and comes back as
 *     { ok: false, error: { object, message, hint } } — never a thrown stack trace.
 */
import { ApiException, KubeConfig, KubernetesObjectApi, PatchStrategy, type KubernetesObject } from '@kubernetes/client-node';

export interface ApplyObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string };
}

export type ApplyAction = 'created' | 'configured' | 'unchanged';

export interface ApplyProgress {
  index: number;
  total: number;
  /** `Kind namespace/name` or `Kind name`. */
  object: string;
  action: ApplyAction;
}

export interface ApplyOptions {
  onProgress?: (p: ApplyProgress) => void;
  /** Recorded as the field manager of every write (default "weft"). */
  fieldManager?: string;
}

export type ApplyResult =
  | { ok: true; applied: ApplyProgress[] }
  | { ok: false; applied: ApplyProgress[]; error: { object: string; message: string; hint: string } };

export function describeObject(o: ApplyObject): string {
  return `${o.kind} ${o.metadata.namespace ? `${o.metadata.namespace}/` : ''}${o.metadata.name}`;
}

function statusMessage(e: ApiException<unknown>): string {
  const body = typeof e.body === 'string' ? e.body : JSON.stringify(e.body);
  try {
    const s = JSON.parse(body) as { message?: string };
    if (s.message) return s.message;
  } catch {
    // not a Status body
  }
  return body || e.message;
}

/** Turns a failed write into a message and the next step. */
export function describeApplyFailure(err: unknown, object: string, server: string): { message: string; hint: string } {
  if (err instanceof ApiException) {
    const msg = statusMessage(err);
    if (err.code === 401) return { message: `${object}: the API server refused the credentials (HTTP 401): ${msg}`, hint: 'refresh the kubeconfig credentials (log in again)' };
    if (err.code === 403) return { message: `${object}: not allowed (HTTP 403): ${msg}`, hint: 'installing the mesh needs cluster-admin rights; run `weft check --pre` to see which permission is missing' };
    if (err.code === 404) return { message: `${object}: the API server does not know this kind (HTTP 404): ${msg}`, hint: 'apply the CustomResourceDefinitions first, or check that this Kubernetes version serves the API group' };
    if (err.code === 422) return { message: `${object}: rejected as invalid (HTTP 422): ${msg}`, hint: 'the manifest does not fit this cluster: check its Kubernetes version (`weft check --pre`)' };
    return { message: `${object}: HTTP ${err.code}: ${msg}`, hint: 'see the message above; retry once the cause is fixed (the apply is idempotent)' };
  }
  const e = err as { message?: string; code?: string; cause?: { code?: string } };
  const code = e.code ?? e.cause?.code;
  return {
    message: `${object}: cannot reach the Kubernetes API server at ${server}: ${code ? `${code}: ` : ''}${e.message ?? String(err)}`,
    hint: 'check that the cluster is running (`kubectl cluster-info`) and that the kubeconfig context points at it; the apply is idempotent, run it again',
  };
}

export async function applyObjects(kubeConfig: KubeConfig, objects: readonly ApplyObject[], opts: ApplyOptions = {}): Promise<ApplyResult> {
  const api = KubernetesObjectApi.makeApiClient(kubeConfig);
  const fieldManager = opts.fieldManager ?? 'weft';
  const server = kubeConfig.getCurrentCluster()?.server ?? '(no server)';
  const applied: ApplyProgress[] = [];
  for (const [index, object] of objects.entries()) {
    const name = describeObject(object);
    const spec = object as unknown as KubernetesObject;
    try {
      let existing: KubernetesObject | undefined;
      try {
        existing = await api.read({ apiVersion: object.apiVersion, kind: object.kind, metadata: { name: object.metadata.name, namespace: object.metadata.namespace } });
      } catch (e) {
        // 404: not there yet. An unknown kind also answers 404 here; the create below then says so.
        if (!(e instanceof ApiException && e.code === 404)) throw e;
      }
      let action: ApplyAction;
      if (!existing) {
        await api.create(spec, undefined, undefined, fieldManager);
        action = 'created';
      } else {
        const after = await api.patch(spec, undefined, undefined, fieldManager, undefined, PatchStrategy.MergePatch);
        action = after.metadata?.resourceVersion === existing.metadata?.resourceVersion ? 'unchanged' : 'configured';
      }
      const p = { index, total: objects.length, object: name, action };
      applied.push(p);
      opts.onProgress?.(p);
    } catch (e) {
      return { ok: false, applied, error: { object: name, ...describeApplyFailure(e, name, server) } };
    }
  }
  return { ok: true, applied };
}
