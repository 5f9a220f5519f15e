/**
 * The proxy injector as a mutating admission webhook: a thin HTTPS shell around admission-review.ts.
 *
 *   POST /inject  AdmissionReview v1 JSON → 200 AdmissionReview (uid echoed, allowed, JSON patch or warning)
 *                 malformed JSON or envelope → 400 {"message": …}; body over 4 MiB → 413
 *                 namespace lookup failed → 500 {"message": …} (the API server applies failurePolicy)
 *   GET  /ready   200 "ok" (readiness probe)
 *
 * The namespace's annotations come from `namespaceLookup` (injected: the Kubernetes-backed one reads
 * an informer cache; tests pass a map). The server never throws on bad input.
 */
import { createServer, type Server } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { INJECTOR_WEBHOOK } from '../../config/injector';
import { parseAdmissionReview, requestNamespace, reviewPod, type AdmissionRequest, type ReviewOutcome } from './admission-review';
import type { NamespaceLike } from './kube-types';
import type { MeshConfig } from './mesh-config';

/** Kubernetes caps objects at ~1.5 MiB in etcd; an AdmissionReview carries at most two of them. */
export const MAX_REVIEW_BYTES = 4 * 1024 * 1024;

export type NamespaceLookup = (namespace: string) => NamespaceLike | undefined | Promise<NamespaceLike | undefined>;

export interface InjectorWebhookOptions {
  host: string;
  /** 0 picks a free port. */
  port: number;
  certPem: string;
  keyPem: string;
  meshConfig: MeshConfig;
  namespaceLookup: NamespaceLookup;
  /** A namespace lookup slower than this fails the review with a 500 (default 5 s; the API server waits 10 s). */
  lookupTimeoutMs?: number;
  /** Called after each decided review (e.g. to record a Kubernetes Event). Must not throw. */
  onReview?: (request: AdmissionRequest, outcome: ReviewOutcome) => void;
}

export interface InjectorWebhook {
  readonly server: Server;
  readonly host: string;
  readonly port: number;
  /** https://host:port/inject */
  readonly url: string;
  /** Swaps the serving certificate; open connections keep theirs. */
  setCertificate(certPem: string, keyPem: string): void;
  close(): Promise<void>;
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

export const DEFAULT_LOOKUP_TIMEOUT_MS = 5_000;

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}

type BodyResult = { ok: true; text: string } | { ok: false; status: number; message: string };

function readBody(req: IncomingMessage): Promise<BodyResult> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let done = false;
    const finish = (r: BodyResult) => {
      if (!done) {
        done = true;
        resolve(r);
      }
    };
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_REVIEW_BYTES) {
        finish({ ok: false, status: 413, message: `the AdmissionReview is larger than ${MAX_REVIEW_BYTES} bytes` });
        req.resume();
        return;
      }
      if (!done) chunks.push(chunk);
    });
    req.on('end', () => finish({ ok: true, text: Buffer.concat(chunks).toString('utf8') }));
    req.on('error', (err) => finish({ ok: false, status: 400, message: `could not read the request body: ${err.message}` }));
  });
}

async function handleInject(req: IncomingMessage, res: ServerResponse, opts: InjectorWebhookOptions): Promise<void> {
  const body = await readBody(req);
  if (!body.ok) return sendJson(res, body.status, { message: body.message });
  let json: unknown;
  try {
    json = JSON.parse(body.text);
  } catch (err) {
    return sendJson(res, 400, { message: `the body is not JSON: ${(err as Error).message}` });
  }
  const parsed = parseAdmissionReview(json);
  if (!parsed.ok) return sendJson(res, 400, { message: `not an AdmissionReview v1: ${parsed.error}` });

  const nsName = requestNamespace(parsed.request);
  let namespace: NamespaceLike | undefined;
  if (nsName !== undefined && parsed.request.kind?.kind === 'Pod') {
    try {
      namespace = await withTimeout(Promise.resolve(opts.namespaceLookup(nsName)), opts.lookupTimeoutMs ?? DEFAULT_LOOKUP_TIMEOUT_MS);
    } catch (err) {
      return sendJson(res, 500, { message: `could not look up namespace ${nsName}: ${err instanceof Error ? err.message : String(err)}` });
    }
  }
  const outcome = reviewPod(parsed.request, namespace, opts.meshConfig);
  try {
    opts.onReview?.(parsed.request, outcome);
  } catch {
    // An observer's failure must not change the admission answer.
  }
  sendJson(res, 200, outcome.review);
}

export function startInjectorWebhook(opts: InjectorWebhookOptions): Promise<InjectorWebhook> {
  // The API server gives up after the configuration's timeoutSeconds (≤ 30 s): a client slower than
  // that is not the API server, and must not hold a socket.
  const server = createServer({ cert: opts.certPem, key: opts.keyPem, minVersion: 'TLSv1.2', requestTimeout: 30_000, headersTimeout: 10_000 }, (req, res) => {
    const path = (req.url ?? '').split('?')[0];
    if (path === INJECTOR_WEBHOOK.path) {
      if (req.method !== 'POST') {
        res.setHeader('allow', 'POST');
        return sendJson(res, 405, { message: `use POST on ${INJECTOR_WEBHOOK.path}` });
      }
      handleInject(req, res, opts).catch((err: unknown) => {
        if (!res.headersSent) sendJson(res, 500, { message: `internal error: ${err instanceof Error ? err.message : String(err)}` });
        else res.destroy();
      });
      return;
    }
    if (path === '/ready' && req.method === 'GET') {
      res.writeHead(200, { 'content-type': 'text/plain' });
      return res.end('ok\n');
    }
    sendJson(res, 404, { message: `no such path; POST AdmissionReviews to ${INJECTOR_WEBHOOK.path}` });
  });
  // Keep-alive: the API server reuses its connections; idle ones are closed by close().
  server.keepAliveTimeout = 30_000;
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host, () => {
      server.off('error', reject);
      const { port } = server.address() as AddressInfo;
      const hostForUrl = opts.host.includes(':') ? `[${opts.host}]` : opts.host;
      resolve({
        server,
        host: opts.host,
        port,
        url: `https://${hostForUrl}:${port}${INJECTOR_WEBHOOK.path}`,
        setCertificate(certPem, keyPem) {
          server.setSecureContext({ cert: certPem, key: keyPem, minVersion: 'TLSv1.2' });
        },
        close() {
          return new Promise<void>((done) => {
            server.close(() => done());
            server.closeAllConnections();
          });
        },
      });
    });
  });
}
