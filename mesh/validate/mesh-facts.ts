/** What the mesh will do with a resource: injection, opaque ports, vocabulary (Weft's or Linkerd's). */
import { ANNOTATIONS, LINKERD_ANNOTATIONS } from '../config/annotations';
import { DEFAULT_OPAQUE_PORTS } from '../config/names';
import type { Resource } from './finding';
import { parsePortList, podTemplate, portListHas, type PodTemplate, type PortList } from './kube-objects';
import type { WorkspaceIndex } from './workspace-index';

export type Vocabulary = typeof ANNOTATIONS | typeof LINKERD_ANNOTATIONS;
type KeyName = keyof typeof LINKERD_ANNOTATIONS & keyof typeof ANNOTATIONS;

/** The value of an annotation in either vocabulary (Weft's wins). */
export function annotation(ann: Record<string, string>, key: KeyName): { key: string; value: string } | undefined {
  for (const k of [ANNOTATIONS[key], LINKERD_ANNOTATIONS[key]]) if (ann[k] !== undefined) return { key: k, value: ann[k]! };
  return undefined;
}

export function isMeshedValue(v: string | undefined): boolean {
  return v === 'enabled' || v === 'ingress';
}

export interface InjectState {
  meshed: boolean;
  /** Where the decision came from. */
  source: 'pod' | 'namespace' | 'none';
  vocabulary: Vocabulary;
}

export function vocabularyOf(...maps: Record<string, string>[]): Vocabulary {
  for (const m of maps) for (const k of Object.keys(m)) if (k.includes('linkerd.io/')) return LINKERD_ANNOTATIONS;
  return ANNOTATIONS;
}

export function injectState(res: Resource, index: WorkspaceIndex, t: PodTemplate | undefined = podTemplate(res)): InjectState {
  const nsAnn = index.namespaceAnnotations(res.namespace);
  const vocabulary = vocabularyOf(t?.annotations ?? {}, nsAnn);
  const pod = t ? annotation(t.annotations, 'inject') : undefined;
  if (pod) return { meshed: isMeshedValue(pod.value), source: 'pod', vocabulary };
  const ns = annotation(nsAnn, 'inject');
  if (ns) return { meshed: isMeshedValue(ns.value), source: 'namespace', vocabulary };
  return { meshed: false, source: 'none', vocabulary };
}

export interface EffectivePorts {
  list: PortList;
  /** Where the list came from: the resource's annotation, its namespace's, or the defaults. */
  source: 'resource' | 'namespace' | 'default';
  key?: string;
}

export const DEFAULT_OPAQUE_LIST: PortList = parsePortList(DEFAULT_OPAQUE_PORTS.join(','));

/** The opaque ports in force for a pod template or a Service (its annotation replaces the defaults). */
export function effectiveOpaque(own: Record<string, string>, namespace: string, index: WorkspaceIndex): EffectivePorts {
  const a = annotation(own, 'opaquePorts');
  if (a) return { list: parsePortList(a.value), source: 'resource', key: a.key };
  const n = annotation(index.namespaceAnnotations(namespace), 'opaquePorts');
  if (n) return { list: parsePortList(n.value), source: 'namespace', key: n.key };
  return { list: DEFAULT_OPAQUE_LIST, source: 'default' };
}

export function isOpaque(e: EffectivePorts, port: number, name?: string): boolean {
  return portListHas(e.list, port, name);
}

/** Well-known server-speaks-first ports beyond the default opaque list. */
const SERVER_FIRST_PORTS: Record<number, string> = {
  21: 'FTP', 25: 'SMTP', 110: 'POP3', 143: 'IMAP', 587: 'SMTP submission', 2525: 'SMTP', 3306: 'MySQL', 3307: 'MySQL',
  4222: 'NATS', 6222: 'NATS cluster', 4444: 'Galera SST', 4567: 'Galera replication', 4568: 'Galera IST',
  5432: 'PostgreSQL', 5433: 'PostgreSQL', 6379: 'Redis', 6380: 'Redis', 26379: 'Redis Sentinel',
  9300: 'Elasticsearch transport', 11211: 'Memcached', 33060: 'MySQL X',
};
/** Port names that announce a server-speaks-first protocol (Bitnami and common chart names). */
const SERVER_FIRST_NAMES: [RegExp, string][] = [
  [/^(tcp-)?(mysql|mariadb|mysqlx)$/, 'MySQL'],
  [/^(tcp-)?(postgres|postgresql|pg|pgsql)$/, 'PostgreSQL'],
  [/^(tcp-)?(redis|redis-sentinel|sentinel)$/, 'Redis'],
  [/^(tcp-)?(smtp|smtps|submission)$/, 'SMTP'],
  [/^(tcp-)?(memcache|memcached)$/, 'Memcached'],
  [/^(tcp-)?nats$/, 'NATS'],
  [/^(tcp-)?(transport|es-transport)$/, 'Elasticsearch transport'],
  [/^(tcp-)?galera$/, 'Galera'],
];

/** The protocol a port probably speaks when the server speaks first, or undefined. */
export function serverSpeaksFirst(port: number | undefined, name?: string): string | undefined {
  if (port !== undefined && SERVER_FIRST_PORTS[port]) return SERVER_FIRST_PORTS[port];
  if (name) for (const [re, p] of SERVER_FIRST_NAMES) if (re.test(name.toLowerCase())) return p;
  return undefined;
}
