/**
 * `weft destination -f TOPOLOGY [--listen HOST:PORT]`: the destination service (h2c) for a local
 * topology file whose serving workloads have fixed `inboundPort`s, re-read when the file changes.
 * `weft destination --kube [--kubeconfig FILE]`: the same service fed by Kubernetes informers
 * (mesh/platform/kube-destination-source.ts).
 * Proxies watch it with WEFT_PROXY_DESTINATION_ADDR (docs/destination.md). A thin shell over
 * mesh/control/destination/.
 */
import { readFile } from 'node:fs/promises';
import { unwatchFile, watchFile } from 'node:fs';
import { CLI_NAME } from '../config/names';
import { CONTROL_PLANE_PORTS } from '../config/ports';
import { parseAddr } from '../proxy/discovery/discovery';
import type { LocalTopology, ServedEndpoint } from '../../dev-cluster/local/local-mesh';

export const DESTINATION_USAGE = `usage: ${CLI_NAME} destination -f TOPOLOGY [--local-model] [--listen HOST:PORT]
       ${CLI_NAME} destination --kube [--kubeconfig FILE] [--listen HOST:PORT] [--cluster-domain cluster.local] [--trust-domain cluster.local]

  Serves the destinations of a local topology file (docs/local-mode.md) to proxies over HTTP/2
  (h2c): GET /v1/watch?authority=host:port. Workloads need a fixed inboundPort to be served.
  --listen   default 127.0.0.1:${CONTROL_PLANE_PORTS.destination}
  --local-model  the file is the model \`weft local up\` writes (resolved inbound ports), not a topology
  --kube     serve the cluster instead: Services, EndpointSlices, Pods, Namespaces and HTTPRoutes
             through informers (in-cluster configuration, or --kubeconfig FILE); listens once
             every informer has synced; --listen defaults to 0.0.0.0:${CONTROL_PLANE_PORTS.destination} then
`;

export interface DestinationArgs {
  file: string;
  listen: { host: string; port: number };
  /** -f names the local runner's model file (local-topology-source.ts), not a topology file. */
  localModel?: true;
  /** Kubernetes mode (--kube): no file. */
  kube?: { kubeconfig?: string; clusterDomain?: string; trustDomain?: string };
}

/** Parses the arguments; a string is a usage error. */
export function parseDestinationArgs(args: string[]): DestinationArgs | string {
  let file: string | undefined;
  let listen: string | undefined;
  let localModel = false;
  let kube = false;
  const k: NonNullable<DestinationArgs['kube']> = {};
  const kubeFlags: Record<string, keyof typeof k> = { '--kubeconfig': 'kubeconfig', '--cluster-domain': 'clusterDomain', '--trust-domain': 'trustDomain' };
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    const eq = /^(--[a-z-]+)=(.*)$/.exec(a);
    const flag = eq ? eq[1]! : a;
    if (flag === '-f' || flag === '--file' || flag === '--listen' || flag in kubeFlags) {
      const v = eq ? eq[2] : args[++i];
      if (v === undefined) return `missing value for ${a}`;
      if (flag === '--listen') listen = v;
      else if (flag in kubeFlags) k[kubeFlags[flag]!] = v;
      else file = v;
    } else if (a === '--local-model') localModel = true;
    else if (a === '--kube') kube = true;
    else return `unknown argument '${a}'`;
  }
  if (kube && (file || localModel)) return '-f/--local-model and --kube exclude each other (a file or the cluster)';
  const kubeOnly = Object.keys(kubeFlags).filter((f) => k[kubeFlags[f]!] !== undefined);
  if (!kube && kubeOnly.length > 0) return `${kubeOnly.join(', ')} need --kube`;
  if (!kube && !file) return 'no topology file given (-f FILE), and no --kube';
  listen ??= `${kube ? '0.0.0.0' : '127.0.0.1'}:${CONTROL_PLANE_PORTS.destination}`;
  const addr = parseAddr(listen, { allowPortZero: true });
  if (!addr) return `--listen: expected host:port, got "${listen}"`;
  if (kube) return { file: '', listen: addr, kube: k };
  return { file: file!, listen: addr, ...(localModel ? { localModel: true as const } : {}) };
}

async function loadTopology(file: string, localModel?: boolean): Promise<LocalTopology | { topology: LocalTopology; served: ServedEndpoint[] } | string> {
  const { parseTopology, formatTopologyError, toLocalTopology } = await import('../../dev-cluster/local/topology-file');
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    return `${file}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'not found' : (e as Error).message}`;
  }
  if (localModel) {
    const m = (await import('../control/destination/local-topology-source')).parseLocalModelFile(text);
    return typeof m === 'string' ? `${file}: ${m}` : m;
  }
  const r = parseTopology(text, file);
  return r.ok ? toLocalTopology(r.topology) : r.errors.map(formatTopologyError).join('\n');
}

export async function run(args: string[]): Promise<number> {
  if (args.includes('--help') || args.includes('-h')) {
    process.stdout.write(DESTINATION_USAGE);
    return 0;
  }
  const parsed = parseDestinationArgs(args);
  if (typeof parsed === 'string') {
    process.stderr.write(`${CLI_NAME} destination: ${parsed}\n\n${DESTINATION_USAGE}`);
    return 2;
  }
  if (parsed.kube) return runKube(parsed.listen, parsed.kube);
  const { LocalTopologySource, servedFromTopology } = await import('../control/destination/local-topology-source');
  const { startDestinationServer } = await import('../control/destination/destination-server');
  const loaded = await loadTopology(parsed.file, parsed.localModel);
  if (typeof loaded === 'string') {
    process.stderr.write(`${CLI_NAME} destination: ${loaded}\n`);
    return 1;
  }
  const say = (msg: string): void => void process.stderr.write(`${CLI_NAME} destination: ${msg}\n`);
  const resolved = (t: LocalTopology | { topology: LocalTopology; served: ServedEndpoint[] }): { topology: LocalTopology; served: ServedEndpoint[]; skipped: string[] } =>
    'topology' in t ? { ...t, skipped: [] } : { topology: t, ...servedFromTopology(t) };
  const initial = resolved(loaded);
  if (initial.skipped.length > 0) say(`no fixed inboundPort, not served: ${initial.skipped.join(', ')}`);
  const source = new LocalTopologySource(initial.topology, initial.served);
  const server = await startDestinationServer({ ...parsed.listen, source, log: (_l, m) => say(m) });
  watchFile(parsed.file, { interval: 500 }, () => {
    void loadTopology(parsed.file, parsed.localModel).then((t) => {
      if (typeof t === 'string') return say(`${t}\nkeeping the previous topology`);
      const next = resolved(t);
      source.setTopology(next.topology);
      source.setServed(next.served);
      say(`${parsed.file} reloaded`);
    });
  });
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  unwatchFile(parsed.file);
  await server.close();
  return 0;
}

/** `--kube`: informers → model → the same server; stops cleanly on SIGINT/SIGTERM. */
async function runKube(listen: { host: string; port: number }, k: NonNullable<DestinationArgs['kube']>): Promise<number> {
  const say = (msg: string): void => void process.stderr.write(`${CLI_NAME} destination: ${msg}\n`);
  const { runKubeService } = await import('./kube-mode');
  const { KubeDestinationSource } = await import('../platform/kube-destination-source');
  const { startDestinationServer } = await import('../control/destination/destination-server');
  return runKubeService({
    kubeconfig: k.kubeconfig,
    listen,
    say,
    watching: 'Kubernetes',
    watcher: async (kubeConfig) => new KubeDestinationSource({ kubeConfig, clusterDomain: k.clusterDomain, trustDomain: k.trustDomain, log: (_l, m) => say(m) }),
    serve: (source) => startDestinationServer({ ...listen, source, log: (_l, m) => say(m) }),
    synced: (source) => `${source.current().services.length} service authorities`,
  });
}
