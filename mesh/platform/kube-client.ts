// Loads a Kubernetes client (@kubernetes/client-node) from a kubeconfig, or explains why it cannot:
// every failure a user can meet here (no kubeconfig, a file that is not valid kubeconfig YAML, a
// context that does not exist, an API server that does not answer or refuses the credentials)
// comes back as a value with a message and the next step, never as a thrown stack trace.
// The decisions (which file, which context, what the error says) are pure functions; the loader
// around them reads files and makes one GET /version to prove the API server is there.
import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { delimiter, join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import {
  ApiException,
  AppsV1Api,
  AuthenticationV1Api,
  CoreV1Api,
  CustomObjectsApi,
  DiscoveryV1Api,
  KubeConfig,
  VersionApi,
} from '@kubernetes/client-node';

export type KubeClientErrorKind = 'no-kubeconfig' | 'bad-kubeconfig' | 'context-not-found' | 'unreachable' | 'unauthorized';

export interface KubeClientError {
  kind: KubeClientErrorKind;
  /** What went wrong, in one sentence. */
  message: string;
  /** The next step for the user. */
  hint: string;
}

export interface KubeClient {
  kubeConfig: KubeConfig;
  /** The kubeconfig file(s) read. */
  paths: string[];
  context: string;
  server: string;
  /** The context's default namespace ('default' when it names none). */
  namespace: string;
  /** gitVersion from /version, when the reachability check ran. */
  serverVersion?: string;
  core: CoreV1Api;
  apps: AppsV1Api;
  discovery: DiscoveryV1Api;
  custom: CustomObjectsApi;
  authn: AuthenticationV1Api;
}

export type LoadKubeClientResult = { ok: true; client: KubeClient } | { ok: false; error: KubeClientError };

export interface LoadKubeClientOptions {
  /** A kubeconfig file; default: $KUBECONFIG (path list), then ~/.kube/config. */
  kubeconfigPath?: string;
  /** A context name; default: the kubeconfig's current-context. */
  context?: string;
  /** Ask GET /version before returning (default true). */
  checkReachable?: boolean;
  /** How long the reachability check may take (default 5000 ms). */
  timeoutMs?: number;
  /** For tests: the environment and home directory to resolve defaults from. */
  env?: Record<string, string | undefined>;
  homeDir?: string;
}

/** Which kubeconfig files to read, in kubectl's order: an explicit path, else $KUBECONFIG, else ~/.kube/config. */
export function resolveKubeconfigPaths(explicit: string | undefined, env: Record<string, string | undefined>, home: string): { paths: string[]; source: string } {
  if (explicit) return { paths: [explicit], source: explicit };
  const fromEnv = (env.KUBECONFIG ?? '').split(delimiter).filter((p) => p !== '');
  if (fromEnv.length > 0) return { paths: fromEnv, source: `$KUBECONFIG (${env.KUBECONFIG})` };
  const def = join(home, '.kube', 'config');
  return { paths: [def], source: def };
}

/** Checks that a file's text is kubeconfig YAML; returns an error value or undefined. */
export function checkKubeconfigText(text: string, path: string): KubeClientError | undefined {
  const fix = `fix or regenerate ${path} (for kind: \`kind export kubeconfig --name <cluster>\`), or pass another file with --kubeconfig`;
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch (e) {
    const first = (e as Error).message.split('\n')[0].replace(/:\s*$/, '');
    return { kind: 'bad-kubeconfig', message: `${path} is not valid YAML: ${first}`, hint: fix };
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) {
    return { kind: 'bad-kubeconfig', message: `${path} is not a kubeconfig (expected a mapping with clusters, users and contexts)`, hint: fix };
  }
  const d = doc as Record<string, unknown>;
  for (const list of ['clusters', 'contexts'] as const) {
    if (d[list] !== undefined && d[list] !== null && !Array.isArray(d[list])) {
      return { kind: 'bad-kubeconfig', message: `${path}: "${list}" must be a list`, hint: fix };
    }
  }
  return undefined;
}

/** Chooses the context: the one asked for, else current-context; an error value when there is none. */
export function selectContext(kc: Pick<KubeConfig, 'getContexts' | 'getCurrentContext'>, wanted: string | undefined, source: string): { context: string } | { error: KubeClientError } {
  const names = kc.getContexts().map((c) => c.name);
  const available = names.length > 0 ? `available: ${names.join(', ')}` : 'the file defines no contexts';
  if (wanted !== undefined) {
    if (names.includes(wanted)) return { context: wanted };
    return { error: { kind: 'context-not-found', message: `context "${wanted}" not found in ${source} (${available})`, hint: `pass one of the listed contexts with --context, or list them with \`kubectl config get-contexts\`` } };
  }
  const current = kc.getCurrentContext();
  if (current && names.includes(current)) return { context: current };
  if (names.length === 0) {
    return { error: { kind: 'bad-kubeconfig', message: `${source} defines no contexts`, hint: 'create a cluster (`weft` dev cluster or `kind create cluster`) or point --kubeconfig at a kubeconfig that has one' } };
  }
  return {
    error: {
      kind: 'context-not-found',
      message: current ? `current-context "${current}" not found in ${source} (${available})` : `${source} sets no current-context (${available})`,
      hint: 'choose one with `kubectl config use-context NAME` or pass --context NAME',
    },
  };
}

/** Turns a failed GET /version into an error value. */
export function describeProbeFailure(err: unknown, server: string, context: string): KubeClientError {
  if (err instanceof ApiException && (err.code === 401 || err.code === 403)) {
    return {
      kind: 'unauthorized',
      message: `the API server at ${server} refused the credentials of context "${context}" (HTTP ${err.code})`,
      hint: 'refresh the credentials in the kubeconfig (log in again, or re-export it from your cluster tool)',
    };
  }
  const e = err as { message?: string; code?: string; cause?: { code?: string; message?: string } };
  const code = e.code ?? e.cause?.code;
  const detail = code ? `${code}${e.message ? `: ${e.message}` : ''}` : (e.message ?? String(err));
  const tls = /CERT|SELF_SIGNED|UNABLE_TO_(GET|VERIFY)|ERR_TLS|HOSTNAME|ALTNAME/.test(code ?? '');
  return {
    kind: 'unreachable',
    message: `cannot reach the Kubernetes API server at ${server} (context "${context}"): ${detail}`,
    hint: tls
      ? "the server's TLS certificate does not match the kubeconfig: re-export the kubeconfig from the cluster (its certificate-authority-data is stale) or check tls-server-name"
      : 'check that the cluster is running (`kind get clusters`, `kubectl cluster-info`) and that this context points at it',
  };
}

export async function loadKubeClient(opts: LoadKubeClientOptions = {}): Promise<LoadKubeClientResult> {
  const env = opts.env ?? process.env;
  const { paths, source } = resolveKubeconfigPaths(opts.kubeconfigPath, env, opts.homeDir ?? homedir());
  const existing = paths.filter((p) => existsSync(p));
  if (existing.length === 0) {
    return {
      ok: false,
      error: {
        kind: 'no-kubeconfig',
        message: `no kubeconfig found at ${source}`,
        hint: 'start a cluster (e.g. `kind create cluster`, which writes ~/.kube/config), set KUBECONFIG, or pass --kubeconfig FILE; `weft local up` needs no cluster',
      },
    };
  }
  const kc = new KubeConfig();
  for (const path of existing) {
    let text: string;
    try {
      text = readFileSync(path, 'utf8');
    } catch (e) {
      return { ok: false, error: { kind: 'no-kubeconfig', message: `cannot read ${path}: ${(e as Error).message}`, hint: 'check the file permissions, or pass another file with --kubeconfig' } };
    }
    const bad = checkKubeconfigText(text, path);
    if (bad) return { ok: false, error: bad };
    try {
      if (path === existing[0]) kc.loadFromString(text);
      else {
        const more = new KubeConfig();
        more.loadFromString(text);
        kc.mergeConfig(more, true);
      }
    } catch (e) {
      return { ok: false, error: { kind: 'bad-kubeconfig', message: `${path} is not a valid kubeconfig: ${(e as Error).message}`, hint: `fix or regenerate ${path}, or pass another file with --kubeconfig` } };
    }
  }
  const chosen = selectContext(kc, opts.context, source);
  if ('error' in chosen) return { ok: false, error: chosen.error };
  kc.setCurrentContext(chosen.context);
  const ctx = kc.getContextObject(chosen.context);
  const cluster = kc.getCurrentCluster();
  if (!cluster) {
    return { ok: false, error: { kind: 'bad-kubeconfig', message: `context "${chosen.context}" names cluster "${ctx?.cluster ?? ''}", which ${source} does not define`, hint: 'fix the context entry (`kubectl config set-context`) or choose another with --context' } };
  }
  const client: KubeClient = {
    kubeConfig: kc,
    paths: existing,
    context: chosen.context,
    server: cluster.server,
    namespace: ctx?.namespace ?? 'default',
    core: kc.makeApiClient(CoreV1Api),
    apps: kc.makeApiClient(AppsV1Api),
    discovery: kc.makeApiClient(DiscoveryV1Api),
    custom: kc.makeApiClient(CustomObjectsApi),
    authn: kc.makeApiClient(AuthenticationV1Api),
  };
  if (opts.checkReachable === false) return { ok: true, client };
  const timeoutMs = opts.timeoutMs ?? 5000;
  let timer: NodeJS.Timeout | undefined;
  try {
    const version = await Promise.race([
      kc.makeApiClient(VersionApi).getCode(),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(Object.assign(new Error(`no answer within ${timeoutMs} ms`), { code: 'ETIMEDOUT' })), timeoutMs);
      }),
    ]);
    client.serverVersion = version.gitVersion;
  } catch (e) {
    return { ok: false, error: describeProbeFailure(e, cluster.server, chosen.context) };
  } finally {
    clearTimeout(timer);
  }
  return { ok: true, client };
}

/** One line for a terminal: the message, then the next step. */
export function formatKubeClientError(e: KubeClientError): string {
  return `${e.message}\n  next step: ${e.hint}`;
}
