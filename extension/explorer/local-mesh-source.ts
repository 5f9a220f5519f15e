/**
 * The local mesh as the explorer sees it: `.weft/local/state.json` under the workspace folder (or
 * $WEFT_STATE_DIR), with each recorded process checked for life. A state whose supervisor is gone
 * is not a running mesh. No `vscode` here.
 */
import { readState, stateDir, type LocalState } from '../../dev-cluster/local/local-state';
import type { LocalInput } from './explorer-model';

export function isAlive(pid: number): boolean {
  if (!(pid > 0)) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Pure: the explorer's view of a state file, given which PIDs live. */
export function localInputOf(s: LocalState, alive: (pid: number) => boolean): LocalInput | undefined {
  if (!alive(s.supervisorPid)) return undefined;
  const out: LocalInput = {
    status: s.status,
    startedAt: s.startedAt,
    topologyFile: s.topologyFile,
    workloads: s.workloads.map((w) => ({
      name: w.name,
      workload: w.workload,
      namespace: w.namespace,
      identity: w.identity,
      appAlive: alive(w.app.pid),
      proxyAlive: alive(w.proxy.pid),
      proxyAdmin: w.proxy.admin,
    })),
  };
  if (s.metricsApi) out.metricsApi = s.metricsApi;
  return out;
}

/** Reads the local mesh of a workspace folder; undefined when none runs. */
export async function readLocalMesh(folder: string | undefined, env: NodeJS.ProcessEnv = process.env): Promise<LocalInput | undefined> {
  if (folder === undefined && !env.WEFT_STATE_DIR) return undefined;
  const state = await readState(stateDir(env, folder ?? process.cwd()));
  return state ? localInputOf(state, isAlive) : undefined;
}
