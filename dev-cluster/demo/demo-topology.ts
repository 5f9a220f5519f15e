/**
 * The demo's topology for the local runner: `web` (HTTP/1.1 front end) calls `api` (fails ~5 % of
 * requests) for every page; `traffic` calls `web` steadily. Every workload is meshed: its own proxy,
 * its own identity `<sa>.demo.serviceaccount.identity.weft.cluster.local`. Each app runs as
 * `weft demo --app <name>` from the same entry the user started.
 */
import type { LocalTopology } from '../local/local-mesh';

export const DEMO_NAMESPACE = 'demo';
export const DEMO_SERVICES = { web: `web.${DEMO_NAMESPACE}:80`, api: `api.${DEMO_NAMESPACE}:80` } as const;

export interface DemoTopologyOptions {
  /** The script that runs `weft` (bin/weft.js or dist/weft.js). */
  weftEntry: string;
  nodePath: string;
  /** Port of web's inbound listener, the URL the user opens (0: any free port). */
  webPort: number;
  rps: number;
  failureRate: number;
}

export function demoTopology(o: DemoTopologyOptions): LocalTopology {
  const app = (name: string): { command: string; args: string[] } => ({ command: o.nodePath, args: [o.weftEntry, 'demo', '--app', name] });
  return {
    namespace: DEMO_NAMESPACE,
    workloads: [
      { name: 'api', serviceAccount: 'api', ...app('api'), env: { FAILURE_RATE: String(o.failureRate) }, serves: DEMO_SERVICES.api, upstreams: [] },
      { name: 'web', serviceAccount: 'web', ...app('web'), serves: DEMO_SERVICES.web, inboundPort: o.webPort, upstreams: [DEMO_SERVICES.api] },
      { name: 'traffic', serviceAccount: 'traffic', ...app('traffic'), env: { RPS: String(o.rps) }, upstreams: [DEMO_SERVICES.web] },
    ],
  };
}
