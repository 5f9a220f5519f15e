/**
 * The Kubernetes connection of the control-plane commands' `--kube` mode: `--kubeconfig FILE` when
 * given, the in-cluster ServiceAccount (KUBERNETES_SERVICE_HOST) inside a pod, else kubectl's
 * default ($KUBECONFIG, ~/.kube/config). No reachability check: the services start and their
 * informers retry until the API server answers.
 */
import { KubeConfig } from '@kubernetes/client-node';
import { formatKubeClientError, loadKubeClient } from '../platform/kube-client';

export type KubeConfigResult = { ok: true; kubeConfig: KubeConfig; where: string } | { ok: false; message: string };

export async function controlPlaneKubeConfig(kubeconfigPath: string | undefined, env: Record<string, string | undefined> = process.env): Promise<KubeConfigResult> {
  if (!kubeconfigPath && env.KUBERNETES_SERVICE_HOST) {
    const kc = new KubeConfig();
    try {
      kc.loadFromCluster();
    } catch (e) {
      return { ok: false, message: `cannot load the in-cluster configuration: ${(e as Error).message}\n  next step: check the pod's ServiceAccount token mount, or pass --kubeconfig FILE` };
    }
    return { ok: true, kubeConfig: kc, where: `in-cluster (${kc.getCurrentCluster()?.server ?? '?'})` };
  }
  const r = await loadKubeClient({ kubeconfigPath, checkReachable: false, env });
  if (!r.ok) return { ok: false, message: formatKubeClientError(r.error) };
  return { ok: true, kubeConfig: r.client.kubeConfig, where: `${r.client.paths.join(', ')} context ${r.client.context} (${r.client.server})` };
}

/** `namespace/name` → parts; undefined when malformed. */
export function parseObjectRef(v: string): { namespace: string; name: string } | undefined {
  const m = /^([a-z0-9][-a-z0-9]*)\/([a-z0-9][-a-z0-9.]*)$/.exec(v);
  return m ? { namespace: m[1]!, name: m[2]! } : undefined;
}

/** What a `--kube` command watches: informers that start, report when synced, and stop. */
export interface KubeWatcher {
  start(): void;
  stop(): Promise<void>;
  synced: Promise<unknown>;
}

export interface KubeServiceRun<W extends KubeWatcher, S extends { port: number; close(): Promise<void> }> {
  kubeconfig: string | undefined;
  listen: { host: string; port: number };
  say: (msg: string) => void;
  /** What the log line says is watched: "Kubernetes", "Kubernetes pods". */
  watching: string;
  watcher: (kubeConfig: KubeConfig) => Promise<W>;
  serve: (watcher: W) => Promise<S>;
  /** The line said once serving (counts of what the watcher holds), before "; listening on …". */
  synced: (watcher: W) => string;
}

/**
 * The life of a control-plane service in `--kube` mode: connect, start the watcher, serve only once
 * it is synced (no answers from half a picture), and stop cleanly on SIGINT/SIGTERM, at any point.
 * A taken port is a clear error. Answers the exit code.
 */
export async function runKubeService<W extends KubeWatcher, S extends { port: number; close(): Promise<void> }>(o: KubeServiceRun<W, S>): Promise<number> {
  const conn = await controlPlaneKubeConfig(o.kubeconfig);
  if (!conn.ok) {
    o.say(conn.message);
    return 1;
  }
  const watcher = await o.watcher(conn.kubeConfig);
  let stopping = false;
  const stopped = new Promise<void>((resolve) => {
    const stop = (): void => {
      stopping = true;
      resolve();
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  o.say(`watching ${o.watching} through ${conn.where}`);
  watcher.start();
  await Promise.race([watcher.synced.catch(() => undefined), stopped]);
  if (stopping) {
    await watcher.stop();
    return 0;
  }
  let server: S;
  try {
    server = await o.serve(watcher);
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    o.say(err.code === 'EADDRINUSE' ? `${o.listen.host}:${o.listen.port} is already in use; pick another with --listen HOST:PORT` : err.message);
    await watcher.stop();
    return 1;
  }
  o.say(`synced: ${o.synced(watcher)}; listening on ${o.listen.host}:${server.port}`);
  await stopped;
  await server.close();
  await watcher.stop();
  return 0;
}
