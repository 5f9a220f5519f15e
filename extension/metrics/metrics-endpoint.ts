/**
 * Where the metrics API answers for the current connection — used by the metrics views, the
 * CodeLens and the explorer (per-workload success rate and RPS).
 *
 * `MetricsEndpoints.resolve()` tries, in order (or cluster first when `prefer()` says so):
 * 1. `$WEFT_METRICS_API` (an explicit URL, as for `weft stat`);
 * 2. local mode: a running `weft local up` / `weft demo`, found by its state file
 *    (`$WEFT_STATE_DIR`, else `<workspace folder>/.weft/local/state.json`) whose supervisor is alive;
 * 3. a cluster: a port-forward made with client-node from a free loopback port to a pod behind the
 *    `weft` namespace's metrics API service (CONTROL_PLANE_PORTS.metricsApi). The local listener
 *    stays; each connection opens its own forward, and a pod that went away is looked up again on
 *    the next connection (the forward is re-made when it breaks).
 * The answer is cached until `reset()` (a view calls it when the API stops answering, or the
 * connection changed). Failures are values with a reason and the next step, never exceptions.
 * No `vscode` import: the adapter passes the workspace folders in.
 */
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import type { V1Pod, V1Service } from '@kubernetes/client-node';
import { METRICS_API_PATHS, METRICS_API_URL_ENV } from '../../mesh/config/metrics-api';
import { CONTROL_PLANE_NAMESPACE } from '../../mesh/config/names';
import { CONTROL_PLANE_PORTS } from '../../mesh/config/ports';
import { DEFAULT_STATE_DIR, readState, STATE_DIR_ENV, type LocalState } from '../../dev-cluster/local/local-state';

export type MetricsEndpointMode = 'env' | 'local' | 'cluster';

export interface MetricsEndpoint {
  /** Base URL of the metrics API (`http://127.0.0.1:PORT`). */
  url: string;
  mode: MetricsEndpointMode;
  /** For people: "local mode (…/.weft/local)", "cluster kind-weft via port-forward to weft/metrics-api-0". */
  label: string;
  /** Local mode: the state directory. */
  stateDir?: string;
  /** Local mode: the topology file of the run (its services' weighted backends). */
  topologyFile?: string;
}

export type MetricsEndpointResult = { ok: true; endpoint: MetricsEndpoint } | { ok: false; reason: string; hint: string };

export interface MetricsEndpointOptions {
  /** Workspace folder paths (local mode looks for `.weft/local/state.json` under each). */
  workspaceFolders: () => readonly string[];
  env?: Readonly<Record<string, string | undefined>>;
  /** 'cluster' tries the cluster before local mode (the explorer's current connection). */
  prefer?: () => 'local' | 'cluster' | undefined;
  /** Kubeconfig context to use (default: the kubeconfig's current context). */
  context?: () => string | undefined;
  /** How long the health check of a found API may take. */
  healthTimeoutMs?: number;
}

/** The state directories to look at, in order: $WEFT_STATE_DIR, then each folder's `.weft/local`. Pure. */
export function localStateDirs(folders: readonly string[], env: Readonly<Record<string, string | undefined>>): string[] {
  const dirs: string[] = [];
  const given = env[STATE_DIR_ENV];
  if (given) dirs.push(given.startsWith('/') || folders.length === 0 ? given : join(folders[0]!, given));
  for (const f of folders) dirs.push(join(f, DEFAULT_STATE_DIR));
  return [...new Set(dirs)];
}

/** A state whose supervisor runs and which records its metrics API. Pure apart from `alive`. */
export function usableLocalState(s: LocalState | undefined, alive: (pid: number) => boolean): s is LocalState & { metricsApi: string } {
  return s !== undefined && s.status === 'running' && typeof s.metricsApi === 'string' && alive(s.supervisorPid);
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * The pod to forward to: one behind a service of the control-plane namespace that exposes the
 * metrics API port (Running, Ready first), else any Running pod declaring that container port.
 * Pure.
 */
export function chooseMetricsApiPod(services: readonly V1Service[], pods: readonly V1Pod[], port: number = CONTROL_PLANE_PORTS.metricsApi): { pod: string; targetPort: number } | { error: string } {
  const running = pods.filter((p) => p.status?.phase === 'Running' && !p.metadata?.deletionTimestamp && p.metadata?.name);
  const ready = (p: V1Pod): boolean => p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;
  const best = (list: V1Pod[]): V1Pod | undefined => list.find(ready) ?? list[0];
  for (const svc of services) {
    const sp = svc.spec?.ports?.find((p) => p.port === port || p.targetPort === port);
    const selector = svc.spec?.selector;
    if (!sp || !selector || Object.keys(selector).length === 0) continue;
    const members = running.filter((p) => Object.entries(selector).every(([k, v]) => p.metadata?.labels?.[k] === v));
    const pod = best(members);
    if (!pod) continue;
    const target = typeof sp.targetPort === 'number' ? sp.targetPort : sp.port;
    return { pod: pod.metadata!.name!, targetPort: target };
  }
  const declaring = running.filter((p) => p.spec?.containers.some((c) => c.ports?.some((cp) => cp.containerPort === port)));
  const pod = best(declaring);
  if (pod) return { pod: pod.metadata!.name!, targetPort: port };
  return { error: `no running metrics API pod in namespace "${CONTROL_PLANE_NAMESPACE}" (no service or pod exposes port ${port})` };
}

async function healthy(url: string, timeoutMs: number): Promise<boolean> {
  try {
    const res = await fetch(new URL(METRICS_API_PATHS.health, url), { signal: AbortSignal.timeout(timeoutMs) });
    await res.body?.cancel();
    return res.ok;
  } catch {
    return false;
  }
}

/** A loopback listener whose every connection is port-forwarded (client-node) to the metrics API pod. */
class ClusterForward {
  private pod: string | undefined;
  private targetPort: number = CONTROL_PLANE_PORTS.metricsApi;
  private readonly sockets = new Set<Socket>();

  private constructor(
    private readonly server: Server,
    private readonly find: () => Promise<{ pod: string; targetPort: number } | { error: string }>,
    private readonly forward: (pod: string, port: number, socket: Socket) => Promise<{ close(): void; on(ev: 'close', f: () => void): void }>,
  ) {}

  static async start(
    find: () => Promise<{ pod: string; targetPort: number } | { error: string }>,
    forward: (pod: string, port: number, socket: Socket) => Promise<{ close(): void; on(ev: 'close', f: () => void): void }>,
  ): Promise<ClusterForward> {
    const server = createServer();
    const fwd = new ClusterForward(server, find, forward);
    server.on('connection', (s) => void fwd.accept(s));
    await new Promise<void>((ok, fail) => {
      server.once('error', fail);
      server.listen(0, '127.0.0.1', () => ok());
    });
    return fwd;
  }

  get port(): number {
    return (this.server.address() as AddressInfo).port;
  }

  get podName(): string | undefined {
    return this.pod;
  }

  /** Looks the pod up (again, after a break). */
  async locate(): Promise<string | undefined> {
    const found = await this.find();
    if ('error' in found) {
      this.pod = undefined;
      return found.error;
    }
    this.pod = found.pod;
    this.targetPort = found.targetPort;
    return undefined;
  }

  private async accept(socket: Socket): Promise<void> {
    this.sockets.add(socket);
    socket.once('close', () => this.sockets.delete(socket));
    socket.on('error', () => socket.destroy());
    try {
      if (!this.pod && (await this.locate())) return void socket.destroy();
      const ws = await this.forward(this.pod!, this.targetPort, socket);
      ws.on('close', () => socket.end());
      socket.once('close', () => ws.close());
    } catch {
      this.pod = undefined; // the pod went away or the API server refused: look it up next time
      socket.destroy();
    }
  }

  close(): void {
    for (const s of this.sockets) s.destroy();
    this.server.close();
  }
}

export class MetricsEndpoints {
  private cached: MetricsEndpoint | undefined;
  private inflight: Promise<MetricsEndpointResult> | undefined;
  private forward: ClusterForward | undefined;
  private forwardContext: string | undefined;

  constructor(private readonly o: MetricsEndpointOptions) {}

  /** The metrics API of the current connection, or why there is none and what to do. */
  resolve(): Promise<MetricsEndpointResult> {
    if (this.cached) return Promise.resolve({ ok: true, endpoint: this.cached });
    this.inflight ??= this.find().finally(() => (this.inflight = undefined));
    return this.inflight;
  }

  /** The cluster's metrics API only (through the port-forward), for a given kubeconfig context. */
  cluster(context?: string): Promise<MetricsEndpointResult> {
    return this.findCluster(this.o.healthTimeoutMs ?? 3_000, context);
  }

  /** Forgets the endpoint found (the API stopped answering, or the connection changed). */
  reset(): void {
    this.cached = undefined;
  }

  dispose(): void {
    this.cached = undefined;
    this.forward?.close();
    this.forward = undefined;
  }

  private async find(): Promise<MetricsEndpointResult> {
    const env = this.o.env ?? process.env;
    const timeout = this.o.healthTimeoutMs ?? 3_000;
    const explicit = env[METRICS_API_URL_ENV];
    if (explicit) {
      if (await healthy(explicit, timeout)) return this.found({ url: explicit, mode: 'env', label: `$${METRICS_API_URL_ENV} (${explicit})` });
      return { ok: false, reason: `the metrics API at $${METRICS_API_URL_ENV}=${explicit} does not answer`, hint: `start it, or unset ${METRICS_API_URL_ENV}` };
    }
    const order = this.o.prefer?.() === 'cluster' ? (['cluster', 'local'] as const) : (['local', 'cluster'] as const);
    const reasons: { reason: string; hint: string }[] = [];
    for (const mode of order) {
      const r = mode === 'local' ? await this.findLocal(env, timeout) : await this.findCluster(timeout);
      if (r.ok) return this.found(r.endpoint);
      reasons.push(r);
    }
    return { ok: false, reason: reasons.map((r) => r.reason).join('; '), hint: 'start the local demo (Mesh: Start Local Demo) or a dev cluster with the mesh installed' };
  }

  private found(endpoint: MetricsEndpoint): MetricsEndpointResult {
    this.cached = endpoint;
    return { ok: true, endpoint };
  }

  private async findLocal(env: Readonly<Record<string, string | undefined>>, timeout: number): Promise<MetricsEndpointResult> {
    for (const dir of localStateDirs(this.o.workspaceFolders(), env)) {
      const state = await readState(dir);
      if (!usableLocalState(state, isAlive)) continue;
      if (await healthy(state.metricsApi, timeout)) return { ok: true, endpoint: { url: state.metricsApi, mode: 'local', label: `local mode (${dir})`, stateDir: dir, topologyFile: state.topologyFile } };
    }
    return { ok: false, reason: 'no local mesh is running', hint: 'run Mesh: Start Local Demo' };
  }

  private async findCluster(timeout: number, context = this.o.context?.()): Promise<MetricsEndpointResult> {
    if (this.forward && this.forwardContext !== context) {
      this.forward.close();
      this.forward = undefined;
    }
    if (!this.forward) {
      const { loadKubeClient } = await import('../../mesh/platform/kube-client');
      const loaded = await loadKubeClient({ context, checkReachable: false, env: this.o.env ?? process.env });
      if (!loaded.ok) return { ok: false, reason: loaded.error.message, hint: loaded.error.hint };
      const client = loaded.client;
      const { PortForward } = await import('@kubernetes/client-node');
      const pf = new PortForward(client.kubeConfig);
      const find = async (): Promise<{ pod: string; targetPort: number } | { error: string }> => {
        try {
          const [svcs, pods] = await Promise.all([client.core.listNamespacedService({ namespace: CONTROL_PLANE_NAMESPACE }), client.core.listNamespacedPod({ namespace: CONTROL_PLANE_NAMESPACE })]);
          return chooseMetricsApiPod(svcs.items, pods.items);
        } catch (e) {
          return { error: `cannot list the pods of namespace "${CONTROL_PLANE_NAMESPACE}" on ${client.server}: ${(e as Error).message.split('\n')[0]}` };
        }
      };
      const forward = async (pod: string, port: number, socket: Socket) => {
        // The error channel: its first message is only the port number (stripped: empty); anything else ends the connection.
        const errors = new Writable({ write: (chunk: Buffer, _enc, done) => (chunk.length > 0 && socket.destroy(), done()) });
        const ws = await pf.portForward(CONTROL_PLANE_NAMESPACE, pod, [port], socket, errors, socket);
        if (typeof ws === 'function') throw new Error('unexpected restartable port-forward');
        return ws;
      };
      this.forward = await ClusterForward.start(find, forward);
      this.forwardContext = context;
      const problem = await this.forward.locate();
      if (problem) {
        this.forward.close();
        this.forward = undefined;
        return { ok: false, reason: problem, hint: 'install the mesh (Mesh: Install Mesh) and wait for its pods' };
      }
      const url = `http://127.0.0.1:${this.forward.port}`;
      if (!(await healthy(url, timeout))) {
        this.forward.close();
        this.forward = undefined;
        return { ok: false, reason: `the metrics API pod does not answer through a port-forward (context "${client.context}")`, hint: 'check the pod (`kubectl -n weft get pods`) and Mesh: Check Mesh' };
      }
      return { ok: true, endpoint: { url, mode: 'cluster', label: `cluster ${client.context} via port-forward to ${CONTROL_PLANE_NAMESPACE}/${this.forward.podName ?? '?'}` } };
    }
    const url = `http://127.0.0.1:${this.forward.port}`;
    if (await healthy(url, timeout)) return { ok: true, endpoint: { url, mode: 'cluster', label: `cluster via port-forward to ${CONTROL_PLANE_NAMESPACE}/${this.forward.podName ?? '?'}` } };
    this.forward.close();
    this.forward = undefined;
    return { ok: false, reason: 'the port-forward to the metrics API broke and the pod does not answer', hint: 'check the pods of namespace weft (Mesh: Check Mesh)' };
  }
}
