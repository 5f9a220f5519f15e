/**
 * The netns local mode's runner (Linux, root): the plan of netns-plan.ts made real, pod by pod as a
 * kubelet would. A bridge with the gateway addresses; per pod a network namespace, a veth pair (pod
 * side renamed eth0), its IPv4 and IPv6 addresses and default routes, /etc/netns/<ns>/hosts, then
 * `weft init` (the redirect rules, before anything else runs in the namespace), its proxy as UID
 * 2102 in transparent mode (outbound 127.0.0.1:4140 and [::1]:4140 by SO_ORIGINAL_DST, inbound [::]:4143, admin
 * [::]:4191), and last its app, unmodified, awaited until it listens. Every command is an argv
 * array (execa or spawn), never a shell string. `stop()` (and `removeNetnsRun`, by name alone)
 * removes every process, namespace, veth, bridge and /etc/netns directory of the run.
 */
import { chmod, chown, mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { createDevCa } from '../../mesh/control/identity/ca';
import { PROXY_ADMIN_PORT, PROXY_INBOUND_PORT, PROXY_OUTBOUND_PORT } from '../../mesh/config/ports';
import { spawnProxy, WEFT_ENTRY, type ProxyProcess } from '../local/proxy-process';
import { Supervisor, type Supervised } from '../local/supervisor';
import { BRIDGE_PREFIX, NETNS_PREFIX, PEER_PREFIX, VETH_PREFIX, type NetnsPlan, type PodPlan } from './netns-plan';

export const NETNS_ETC = '/etc/netns';

export interface NetnsMeshOptions {
  /** A directory this run owns (identities, destination file); made readable by the proxy's UID. */
  workDir: string;
  supervisor?: Supervisor;
  onProgress?: (msg: string) => void;
  onLog?: (source: string, line: string) => void;
  startTimeoutMs?: number;
}

export interface RunningPod {
  plan: PodPlan;
  app: Supervised;
  proxy: ProxyProcess | undefined;
}

export interface RunningNetnsMesh {
  plan: NetnsPlan;
  pods: RunningPod[];
  supervisor: Supervisor;
  /** Runs a command inside a pod's namespace (with its /etc/hosts), as root or as another UID. */
  exec(pod: string, argv: string[], o?: { uid?: number; timeoutMs?: number; input?: string }): Promise<{ code: number; stdout: string; stderr: string }>;
  /** Stops every process, then removes every namespace, link and /etc/netns directory. Idempotent. */
  stop(): Promise<void>;
}

export class NetnsError extends Error {
  constructor(
    message: string,
    readonly hint: string,
  ) {
    super(message);
  }
}

async function run(argv: string[], timeoutMs = 20_000): Promise<{ code: number; stdout: string; stderr: string; missing: boolean }> {
  const r = await execa(argv[0]!, argv.slice(1), { reject: false, timeout: timeoutMs, stdin: 'ignore' });
  const missing = (r as { code?: string }).code === 'ENOENT';
  return { code: r.exitCode ?? (missing ? 127 : 1), stdout: String(r.stdout ?? ''), stderr: String(r.stderr ?? ''), missing };
}

async function must(argv: string[], what: string): Promise<string> {
  const r = await run(argv);
  if (r.code !== 0) throw new NetnsError(`${what}: \`${argv.join(' ')}\` failed: ${(r.stderr || r.stdout).trim() || `exit ${r.code}`}`, 'check that this kernel allows network namespaces, veth pairs and bridges (root, not in a restricted container)');
  return r.stdout;
}

/** Why netns mode cannot run here (not Linux, not root, a missing tool), with the next step; undefined when it can. */
export async function netnsPreflight(): Promise<NetnsError | undefined> {
  if (process.platform !== 'linux') return new NetnsError('--isolation netns needs Linux (network namespaces)', 'use the default isolation (plain processes on 127.0.0.1), or a kind cluster (docs/dev-cluster.md)');
  if (process.getuid?.() !== 0) return new NetnsError(`--isolation netns must run as root (uid ${process.getuid?.()}): it creates network namespaces, veth pairs, a bridge and iptables rules`, 'run it with sudo, or use the default isolation');
  for (const [bin, pkg] of [['ip', 'iproute2'], ['iptables', 'iptables'], ['ip6tables', 'iptables'], ['setpriv', 'util-linux']] as const) {
    const r = await run([bin, '--version']);
    if (r.missing) return new NetnsError(`\`${bin}\` is not installed`, `install it (Debian: apt-get install ${pkg})`);
  }
  return undefined;
}

/** Picks a 10.a.b.0/24 no route of this machine overlaps. */
export async function pickSubnet(random: () => number = Math.random): Promise<[number, number]> {
  const routes = await run(['ip', '-4', 'route', 'show']);
  for (let i = 0; i < 50; i++) {
    const a = 64 + Math.floor(random() * 64);
    const b = Math.floor(random() * 256);
    if (!routes.stdout.includes(`10.${a}.${b}.`) && !routes.stdout.includes(`10.${a}.0.0/16`)) return [a, b];
  }
  throw new NetnsError('no free 10.x.y.0/24 subnet found for the pods', 'remove stale routes (ip -4 route) or stale weft bridges (weft local down --isolation netns)');
}

function waitUntil(check: () => Promise<boolean>, timeoutMs: number, what: () => string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  return new Promise((resolve, reject) => {
    const attempt = (): void => {
      void check().then((ok) => {
        if (ok) resolve();
        else if (Date.now() > deadline) reject(new Error(what()));
        else setTimeout(attempt, 100);
      }, reject);
    };
    attempt();
  });
}

/** True when the process's network namespace has a TCP listener on the port (its /proc/PID/net/tcp{,6}). */
export async function listensOn(pid: number, port: number): Promise<boolean> {
  const hex = port.toString(16).toUpperCase().padStart(4, '0');
  for (const f of ['tcp', 'tcp6']) {
    const text = await readFile(`/proc/${pid}/net/${f}`, 'utf8').catch(() => '');
    // sl local_address rem_address st ... ; st 0A is LISTEN.
    if (text.split('\n').some((l) => { const c = l.trim().split(/\s+/); return c[1]?.endsWith(`:${hex}`) && c[3] === '0A'; })) return true;
  }
  return false;
}

async function makeReadableBy(path: string, uid: number): Promise<void> {
  await chown(path, uid, uid);
  const entries = await readdir(path, { withFileTypes: true }).catch(() => []);
  for (const e of entries) {
    const p = join(path, e.name);
    if (e.isDirectory()) await makeReadableBy(p, uid);
    else await chown(p, uid, uid);
  }
}

/**
 * Removes what a run made, found by name alone (namespaces `weft-<id>-*`, links `wb<id>`, `wv<id>-*`,
 * `wp<id>-*`, /etc/netns/weft-<id>-*), so it works after a half-finished start or a crash. With no
 * id: every weft run's (`weft local down --isolation netns`). Returns what it removed.
 */
export async function removeNetnsRun(runId?: string): Promise<string[]> {
  const removed: string[] = [];
  const nsPrefix = `${NETNS_PREFIX}${runId ?? ''}`;
  const own = (name: string, prefix: string): boolean => (runId ? name.startsWith(`${prefix}${runId}`) : new RegExp(`^${prefix}[0-9a-f]{4,6}(-|$)`).test(name));
  const list = await run(['ip', 'netns', 'list']);
  for (const line of list.stdout.split('\n')) {
    const ns = line.trim().split(/\s+/)[0] ?? '';
    if (!ns.startsWith(nsPrefix) || !own(ns, NETNS_PREFIX)) continue;
    // Anything still running in it (an app that outlived its supervisor) goes first.
    const pids = await run(['ip', 'netns', 'pids', ns]);
    for (const pid of pids.stdout.split(/\s+/).filter(Boolean).map(Number)) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // gone
      }
    }
    if ((await run(['ip', 'netns', 'del', ns])).code === 0) removed.push(`netns ${ns}`);
  }
  const links = await run(['ip', '-o', 'link', 'show']);
  for (const line of links.stdout.split('\n')) {
    const name = /^\d+:\s+([^:@\s]+)/.exec(line)?.[1] ?? '';
    if ([BRIDGE_PREFIX, VETH_PREFIX, PEER_PREFIX].some((p) => own(name, p))) {
      if ((await run(['ip', 'link', 'del', name])).code === 0) removed.push(`link ${name}`);
    }
  }
  for (const dir of await readdir(NETNS_ETC).catch(() => [] as string[])) {
    if (dir.startsWith(nsPrefix) && own(dir, NETNS_PREFIX)) {
      await rm(join(NETNS_ETC, dir), { recursive: true, force: true });
      removed.push(`${NETNS_ETC}/${dir}`);
    }
  }
  return removed;
}

/** Names come from /etc/hosts; a lookup that misses it fails at once on the pod's own loopback. */
export const RESOLV_CONF = '# weft local up --isolation netns: no DNS server here, names come from /etc/hosts\nnameserver 127.0.0.1\noptions timeout:1 attempts:1\n';

const inNs = (ns: string, ...argv: string[]): string[] => ['ip', 'netns', 'exec', ns, ...argv];

async function createPodNetwork(plan: NetnsPlan, pod: PodPlan): Promise<void> {
  const what = `pod ${pod.name}`;
  await must(['ip', 'netns', 'add', pod.netns], what);
  await must(['ip', 'link', 'add', pod.vethHost, 'type', 'veth', 'peer', 'name', pod.vethPeer], what);
  await must(['ip', 'link', 'set', pod.vethPeer, 'netns', pod.netns], what);
  await must(['ip', 'link', 'set', pod.vethHost, 'master', plan.bridge, 'up'], what);
  await must(inNs(pod.netns, 'ip', 'link', 'set', pod.vethPeer, 'name', 'eth0'), what);
  await must(inNs(pod.netns, 'ip', 'link', 'set', 'lo', 'up'), what);
  await must(inNs(pod.netns, 'ip', 'addr', 'add', `${pod.ipv4}/${plan.prefix4}`, 'dev', 'eth0'), what);
  await must(inNs(pod.netns, 'ip', '-6', 'addr', 'add', `${pod.ipv6}/${plan.prefix6}`, 'dev', 'eth0', 'nodad'), what);
  await must(inNs(pod.netns, 'ip', 'link', 'set', 'eth0', 'up'), what);
  await must(inNs(pod.netns, 'ip', 'route', 'add', 'default', 'via', plan.gateway4), what);
  await must(inNs(pod.netns, 'ip', '-6', 'route', 'add', 'default', 'via', plan.gateway6), what);
  await mkdir(join(NETNS_ETC, pod.netns), { recursive: true });
  await writeFile(join(NETNS_ETC, pod.netns, 'hosts'), pod.hosts);
  // No DNS server exists on the bridge: without this the host's resolver (unreachable from the pod)
  // would make every lookup that misses /etc/hosts (gRPC's TXT service-config query…) time out.
  await writeFile(join(NETNS_ETC, pod.netns, 'resolv.conf'), RESOLV_CONF);
}

/**
 * Starts the plan. On any failure it removes everything already made and throws (a NetnsError names
 * the cause and the next step).
 */
export async function startNetnsMesh(plan: NetnsPlan, o: NetnsMeshOptions): Promise<RunningNetnsMesh> {
  const sup = o.supervisor ?? new Supervisor({ graceMs: 2_000, ...(o.onLog ? { onLog: o.onLog } : {}) });
  const timeout = o.startTimeoutMs ?? 20_000;
  let stopped = false;
  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    await sup.stopAll();
    await removeNetnsRun(plan.runId);
  };
  const exec: RunningNetnsMesh['exec'] = async (podName, argv, eo = {}) => {
    const pod = plan.pods.find((p) => p.name === podName);
    if (!pod) throw new Error(`no pod "${podName}" (pods: ${plan.pods.map((p) => p.name).join(', ')})`);
    const asUser = eo.uid !== undefined ? ['setpriv', `--reuid=${eo.uid}`, `--regid=${eo.uid}`, '--clear-groups'] : [];
    const full = inNs(pod.netns, ...asUser, ...argv);
    const r = await execa(full[0]!, full.slice(1), { reject: false, timeout: eo.timeoutMs ?? 20_000, ...(eo.input !== undefined ? { input: eo.input } : { stdin: 'ignore' as const }) });
    return { code: r.exitCode ?? 1, stdout: String(r.stdout ?? ''), stderr: String(r.stderr ?? '') };
  };

  const pods: RunningPod[] = [];
  try {
    o.onProgress?.(`bridge ${plan.bridge}: ${plan.gateway4}/${plan.prefix4}, ${plan.gateway6}/${plan.prefix6}`);
    // No multicast snooping: IPv6 neighbour discovery is multicast, and a snooping bridge forwards a
    // solicitation only to the ports its group table names, so a missed or stale MLD report leaves a
    // pod unreachable over IPv6 (EHOSTUNREACH, ETIMEDOUT) while IPv4 (ARP is broadcast) works. A
    // bridge of a few pods loses nothing by flooding.
    await must(['ip', 'link', 'add', plan.bridge, 'type', 'bridge', 'mcast_snooping', '0'], 'bridge');
    await must(['ip', 'addr', 'add', `${plan.gateway4}/${plan.prefix4}`, 'dev', plan.bridge], 'bridge');
    await must(['ip', '-6', 'addr', 'add', `${plan.gateway6}/${plan.prefix6}`, 'dev', plan.bridge, 'nodad'], 'bridge');
    await must(['ip', 'link', 'set', plan.bridge, 'up'], 'bridge');

    let destinationFile: string | undefined;
    let ca: Awaited<ReturnType<typeof createDevCa>> | undefined;
    if (plan.mesh) {
      await mkdir(o.workDir, { recursive: true });
      await chmod(o.workDir, 0o755);
      destinationFile = join(o.workDir, 'destinations.json');
      await writeFile(destinationFile, plan.destinations, { mode: 0o644 });
      o.onProgress?.('creating a throwaway CA and one identity per pod');
      ca = await createDevCa();
    }

    // Servers first (pods with ports), then clients: an app never starts before what it calls.
    const order = [...plan.pods.filter((p) => p.workload.ports.length > 0), ...plan.pods.filter((p) => p.workload.ports.length === 0)];
    for (const pod of order) {
      o.onProgress?.(`pod ${pod.name}: netns ${pod.netns}, ${pod.ipv4}, ${pod.ipv6}`);
      await createPodNetwork(plan, pod);
      let proxy: ProxyProcess | undefined;
      if (plan.mesh) {
        const init = await run(inNs(pod.netns, process.execPath, WEFT_ENTRY, 'init', ...pod.initArgs), 60_000);
        if (init.code !== 0) throw new NetnsError(`weft init in ${pod.netns} failed: ${(init.stderr || init.stdout).trim()}`, 'see the message above (weft init --help); is dist/ built (npm run build)?');
        const identityDir = join(o.workDir, 'identity', pod.name);
        await ca!.writeIdentity(identityDir, pod.identity);
        await makeReadableBy(identityDir, plan.proxyUid);
        const env: Record<string, string> = {
          WEFT_PROXY_INBOUND_ADDR: `[::]:${PROXY_INBOUND_PORT}`,
          // Loopback only, both families, as the injector sets it (weft init redirects IPv4 to
          // 127.0.0.1 and IPv6 to ::1).
          WEFT_PROXY_OUTBOUND_ADDR: `127.0.0.1:${PROXY_OUTBOUND_PORT},[::1]:${PROXY_OUTBOUND_PORT}`,
          WEFT_PROXY_ADMIN_ADDR: `[::]:${PROXY_ADMIN_PORT}`,
          WEFT_PROXY_IDENTITY_DIR: identityDir,
          WEFT_PROXY_DESTINATION_FILE: destinationFile!,
          WEFT_PROXY_SHUTDOWN_GRACE: '1s',
          // No inbound port is spliced raw: the inbound proxy splices a redirected opaque port to the
          // app before looking for mesh TLS, which would hand a meshed client's TLS bytes to the app.
          // With every client meshed here, detection finds the TLS (and plaintext is still forwarded).
          WEFT_PROXY_INBOUND_OPAQUE_PORTS: ',',
          WEFT_PROXY_WORKLOAD_LABELS: `workload=${pod.workload.name},namespace=${pod.workload.namespace},pod=${pod.name}`,
        };
        const launcher = inNs(pod.netns, 'setpriv', `--reuid=${plan.proxyUid}`, `--regid=${plan.proxyUid}`, '--clear-groups');
        proxy = await spawnProxy({ name: `${pod.name}-proxy`, env, launcher, startTimeoutMs: timeout, onLog: (line) => o.onLog?.(`${pod.name}-proxy`, line) }).catch((e: Error) => {
          throw new NetnsError(`proxy of ${pod.name} failed to start: ${e.message}`, 'is dist/ built (npm run build) and readable by UID 2102?');
        });
        sup.adopt(`${pod.name}-proxy`, proxy.child, (grace) => proxy!.stop(grace));
      }
      const w = pod.workload;
      const env: Record<string, string> = { PATH: process.env['PATH'] ?? '/usr/bin:/bin', ...w.env, POD_NAME: pod.name, POD_IP: pod.ipv4, POD_IPV6: pod.ipv6 };
      if (w.ports.length > 0) env['PORT'] = String(w.ports[0]!.port);
      for (const p of w.ports) if (p.name) env[`PORT_${p.name.toUpperCase().replace(/[^A-Z0-9]/g, '_')}`] = String(p.port);
      // The local mode's variables, now naming the service itself (the proxy catches it transparently).
      for (const u of w.upstreams) {
        const s = plan.services.find((x) => `${x.name}.${x.namespace}` === u);
        if (!s) continue;
        const stem = s.name.toUpperCase().replace(/[^A-Z0-9]/g, '_');
        env[`UPSTREAM_${stem}_URL`] = `http://${s.name}.${s.namespace}:${s.port}`;
        env[`UPSTREAM_${stem}_AUTHORITY`] = `${s.name}.${s.namespace}:${s.port}`;
      }
      o.onProgress?.(`starting ${pod.name}: ${w.command.join(' ')}`);
      const app = sup.spawnApp({ name: pod.name, command: 'ip', args: ['netns', 'exec', pod.netns, ...w.command], env });
      if (app.pid < 0) throw new NetnsError(`${pod.name}: could not start ${w.command[0]}`, 'check the command in the topology file');
      for (const p of w.ports) {
        await waitUntil(
          async () => {
            if (app.hasExited()) throw new NetnsError(`${pod.name} exited at start: ${app.tail().slice(-5).join(' | ') || 'no output'}`, 'fix the app (it must listen on 0.0.0.0 or :: in its namespace)');
            return listensOn(app.pid, p.port);
          },
          timeout,
          () => `${pod.name} did not listen on port ${p.port} in time: ${app.tail().slice(-5).join(' | ')}`,
        );
      }
      pods.push({ plan: pod, app, proxy });
    }
  } catch (e) {
    await stop();
    throw e;
  }
  return { plan, pods, supervisor: sup, exec, stop };
}
