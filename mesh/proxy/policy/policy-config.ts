/**
 * The proxy's inbound-policy settings, read from WEFT_PROXY_* variables (docs/proxy.md, "Inbound
 * policy"). Pure: every problem is returned, naming its variable and what to write instead.
 *
 *   nothing set                          → all-unauthenticated (everyone allowed; decisions still counted)
 *   WEFT_PROXY_DEFAULT_INBOUND_POLICY    → that default policy, no resources
 *   WEFT_PROXY_POLICY_FILE (+ WORKLOAD)  → resources from YAML files, compiled by the proxy, re-read on change
 *   WEFT_PROXY_POLICY_ADDR (+ WORKLOAD)  → the policy service's stream (last-known table kept when it is down)
 */
import { ANNOTATIONS, DEFAULT_INBOUND_POLICIES, type DefaultInboundPolicy } from '../../config/annotations';
import { DEFAULT_CLUSTER_NETWORKS } from '../../config/names';
import { parseCidr } from '../../control/policy/cidr';
import { isDefaultInboundPolicy } from '../../control/policy/default-policy';
import type { ProbeFact } from '../../control/policy/inbound-policy';
import type { WorkloadRequest } from '../../control/policy/policy-model';
import { parseAddr, type SocketAddr } from '../discovery/discovery';

export type PolicyConfig =
  | { kind: 'default'; defaultPolicy: DefaultInboundPolicy; clusterNetworks: string[]; explicit: boolean; probes: ProbeFact[] }
  | { kind: 'file'; files: string[]; workload: WorkloadRequest; defaultPolicy: DefaultInboundPolicy; clusterNetworks: string[] }
  | { kind: 'service'; addr: SocketAddr; workload: WorkloadRequest };

type Env = Record<string, string | undefined>;

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

export function parsePolicyConfig(env: Env): { config: PolicyConfig; errors: string[] } {
  const errors: string[] = [];
  const get = (name: string): string | undefined => {
    const v = env[name]?.trim();
    return v === undefined || v === '' ? undefined : v;
  };
  const addrText = get('WEFT_PROXY_POLICY_ADDR');
  const fileText = get('WEFT_PROXY_POLICY_FILE');
  const workloadText = get('WEFT_PROXY_POLICY_WORKLOAD');
  const policyText = get('WEFT_PROXY_DEFAULT_INBOUND_POLICY');

  let defaultPolicy: DefaultInboundPolicy = 'all-unauthenticated';
  if (policyText !== undefined) {
    if (isDefaultInboundPolicy(policyText)) defaultPolicy = policyText;
    else errors.push(`WEFT_PROXY_DEFAULT_INBOUND_POLICY: expected one of ${DEFAULT_INBOUND_POLICIES.join(', ')}, got "${policyText}"`);
  }

  let clusterNetworks = [...DEFAULT_CLUSTER_NETWORKS];
  const cn = get('WEFT_PROXY_CLUSTER_NETWORKS');
  if (cn !== undefined) {
    clusterNetworks = cn.split(',').map((s) => s.trim()).filter(Boolean);
    for (const c of clusterNetworks) {
      try {
        parseCidr(c);
      } catch (e) {
        errors.push(`WEFT_PROXY_CLUSTER_NETWORKS: ${(e as Error).message} (expected CIDRs like 10.0.0.0/8,127.0.0.0/8)`);
      }
    }
  }

  const probeList = (): ProbeFact[] | undefined => {
    const probes = get('WEFT_PROXY_POLICY_PROBES');
    if (probes === undefined) return undefined;
    const list: ProbeFact[] = [];
    for (const item of probes.split(',').map((s) => s.trim()).filter(Boolean)) {
      const m = /^(\d{1,5}):(\/\S*)$/.exec(item);
      const port = m ? Number(m[1]) : 0;
      if (!m || port < 1 || port > 65535) errors.push(`WEFT_PROXY_POLICY_PROBES: expected port:/path (e.g. 8080:/ready,8080:/live), got "${item}"`);
      else list.push({ port, path: m[2]! });
    }
    return list;
  };

  const workload = (): WorkloadRequest => {
    const [ns, name, extra] = (workloadText ?? '').split('/');
    if (!workloadText || !ns || !name || extra !== undefined || !DNS_LABEL.test(ns)) {
      errors.push(`WEFT_PROXY_POLICY_WORKLOAD: expected namespace/name of the workload this proxy serves (e.g. shop/api), got "${workloadText ?? ''}"`);
    }
    const w: WorkloadRequest = { namespace: ns ?? '', name: name ?? '' };
    const labels = get('WEFT_PROXY_POLICY_LABELS');
    if (labels !== undefined) {
      w.labels = {};
      for (const kv of labels.split(',').map((s) => s.trim()).filter(Boolean)) {
        const eq = kv.indexOf('=');
        if (eq <= 0) errors.push(`WEFT_PROXY_POLICY_LABELS: expected key=value pairs separated by commas, got "${kv}"`);
        else w.labels[kv.slice(0, eq)] = kv.slice(eq + 1);
      }
    }
    const ports = get('WEFT_PROXY_POLICY_PORTS');
    if (ports !== undefined) {
      w.ports = [];
      for (const item of ports.split(',').map((s) => s.trim()).filter(Boolean)) {
        const m = /^(?:([a-z0-9]([-a-z0-9]*[a-z0-9])?)=)?(\d{1,5})$/.exec(item);
        const port = m ? Number(m[3]) : 0;
        if (!m || port < 1 || port > 65535) errors.push(`WEFT_PROXY_POLICY_PORTS: expected name=port or port (e.g. http=8080,9090), got "${item}"`);
        else w.ports.push(m[1] ? { name: m[1], port } : { port });
      }
    }
    const probes = probeList();
    if (probes) w.probes = probes;
    // Sent to the policy service as the workload's annotation: it applies when the service does not know the workload.
    if (policyText !== undefined && isDefaultInboundPolicy(policyText)) w.annotations = { [ANNOTATIONS.defaultInboundPolicy]: policyText };
    return w;
  };

  if (addrText !== undefined && fileText !== undefined) {
    errors.push('WEFT_PROXY_POLICY_ADDR: give either it or WEFT_PROXY_POLICY_FILE, not both');
  }
  if (addrText !== undefined) {
    const addr = parseAddr(addrText);
    if (!addr) errors.push(`WEFT_PROXY_POLICY_ADDR: expected host:port of the policy service, got "${addrText}"`);
    if (cn !== undefined) errors.push('WEFT_PROXY_CLUSTER_NETWORKS: the policy service decides the cluster networks with WEFT_PROXY_POLICY_ADDR; remove it (or use WEFT_PROXY_POLICY_FILE)');
    return { config: { kind: 'service', addr: addr ?? { host: '', port: 0 }, workload: workload() }, errors };
  }
  if (fileText !== undefined) {
    const files = fileText.split(',').map((s) => s.trim()).filter(Boolean);
    return { config: { kind: 'file', files, workload: workload(), defaultPolicy, clusterNetworks }, errors };
  }
  for (const v of ['WEFT_PROXY_POLICY_WORKLOAD', 'WEFT_PROXY_POLICY_LABELS', 'WEFT_PROXY_POLICY_PORTS']) {
    if (get(v) !== undefined) errors.push(`${v}: only used with WEFT_PROXY_POLICY_ADDR or WEFT_PROXY_POLICY_FILE; set one of them, or remove it`);
  }
  return { config: { kind: 'default', defaultPolicy, clusterNetworks, explicit: policyText !== undefined, probes: probeList() ?? [] }, errors };
}
