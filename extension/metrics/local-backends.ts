/**
 * The weighted backends of a service in local mode, read from the destination file the local runner
 * writes for its proxies (`<state dir>/mesh/destinations.yaml`, JSON): a route `name.ns:port` with
 * `backends: [{ authority, weight }]`, each backend authority served by a destination whose
 * `labels.service` names the workload. Pure; an unreadable document gives no backends.
 */
import type { Backend } from './service-panel-model';

interface Destination {
  authority?: unknown;
  labels?: { service?: unknown };
  backends?: { authority?: unknown; weight?: unknown }[];
}

export function backendsOf(destinationsJson: string, service: string, namespace: string): Backend[] {
  let doc: { destinations?: Destination[] };
  try {
    doc = JSON.parse(destinationsJson) as { destinations?: Destination[] };
  } catch {
    return [];
  }
  const list = Array.isArray(doc.destinations) ? doc.destinations : [];
  const host = (authority: unknown): string => (typeof authority === 'string' ? authority.replace(/:\d+$/, '') : '');
  const route = list.find((d) => Array.isArray(d.backends) && d.backends.length > 0 && (host(d.authority) === `${service}.${namespace}` || host(d.authority).startsWith(`${service}.${namespace}.svc`)));
  if (!route?.backends) return [];
  const workloadOf = (authority: unknown): string | undefined => {
    const served = list.find((d) => d.authority === authority && !d.backends);
    const name = served?.labels?.service;
    return typeof name === 'string' ? name : undefined;
  };
  const out: Backend[] = [];
  for (const b of route.backends) {
    const workload = workloadOf(b.authority);
    if (workload && typeof b.weight === 'number') out.push({ workload, weight: b.weight });
  }
  return out;
}
