/**
 * The local mode's runner: the control plane (identity and destination services, control-plane.ts)
 * first, then for every workload of a topology its proxy (`weft proxy`, explicit mode), which gets
 * its certificate from the identity service and its endpoints from the destination service, and its
 * app, as processes on this machine. Upstreams are bound to local ports by each proxy and handed to
 * the app as environment variables (UPSTREAM_<SERVICE>_URL, UPSTREAM_<SERVICE>_AUTHORITY); a served
 * workload's app gets PORT. The demo runs on it; `weft local up -f topology.yaml` parses its file
 * (topology-file.ts) into a LocalTopology with fixed app ports, replicas and routes (service →
 * weighted backends).
 */
import net from 'node:net';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { DefaultInboundPolicy } from '../../mesh/config/annotations';
import { identityName } from '../../mesh/config/identity';
import { formatAddr, parseAddr, type SocketAddr } from '../../mesh/proxy/discovery/discovery';
import { EXIT_WITH_PARENT_PRELOAD, spawnProxy, type ProxyProcess } from './proxy-process';
import { checkPortFree, pickFreePort } from './port-check';
import { CONTROL_PLANE_NAMES, startControlPlane, type RunningControlPlane } from './control-plane';
import type { Supervised, Supervisor } from './supervisor';

const LOOPBACK = '127.0.0.1';

/** A port a workload's app listens on, served through its proxy's inbound listener. */
export interface LocalPort {
  /** The authority peers use in the destination file (several replicas may serve the same one). */
  authority: string;
  /** Where the app listens on 127.0.0.1. */
  appPort: number;
  protocolHint?: 'h2' | 'opaque';
  /** The port's name (policy Servers may select it by name: `WEFT_PROXY_POLICY_PORTS`). */
  name?: string;
}

/** A service clients call, routed to served authorities (one backend, or a weighted split). */
export interface LocalRoute {
  authority: string;
  labels?: Record<string, string>;
  opaque?: boolean;
  backends: { authority: string; weight: number }[];
  retry?: { limit: number; http: string[]; grpc: string[]; timeoutMs: number };
  timeouts?: { requestMs?: number; responseMs?: number; idleMs?: number };
}

export interface LocalWorkload {
  name: string;
  /** Default: the topology's namespace. */
  namespace?: string;
  /** The workload this process is a replica of (metric labels); default: `name`. */
  workload?: string;
  serviceAccount: string;
  /** The app: a command and its arguments, run with the variables above added to `env`. */
  command: string;
  args: string[];
  env?: Record<string, string>;
  /** The service this workload serves (`host:port`, e.g. `web.demo:80`); absent for pure clients. */
  serves?: string;
  /** Fixed app ports (the topology file); an alternative to `serves`, whose app port is picked free. */
  ports?: LocalPort[];
  /** Port of the proxy's inbound listener on 127.0.0.1 (0 or absent: any free port). */
  inboundPort?: number;
  /** Services (`host:port`) the app calls through its proxy. */
  upstreams: string[];
  /** Pod labels for policy Servers' podSelectors (default `app: <workload>`). */
  labels?: Record<string, string>;
  /** The workload's own default inbound policy (a pod annotation's role). */
  defaultInboundPolicy?: DefaultInboundPolicy;
  /** HTTP probe paths on app ports: a GET passes policy unauthenticated where Linkerd's probe rule would. */
  probes?: { appPort: number; path: string }[];
}

/** Authorization policy for a run: `weft policy` serves these files (absolute paths) to the proxies. */
export interface LocalPolicy {
  files: string[];
  /** The mesh default for this run (`weft policy --default-inbound-policy`); absent: all-unauthenticated. */
  defaultInboundPolicy?: DefaultInboundPolicy;
}

export interface LocalTopology {
  namespace: string;
  workloads: LocalWorkload[];
  /** Services in front of served authorities; an upstream may name a route or a served authority. */
  routes?: LocalRoute[];
  /** Present when the run enforces authorization policy (a third control-plane process, `weft policy`). */
  policy?: LocalPolicy;
}

export interface RunningWorkload {
  workload: LocalWorkload;
  identity: string;
  proxy: ProxyProcess;
  app: Supervised;
  appPort: number | undefined;
  /** Every port the app serves (for `serves`, the one picked). */
  ports: LocalPort[];
}

export interface LocalMeshOptions {
  /** A directory this run owns (control plane: anchor, issuer, tokens, model; the proxies' identities); the caller removes it. */
  workDir: string;
  supervisor: Supervisor;
  /** Every proxy log line and app output line, by workload. */
  onLog?: (source: string, line: string) => void;
  /** Progress messages for the user. */
  onProgress?: (msg: string) => void;
  startTimeoutMs?: number;
  /** Leaf certificate lifetime (default 24 h; short ones prove renewal in tests). */
  leafLifetimeMs?: number;
  /** Fixed control-plane addresses (default 127.0.0.1:0, any free port). */
  identityAddr?: string;
  destinationAddr?: string;
  policyAddr?: string;
  /** Called as soon as the control plane listens (before the proxies start). */
  onControlPlane?: (cp: RunningControlPlane) => void;
}

export { EXIT_WITH_PARENT_PRELOAD };

/** The variable-name stem of a service: `api.demo:80` → `API`. */
export function upstreamEnvName(authority: string): string {
  const host = authority.split(':')[0] ?? authority;
  return (host.split('.')[0] ?? host).toUpperCase().replace(/[^A-Z0-9]/g, '_');
}

/** Static problems of a topology, each naming the workload and field; empty when it can run. */
export function checkTopology(t: LocalTopology): string[] {
  const errors: string[] = [];
  const served = new Map<string, string>();
  const names = new Set<string>();
  const replicaAuthorities = new Set<string>();
  t.workloads.forEach((w, i) => {
    const at = `workloads[${i}] (${w.name || '?'})`;
    if (!/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(w.name)) errors.push(`${at}.name: expected a DNS label`);
    if (names.has(w.name)) errors.push(`${at}.name: "${w.name}" is used twice`);
    if ((Object.values(CONTROL_PLANE_NAMES) as string[]).includes(w.name)) errors.push(`${at}.name: "${w.name}" is reserved for the control plane; choose another name`);
    names.add(w.name);
    if (!/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(w.serviceAccount)) errors.push(`${at}.serviceAccount: expected a DNS label`);
    if (w.serves !== undefined) {
      if (!parseAddr(w.serves)) errors.push(`${at}.serves: expected host:port, got "${w.serves}"`);
      else if (served.has(w.serves)) errors.push(`${at}.serves: "${w.serves}" is already served by ${served.get(w.serves)}`);
      else served.set(w.serves, w.name);
    }
    for (const p of w.ports ?? []) {
      if (!parseAddr(p.authority)) errors.push(`${at}.ports: expected host:port, got "${p.authority}"`);
      else if (served.has(p.authority) && !replicaAuthorities.has(p.authority)) errors.push(`${at}.ports: "${p.authority}" is already served by ${served.get(p.authority)}`);
      else {
        served.set(p.authority, w.name);
        replicaAuthorities.add(p.authority);
      }
    }
    if (w.serves !== undefined && w.ports?.length) errors.push(`${at}.serves: give serves or ports, not both`);
    if (w.inboundPort !== undefined && w.serves === undefined && !w.ports?.length) errors.push(`${at}.inboundPort: only a workload that serves a service has an inbound listener`);
    for (const u of w.upstreams) if (!parseAddr(u)) errors.push(`${at}.upstreams: expected host:port, got "${u}"`);
  });
  const routed = new Set<string>();
  (t.routes ?? []).forEach((r, i) => {
    if (!parseAddr(r.authority)) errors.push(`routes[${i}] (${r.authority}).authority: expected host:port`);
    if (routed.has(r.authority)) errors.push(`routes[${i}] (${r.authority}).authority: routed twice`);
    routed.add(r.authority);
    if (r.backends.length === 0) errors.push(`routes[${i}] (${r.authority}).backends: expected at least one`);
    for (const b of r.backends) if (!served.has(b.authority)) errors.push(`routes[${i}] (${r.authority}).backends: no workload serves "${b.authority}"`);
  });
  t.workloads.forEach((w, i) => {
    for (const u of w.upstreams) if (parseAddr(u) && !served.has(u) && !routed.has(u)) errors.push(`workloads[${i}] (${w.name}).upstreams: no workload serves "${u}"`);
  });
  return errors;
}

/** The destination file for the proxies: each served authority → its proxy's inbound, with identity. */
export interface ServedEndpoint {
  authority: string;
  /** The workload (replica) name. */
  name: string;
  inbound: SocketAddr;
  identity: string;
  appPort: number;
  workload?: string;
  serviceAccount?: string;
  protocolHint?: 'h2' | 'opaque';
}

/**
 * The destination file for the proxies (JSON, which the proxy reads without loading a YAML parser):
 * each served authority → the inbound listeners of the replicas serving it, with identity; each
 * route → its one backend's endpoints, or a weighted split over its backends, with its retries and
 * timeouts.
 */
export function destinationDocument(namespace: string, served: ServedEndpoint[], routes: readonly LocalRoute[] = []): string {
  const byAuthority = new Map<string, ServedEndpoint[]>();
  for (const s of served) byAuthority.set(s.authority, [...(byAuthority.get(s.authority) ?? []), s]);
  const endpoints = (list: ServedEndpoint[]): Record<string, unknown>[] =>
    list.map((s) => ({
      addr: formatAddr(s.inbound),
      identity: s.identity,
      targetPort: s.appPort,
      ...(s.protocolHint ? { protocolHint: s.protocolHint } : {}),
      labels: { pod: s.name, serviceaccount: s.serviceAccount ?? s.name },
    }));
  const destinations: Record<string, unknown>[] = [...byAuthority].map(([authority, list]) => ({
    authority,
    ...(list.some((s) => s.protocolHint === 'opaque') ? { opaque: true } : {}),
    labels: { service: list[0]!.workload ?? list[0]!.name, namespace },
    endpoints: endpoints(list),
  }));
  for (const r of routes) {
    const d: Record<string, unknown> = { authority: r.authority, labels: r.labels ?? {} };
    if (r.opaque) d['opaque'] = true;
    if (r.retry) d['retry'] = r.retry;
    if (r.timeouts) d['timeouts'] = r.timeouts;
    if (r.backends.length === 1) d['endpoints'] = endpoints(byAuthority.get(r.backends[0]!.authority) ?? []);
    else {
      d['backends'] = r.backends;
      d['endpoints'] = [];
    }
    destinations.push(d);
  }
  return `${JSON.stringify({ destinations }, null, 1)}\n`;
}

function waitForPort(port: number, app: Supervised, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  return new Promise((resolve, reject) => {
    const attempt = (): void => {
      if (app.hasExited()) return reject(new Error(`${app.name} exited at start: ${app.tail().slice(-5).join(' | ') || 'no output'}`));
      const s = net.connect({ host: LOOPBACK, port });
      s.once('connect', () => {
        s.destroy();
        resolve();
      });
      s.once('error', () => {
        s.destroy();
        if (Date.now() > deadline) reject(new Error(`${app.name} did not listen on port ${port} in time: ${app.tail().slice(-5).join(' | ')}`));
        else setTimeout(attempt, 50);
      });
    };
    attempt();
  });
}

/** What a workload's proxy needs to know besides its own workload: where the control plane is. */
export interface ControlPlaneAddrs {
  identity: SocketAddr;
  destination: SocketAddr;
  trustAnchorsFile: string;
  /** The policy service, when the run enforces policy. */
  policy?: SocketAddr;
}

export interface ProxyEnvInput {
  workload: LocalWorkload;
  namespace: string;
  identity: string;
  /** Where the proxy writes its key and the certificates it obtains. */
  identityDir: string;
  tokenFile: string;
  /** Its inbound listener's port on 127.0.0.1 and the app port behind it (served workloads only). */
  inboundPort?: number;
  appPort?: number;
  /** Every port the app serves (named ones by name, for policy Servers). */
  ports?: readonly LocalPort[];
}

/**
 * Pure: every WEFT_PROXY_* variable a workload's proxy is started with, the one place that decides
 * them. Identity from the identity service (its token file names the ServiceAccount and namespace),
 * endpoints from the destination service, and, when the run has a policy service, the inbound
 * policy of a served workload from it: the workload `<ns>/<workload>` (replicas share it), its
 * labels, its ports (`name=port` for named ones, this replica's app ports), its probe paths and
 * its own default policy (sent as its annotation). A pure client has no inbound side, so no policy.
 */
export function proxyEnv(p: ProxyEnvInput, cp: ControlPlaneAddrs): Record<string, string> {
  const env: Record<string, string> = {
    WEFT_PROXY_ADMIN_ADDR: `${LOOPBACK}:0`,
    WEFT_PROXY_IDENTITY_ADDR: formatAddr(cp.identity),
    WEFT_PROXY_IDENTITY_NAME: p.identity,
    WEFT_PROXY_IDENTITY_TOKEN_FILE: p.tokenFile,
    WEFT_PROXY_IDENTITY_DIR: p.identityDir,
    WEFT_PROXY_TRUST_ANCHORS: cp.trustAnchorsFile,
    WEFT_PROXY_DESTINATION_ADDR: formatAddr(cp.destination),
    WEFT_PROXY_SHUTDOWN_GRACE: '1s',
    WEFT_PROXY_WORKLOAD_LABELS: `workload=${p.workload.workload ?? p.workload.name},namespace=${p.namespace}`,
  };
  if (p.appPort !== undefined) {
    env['WEFT_PROXY_INBOUND_ADDR'] = `${LOOPBACK}:${p.inboundPort ?? 0}`;
    env['WEFT_PROXY_APP_PORT'] = String(p.appPort);
  }
  if (p.workload.upstreams.length > 0) env['WEFT_PROXY_UPSTREAMS'] = p.workload.upstreams.map((u) => `${u}=${LOOPBACK}:0`).join(',');
  if (cp.policy && p.appPort !== undefined) {
    const workload = p.workload.workload ?? p.workload.name;
    env['WEFT_PROXY_POLICY_ADDR'] = formatAddr(cp.policy);
    env['WEFT_PROXY_POLICY_WORKLOAD'] = `${p.namespace}/${workload}`;
    const labels = Object.entries(p.workload.labels ?? { app: workload });
    if (labels.length > 0) env['WEFT_PROXY_POLICY_LABELS'] = labels.map(([k, v]) => `${k}=${v}`).join(',');
    const ports = p.ports?.length ? p.ports : [{ appPort: p.appPort }];
    env['WEFT_PROXY_POLICY_PORTS'] = ports.map((x) => ('name' in x && x.name ? `${x.name}=${x.appPort}` : String(x.appPort))).join(',');
    if (p.workload.defaultInboundPolicy) env['WEFT_PROXY_DEFAULT_INBOUND_POLICY'] = p.workload.defaultInboundPolicy;
    if (p.workload.probes?.length) env['WEFT_PROXY_POLICY_PROBES'] = p.workload.probes.map((x) => `${x.appPort}:${x.path}`).join(',');
  }
  return env;
}

/** A started local mesh: its control plane, its workloads and the endpoints the destination service serves. */
export interface LocalRun {
  controlPlane: RunningControlPlane;
  workloads: RunningWorkload[];
  served: ServedEndpoint[];
}

/** Free loopback ports, distinct from each other and from `taken`. */
async function pickDistinctPort(taken: Set<number>): Promise<number> {
  for (;;) {
    const port = await pickFreePort(LOOPBACK);
    if (!taken.has(port)) {
      taken.add(port);
      return port;
    }
  }
}

/**
 * Starts the topology: the control plane (each service awaited until it listens), then every proxy
 * (in parallel, each awaited until it holds its certificate), then the apps, servers before
 * clients, each awaited until it listens. On any failure it throws; the caller's supervisor still
 * holds whatever was started and must stop it.
 */
export async function startLocalRun(t: LocalTopology, o: LocalMeshOptions): Promise<LocalRun> {
  const problems = checkTopology(t);
  if (problems.length > 0) throw new Error(`topology:\n  ${problems.join('\n  ')}`);
  const taken = new Set<number>();
  for (const w of t.workloads) {
    if (w.inboundPort) {
      const free = await checkPortFree(LOOPBACK, w.inboundPort);
      if (!free.ok) throw new Error(`${free.reason}: ${w.name} needs it for its inbound listener (choose another port)`);
      taken.add(w.inboundPort);
    }
    for (const p of w.ports ?? []) {
      const free = await checkPortFree(LOOPBACK, p.appPort);
      if (!free.ok) throw new Error(`${free.reason}: ${w.name}'s app needs it for ${p.authority} (stop what uses it, or change the port)`);
      taken.add(p.appPort);
    }
  }
  const timeout = o.startTimeoutMs ?? 15_000;
  await mkdir(o.workDir, { recursive: true });

  // Every port is known before anything starts, so the destination service has the whole model at once.
  const prepared = [];
  for (const w of t.workloads) {
    const namespace = w.namespace ?? t.namespace;
    const identity = identityName({ serviceAccount: w.serviceAccount, namespace });
    const ports: LocalPort[] = w.ports?.length ? w.ports : w.serves ? [{ authority: w.serves, appPort: await pickDistinctPort(taken) }] : [];
    const inboundPort = ports.length > 0 ? (w.inboundPort ?? (await pickDistinctPort(taken))) : undefined;
    prepared.push({ w, namespace, identity, ports, inboundPort, appPort: ports[0]?.appPort, picked: !w.ports?.length && ports.length > 0 });
  }
  const served: ServedEndpoint[] = prepared.flatMap((p) =>
    p.ports.map((port) => {
      const s: ServedEndpoint = { authority: port.authority, name: p.w.name, workload: p.w.workload ?? p.w.name, serviceAccount: p.w.serviceAccount, inbound: { host: LOOPBACK, port: p.inboundPort! }, identity: p.identity, appPort: port.appPort };
      if (port.protocolHint) s.protocolHint = port.protocolHint;
      return s;
    }),
  );

  const controlPlane = await startControlPlane({
    dir: join(o.workDir, 'control-plane'),
    supervisor: o.supervisor,
    holders: prepared.map((p) => ({ name: p.w.name, serviceAccount: p.w.serviceAccount, namespace: p.namespace })),
    topology: t,
    served,
    leafLifetimeMs: o.leafLifetimeMs,
    identityAddr: o.identityAddr,
    destinationAddr: o.destinationAddr,
    policyAddr: o.policyAddr,
    startTimeoutMs: timeout,
    onProgress: o.onProgress,
  });
  o.onControlPlane?.(controlPlane);
  const addrs: ControlPlaneAddrs = { identity: controlPlane.identity.addr, destination: controlPlane.destination.addr, trustAnchorsFile: controlPlane.files.trustAnchors };
  if (controlPlane.policy) addrs.policy = controlPlane.policy.addr;

  o.onProgress?.(`starting ${prepared.length} proxies (each ready once the identity service signed its certificate)`);
  const proxies = await Promise.all(
    prepared.map(async (p) => {
      const env = proxyEnv({ workload: p.w, namespace: p.namespace, identity: p.identity, identityDir: join(o.workDir, 'identity', p.w.name), tokenFile: controlPlane.tokenFile(p.w.name), inboundPort: p.inboundPort, appPort: p.appPort, ports: p.ports }, addrs);
      const proxy = await spawnProxy({ name: `${p.w.name}-proxy`, env, startTimeoutMs: timeout, onLog: (line) => o.onLog?.(`${p.w.name}-proxy`, line) }).catch((e: Error) => {
        throw new Error(`proxy of ${p.w.name} failed to start: ${e.message}`);
      });
      o.supervisor.adopt(`${p.w.name}-proxy`, proxy.child, (grace) => proxy.stop(grace));
      return { ...p, proxy };
    }),
  );

  const running: RunningWorkload[] = [];
  const order = [...proxies.filter((p) => p.ports.length > 0), ...proxies.filter((p) => p.ports.length === 0)];
  for (const p of order) {
    const env: Record<string, string> = { PATH: process.env['PATH'] ?? '/usr/bin:/bin', ...(p.w.env ?? {}) };
    if (p.picked) env['PORT'] = String(p.appPort);
    for (const u of p.w.upstreams) {
      const listen = p.proxy.upstreams.get(u);
      if (!listen) throw new Error(`proxy of ${p.w.name} bound no upstream listener for ${u}`);
      env[`UPSTREAM_${upstreamEnvName(u)}_URL`] = `http://${formatAddr(listen)}`;
      env[`UPSTREAM_${upstreamEnvName(u)}_AUTHORITY`] = u;
    }
    o.onProgress?.(`starting ${p.w.name}`);
    const app = o.supervisor.spawnApp({ name: p.w.name, command: p.w.command, args: p.w.args, env });
    if (app.pid < 0) throw new Error(`${p.w.name}: could not start ${p.w.command}`);
    for (const port of p.ports) await waitForPort(port.appPort, app, timeout);
    running.push({ workload: p.w, identity: p.identity, proxy: p.proxy, app, appPort: p.appPort, ports: p.ports });
  }
  return { controlPlane, workloads: running, served };
}
