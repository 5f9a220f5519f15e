/**
 * `weft install [options]`: every manifest of the control plane, as multi-document YAML on stdout,
 * for `weft install | kubectl apply -f -`. Certificates are generated unless all three
 * --identity-* files are given (then they are validated first). Nothing touches a cluster.
 */
import { readFileSync } from 'node:fs';
import { DEFAULT_INBOUND_POLICIES, type DefaultInboundPolicy } from '../config/annotations';
import { DEFAULT_MESH_IMAGE } from '../config/injector';
import { CLI_NAME } from '../config/names';
import { InstallError } from '../control/install/identity-material';
import { installManifests, manifestsYaml, type InstallOptions } from '../control/install/install-manifests';

export const INSTALL_USAGE = `usage: ${CLI_NAME} install [options] | kubectl apply -f -

Prints every manifest of the Weft control plane: namespace, policy CRDs, RBAC, Deployments and
Services of identity, destination, policy, proxy-injector and metrics-api, the certificates
(Secrets), the mesh ConfigMap and the MutatingWebhookConfiguration.

options:
  --image REF                              the mesh image (default ${DEFAULT_MESH_IMAGE})
  --identity-trust-anchors-file FILE       PEM trust anchor(s) to use instead of generating one
  --identity-issuer-certificate-file FILE  PEM issuer certificate, signed by a trust anchor
  --identity-issuer-key-file FILE          PEM private key of the issuer (ECDSA P-256)
  --default-inbound-policy POLICY          ${DEFAULT_INBOUND_POLICIES.join(' | ')} (default all-unauthenticated)
  --webhook-failure-policy Ignore|Fail     what the API server does when the injector is down (default Ignore)
  --ha                                     three replicas of each component, spread over nodes
`;

const VALUE_FLAGS = ['--image', '--identity-trust-anchors-file', '--identity-issuer-certificate-file', '--identity-issuer-key-file', '--default-inbound-policy', '--webhook-failure-policy'] as const;

export type InstallArgs = { help: true } | { help: false; options: InstallOptions; files: { trustAnchors?: string; issuerCert?: string; issuerKey?: string } };

/** Parses arguments; throws InstallError on a mistake. */
export function parseInstallArgs(args: readonly string[]): InstallArgs {
  const values: Record<string, string> = {};
  let ha = false;
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === '--help' || a === '-h') return { help: true };
    if (a === '--ha') {
      ha = true;
      continue;
    }
    const eq = a.indexOf('=');
    const flag = eq > 0 ? a.slice(0, eq) : a;
    if (!(VALUE_FLAGS as readonly string[]).includes(flag)) throw new InstallError(`unknown option ${a}`, `see \`${CLI_NAME} install --help\``);
    const value = eq > 0 ? a.slice(eq + 1) : args[++i];
    if (value === undefined || value === '') throw new InstallError(`${flag} needs a value`, `see \`${CLI_NAME} install --help\``);
    values[flag] = value;
  }
  const files = {
    trustAnchors: values['--identity-trust-anchors-file'],
    issuerCert: values['--identity-issuer-certificate-file'],
    issuerKey: values['--identity-issuer-key-file'],
  };
  const given = Object.values(files).filter((f) => f !== undefined).length;
  if (given !== 0 && given !== 3) {
    throw new InstallError(
      'the identity flags go together: --identity-trust-anchors-file, --identity-issuer-certificate-file and --identity-issuer-key-file',
      'pass all three to use your own certificates, or none to let weft install generate them',
    );
  }
  const policy = values['--default-inbound-policy'];
  if (policy !== undefined && !(DEFAULT_INBOUND_POLICIES as readonly string[]).includes(policy)) {
    throw new InstallError(`--default-inbound-policy "${policy}" is not a policy`, `use one of ${DEFAULT_INBOUND_POLICIES.join(', ')}`);
  }
  const fp = values['--webhook-failure-policy'];
  if (fp !== undefined && fp !== 'Ignore' && fp !== 'Fail') {
    throw new InstallError(`--webhook-failure-policy "${fp}" is neither Ignore nor Fail`, 'use Ignore (pods start unmeshed while the injector is down) or Fail (pod creation waits for it)');
  }
  return {
    help: false,
    files,
    options: {
      ...(values['--image'] ? { image: values['--image'] } : {}),
      ...(policy ? { defaultInboundPolicy: policy as DefaultInboundPolicy } : {}),
      ...(fp ? { webhookFailurePolicy: fp as 'Ignore' | 'Fail' } : {}),
      ...(ha ? { ha } : {}),
    },
  };
}

function readPem(path: string, flag: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new InstallError(`${flag} ${path}: ${code === 'ENOENT' ? 'no such file' : (e as Error).message}`, 'check the path');
  }
}

export async function run(args: string[]): Promise<number> {
  try {
    const parsed = parseInstallArgs(args);
    if (parsed.help) {
      process.stdout.write(INSTALL_USAGE);
      return 0;
    }
    const { files, options } = parsed;
    if (files.trustAnchors && files.issuerCert && files.issuerKey) {
      options.identity = {
        trustAnchorsPem: readPem(files.trustAnchors, '--identity-trust-anchors-file'),
        issuerCertPem: readPem(files.issuerCert, '--identity-issuer-certificate-file'),
        issuerKeyPem: readPem(files.issuerKey, '--identity-issuer-key-file'),
        sources: { trustAnchors: files.trustAnchors, issuerCert: files.issuerCert, issuerKey: files.issuerKey },
      };
    }
    const objects = await installManifests(options);
    process.stdout.write(manifestsYaml(objects));
    return 0;
  } catch (e) {
    if (e instanceof InstallError) {
      process.stderr.write(`${CLI_NAME} install: ${e.message}\n  next step: ${e.hint}\n`);
      return 1;
    }
    throw e;
  }
}
