// The identity service's thin HTTPS shell around certify():
//   POST /v1/certify  {"csr": PEM, "token": string} → 200 {"certificateChain": PEM, "notAfter": ISO date}
//                                                    | 400/403/503 {"error": code, "reason": text}
//   GET  /metrics (Prometheus text), GET /ready
import * as https from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { X509Certificate } from 'node:crypto';
import * as prom from 'prom-client';
import { certify, type CertifyOptions } from './certify';
import { splitPemCertificates, type KeyPairPem } from './ca';
import { leafSignerFor } from './leaf-signer';
import type { TokenVerifier } from './token';
import { listen } from '../listen';

export const CERTIFY_PATH = '/v1/certify';
/** A CSR plus a token fit easily; anything larger is refused unread. */
const MAX_BODY_BYTES = 64 * 1024;

export interface IdentityServerOptions extends CertifyOptions {
  host: string;
  /** 0 picks a free port (see IdentityServer.port). */
  port: number;
  /** Intermediate CA that signs leaves (certPem may carry its chain; the first certificate is the issuer). */
  issuer: KeyPairPem;
  /** The mesh's trust anchors; the issuer must chain to one of them (checked at start). */
  trustAnchorPem: string;
  verifier: TokenVerifier;
  /** The service's own TLS certificate (chain + key), trusted by proxies through the same anchors. */
  serverCert: KeyPairPem;
  /** Injectable clock. */
  now?: () => Date;
  /** Registry for the service's metrics (default: a new one, served on /metrics). */
  registry?: prom.Registry;
}

export interface IdentityServer {
  port: number;
  /** https://host:port */
  url: string;
  registry: prom.Registry;
  /** Swaps the service's own TLS certificate live (open connections keep the old one). */
  setServerCert(cert: KeyPairPem): void;
  close(): Promise<void>;
}

/** Throws a clear error when the issuer is not signed by any of the anchors or is not a CA. */
export function checkIssuerChainsToAnchor(issuerCertPem: string, trustAnchorPem: string): void {
  const first = splitPemCertificates(issuerCertPem)[0];
  if (!first) throw new Error('issuer: no certificate in PEM');
  const issuer = new X509Certificate(first);
  if (!issuer.ca) throw new Error(`issuer ${issuer.subject} is not a CA certificate`);
  const anchors = splitPemCertificates(trustAnchorPem).map((p) => new X509Certificate(p));
  if (anchors.length === 0) throw new Error('trust anchors: no certificate in PEM');
  if (!anchors.some((a) => issuer.checkIssued(a) && issuer.verify(a.publicKey))) {
    throw new Error(`issuer ${issuer.subject.replace(/\n/g, ', ')} is not signed by any trust anchor`);
  }
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  const headers: Record<string, string | number> = { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) };
  if (status === 413) headers.connection = 'close';
  // The token could not be checked (the Kubernetes API did not answer): worth another try soon.
  if (status === 503) headers['retry-after'] = 1;
  res.writeHead(status, headers);
  res.end(text);
}

function readBody(req: IncomingMessage): Promise<string | undefined> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY_BYTES) {
        // Answer 413 and close the connection after it; the rest of the body is drained, not kept.
        req.removeAllListeners('data');
        req.resume();
        resolve(undefined);
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

export async function startIdentityServer(opts: IdentityServerOptions): Promise<IdentityServer> {
  checkIssuerChainsToAnchor(opts.issuer.certPem, opts.trustAnchorPem);
  leafSignerFor(opts.issuer); // fails now, not at the first request, if the issuer key does not match
  const now = opts.now ?? (() => new Date());
  const registry = opts.registry ?? new prom.Registry();
  const requests = new prom.Counter({
    name: 'identity_certify_requests_total',
    help: 'Certificate requests answered by the identity service, by result (ok or the refusal code)',
    labelNames: ['result'],
    registers: [registry],
  });
  const seconds = new prom.Histogram({
    name: 'identity_certify_duration_seconds',
    help: 'Time to answer a certificate request',
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
    registers: [registry],
  });

  const handleCertify = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const end = seconds.startTimer();
    const answer = (status: number, result: string, body: unknown): void => {
      requests.inc({ result });
      end();
      sendJson(res, status, body);
    };
    const text = await readBody(req);
    if (text === undefined) return answer(413, 'bad-request', { error: 'bad-request', reason: `body larger than ${MAX_BODY_BYTES} bytes` });
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      return answer(400, 'bad-request', { error: 'bad-request', reason: 'body is not JSON' });
    }
    const { csr, token } = (typeof body === 'object' && body !== null ? body : {}) as { csr?: unknown; token?: unknown };
    if (typeof csr !== 'string' || typeof token !== 'string') {
      return answer(400, 'bad-request', { error: 'bad-request', reason: 'body must be {"csr": string, "token": string}' });
    }
    const result = await certify({ csrPem: csr, token, now: now() }, opts.issuer, opts.verifier, opts);
    if (!result.ok) return answer(result.status, result.code, { error: result.code, reason: result.reason });
    answer(200, 'ok', { certificateChain: result.certificateChainPem, notAfter: result.notAfter.toISOString() });
  };

  const tlsOptions = (c: KeyPairPem): https.ServerOptions => ({ key: c.keyPem, cert: c.certPem, minVersion: 'TLSv1.3' });
  const server = https.createServer(
    tlsOptions(opts.serverCert),
    (req, res) => {
      const path = (req.url ?? '/').split('?')[0];
      if (path === CERTIFY_PATH) {
        if (req.method !== 'POST') return sendJson(res, 405, { error: 'method-not-allowed', reason: `use POST ${CERTIFY_PATH}` });
        handleCertify(req, res).catch((err: unknown) => {
          requests.inc({ result: 'error' });
          if (!res.headersSent) sendJson(res, 500, { error: 'internal', reason: (err as Error).message });
          else res.destroy();
        });
        return;
      }
      if (path === '/metrics' && req.method === 'GET') {
        void registry.metrics().then((m) => {
          res.writeHead(200, { 'content-type': registry.contentType });
          res.end(m);
        });
        return;
      }
      if (path === '/ready' && req.method === 'GET') return sendJson(res, 200, { ready: true });
      sendJson(res, 404, { error: 'not-found', reason: `no route ${req.method ?? ''} ${path ?? ''}` });
    },
  );
  const port = await listen(server, opts.port, opts.host);
  const host = opts.host.includes(':') ? `[${opts.host}]` : opts.host;
  return {
    port,
    url: `https://${host}:${port}`,
    registry,
    // setSecureContext resets every option left out: pass the full set, and keep the ticket keys.
    setServerCert: (c) => server.setSecureContext({ ...tlsOptions(c), ticketKeys: server.getTicketKeys() }),
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
