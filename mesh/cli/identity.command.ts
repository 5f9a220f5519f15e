/**
 * `weft identity`: runs the identity service (mesh/control/identity) from flags or WEFT_IDENTITY_* variables.
 * Local mode: tokens are HMAC-signed with the secret in --token-secret-file (see mintLocalToken).
 */
import { readFile } from 'node:fs/promises';
import { IDENTITY_REFRESH_FRACTION, IDENTITY_SERVICE_ACCOUNT, identityName } from '../config/identity';
import { CLI_NAME, CONTROL_PLANE_NAMESPACE, DEFAULT_TRUST_DOMAIN } from '../config/names';
import { CONTROL_PLANE_PORTS } from '../config/ports';
import { DEFAULT_LEAF_LIFETIME_MS, issueLeaf, type KeyPairPem } from '../control/identity/ca';
import { startIdentityServer } from '../control/identity/server';
import { LocalTokenVerifier } from '../control/identity/token';
import { parseAddr, type SocketAddr } from '../proxy/discovery/discovery';
import { parseDuration } from '../proxy/reliability/retry-policy';

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
} as const;
type Option = keyof typeof OPTIONS;

const USAGE = `usage: ${CLI_NAME} identity [--addr HOST:PORT] --trust-anchors FILE --issuer-cert FILE --issuer-key FILE
                      --token-secret-file FILE [--server-cert FILE --server-key FILE]
                      [--leaf-lifetime 24h] [--trust-domain ${DEFAULT_TRUST_DOMAIN}]

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
  const config: IdentityCommandConfig = {
    addr: addr ?? { host: '', port: 0 },
    trustAnchorsFile: need('trust-anchors'),
    issuerCertFile: need('issuer-cert'),
    issuerKeyFile: need('issuer-key'),
    tokenSecretFile: need('token-secret-file'),
    serverCertFile: get('server-cert'),
    serverKeyFile: get('server-key'),
    leafLifetimeMs,
    trustDomain: get('trust-domain') ?? DEFAULT_TRUST_DOMAIN,
  };
  if (!config.serverCertFile !== !config.serverKeyFile) errors.push('--server-cert and --server-key go together');
  return errors.length ? { ok: false, errors } : { ok: true, config };
}

async function readNamed(file: string, what: string): Promise<string> {
  try {
    return await readFile(file, 'utf8');
  } catch (err) {
    throw new Error(`cannot read ${what} ${file} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
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
  const [trustAnchorPem, issuerCert, issuerKey, secret] = await Promise.all([
    readNamed(c.trustAnchorsFile, 'trust anchors'),
    readNamed(c.issuerCertFile, 'issuer certificate'),
    readNamed(c.issuerKeyFile, 'issuer key'),
    readNamed(c.tokenSecretFile, 'token signing secret'),
  ]);
  const issuer: KeyPairPem = { certPem: issuerCert, keyPem: issuerKey };
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
    verifier: new LocalTokenVerifier(secret.trim()),
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
  process.stdout.write(`${CLI_NAME} identity: listening on ${server.url} as ${ownName} (leaves ${c.leafLifetimeMs / 1000}s, trust domain ${c.trustDomain})\n`);
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
