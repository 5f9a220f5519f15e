/**
 * `weft policy -f FILE... [--listen HOST:PORT] [--default-inbound-policy P] [--cluster-networks CIDRS]`:
 * the policy service (h2c) serving the policy.weft.dev resources (and optional Namespace and
 * workload objects) of YAML files, re-read when they change. Proxies watch it with
 * WEFT_PROXY_POLICY_ADDR and WEFT_PROXY_POLICY_WORKLOAD (docs/policy.md). A thin shell over
 * mesh/control/policy/.
 * `weft policy --kube [--kubeconfig FILE]`: the same service fed by Kubernetes informers
 * (mesh/platform/kube-policy-source.ts).
 */
import { unwatchFile, watchFile } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { DEFAULT_INBOUND_POLICIES, type DefaultInboundPolicy } from '../config/annotations';
import { CLI_NAME, DEFAULT_CLUSTER_NETWORKS, DEFAULT_TRUST_DOMAIN } from '../config/names';
import { CONTROL_PLANE_PORTS } from '../config/ports';
import { parseCidr } from '../control/policy/cidr';
import { isDefaultInboundPolicy } from '../control/policy/default-policy';
import type { MeshPolicyDefaults } from '../control/policy/inbound-policy';
import { modelFromFiles } from '../control/policy/policy-file';
import type { PolicyModel } from '../control/policy/policy-model';
import { parseAddr } from '../proxy/discovery/discovery';

export const POLICY_USAGE = `usage: ${CLI_NAME} policy -f FILE [-f FILE...] [--listen HOST:PORT]
                   [--default-inbound-policy POLICY] [--cluster-networks CIDR,...]
       ${CLI_NAME} policy --kube [--kubeconfig FILE] [--listen HOST:PORT] [...the same options]

  Serves the inbound policy of each workload to its proxy over HTTP/2 (h2c): POST /v1/inbound
  {"namespace", "name", ...}. The files hold policy.weft.dev resources (Server,
  AuthorizationPolicy, MeshTLSAuthentication, NetworkAuthentication) and HTTPRoutes, and may add
  Namespace objects (annotations) and workloads (Pod, Deployment, ...: labels, ports, probes).
  They are re-read when they change; a version with an error is refused and the last good one stays.
  --kube                     serve the cluster instead: Servers, AuthorizationPolicies,
                             Mesh/NetworkAuthentications, HTTPRoutes, Pods and Namespaces through
                             informers (in-cluster configuration, or --kubeconfig FILE); listens once
                             every informer has synced
  --listen                   default 127.0.0.1:${CONTROL_PLANE_PORTS.policy} (0.0.0.0:${CONTROL_PLANE_PORTS.policy} with --kube)
  --default-inbound-policy   the mesh's default: ${DEFAULT_INBOUND_POLICIES.join(', ')} (default all-unauthenticated)
  --cluster-networks         for the cluster-* policies (default ${DEFAULT_CLUSTER_NETWORKS.join(',')})
  --trust-domain             of the mesh identities ServiceAccount references name (default ${DEFAULT_TRUST_DOMAIN})
`;

export interface PolicyArgs {
  files: string[];
  listen: { host: string; port: number };
  meshDefaults: MeshPolicyDefaults;
  /** Kubernetes mode (--kube): no files. */
  kube?: { kubeconfig?: string };
}

/** Parses the arguments; a string is a usage error. */
export function parsePolicyArgs(args: string[]): PolicyArgs | string {
  const files: string[] = [];
  let listen: string | undefined;
  let kube = false;
  let kubeconfig: string | undefined;
  let trustDomain = DEFAULT_TRUST_DOMAIN;
  let defaultPolicy: DefaultInboundPolicy = 'all-unauthenticated';
  let clusterNetworks = [...DEFAULT_CLUSTER_NETWORKS];
  for (let i = 0; i < args.length; i++) {
    const raw = args[i]!;
    const eq = raw.startsWith('--') ? raw.indexOf('=') : -1;
    const a = eq > 0 ? raw.slice(0, eq) : raw;
    const value = (): string | undefined => (eq > 0 ? raw.slice(eq + 1) : args[++i]);
    if (a === '-f' || a === '--file') {
      const v = value();
      if (v === undefined) return `missing value for ${a}`;
      files.push(v);
      // `-f a.yaml b.yaml`: the names that follow, up to the next option, are files too.
      while (eq < 0 && args[i + 1] !== undefined && !args[i + 1]!.startsWith('-')) files.push(args[++i]!);
    } else if (a === '--kube') kube = true;
    else if (a === '--kubeconfig') {
      kubeconfig = value();
      if (kubeconfig === undefined) return 'missing value for --kubeconfig';
    } else if (a === '--trust-domain') {
      const v = value();
      if (!v || !/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/.test(v)) return `--trust-domain: expected a DNS name such as ${DEFAULT_TRUST_DOMAIN}, got "${v ?? ''}"`;
      trustDomain = v;
    } else if (a === '--listen') {
      const v = value();
      if (v === undefined) return 'missing value for --listen';
      listen = v;
    } else if (a === '--default-inbound-policy') {
      const v = value();
      if (v === undefined || !isDefaultInboundPolicy(v)) return `--default-inbound-policy: expected one of ${DEFAULT_INBOUND_POLICIES.join(', ')}, got "${v ?? ''}"`;
      defaultPolicy = v;
    } else if (a === '--cluster-networks') {
      const v = value();
      if (v === undefined) return 'missing value for --cluster-networks';
      clusterNetworks = v.split(',').map((s) => s.trim()).filter(Boolean);
      for (const c of clusterNetworks) {
        try {
          parseCidr(c);
        } catch (e) {
          return `--cluster-networks: ${(e as Error).message}`;
        }
      }
    } else return `unknown argument '${raw}'`;
  }
  if (kube && files.length > 0) return '-f and --kube exclude each other (files or the cluster)';
  if (!kube && kubeconfig !== undefined) return '--kubeconfig needs --kube';
  if (!kube && files.length === 0) return 'no policy file given (-f FILE)';
  listen ??= `${kube ? '0.0.0.0' : '127.0.0.1'}:${CONTROL_PLANE_PORTS.policy}`;
  const addr = parseAddr(listen, { allowPortZero: true });
  if (!addr) return `--listen: expected host:port, got "${listen}"`;
  const meshDefaults: MeshPolicyDefaults = { defaultInboundPolicy: defaultPolicy, clusterNetworks, trustDomain };
  return kube ? { files, listen: addr, meshDefaults, kube: kubeconfig === undefined ? {} : { kubeconfig } } : { files, listen: addr, meshDefaults };
}

/** Reads every file into one model; a string lists every problem (file, document, resource, field). */
export async function loadPolicyFiles(files: readonly string[], meshDefaults: MeshPolicyDefaults): Promise<PolicyModel | string> {
  const texts: { name: string; text: string }[] = [];
  for (const f of files) {
    try {
      texts.push({ name: f, text: await readFile(f, 'utf8') });
    } catch (e) {
      return `${f}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'not found' : (e as Error).message}`;
    }
  }
  const { model, errors } = modelFromFiles(texts, meshDefaults);
  return errors.length > 0 ? errors.join('\n') : model;
}

export async function run(args: string[]): Promise<number> {
  if (args.includes('--help') || args.includes('-h')) {
    process.stdout.write(POLICY_USAGE);
    return 0;
  }
  const parsed = parsePolicyArgs(args);
  if (typeof parsed === 'string') {
    process.stderr.write(`${CLI_NAME} policy: ${parsed}\n\n${POLICY_USAGE}`);
    return 2;
  }
  const say = (msg: string): void => void process.stderr.write(`${CLI_NAME} policy: ${msg}\n`);
  if (parsed.kube) return runKube(parsed, parsed.kube, say);
  const first = await loadPolicyFiles(parsed.files, parsed.meshDefaults);
  if (typeof first === 'string') {
    say(`${first}\nfix the file(s) and start again`);
    return 1;
  }
  const { MemoryPolicySource } = await import('../control/policy/policy-model');
  const { startPolicyServer } = await import('../control/policy/policy-server');
  const source = new MemoryPolicySource(first);
  const r = first.resources;
  say(`${r.servers.length} Servers, ${r.authorizationPolicies.length} AuthorizationPolicies, ${r.meshTLSAuthentications.length + r.networkAuthentications.length} authentications, ${r.httpRoutes.length} HTTPRoutes, ${first.workloads.size} workloads`);
  let server;
  try {
    server = await startPolicyServer({ ...parsed.listen, source, log: (_l, m) => say(m) });
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    say(err.code === 'EADDRINUSE' ? `${parsed.listen.host}:${parsed.listen.port} is already in use; pick another with --listen HOST:PORT` : err.message);
    return 1;
  }
  for (const f of parsed.files) {
    watchFile(f, { interval: 500 }, () => {
      void loadPolicyFiles(parsed.files, parsed.meshDefaults).then((m) => {
        if (typeof m === 'string') return say(`${m}\nkeeping the previous policy`);
        source.set(m);
        say(`${f} changed: policy reloaded`);
      });
    });
  }
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  for (const f of parsed.files) unwatchFile(f);
  await server.close();
  return 0;
}

/** `--kube`: informers → model → the same server, listening once synced; stops cleanly on SIGINT/SIGTERM. */
async function runKube(parsed: PolicyArgs, k: { kubeconfig?: string }, say: (msg: string) => void): Promise<number> {
  const { runKubeService } = await import('./kube-mode');
  const { KubePolicySource } = await import('../platform/kube-policy-source');
  const { startPolicyServer } = await import('../control/policy/policy-server');
  return runKubeService({
    kubeconfig: k.kubeconfig,
    listen: parsed.listen,
    say,
    watching: 'Kubernetes',
    watcher: async (kubeConfig) => new KubePolicySource({ kubeConfig, meshDefaults: parsed.meshDefaults, log: (_l, m) => say(m) }),
    serve: (source) => startPolicyServer({ ...parsed.listen, source, log: (_l, m) => say(m) }),
    synced: (source) => {
      const m = source.current();
      const r = m.resources;
      return `${r.servers.length} Servers, ${r.authorizationPolicies.length} AuthorizationPolicies, ${r.meshTLSAuthentications.length + r.networkAuthentications.length} authentications, ${r.httpRoutes.length} HTTPRoutes, ${m.workloads.size} pods, ${m.namespaces.size} namespaces`;
    },
  });
}
