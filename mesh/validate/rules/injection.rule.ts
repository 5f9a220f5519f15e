/**
 * injection: inject annotations that do nothing (on the workload's metadata, as labels), invalid
 * values, host-network pods in injected namespaces, injecting system namespaces, and Jobs whose
 * proxy would keep them from completing.
 */
import { ANNOTATIONS, INJECT_VALUES, LINKERD_ANNOTATIONS, LINKERD_CONTROL_PLANE_NAMESPACE } from '../../config/annotations';
import { CONTROL_PLANE_NAMESPACE } from '../../config/names';
import type { DocEdit, Resource, Rule, RuleHit, RuleInfo, RuleContext, YamlPath } from '../finding';
import { obj, podTemplate, stringMap } from '../kube-objects';
import { annotation, injectState, isMeshedValue } from '../mesh-facts';
import { quote, removeEntry, setEntry, trailingComment, withComment } from '../yaml-edits';

const INJECT_KEYS = [ANNOTATIONS.inject, LINKERD_ANNOTATIONS.inject];
const SYSTEM_NAMESPACES = ['kube-system', 'kube-public', 'kube-node-lease', CONTROL_PLANE_NAMESPACE, LINKERD_CONTROL_PLANE_NAMESPACE];

const codes: RuleInfo[] = [
  { code: 'WEFT3001', category: 'injection', severity: 'warning', title: 'Inject annotation on the workload, not its pod template', explanation: 'The inject annotation is on the Deployment\'s (StatefulSet\'s, Job\'s…) own metadata. The injector only reads the pod template\'s annotations (or the namespace\'s), so the pods start without a proxy. Move the annotation to spec.template.metadata.annotations.' },
  { code: 'WEFT3002', category: 'injection', severity: 'warning', title: 'Inject key used as a label', explanation: 'The inject key is set as a label. The injector reads annotations only, so the setting is ignored. Move it to the annotations.' },
  { code: 'WEFT3003', category: 'injection', severity: 'error', title: 'Invalid inject value', explanation: `The inject annotation accepts only ${INJECT_VALUES.join(', ')}. Any other value (true, yes, enable…) is treated as not injecting, so the pods run without a proxy. Use one of the accepted values.` },
  { code: 'WEFT3004', category: 'injection', severity: 'warning', title: 'Host-network pod in an injected namespace', explanation: 'A pod with hostNetwork: true shares the node\'s network namespace: the proxy\'s iptables rules would capture the whole node\'s traffic, so injection is refused or breaks the node. Opt the pod out with the inject annotation set to disabled.' },
  { code: 'WEFT3005', category: 'injection', severity: 'error', title: 'Injection enabled for a system namespace', explanation: 'Injection is enabled for kube-system (or another system namespace) or the control plane\'s own namespace. System pods and the control plane must not depend on the mesh they run: a restart can deadlock the cluster (no identity without the control plane, no control plane without identity). Disable injection there.' },
  { code: 'WEFT3006', category: 'injection', severity: 'warning', title: 'Job injected without native sidecars', explanation: 'A Job or CronJob pod is meshed, but the proxy runs as an ordinary container: it keeps running after the job\'s container exits, so the Job never completes. Enable the proxy as a native sidecar (restartable init container, Kubernetes 1.29+) or disable injection for the Job.' },
];

function invalidValue(path: YamlPath, key: string, value: string): RuleHit | undefined {
  if ((INJECT_VALUES as readonly string[]).includes(value)) return undefined;
  const yes = /^(true|yes|on|y|enable|enabled|1)$/i.test(value);
  const no = /^(false|no|off|n|disable|disabled|0)$/i.test(value);
  const suggestion = yes ? 'enabled' : no ? 'disabled' : undefined;
  return {
    code: 'WEFT3003', path: [...path, key],
    message: `${key}: "${value}" is not a valid value (expected ${INJECT_VALUES.join(', ')}); it is treated as not injecting, so the pods run without a proxy.${suggestion ? ` Use "${suggestion}".` : ''}`,
    fix: suggestion ? { title: `Set ${key} to "${suggestion}"`, edits: () => [] } : undefined,
  };
}

function check(res: Resource, { index }: RuleContext): RuleHit[] {
  const hits: RuleHit[] = [];
  const meta = obj(res.obj.metadata);
  const ann = stringMap(meta.annotations);
  const labels = stringMap(meta.labels);
  const t = podTemplate(res);
  const metaPaths: [YamlPath, Record<string, string>, Record<string, string>][] = [[['metadata'], ann, labels]];
  if (t && t.path.length > 0) metaPaths.push([[...t.path, 'metadata'], t.annotations, t.labels]);
  for (const [mp, a, l] of metaPaths) {
    for (const key of INJECT_KEYS) {
      if (a[key] !== undefined) {
        const bad = invalidValue([...mp, 'annotations'], key, a[key]!);
        if (bad) {
          const v = /^(true|yes|on|y|enable|enabled|1)$/i.test(a[key]!) ? 'enabled' : 'disabled';
          if (bad.fix) bad.fix.edits = () => setEntry(res, [...mp, 'annotations'], key, quote(v));
          hits.push(bad);
        }
      }
      if (l[key] !== undefined) {
        const value = l[key]!;
        const move = (): DocEdit[] => {
          const edits = [...removeEntry(res, [...mp, 'labels'], key), ...setEntry(res, [...mp, 'annotations'], key, withComment(quote(value), trailingComment(res, [...mp, 'labels'], key)))];
          return edits.length === 2 ? edits : [];
        };
        hits.push({
          code: 'WEFT3002', path: [...mp, 'labels', key], key: true,
          message: `${key} is set as a label, but the injector reads annotations only: the setting is ignored. Make it an annotation.`,
          fix: a[key] === undefined ? { title: `Move ${key} to the annotations`, edits: move } : undefined,
        });
      }
    }
  }
  if (t && t.path.length > 0) {
    for (const key of INJECT_KEYS) {
      if (ann[key] === undefined) continue;
      const tplAnn = [...t.path, 'metadata', 'annotations'];
      const value = ann[key]!;
      const onTemplate = t.annotations[key] !== undefined;
      const move = (): DocEdit[] => {
        const edits = [...removeEntry(res, ['metadata', 'annotations'], key)];
        if (!onTemplate) edits.push(...setEntry(res, tplAnn, key, withComment(quote(value), trailingComment(res, ['metadata', 'annotations'], key))));
        return edits.length > 0 && (onTemplate || edits.length === 2) ? edits : [];
      };
      hits.push({
        code: 'WEFT3001', path: ['metadata', 'annotations', key], key: true,
        message: `${key} on the ${res.kind}'s own metadata has no effect: the injector reads the pod template (spec.template.metadata.annotations) or the namespace, so these pods start without a proxy. Move it to the pod template.`,
        fix: { title: `Move ${key} to the pod template`, edits: move },
      });
    }
  }
  if (res.kind === 'Namespace' && SYSTEM_NAMESPACES.includes(res.name)) {
    const a = annotation(ann, 'inject');
    if (a && isMeshedValue(a.value)) {
      hits.push({ code: 'WEFT3005', path: ['metadata', 'annotations', a.key], message: `Injection is enabled for namespace ${res.name}: system pods and the control plane must not depend on the mesh (a restart can deadlock: no identity without the control plane). Disable it.`, fix: { title: `Set ${a.key} to "disabled"`, edits: () => setEntry(res, ['metadata', 'annotations'], a.key, quote('disabled')) } });
    }
  }
  if (t && SYSTEM_NAMESPACES.includes(res.namespace)) {
    const a = annotation(t.annotations, 'inject');
    if (a && isMeshedValue(a.value) && t.path.length > 0) {
      hits.push({ code: 'WEFT3005', path: [...t.path, 'metadata', 'annotations', a.key], message: `${res.kind} ${res.name} in ${res.namespace} asks for injection: system pods and the control plane must not depend on the mesh they run. Disable it.`, fix: { title: `Set ${a.key} to "disabled"`, edits: () => setEntry(res, [...t.path, 'metadata', 'annotations'], a.key, quote('disabled')) } });
    }
  }
  if (t) {
    const state = injectState(res, index, t);
    const tplAnn = [...t.path, 'metadata', 'annotations'];
    if (state.meshed && t.spec.hostNetwork === true) {
      const key = state.source === 'pod' ? annotation(t.annotations, 'inject')!.key : state.vocabulary.inject;
      hits.push({
        code: 'WEFT3004', path: [...t.path, 'spec', 'hostNetwork'],
        message: `This pod uses hostNetwork and would be injected (${state.source === 'pod' ? 'by its own annotation' : `namespace ${res.namespace} is injected`}): the proxy's redirection would capture the node's traffic, so injection is refused or breaks the node. Set ${key}: disabled on the pod template.`,
        fix: t.path.length > 0 ? { title: `Opt this pod out of injection`, edits: () => setEntry(res, tplAnn, key, quote('disabled')) } : undefined,
      });
    }
    if (state.meshed && (res.kind === 'Job' || res.kind === 'CronJob')) {
      const key = state.vocabulary.nativeSidecar;
      const native = t.annotations[ANNOTATIONS.nativeSidecar] ?? t.annotations[LINKERD_ANNOTATIONS.nativeSidecar];
      if (native !== 'true') {
        hits.push({
          code: 'WEFT3006', path: [...t.path, 'metadata'], key: true,
          message: `This ${res.kind}'s pods are meshed but the proxy is not a native sidecar: it keeps running after the job's container exits, so the ${res.kind === 'Job' ? 'Job' : 'CronJob\'s Jobs'} never complete. Set ${key}: "true" (Kubernetes 1.29+) or disable injection.`,
          fix: { title: `Run the proxy as a native sidecar (${key})`, edits: () => setEntry(res, tplAnn, key, quote('true')) },
        });
      }
    }
  }
  return hits;
}

export const injectionRule: Rule = { name: 'injection', codes, check };
