// The proxy's certificate client: generate a P-256 key, send a CSR with the workload token to the identity
// service, validate the answer and write tls.key / tls.crt / ca.crt atomically (the files IdentityCerts watches).
// CertificateRenewer keeps doing that at 70 % of each leaf's lifetime, backing off exponentially on failure.
import { generateKeyPairSync, sign } from 'node:crypto';
import * as fsPromises from 'node:fs/promises';
import * as https from 'node:https';
import * as tls from 'node:tls';
import { Counter, Gauge, type Registry } from '../metrics/prom';
import { IDENTITY_REFRESH_FRACTION, IDENTITY_SERVICE_ACCOUNT, identityName, parseIdentityName } from '../../config/identity';
import { CONTROL_PLANE_NAMESPACE } from '../../config/names';
import { oid, TAG, tlv, toPem } from '../../control/identity/der';
import { identityFilePaths, writeIdentityDir } from '../../control/identity/identity-files';
import type { IdentityFilePaths } from './identity-certs';
import { validateIdentityMaterial } from './identity-material';

/** Path of the identity service's certify endpoint (mesh/control/identity/server.ts). */
const CERTIFY_PATH = '/v1/certify';

/** Linkerd-compatible metric names. */
export const IDENTITY_CERT_EXPIRATION_METRIC = 'identity_cert_expiration_timestamp_seconds';
export const IDENTITY_CERT_REFRESH_METRIC = 'identity_cert_refresh_count';

export interface ObtainCertificateOptions {
  /** Identity service address: host:port, [v6]:port or https://host:port. */
  addr: string;
  /** PEM trust anchors: verify the identity service, and written as ca.crt. */
  trustAnchorsPem: string;
  /** The workload token (read it fresh from its file for every request: the kubelet rotates it). */
  token: string;
  /** The identity to ask for: <sa>.<ns>.serviceaccount.identity.weft.<trust-domain>. */
  identity: string;
  /** Directory to write tls.key, tls.crt and ca.crt into. */
  dir: string;
  /** Identity the service's certificate must carry (default: weft-identity.weft.… in the identity's trust domain). */
  serverIdentity?: string;
  /** Request timeout (default 10 s). */
  timeoutMs?: number;
  /** Injectable clock (validation of the answer). */
  now?: () => Date;
}

export interface ObtainedCertificate {
  identity: string;
  notBefore: Date;
  notAfter: Date;
  files: IdentityFilePaths;
}

/** A refused or failed request; `status`/`code` come from the service when it answered. */
export class IdentityRequestError extends Error {
  constructor(
    message: string,
    readonly status?: number,
    readonly code?: string,
  ) {
    super(message);
    this.name = 'IdentityRequestError';
  }
}

const OID = {
  commonName: '2.5.4.3',
  extensionRequest: '1.2.840.113549.1.9.14',
  subjectAltName: '2.5.29.17',
  ecdsaWithSha256: '1.2.840.10045.4.3.2',
} as const;

/**
 * A fresh P-256 key and a PKCS#10 CSR for `identity` (CN and one DNS SAN), as PEM. Written with
 * node:crypto and a few DER lines rather than an X.509 library: the proxy loads this at start, and
 * @peculiar/x509 + reflect-metadata cost it ~10 MB of RSS for this one message.
 */
export async function createCsr(identity: string): Promise<{ csrPem: string; keyPem: string }> {
  const { publicKey, privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const name = tlv(TAG.sequence, tlv(TAG.set, tlv(TAG.sequence, oid(OID.commonName), tlv(TAG.utf8String, Buffer.from(identity, 'utf8')))));
  const san = tlv(TAG.sequence, tlv(0x82 /* [2] dNSName, IA5String */, Buffer.from(identity, 'ascii')));
  const extensions = tlv(TAG.sequence, tlv(TAG.sequence, oid(OID.subjectAltName), tlv(TAG.octetString, san)));
  const attributes = tlv(0xa0 /* [0] attributes */, tlv(TAG.sequence, oid(OID.extensionRequest), tlv(TAG.set, extensions)));
  const info = tlv(TAG.sequence, tlv(TAG.integer, Buffer.from([0])), name, publicKey.export({ type: 'spki', format: 'der' }), attributes);
  const signature = sign('sha256', info, privateKey); // DER ECDSA-Sig-Value
  const csr = tlv(TAG.sequence, info, tlv(TAG.sequence, oid(OID.ecdsaWithSha256)), tlv(TAG.bitString, Buffer.from([0]), signature));
  return { csrPem: toPem(csr, 'CERTIFICATE REQUEST'), keyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString() };
}

function targetOf(addr: string): URL {
  try {
    return new URL(addr.includes('://') ? addr : `https://${addr}`);
  } catch {
    throw new IdentityRequestError(`identity service address ${JSON.stringify(addr)} is not host:port`);
  }
}

function postJson(
  url: URL,
  body: unknown,
  tlsOpts: { ca: string; serverIdentity: string },
  timeoutMs: number,
): Promise<{ status: number; json: unknown }> {
  const data = JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const req = https.request(
      {
        protocol: 'https:',
        hostname: url.hostname.replace(/^\[|\]$/g, ''),
        port: url.port || 443,
        path: CERTIFY_PATH,
        method: 'POST',
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(data) },
        ca: tlsOpts.ca,
        servername: tlsOpts.serverIdentity,
        minVersion: 'TLSv1.3',
        // The service is reached by address; what matters is the identity in its certificate.
        checkServerIdentity: (_host, cert) => tls.checkServerIdentity(tlsOpts.serverIdentity, cert),
        agent: false,
        timeout: timeoutMs,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let json: unknown;
          try {
            json = JSON.parse(text);
          } catch {
            json = undefined;
          }
          resolve({ status: res.statusCode ?? 0, json });
        });
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    req.on('error', (err) => reject(new IdentityRequestError(`identity service ${url.host} unreachable: ${err.message}`)));
    req.end(data);
  });
}

/**
 * Obtains a leaf for `identity` from the identity service and writes it into `dir` (key first, chain last, each
 * atomically). The answer is validated (chains to the anchors, matches the key, carries the identity) before
 * anything is written. Throws IdentityRequestError with the service's reason when refused.
 */
export async function obtainCertificate(opts: ObtainCertificateOptions): Promise<ObtainedCertificate> {
  const wanted = parseIdentityName(opts.identity);
  if (!wanted) throw new IdentityRequestError(`${JSON.stringify(opts.identity)} is not a Weft identity`);
  const serverIdentity =
    opts.serverIdentity ??
    identityName({ serviceAccount: IDENTITY_SERVICE_ACCOUNT, namespace: CONTROL_PLANE_NAMESPACE, trustDomain: wanted.trustDomain });
  const url = targetOf(opts.addr);
  const { csrPem, keyPem } = await createCsr(opts.identity);
  const { status, json } = await postJson(
    url,
    { csr: csrPem, token: opts.token },
    { ca: opts.trustAnchorsPem, serverIdentity },
    opts.timeoutMs ?? 10_000,
  );
  const answer = (json ?? {}) as { certificateChain?: unknown; error?: unknown; reason?: unknown };
  if (status !== 200) {
    const reason = typeof answer.reason === 'string' ? answer.reason : `HTTP ${status}`;
    throw new IdentityRequestError(`identity service refused ${opts.identity}: ${reason}`, status, typeof answer.error === 'string' ? answer.error : undefined);
  }
  if (typeof answer.certificateChain !== 'string') {
    throw new IdentityRequestError('identity service answered without a certificateChain', status);
  }
  const pem = { certPem: answer.certificateChain, keyPem, trustAnchorsPem: opts.trustAnchorsPem };
  let v;
  try {
    v = validateIdentityMaterial(pem, { cert: 'issued certificate', key: 'generated key', trustAnchors: 'trust anchors' }, (opts.now ?? (() => new Date()))());
  } catch (err) {
    throw new IdentityRequestError(`identity service answer refused: ${(err as Error).message}`, status);
  }
  if (v.identity !== opts.identity) {
    throw new IdentityRequestError(`identity service issued ${v.identity}, asked for ${opts.identity}`, status);
  }
  await writeIdentityDir(opts.dir, opts.trustAnchorsPem, { certPem: pem.certPem, keyPem });
  return { identity: v.identity, notBefore: v.notBefore, notAfter: v.notAfter, files: identityFilePaths(opts.dir) };
}

/** Timers the renewer uses; injectable so tests can drive time. */
export interface RenewerClock {
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

const realClock: RenewerClock = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => {
    const t = setTimeout(fn, ms);
    t.unref();
    return t;
  },
  clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout),
};

export interface RenewerMetrics {
  /** notAfter of the current certificate, in seconds since the epoch. */
  expirationSeconds: number;
  /** Certificates obtained so far (the first one included). */
  refreshCount: number;
}

export interface CertificateRenewerOptions {
  /** One attempt (usually: read the token file, then obtainCertificate). */
  obtain: () => Promise<{ notAfter: Date }>;
  clock?: RenewerClock;
  /** Fraction of the lifetime, counted from receipt, after which to renew (default 0.7). */
  refreshFraction?: number;
  /** First retry delay after a failure (default 1 s), doubled each time up to maxBackoffMs (default 60 s). */
  initialBackoffMs?: number;
  maxBackoffMs?: number;
  /** Backoff jitter: each delay is multiplied by 1 - jitter * random() (default 0.2; random injectable). */
  jitter?: number;
  random?: () => number;
  /** Registers identity_cert_expiration_timestamp_seconds and identity_cert_refresh_count into it. */
  registry?: Registry;
  /** Called after each success with the metric values (for callers that keep their own metrics). */
  onMetrics?: (m: RenewerMetrics) => void;
  onRenewed?: (cert: { notAfter: Date }) => void;
  /** Called after each failed attempt with the delay before the next one. */
  onError?: (err: Error, retryInMs: number) => void;
}

/**
 * Obtains a certificate now, then again at `refreshFraction` of each one's lifetime; failures are retried with
 * exponential back-off (the current certificate stays in place meanwhile). `ready` resolves on the first success.
 */
export class CertificateRenewer {
  private readonly clock: RenewerClock;
  private timer: unknown;
  private failures = 0;
  private stopped = false;
  private started = false;
  private refreshCount = 0;
  private current: { notAfter: Date } | undefined;
  private readonly expirationGauge: Gauge | undefined;
  private readonly refreshCounter: Counter | undefined;
  private resolveReady!: (cert: { notAfter: Date }) => void;
  private rejectReady!: (err: Error) => void;
  /**
   * Resolves with the first certificate obtained (the proxy stays not-ready until then); rejects if stop() comes
   * first, so a shutdown during start-up does not hang.
   */
  readonly ready: Promise<{ notAfter: Date }>;

  constructor(private readonly opts: CertificateRenewerOptions) {
    this.clock = opts.clock ?? realClock;
    this.ready = new Promise((resolve, reject) => {
      this.resolveReady = resolve;
      this.rejectReady = reject;
    });
    this.ready.catch(() => undefined); // a rejection nobody awaits is not an error
    if (opts.registry) {
      this.expirationGauge = new Gauge({
        name: IDENTITY_CERT_EXPIRATION_METRIC,
        help: 'Time when the proxy certificate expires, in seconds since the epoch',
        registers: [opts.registry],
      });
      this.refreshCounter = new Counter({
        name: IDENTITY_CERT_REFRESH_METRIC,
        help: 'Number of times the proxy certificate was obtained or renewed',
        registers: [opts.registry],
      });
    }
  }

  /** Starts the first attempt (idempotent). Await `ready` for the first certificate. */
  start(): this {
    if (!this.started && !this.stopped) {
      this.started = true;
      this.schedule(0);
    }
    return this;
  }

  get certificate(): { notAfter: Date } | undefined {
    return this.current;
  }

  stop(): void {
    this.stopped = true;
    if (!this.current) this.rejectReady(new Error('certificate renewal stopped before the first certificate'));
    if (this.timer !== undefined) this.clock.clearTimeout(this.timer);
    this.timer = undefined;
  }

  /** Delay before renewing a certificate received at `receivedAt` that expires at `notAfter`. */
  renewDelayMs(receivedAt: number, notAfter: Date): number {
    const fraction = this.opts.refreshFraction ?? IDENTITY_REFRESH_FRACTION;
    return Math.max(0, Math.floor((notAfter.getTime() - receivedAt) * fraction));
  }

  /** Delay before the next attempt after `failures` consecutive failures (1 → initial). */
  backoffMs(failures: number): number {
    const initial = this.opts.initialBackoffMs ?? 1000;
    const max = this.opts.maxBackoffMs ?? 60_000;
    const base = Math.min(max, initial * 2 ** Math.max(0, failures - 1));
    const jitter = this.opts.jitter ?? 0.2;
    return Math.max(1, Math.floor(base * (1 - jitter * (this.opts.random ?? Math.random)())));
  }

  private schedule(ms: number): void {
    if (this.stopped) return;
    this.timer = this.clock.setTimeout(() => {
      this.timer = undefined;
      void this.attempt();
    }, ms);
  }

  private async attempt(): Promise<void> {
    if (this.stopped) return;
    let cert: { notAfter: Date };
    try {
      cert = await this.opts.obtain();
    } catch (err) {
      if (this.stopped) return;
      this.failures++;
      let delay = this.backoffMs(this.failures);
      // While the current certificate is still valid, do not let the back-off carry the next try past its expiry.
      const remaining = this.current ? this.current.notAfter.getTime() - this.clock.now() : 0;
      if (remaining > 0) delay = Math.max(1, Math.min(delay, remaining));
      this.opts.onError?.(err instanceof Error ? err : new Error(String(err)), delay);
      this.schedule(delay);
      return;
    }
    if (this.stopped) return;
    this.failures = 0;
    this.current = cert;
    this.refreshCount++;
    const expirationSeconds = cert.notAfter.getTime() / 1000;
    this.expirationGauge?.set(expirationSeconds);
    this.refreshCounter?.inc();
    this.opts.onMetrics?.({ expirationSeconds, refreshCount: this.refreshCount });
    this.opts.onRenewed?.(cert);
    this.resolveReady(cert);
    this.schedule(this.renewDelayMs(this.clock.now(), cert.notAfter));
  }
}

export interface CertificateRenewalConfig {
  /** Identity service address (WEFT_PROXY_IDENTITY_ADDR). */
  addr: string;
  /** File holding the workload token, re-read before every request (WEFT_PROXY_IDENTITY_TOKEN_FILE). */
  tokenFile: string;
  /** Identity to ask for (WEFT_PROXY_IDENTITY_NAME). */
  identity: string;
  /** Where to write tls.key/tls.crt/ca.crt (WEFT_PROXY_IDENTITY_DIR), the directory IdentityCerts then watches. */
  dir: string;
  /** PEM trust anchors (WEFT_PROXY_TRUST_ANCHORS, read by the caller). */
  trustAnchorsPem: string;
  /** Identity of the service's certificate, if not the default weft-identity.weft.… */
  serverIdentity?: string;
}

/**
 * The proxy's whole certificate loop in one call: a started CertificateRenewer whose attempts read the token
 * file, obtain a certificate and write it into `dir`. Await `.ready` before loading IdentityCerts from `dir`.
 */
export function startCertificateRenewal(
  cfg: CertificateRenewalConfig,
  opts: Omit<CertificateRenewerOptions, 'obtain'> = {},
): CertificateRenewer {
  return new CertificateRenewer({
    ...opts,
    obtain: async () => {
      let token: string;
      try {
        token = (await fsPromises.readFile(cfg.tokenFile, 'utf8')).trim();
      } catch (err) {
        throw new IdentityRequestError(`cannot read the identity token ${cfg.tokenFile} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
      }
      return obtainCertificate({
        addr: cfg.addr,
        trustAnchorsPem: cfg.trustAnchorsPem,
        token,
        identity: cfg.identity,
        dir: cfg.dir,
        serverIdentity: cfg.serverIdentity,
      });
    },
  }).start();
}
