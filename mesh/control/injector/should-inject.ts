/**
 * Whether a pod gets a proxy: Linkerd's truth table for the inject annotation, plus the pods that
 * are never injected. Pure. Each "no" carries a sentence fit for a Kubernetes Event.
 *
 *   namespace \ pod   absent   enabled  ingress  disabled
 *   absent            no       yes      yes      no
 *   enabled           yes      yes      yes      no
 *   ingress           yes      yes      yes      no
 *   disabled          no       yes      yes      no
 *
 * The pod's value wins whenever it is set; without one the namespace decides; without either, no.
 * A value that is none of enabled/disabled/ingress (on either) is refused with a reason, as Linkerd
 * does for admission requests. Never injected, whatever the annotations say: kube-system, the
 * control-plane namespace, hostNetwork pods (the redirect rules would capture the node's traffic)
 * and pods that already have a weft-proxy container.
 */
import { ANNOTATIONS, INJECT_VALUES, type InjectValue } from '../../config/annotations';
import { CONTROL_PLANE_NAMESPACE, PROXY_CONTAINER } from '../../config/names';
import type { NamespaceLike, PodLike } from './kube-types';

export type InjectDecision =
  | { inject: true; value: Exclude<InjectValue, 'disabled'>; by: 'pod' | 'namespace' }
  | { inject: false; reason: string };

export const SYSTEM_NAMESPACES: readonly string[] = ['kube-system'];

export interface ShouldInjectOptions {
  controlPlaneNamespace?: string;
}

function isInjectValue(v: string): v is InjectValue {
  return (INJECT_VALUES as readonly string[]).includes(v);
}

/** The namespace a pod lives in: the Namespace object's name, else the pod's own field. */
export function namespaceName(pod: PodLike, namespace: NamespaceLike | undefined): string | undefined {
  return namespace?.metadata?.name ?? pod.metadata?.namespace;
}

export function hasProxy(pod: PodLike): boolean {
  const spec = pod.spec ?? {};
  return [...(spec.containers ?? []), ...(spec.initContainers ?? [])].some((c) => c.name === PROXY_CONTAINER);
}

export function shouldInject(pod: PodLike, namespace: NamespaceLike | undefined, opts: ShouldInjectOptions = {}): InjectDecision {
  const key = ANNOTATIONS.inject;
  const ns = namespaceName(pod, namespace);
  const controlPlane = opts.controlPlaneNamespace ?? CONTROL_PLANE_NAMESPACE;
  if (ns !== undefined && SYSTEM_NAMESPACES.includes(ns)) {
    return { inject: false, reason: `Not injected: pods in the ${ns} namespace are never meshed.` };
  }
  if (ns === controlPlane) {
    return { inject: false, reason: `Not injected: ${ns} is the Weft control-plane namespace, whose pods are never injected.` };
  }

  const podValue = pod.metadata?.annotations?.[key];
  const nsValue = namespace?.metadata?.annotations?.[key];
  if (podValue !== undefined && !isInjectValue(podValue)) {
    return { inject: false, reason: `Not injected: the pod's ${key} annotation is "${podValue}"; expected enabled, disabled or ingress.` };
  }
  if (nsValue !== undefined && !isInjectValue(nsValue)) {
    return { inject: false, reason: `Not injected: the namespace's ${key} annotation is "${nsValue}"; expected enabled, disabled or ingress.` };
  }

  let decision: InjectDecision;
  if (podValue === 'disabled') {
    decision = { inject: false, reason: `Not injected: the pod has ${key}: disabled.` };
  } else if (podValue !== undefined) {
    decision = { inject: true, value: podValue, by: 'pod' };
  } else if (nsValue === 'enabled' || nsValue === 'ingress') {
    decision = { inject: true, value: nsValue, by: 'namespace' };
  } else if (nsValue === 'disabled') {
    decision = { inject: false, reason: `Not injected: the namespace has ${key}: disabled and the pod does not override it.` };
  } else {
    decision = { inject: false, reason: `Not injected: neither the pod nor its namespace has ${key}: enabled.` };
  }
  if (!decision.inject) return decision;

  if (pod.spec?.hostNetwork === true) {
    return { inject: false, reason: 'Not injected: the pod uses hostNetwork, so the proxy\'s redirect rules would capture the whole node\'s traffic.' };
  }
  if (hasProxy(pod)) {
    return { inject: false, reason: `Not injected: the pod already has a ${PROXY_CONTAINER} container.` };
  }
  return decision;
}
