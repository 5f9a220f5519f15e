/**
 * The CheckClient of runChecks() over a kubeconfig: raw JSON requests with the kubeconfig's
 * credentials and TLS settings (client-node's applyToHTTPSOptions), so checks see the API's own
 * JSON and the Date header of /version.
 *
 *   kubeCheckClient(kubeConfig: KubeConfig, { timeoutMs? }): CheckClient
 */
import http from 'node:http';
import https from 'node:https';
import type { KubeConfig } from '@kubernetes/client-node';
import type { AccessAttributes, CheckClient, Json } from './checks';

interface RawAnswer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

export function kubeCheckClient(kc: KubeConfig, opts: { timeoutMs?: number } = {}): CheckClient {
  const server = kc.getCurrentCluster()?.server;
  const timeoutMs = opts.timeoutMs ?? 5000;

  async function request(method: string, path: string, body?: unknown): Promise<RawAnswer> {
    if (!server) throw new Error('the kubeconfig context names no cluster server');
    const url = new URL(path, server.endsWith('/') ? server : `${server}/`);
    // A server URL may carry a path prefix (Rancher, proxies): keep it.
    url.pathname = `${new URL(server).pathname.replace(/\/$/, '')}${path.split('?')[0]}`;
    const options: https.RequestOptions = { method, headers: { accept: 'application/json' } };
    await kc.applyToHTTPSOptions(options);
    const text = body === undefined ? undefined : JSON.stringify(body);
    if (text !== undefined) options.headers = { ...options.headers, 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) };
    const mod = url.protocol === 'https:' ? https : http;
    return new Promise((resolve, reject) => {
      const req = mod.request(url, { ...options, agent: false, timeout: timeoutMs }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
      });
      req.on('timeout', () => req.destroy(Object.assign(new Error(`no answer from ${server} within ${timeoutMs} ms`), { code: 'ETIMEDOUT' })));
      req.on('error', (e: NodeJS.ErrnoException) => reject(new Error(`cannot reach ${server}: ${e.code ? `${e.code}: ` : ''}${e.message}`)));
      req.end(text);
    });
  }

  function json(a: RawAnswer, what: string): Json {
    if (a.status === 401 || a.status === 403) {
      let msg = '';
      try {
        msg = (JSON.parse(a.body) as { message?: string }).message ?? '';
      } catch {
        // not a Status body
      }
      throw new Error(`${what}: HTTP ${a.status}${msg ? `: ${msg}` : ''} (the kubeconfig's credentials are refused or lack the permission)`);
    }
    if (a.status < 200 || a.status >= 300) throw new Error(`${what}: HTTP ${a.status}: ${a.body.slice(0, 200)}`);
    try {
      return JSON.parse(a.body) as Json;
    } catch {
      throw new Error(`${what}: the answer is not JSON (is the kubeconfig pointing at a Kubernetes API server?)`);
    }
  }

  return {
    async version() {
      const a = await request('GET', '/version');
      const v = json(a, 'GET /version');
      const date = typeof a.headers.date === 'string' ? new Date(a.headers.date) : undefined;
      return { major: String(v.major ?? ''), minor: String(v.minor ?? ''), gitVersion: String(v.gitVersion ?? ''), ...(date && !Number.isNaN(date.getTime()) ? { date } : {}) };
    },
    async canI(attrs: AccessAttributes) {
      const a = await request('POST', '/apis/authorization.k8s.io/v1/selfsubjectaccessreviews', {
        apiVersion: 'authorization.k8s.io/v1',
        kind: 'SelfSubjectAccessReview',
        spec: { resourceAttributes: { verb: attrs.verb, group: attrs.group, resource: attrs.resource, ...(attrs.namespace ? { namespace: attrs.namespace } : {}) } },
      });
      const r = json(a, 'SelfSubjectAccessReview');
      const status = (r.status ?? {}) as { allowed?: boolean; reason?: string };
      return { allowed: status.allowed === true, ...(status.reason ? { reason: status.reason } : {}) };
    },
    async get(path: string) {
      const a = await request('GET', path);
      if (a.status === 404) return undefined;
      return json(a, `GET ${path}`);
    },
    async list(path: string) {
      const a = await request('GET', path);
      if (a.status === 404) return [];
      const items = json(a, `GET ${path}`).items;
      return Array.isArray(items) ? (items as Json[]) : [];
    },
  };
}
