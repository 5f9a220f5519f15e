/**
 * The netns local mode's plan (pure): for a parsed topology file, one network namespace per replica
 * ("pod") on a bridge, with its own IPv4 and IPv6 address, its /etc/hosts, its `weft init`
 * arguments, and the proxies' destination file in which the addresses apps really dial — service
 * virtual IPs (like ClusterIPs) and pod IPs, with their ports — map to endpoints.
 *
 * With the mesh on, a service name resolves to its virtual IPs (v4 and v6, never assigned to any
 * interface: the caller's outbound proxy catches the connection by its original destination). With
 * the mesh off there is nothing to route a virtual IP, so a service name resolves to its first
 * backend's pod IPs (headless), and the service port must then be the backend's port.
 */
import { identityName } from '../../mesh/config/identity';
import { PROXY_UID } from '../../mesh/config/ports';
import { formatAddr } from '../../mesh/proxy/discovery/discovery';
import { redirectArgs, type PortRange } from '../../mesh/proxy/redirect-rules';
import { destinationDocument, type LocalRoute, type ServedEndpoint } from '../local/local-mesh';
import { replicaNames, toLocalTopology, workloadAuthority, type Topology, type TopologyWorkload } from '../local/topology-file';

export interface SkipPorts {
  inbound?: PortRange[];
  outbound?: PortRange[];
}

export interface NetnsPlanOptions {
  /** Lower-case hex, 4 to 6 characters: part of every name this run creates (unique per run). */
  runId: string;
  /** The pods' IPv4 /24 is 10.<a>.<b>.0/24. */
  subnet: [number, number];
  /** False: no redirect rules and no proxies (the same apps, in plaintext). Default true. */
  mesh?: boolean;
  /** Per workload name: ports that bypass the proxy (given to `weft init`). */
  skipPorts?: Record<string, SkipPorts>;
}

export interface PodPlan {
  /** The replica's name (`api`, or `api-0`, `api-1`… with replicas), also its host name. */
  name: string;
  workload: TopologyWorkload;
  /** Network namespace name: `weft-<runId>-<name>`. */
  netns: string;
  /** The bridge side of the veth pair (the pod side is renamed eth0). */
  vethHost: string;
  /** The pod side's temporary name, before it moves into the namespace. */
  vethPeer: string;
  ipv4: string;
  ipv6: string;
  identity: string;
  /** `weft init` arguments (the injector's redirectArgs). */
  initArgs: string[];
  /** /etc/netns/<netns>/hosts. */
  hosts: string;
}

export interface ServicePlan {
  name: string;
  namespace: string;
  port: number;
  vip4: string;
  vip6: string;
  /** What the name resolves to in every pod (VIPs with the mesh on, the first backend's pod IPs without). */
  addresses: [string, string];
}

export interface NetnsPlan {
  runId: string;
  mesh: boolean;
  bridge: string;
  gateway4: string;
  gateway6: string;
  prefix4: number;
  prefix6: number;
  pods: PodPlan[];
  services: ServicePlan[];
  /** The proxies' destination file (JSON); empty without the mesh. */
  destinations: string;
  proxyUid: number;
}

const RUN_ID = /^[0-9a-f]{4,6}$/;
export const NETNS_PREFIX = 'weft-';
export const BRIDGE_PREFIX = 'wb';
export const VETH_PREFIX = 'wv';
export const PEER_PREFIX = 'wp';
/** At most this many pods per run (host numbers .2 to .199; .200 up are service VIPs). */
export const MAX_PODS = 198;

/** Names are what the run's clean-up sweeps: everything it made starts with these. */
export function netnsName(runId: string, pod: string): string {
  return `${NETNS_PREFIX}${runId}-${pod}`;
}

export function planNetns(t: Topology, o: NetnsPlanOptions): { ok: true; plan: NetnsPlan } | { ok: false; error: string } {
  if (!RUN_ID.test(o.runId)) return { ok: false, error: `run id "${o.runId}": expected 4 to 6 lower-case hex digits` };
  const [a, b] = o.subnet;
  if (![a, b].every((n) => Number.isInteger(n) && n >= 0 && n <= 255)) return { ok: false, error: `subnet 10.${a}.${b}.0/24 is not an IPv4 /24` };
  const mesh = o.mesh ?? true;
  const v4 = (host: number): string => `10.${a}.${b}.${host}`;
  const hex = (n: number): string => n.toString(16);
  const v6 = (host: number): string => `fd57:ef7:${hex(a)}:${hex(b)}::${hex(host)}`;

  const replicas = t.workloads.flatMap((w) => replicaNames(w).map((name, r) => ({ w, name, r })));
  if (replicas.length > MAX_PODS) return { ok: false, error: `${replicas.length} replicas: at most ${MAX_PODS} pods in one netns run` };
  if (t.services.length > 55) return { ok: false, error: `${t.services.length} services: at most 55 in one netns run` };
  for (const s of Object.keys(o.skipPorts ?? {})) if (!t.workloads.some((w) => w.name === s)) return { ok: false, error: `skip ports for "${s}": no such workload` };

  const pods = replicas.map(({ w, name }, i) => ({
    name,
    w,
    netns: netnsName(o.runId, name),
    vethHost: `${VETH_PREFIX}${o.runId}-${i}`,
    vethPeer: `${PEER_PREFIX}${o.runId}-${i}`,
    ipv4: v4(i + 2),
    ipv6: v6(i + 2),
    identity: identityName({ serviceAccount: w.serviceAccount, namespace: w.namespace }),
  }));
  const firstPod = new Map<string, (typeof pods)[number]>();
  for (const p of pods) if (!firstPod.has(p.w.name)) firstPod.set(p.w.name, p);

  const services: ServicePlan[] = t.services.map((s, i) => {
    const vip4 = v4(200 + i);
    const vip6 = v6(200 + i);
    const backend = firstPod.get(s.backends[0]!.workload)!;
    return { name: s.name, namespace: s.namespace, port: s.port, vip4, vip6, addresses: mesh ? [vip4, vip6] : [backend.ipv4, backend.ipv6] };
  });

  const hostsFor = (self: string): string => {
    const lines = ['127.0.0.1\tlocalhost', '::1\tlocalhost ip6-localhost ip6-loopback'];
    for (const p of pods) {
      // Pods by `<pod>.<namespace>.pod` only: a bare name is a service's.
      const names = `${p.name}.${p.w.namespace}.pod`;
      lines.push(`${p.ipv4}\t${names}`, `${p.ipv6}\t${names}`);
    }
    for (const s of services) {
      const names = `${s.name}.${s.namespace} ${s.name}.${s.namespace}.svc ${s.name}.${s.namespace}.svc.cluster.local`;
      // The short name only in the service's own namespace (as Kubernetes' search path does).
      const short = (ns: string): string => (ns === s.namespace ? `${s.name} ` : '');
      const ns = pods.find((p) => p.name === self)?.w.namespace ?? t.namespace;
      lines.push(`${s.addresses[0]}\t${short(ns)}${names}`, `${s.addresses[1]}\t${short(ns)}${names}`);
    }
    return `# written by weft local up --isolation netns for ${self}\n${lines.join('\n')}\n`;
  };

  const podPlans: PodPlan[] = pods.map((p) => ({
    name: p.name,
    workload: p.w,
    netns: p.netns,
    vethHost: p.vethHost,
    vethPeer: p.vethPeer,
    ipv4: p.ipv4,
    ipv6: p.ipv6,
    identity: p.identity,
    initArgs: redirectArgs({ skipInboundPorts: o.skipPorts?.[p.w.name]?.inbound, skipOutboundPorts: o.skipPorts?.[p.w.name]?.outbound }),
    hosts: hostsFor(p.name),
  }));

  let destinations = '';
  if (mesh) {
    const local = toLocalTopology(t);
    const hints = new Map(local.workloads.flatMap((lw) => (lw.ports ?? []).map((lp) => [lp.authority, lp.protocolHint] as const)));
    const served: ServedEndpoint[] = pods.flatMap((p) =>
      p.w.ports.flatMap((port) => {
        const base = { name: p.name, workload: p.w.name, serviceAccount: p.w.serviceAccount, identity: p.identity, appPort: port.port };
        const hint = hints.get(workloadAuthority(p.w, port.port));
        const at = (authority: string, host: string): ServedEndpoint => ({ ...base, authority, inbound: { host, port: port.port }, ...(hint ? { protocolHint: hint } : {}) });
        return [
          at(workloadAuthority(p.w, port.port), p.ipv4),
          // A pod dialled by its own address: v4 endpoint for v4, v6 for v6.
          at(formatAddr({ host: p.ipv4, port: port.port }), p.ipv4),
          at(formatAddr({ host: p.ipv6, port: port.port }), p.ipv6),
        ];
      }),
    );
    const routes: LocalRoute[] = (local.routes ?? []).flatMap((r) => {
      const s = services.find((x) => `${x.name}.${x.namespace}:${x.port}` === r.authority)!;
      return [r, { ...r, authority: formatAddr({ host: s.vip4, port: s.port }) }, { ...r, authority: formatAddr({ host: s.vip6, port: s.port }) }];
    });
    destinations = destinationDocument(t.namespace, served, routes);
  }

  return {
    ok: true,
    plan: { runId: o.runId, mesh, bridge: `${BRIDGE_PREFIX}${o.runId}`, gateway4: v4(1), gateway6: v6(1), prefix4: 24, prefix6: 64, pods: podPlans, services, destinations, proxyUid: PROXY_UID },
  };
}
