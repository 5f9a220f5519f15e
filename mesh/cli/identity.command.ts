/**
 * `weft identity`: runs the identity service (mesh/control/identity) from flags or WEFT_IDENTITY_* variables.
 * Local mode: tokens are HMAC-signed with the secret in --token-secret-file (see mintLocalToken).
 * Kubernetes mode (`--kube`): tokens are projected ServiceAccount tokens checked with a TokenReview;
 * the issuer comes from mounted files or from a Secret (`--issuer-secret ns/name`: tls.crt, tls.key,
 * and ca.crt as the trust anchors unless --trust-anchors is given).
 */
import { readFile } from 'node:fs/promises';
import { AuthenticationV1Api, CoreV1Api, type KubeConfig, type V1Secret } from '@kubernetes/client-node';
import { IDENTITY_REFRESH_FRACTION, IDENTITY_SERVICE_ACCOUNT, IDENTITY_TOKEN_AUDIENCE, identityName } from '../config/identity';
import { CLI_NAME, CONTROL_PLANE_NAMESPACE, DEFAULT_TRUST_DOMAIN } from '../config/names';
import { CONTROL_PLANE_PORTS } from '../config/ports';
import { DEFAULT_LEAF_LIFETIME_MS, issueLeaf, type KeyPairPem } from '../control/identity/ca';
import { startIdentityServer } from '../control/identity/server';
import { LocalTokenVerifier, type TokenVerifier } from '../control/identity/token';
import { TokenReviewVerifier } from '../control/identity/token-review';
import { parseAddr, type SocketAddr } from '../proxy/discovery/discovery';
import { parseDuration } from '../proxy/reliability/retry-policy';
import { controlPlaneKubeConfig, parseObjectRef } from './kube-mode';

/** flag → environment variable; a flag wins over its variable. */
const OPTIONS = {
  addr: 'WEFT_IDENTITY_ADDR',
  'trust-anchors': 'WEFT_IDENTITY_TRUST_ANCHORS',
  'issuer-cert': 'WEFT_IDENTITY_ISSUER_CERT',
  'issuer-key': 'WEFT_IDENTITY_ISSUER_KEY',
  'token-secret-file': 'WEFT_IDENTITY_TOKEN_SECRET_FILE',
  'server-cert': 'WEFT_IDENTITY_SERVER_CERT',
  'server-key': 'WEFT_IDENTITY_SERVER_KEY',
  'leaf-lifetime': 'WEFT_IDENTITY_LEAF_LIFETIME',
  'trust-domain': 'WEFT_IDENTITY_TRUST_DOMAIN',
  kube: 'WEFT_IDENTITY_KUBE',
  kubeconfig: 'WEFT_IDENTITY_KUBECONFIG',
  'issuer-secret': 'WEFT_IDENTITY_ISSUER_SECRET',
} as const;
type Option = keyof typeof OPTIONS;

const USAGE = `usage: ${CLI_NAME} identity [--addr HOST:PORT] --trust-anchors FILE --issuer-cert FILE --issuer-key FILE
                      --token-secret-file FILE [--server-cert FILE --server-key FILE]
                      [--leaf-lifetime 24h] [--trust-domain ${DEFAULT_TRUST_DOMAIN}]
       ${CLI_NAME} identity --kube [--kubeconfig FILE] (--issuer-secret NS/NAME | --issuer-cert FILE --issuer-key FILE)
                      [--trust-anchors FILE] [--addr HOST:PORT] [--server-cert FILE --server-key FILE] …

--kube checks proxies' ServiceAccount tokens (audience ${IDENTITY_TOKEN_AUDIENCE}) with a TokenReview instead of
--token-secret-file; the Kubernetes API is the in-cluster one, or --kubeconfig. --issuer-secret reads the issuer
from a Secret (tls.crt, tls.key; ca.crt = trust anchors unless --trust-anchors is given).

Runs the identity service: POST /v1/certify {csr, token} → {certificateChain, notAfter}; GET /metrics.
Every flag can be given as an environment variable instead:
${Object.entries(OPTIONS).map(([f, e]) => `  --${f.padEnd(18)} ${e}`).join('\n')}
Without --server-cert the service issues its own certificate (${IDENTITY_SERVICE_ACCOUNT}.${CONTROL_PLANE_NAMESPACE}.serviceaccount…)
from the issuer and renews it by itself. Default address 127.0.0.1:${CONTROL_PLANE_PORTS.identity}.
`;

export interface IdentityCommandConfig {
  addr: SocketAddr;
  trustAnchorsFile: string;
  issuerCertFile: string;
  issuerKeyFile: string;
  tokenSecretFile: string;
  serverCertFile?: string;
  serverKeyFile?: string;
  leafLifetimeMs: number;
  trustDomain: string;
  /** Present in Kubernetes mode (--kube): tokens are checked with TokenReview. */
  kube?: { kubeconfig?: string; issuerSecret?: { namespace: string; name: string } };
}

/** Flags and environment → configuration, or every problem found (pure). */
export function parseIdentityArgs(
  args: string[],
  env: Record<string, string | undefined>,
): { ok: true; config: IdentityCommandConfig } | { ok: false; errors: string[] } {
  const errors: string[] = [];
  const given: Partial<Record<Option, string>> = {};
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    const m = /^--([a-z-]+)(?:=(.*))?$/.exec(a);
    if (!m || !(m[1]! in OPTIONS)) {
      errors.push(`unknown argument ${a}`);
      continue;
    }
    if (m[1] === 'kube') {
      given.kube = m[2] ?? 'true';
      continue;
    }
    const value = m[2] ?? args[++i];
    if (value === undefined) errors.push(`missing value for --${m[1]}`);
    else given[m[1] as Option] = value;
  }
  const get = (o: Option): string | undefined => given[o] ?? (env[OPTIONS[o]] || undefined);
  const need = (o: Option): string => {
    const v = get(o);
    if (!v) errors.push(`--${o} (or ${OPTIONS[o]}) is required`);
    return v ?? '';
  };
  const addrText = get('addr') ?? `127.0.0.1:${CONTROL_PLANE_PORTS.identity}`;
  const addr = parseAddr(addrText, { allowPortZero: true });
  if (!addr) errors.push(`--addr ${JSON.stringify(addrText)} is not HOST:PORT`);
  let leafLifetimeMs = DEFAULT_LEAF_LIFETIME_MS;
  const lifetime = get('leaf-lifetime');
  if (lifetime !== undefined) {
    const d = parseDuration(lifetime);
    if (!d.ok) errors.push(`--leaf-lifetime: ${d.error}`);
    else if (d.ms < 1000) errors.push('--leaf-lifetime must be at least 1s');
    else leafLifetimeMs = d.ms;
  }
  const kube = ['1', 'true', 'yes'].includes((get('kube') ?? '').toLowerCase());
  let issuerSecret: { namespace: string; name: string } | undefined;
  const secretRef = get('issuer-secret');
  if (secretRef !== undefined) {
    issuerSecret = parseObjectRef(secretRef);
    if (!issuerSecret) errors.push(`--issuer-secret ${JSON.stringify(secretRef)} is not NAMESPACE/NAME`);
    if (!kube) errors.push('--issuer-secret needs --kube');
    if (get('issuer-cert') || get('issuer-key')) errors.push('--issuer-secret and --issuer-cert/--issuer-key exclude each other');
  }
  if (!kube && get('kubeconfig')) errors.push('--kubeconfig needs --kube');
  const fromSecret = secretRef !== undefined;
  const config: IdentityCommandConfig = {
    addr: addr ?? { host: '', port: 0 },
    trustAnchorsFile: fromSecret ? (get('trust-anchors') ?? '') : need('trust-anchors'),
    issuerCertFile: fromSecret ? '' : need('issuer-cert'),
    issuerKeyFile: fromSecret ? '' : need('issuer-key'),
    tokenSecretFile: kube ? (get('token-secret-file') ?? '') : need('token-secret-file'),
    serverCertFile: get('server-cert'),
    serverKeyFile: get('server-key'),
    leafLifetimeMs,
    trustDomain: get('trust-domain') ?? DEFAULT_TRUST_DOMAIN,
  };
  if (!config.serverCertFile !== !config.serverKeyFile) errors.push('--server-cert and --server-key go together');
  if (kube) {
    if (get('token-secret-file')) errors.push('--token-secret-file is for local mode; --kube checks tokens with TokenReview');
    config.kube = {};
    const kubeconfig = get('kubeconfig');
    if (kubeconfig) config.kube.kubeconfig = kubeconfig;
    if (issuerSecret) config.kube.issuerSecret = issuerSecret;
  }
  return errors.length ? { ok: false, errors } : { ok: true, config };
}

async function readNamed(file: string, what: string): Promise<string> {
  try {
    return await readFile(file, 'utf8');
  } catch (err) {
    throw new Error(`cannot read ${what} ${file} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
}

/** The issuer key pair (tls.crt, tls.key) and trust anchors (ca.crt) of a Secret, or why not. */
async function readIssuerSecret(kc: KubeConfig, ref: { namespace: string; name: string }): Promise<{ issuer: KeyPairPem; caPem?: string } | string> {
  const where = `Secret ${ref.namespace}/${ref.name}`;
  let secret: V1Secret;
  try {
    secret = await kc.makeApiClient(CoreV1Api).readNamespacedSecret(ref);
  } catch (e) {
    const code = (e as { code?: unknown }).code;
    const detail = typeof code === 'number' ? `HTTP ${code}` : ((e as { cause?: { code?: string } }).cause?.code ?? (e as Error).message);
    const hint = code === 404 ? 'create it (weft install does), or pass --issuer-cert/--issuer-key' : code === 403 ? 'grant the identity service get on that Secret' : 'check that the Kubernetes API is reachable';
    return `cannot read the issuer from ${where} (${detail})\n  next step: ${hint}`;
  }
  const field = (k: string): string | undefined => (secret.data?.[k] ? Buffer.from(secret.data[k]!, 'base64').toString('utf8') : secret.stringData?.[k]);
  const certPem = field('tls.crt');
  const keyPem = field('tls.key');
  if (!certPem || !keyPem) return `${where} lacks ${!certPem ? 'tls.crt' : 'tls.key'}\n  next step: store the issuer certificate and key as tls.crt and tls.key`;
  return { issuer: { certPem, keyPem }, caPem: field('ca.crt') };
}

export async function run(args: string[]): Promise<number> {
  if (args.includes('--help') || args.includes('-h')) {
    process.stdout.write(USAGE);
    return 0;
  }
  const parsed = parseIdentityArgs(args, process.env);
  if (!parsed.ok) {
    process.stderr.write(`${CLI_NAME} identity: ${parsed.errors.join('\n  ')}\n\n${USAGE}`);
    return 2;
  }
  const c = parsed.config;
  let verifier: TokenVerifier;
  let issuer: KeyPairPem;
  let trustAnchorPem: string;
  let mode = 'local tokens';
  if (c.kube) {
    const k = await controlPlaneKubeConfig(c.kube.kubeconfig);
    if (!k.ok) {
      process.stderr.write(`${CLI_NAME} identity: ${k.message}\n`);
      return 1;
    }
    verifier = new TokenReviewVerifier(k.kubeConfig.makeApiClient(AuthenticationV1Api));
    mode = `TokenReview via ${k.where}`;
    if (c.kube.issuerSecret) {
      const s = await readIssuerSecret(k.kubeConfig, c.kube.issuerSecret);
      if (typeof s === 'string') {
        process.stderr.write(`${CLI_NAME} identity: ${s}\n`);
        return 1;
      }
      issuer = s.issuer;
      trustAnchorPem = c.trustAnchorsFile ? await readNamed(c.trustAnchorsFile, 'trust anchors') : (s.caPem ?? '');
      if (!trustAnchorPem) {
        process.stderr.write(`${CLI_NAME} identity: Secret ${c.kube.issuerSecret.namespace}/${c.kube.issuerSecret.name} has no ca.crt\n  next step: add the trust anchors to it as ca.crt, or pass --trust-anchors FILE\n`);
        return 1;
      }
    } else {
      const [anchors, cert, key] = await Promise.all([readNamed(c.trustAnchorsFile, 'trust anchors'), readNamed(c.issuerCertFile, 'issuer certificate'), readNamed(c.issuerKeyFile, 'issuer key')]);
      issuer = { certPem: cert, keyPem: key };
      trustAnchorPem = anchors;
    }
  } else {
    const [anchors, issuerCert, issuerKey, secret] = await Promise.all([
      readNamed(c.trustAnchorsFile, 'trust anchors'),
      readNamed(c.issuerCertFile, 'issuer certificate'),
      readNamed(c.issuerKeyFile, 'issuer key'),
      readNamed(c.tokenSecretFile, 'token signing secret'),
    ]);
    issuer = { certPem: issuerCert, keyPem: issuerKey };
    trustAnchorPem = anchors;
    verifier = new LocalTokenVerifier(secret.trim());
  }
  const ownName = identityName({ serviceAccount: IDENTITY_SERVICE_ACCOUNT, namespace: CONTROL_PLANE_NAMESPACE, trustDomain: c.trustDomain });
  const ownCert = async (): Promise<KeyPairPem> =>
    c.serverCertFile && c.serverKeyFile
      ? { certPem: await readNamed(c.serverCertFile, 'server certificate'), keyPem: await readNamed(c.serverKeyFile, 'server key') }
      : issueLeaf(issuer, ownName, { lifetimeMs: DEFAULT_LEAF_LIFETIME_MS });
  const server = await startIdentityServer({
    host: c.addr.host,
    port: c.addr.port,
    issuer,
    trustAnchorPem,
    verifier,
    serverCert: await ownCert(),
    leafLifetimeMs: c.leafLifetimeMs,
    trustDomain: c.trustDomain,
  });
  // A self-issued serving certificate is renewed like a proxy's; a given one is re-read on the same schedule.
  const renew = setInterval(() => {
    ownCert().then(
      (cert) => server.setServerCert(cert),
      (err: unknown) => process.stderr.write(`${CLI_NAME} identity: serving certificate not renewed: ${(err as Error).message}\n`),
    );
  }, DEFAULT_LEAF_LIFETIME_MS * IDENTITY_REFRESH_FRACTION);
  process.stdout.write(`${CLI_NAME} identity: listening on ${server.url} as ${ownName} (leaves ${c.leafLifetimeMs / 1000}s, trust domain ${c.trustDomain}, ${mode})\n`);
  await new Promise<void>((resolve) => {
    const stop = (): void => {
      process.removeListener('SIGTERM', stop);
      process.removeListener('SIGINT', stop);
      clearInterval(renew);
      void server.close().then(resolve);
    };
    process.on('SIGTERM', stop);
    process.on('SIGINT', stop);
  });
  return 0;
}
