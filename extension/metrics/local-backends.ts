/**
 * The weighted backends of a service in local mode, from the topology file the run was started
 * with (state.json's `topologyFile`; `weft demo` writes its generated one): `services[].backends[]`
 * `{ workload, weight }` (docs/local-mode.md). Pure; a topology that does not parse gives none.
 */
import { parseTopology } from '../../dev-cluster/local/topology-file';
import type { Backend } from './service-panel-model';

export function backendsOf(topologyYaml: string, fileName: string, service: string, namespace: string): Backend[] {
  const parsed = parseTopology(topologyYaml, fileName);
  if (!parsed.ok) return [];
  const svc = parsed.topology.services.find((s) => s.name === service && s.namespace === namespace);
  return svc ? svc.backends.map((b) => ({ workload: b.workload, weight: b.weight })) : [];
}
