// Kubernetes objects as the explorer's watches hold them, for the view-model tests.
import type { V1Deployment, V1Namespace, V1Pod } from '@kubernetes/client-node';
import type { ClusterInput } from '../../../../extension/explorer/explorer-model';

export function ns(name: string, inject?: string): V1Namespace {
  return { metadata: { name, ...(inject ? { annotations: { 'weft.dev/inject': inject } } : {}) } };
}

export function deployment(namespace: string, name: string, replicas = 1, ready = replicas): V1Deployment {
  return {
    metadata: { namespace, name },
    spec: { replicas, selector: { matchLabels: { app: name } }, template: { metadata: { labels: { app: name } }, spec: { containers: [{ name, image: `${name}:1` }] } } },
    status: { readyReplicas: ready },
  };
}

export function pod(namespace: string, name: string, app: string, o: { meshed?: boolean; proxyReady?: boolean; phase?: string; sa?: string; native?: boolean } = {}): V1Pod {
  const proxy = { name: 'weft-proxy', image: 'weft/proxy:0.1.0' };
  return {
    metadata: { namespace, name, labels: { app } },
    spec: {
      serviceAccountName: o.sa ?? app,
      containers: [{ name: app, image: `${app}:1` }, ...(o.meshed && !o.native ? [proxy] : [])],
      ...(o.meshed && o.native ? { initContainers: [{ ...proxy, restartPolicy: 'Always' }] } : {}),
    },
    status: {
      phase: o.phase ?? 'Running',
      podIP: '10.244.0.7',
      containerStatuses: [
        { name: app, ready: true, restartCount: 0, image: '', imageID: '' },
        ...(o.meshed && !o.native ? [{ name: 'weft-proxy', ready: o.proxyReady ?? true, restartCount: 0, image: '', imageID: '' }] : []),
      ],
      ...(o.meshed && o.native ? { initContainerStatuses: [{ name: 'weft-proxy', ready: o.proxyReady ?? true, restartCount: 0, image: '', imageID: '' }] } : {}),
    },
  };
}

export function connected(parts: Partial<ClusterInput>): ClusterInput {
  return { state: 'connected', context: 'kind-weft', server: 'https://127.0.0.1:6443', synced: true, namespaces: [], deployments: [], pods: [], ...parts };
}
