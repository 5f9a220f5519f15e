/**
 * The workspace index: every resource of every YAML file of the folder, by kind and namespace,
 * plus the live namespaces' annotations the caller may supply. Rebuilt lazily when files change.
 */
import type { LiveNamespaces, Resource } from './finding';
import { podTemplate, stringMap, obj } from './kube-objects';

export class WorkspaceIndex {
  private byKindNs = new Map<string, Map<string, Resource[]>>();
  private all: Resource[] = [];
  /** Answers computed once per index (the index is rebuilt whenever a file changes). */
  private nsAnnotations = new Map<string, Record<string, string>>();
  private workloadsByNs = new Map<string, Resource[]>();

  constructor(resources: Iterable<Resource>, readonly live: LiveNamespaces = new Map()) {
    for (const r of resources) {
      this.all.push(r);
      let m = this.byKindNs.get(r.kind);
      if (!m) this.byKindNs.set(r.kind, (m = new Map()));
      const ns = r.kind === 'Namespace' ? r.name : r.namespace;
      let list = m.get(ns);
      if (!list) m.set(ns, (list = []));
      list.push(r);
    }
  }

  resources(): readonly Resource[] {
    return this.all;
  }

  /** Resources of a kind, in one namespace or all of them. */
  ofKind(kind: string, namespace?: string): Resource[] {
    const m = this.byKindNs.get(kind);
    if (!m) return [];
    if (namespace !== undefined) return m.get(namespace) ?? [];
    return [...m.values()].flat();
  }

  find(kind: string, namespace: string, name: string): Resource | undefined {
    return this.ofKind(kind, namespace).find((r) => r.name === name);
  }

  namespace(name: string): Resource | undefined {
    return this.ofKind('Namespace', name)[0];
  }

  /** Annotations of a namespace: its manifest in the workspace first, else the live cluster's (read-only, shared). */
  namespaceAnnotations(name: string): Record<string, string> {
    let a = this.nsAnnotations.get(name);
    if (!a) {
      const ns = this.namespace(name);
      a = ns ? stringMap(obj(ns.obj.metadata).annotations) : { ...(this.live.get(name) ?? {}) };
      this.nsAnnotations.set(name, a);
    }
    return a;
  }

  /** Labels of a namespace (with the automatic `kubernetes.io/metadata.name`). */
  namespaceLabels(name: string): Record<string, string> {
    const ns = this.namespace(name);
    return { ...(ns ? stringMap(obj(ns.obj.metadata).labels) : {}), 'kubernetes.io/metadata.name': name };
  }

  /** Names of every namespace known (workspace manifests, resources' namespaces, live cluster). */
  namespaceNames(): string[] {
    const s = new Set<string>(this.live.keys());
    for (const r of this.all) s.add(r.kind === 'Namespace' ? r.name : r.namespace);
    return [...s];
  }

  /** Pod-bearing resources (Deployments, StatefulSets, Pods, Jobs…) of a namespace (read-only, shared). */
  workloads(namespace: string): readonly Resource[] {
    let out = this.workloadsByNs.get(namespace);
    if (!out) {
      out = [];
      for (const [kind, m] of this.byKindNs) {
        if (kind === 'Namespace') continue;
        for (const r of m.get(namespace) ?? []) if (podTemplate(r)) out.push(r);
      }
      this.workloadsByNs.set(namespace, out);
    }
    return out;
  }
}
