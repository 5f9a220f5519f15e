/**
 * `weft metrics-api --kube [--kubeconfig FILE] [--listen HOST:PORT] [--prometheus URL]
 * [--scrape-interval 5s] [--trust-domain D]`: the metrics API (docs/metrics-api.md) over the
 * cluster's pods, found by a Pods informer (mesh/platform/kube-pod-inventory.ts); it scrapes the
 * meshed pods' proxies itself, or asks a Prometheus that does. The local mode runs the same API
 * inside `weft local up` / `weft demo`, so `--kube` is the only mode of this command. A thin shell.
 */
import { CLI_NAME } from '../config/names';
import { DEFAULT_SCRAPE_INTERVAL_MS } from '../config/metrics-api';
import { CONTROL_PLANE_PORTS } from '../config/ports';
import { parseAddr } from '../proxy/discovery/discovery';

export const METRICS_API_USAGE = `usage: ${CLI_NAME} metrics-api --kube [--kubeconfig FILE] [--listen HOST:PORT]
                        [--prometheus URL] [--scrape-interval DURATION] [--trust-domain DOMAIN]

  Serves golden metrics per workload and service, and the edges between them, as JSON
  (GET /api/v1/stat, /api/v1/edges; \`${CLI_NAME} stat\` and the editor read it) for the pods of a
  Kubernetes cluster, followed through an informer: every pod with the weft-proxy container is
  scraped at podIP:<its weft-admin port> (4191).
  --kube              required: the cluster from the in-cluster configuration, or --kubeconfig FILE
                      (else $KUBECONFIG, ~/.kube/config); listens once the pods are listed
  --listen            default 0.0.0.0:${CONTROL_PLANE_PORTS.metricsApi}
  --prometheus        ask this Prometheus (which scrapes the proxies) instead of scraping here
  --scrape-interval   how often each proxy is scraped: 500ms, 5s, 1m (default ${DEFAULT_SCRAPE_INTERVAL_MS / 1000}s)
  --trust-domain      of the pods' identities (default cluster.local)
  Local mode: \`${CLI_NAME} local up\` and \`${CLI_NAME} demo\` run this API themselves.
`;

export interface MetricsApiArgs {
  kubeconfig?: string;
  listen: { host: string; port: number };
  prometheusUrl?: string;
  scrapeIntervalMs: number;
  trustDomain?: string;
}

/** `500ms`, `5s`, `1m` → milliseconds; undefined when malformed or zero. */
export function parseDuration(v: string): number | undefined {
  const m = /^(\d+)(ms|s|m)$/.exec(v.trim());
  if (!m) return undefined;
  const ms = Number(m[1]) * (m[2] === 'ms' ? 1 : m[2] === 's' ? 1000 : 60_000);
  return ms > 0 ? ms : undefined;
}

/** Parses the arguments; a string is a usage error. */
export function parseMetricsApiArgs(args: string[]): MetricsApiArgs | string {
  let kube = false;
  let listen = `0.0.0.0:${CONTROL_PLANE_PORTS.metricsApi}`;
  const out: Omit<MetricsApiArgs, 'listen'> = { scrapeIntervalMs: DEFAULT_SCRAPE_INTERVAL_MS };
  for (let i = 0; i < args.length; i++) {
    const raw = args[i]!;
    const eq = raw.startsWith('--') ? raw.indexOf('=') : -1;
    const a = eq > 0 ? raw.slice(0, eq) : raw;
    if (a === '--kube') {
      kube = true;
      continue;
    }
    if (!['--kubeconfig', '--listen', '--prometheus', '--scrape-interval', '--trust-domain'].includes(a)) return `unknown argument '${raw}'`;
    const v = eq > 0 ? raw.slice(eq + 1) : args[++i];
    if (v === undefined || v === '') return `missing value for ${a}`;
    if (a === '--kubeconfig') out.kubeconfig = v;
    else if (a === '--listen') listen = v;
    else if (a === '--trust-domain') out.trustDomain = v;
    else if (a === '--scrape-interval') {
      const ms = parseDuration(v);
      if (ms === undefined) return `--scrape-interval: expected a duration such as 500ms, 5s or 1m, got "${v}"`;
      out.scrapeIntervalMs = ms;
    } else {
      let url: URL | undefined;
      try {
        url = new URL(v);
      } catch {
        url = undefined;
      }
      if (!url || !['http:', 'https:'].includes(url.protocol)) return `--prometheus: expected an http(s) URL such as http://prometheus.weft:9090, got "${v}"`;
      out.prometheusUrl = v.replace(/\/+$/, '');
    }
  }
  if (!kube) return `no --kube: this command serves a Kubernetes cluster (the local mode runs the metrics API inside \`${CLI_NAME} local up\` and \`${CLI_NAME} demo\`)`;
  const addr = parseAddr(listen, { allowPortZero: true });
  if (!addr) return `--listen: expected host:port, got "${listen}"`;
  return { ...out, listen: addr };
}

export async function run(args: string[]): Promise<number> {
  if (args.includes('--help') || args.includes('-h')) {
    process.stdout.write(METRICS_API_USAGE);
    return 0;
  }
  const parsed = parseMetricsApiArgs(args);
  if (typeof parsed === 'string') {
    process.stderr.write(`${CLI_NAME} metrics-api: ${parsed}\n\n${METRICS_API_USAGE}`);
    return 2;
  }
  const say = (msg: string): void => void process.stderr.write(`${CLI_NAME} metrics-api: ${msg}\n`);
  const { runKubeService } = await import('./kube-mode');
  const { KubePodInventory } = await import('../platform/kube-pod-inventory');
  const { startMetricsApi } = await import('../control/metrics-api/server');
  const from = parsed.prometheusUrl ? `asking ${parsed.prometheusUrl}` : `scraping every ${parsed.scrapeIntervalMs / 1000}s`;
  return runKubeService({
    kubeconfig: parsed.kubeconfig,
    listen: parsed.listen,
    say,
    watching: 'Kubernetes pods',
    watcher: async (kubeConfig) => new KubePodInventory({ kubeConfig, trustDomain: parsed.trustDomain, log: (_l, m) => say(m) }),
    serve: (inventory) => startMetricsApi({ ...parsed.listen, targets: () => inventory.targets(), prometheusUrl: parsed.prometheusUrl, scrapeIntervalMs: parsed.scrapeIntervalMs }),
    synced: (inventory) => {
      const targets = inventory.targets();
      return `${targets.filter((t) => t.admin).length} meshed of ${targets.length} pods (${from})`;
    },
  });
}
