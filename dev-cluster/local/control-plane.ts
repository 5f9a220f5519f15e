/**
 * The local mode's control plane: `weft identity` and `weft destination` as supervised processes on
 * free loopback ports, and `weft policy` when the topology asks for authorization policy (it serves
 * the topology's policy files, re-read when they change, with loopback as a cluster network). Per run, a trust anchor, an issuer and a token-signing secret are generated
 * and kept in the run's directory; every workload gets a token file naming its ServiceAccount and
 * namespace (HMAC, mesh/control/identity/token.ts), re-minted before it expires. The destination
 * service reads the runner's model file (local-topology-source.ts) and follows its changes.
 * A thin shell: files, processes and their readiness.
 */
import { randomBytes } from 'node:crypto';
import { LOCAL_CLUSTER_NETWORKS } from '../../mesh/config/names';
import { mkdir, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createIssuer, createTrustAnchor } from '../../mesh/control/identity/ca';
import { mintLocalToken } from '../../mesh/control/identity/token';
import { localModelFileText } from '../../mesh/control/destination/local-topology-source';
import { parseAddr, type SocketAddr } from '../../mesh/proxy/discovery/discovery';
import { EXIT_WITH_PARENT_PRELOAD, WEFT_ENTRY } from './proxy-process';
import type { Supervised, Supervisor } from './supervisor';
import type { LocalPolicy, LocalTopology, ServedEndpoint } from './local-mesh';

/** Process names of the control plane (reserved: no workload may use them). */
export const CONTROL_PLANE_NAMES = { identity: 'weft-identity', destination: 'weft-destination', policy: 'weft-policy' } as const;
/** Where the control plane listens; `127.0.0.1:0` (any free port) unless given, e.g. for a fixed port. */
export const IDENTITY_ADDR_ENV = 'WEFT_LOCAL_IDENTITY_ADDR';
export const DESTINATION_ADDR_ENV = 'WEFT_LOCAL_DESTINATION_ADDR';
export const POLICY_ADDR_ENV = 'WEFT_LOCAL_POLICY_ADDR';

/** Workload tokens are valid this long and re-minted at half of it (like the kubelet's projected tokens). */
export const LOCAL_TOKEN_TTL_S = 24 * 3600;

export interface ControlPlaneFiles {
  dir: string;
  trustAnchors: string;
  issuerCert: string;
  issuerKey: string;
  tokenSecret: string;
  /** The destination service's input (`weft destination -f FILE --local-model`). */
  model: string;
  tokensDir: string;
  /** Given to `weft policy` when the topology names no policy file (defaults only): no resources. */
  emptyPolicy: string;
}

export interface TokenHolder {
  /** The process name (replica), which names its token file. */
  name: string;
  serviceAccount: string;
  namespace: string;
}

export interface ControlPlaneProcess {
  process: Supervised;
  addr: SocketAddr;
}

export interface RunningControlPlane {
  files: ControlPlaneFiles;
  identity: ControlPlaneProcess;
  destination: ControlPlaneProcess;
  /** The policy service, when the topology has policy settings. */
  policy?: ControlPlaneProcess;
  /** The token file of a workload process. */
  tokenFile(name: string): string;
  /** Rewrites the model file; the destination service picks it up and pushes the change to proxies. */
  updateModel(topology: Pick<LocalTopology, 'namespace' | 'routes'>, served: readonly ServedEndpoint[]): Promise<void>;
  /** Stops re-minting tokens (the processes belong to the supervisor). */
  close(): void;
}

export interface ControlPlaneOptions {
  /** The run's directory for the control plane's files (kept in the state dir). */
  dir: string;
  supervisor: Supervisor;
  holders: readonly TokenHolder[];
  topology: Pick<LocalTopology, 'namespace' | 'routes' | 'policy'>;
  served: readonly ServedEndpoint[];
  /** Leaf certificate lifetime (default: the identity service's, 24 h). */
  leafLifetimeMs?: number;
  identityAddr?: string;
  destinationAddr?: string;
  policyAddr?: string;
  startTimeoutMs?: number;
  onProgress?: (msg: string) => void;
}

async function writeAtomically(path: string, text: string, mode = 0o644): Promise<void> {
  const tmp = `${path}.${randomBytes(4).toString('hex')}.tmp`;
  await writeFile(tmp, text, { mode });
  await rename(tmp, path);
}

/** A workload's token file name (the process name is a DNS label, safe as a file name). */
export const tokenFileOf = (tokensDir: string, name: string): string => join(tokensDir, `${name}.token`);

async function mintTokens(files: ControlPlaneFiles, secret: string, holders: readonly TokenHolder[]): Promise<void> {
  await Promise.all(holders.map((h) => writeAtomically(tokenFileOf(files.tokensDir, h.name), mintLocalToken(secret, { sa: h.serviceAccount, ns: h.namespace, ttl: LOCAL_TOKEN_TTL_S }), 0o600)));
}

/** Generates the run's trust anchor, issuer and token secret, and one token per workload process. */
export async function prepareControlPlaneFiles(dir: string, holders: readonly TokenHolder[]): Promise<{ files: ControlPlaneFiles; secret: string }> {
  const files: ControlPlaneFiles = {
    dir,
    trustAnchors: join(dir, 'ca.crt'),
    issuerCert: join(dir, 'issuer.crt'),
    issuerKey: join(dir, 'issuer.key'),
    tokenSecret: join(dir, 'token-secret'),
    model: join(dir, 'destinations.json'),
    tokensDir: join(dir, 'tokens'),
    emptyPolicy: join(dir, 'no-policy-resources.yaml'),
  };
  await mkdir(files.tokensDir, { recursive: true, mode: 0o700 });
  const anchor = await createTrustAnchor();
  const issuer = await createIssuer(anchor);
  const secret = randomBytes(32).toString('hex');
  await writeAtomically(files.trustAnchors, anchor.certPem);
  await writeAtomically(files.issuerCert, issuer.certPem);
  await writeAtomically(files.issuerKey, issuer.keyPem, 0o600);
  await writeAtomically(files.tokenSecret, `${secret}\n`, 0o600);
  await mintTokens(files, secret, holders);
  return { files, secret };
}

/**
 * Waits until a started process prints a line matching `listening` and returns the address in its
 * first group; rejects when the process exits first (with its last output) or after the timeout.
 */
export function awaitListening(p: Supervised, listening: RegExp, timeoutMs: number): Promise<SocketAddr> {
  const deadline = Date.now() + timeoutMs;
  return new Promise((resolve, reject) => {
    const check = (): void => {
      for (const line of p.tail()) {
        const m = listening.exec(line);
        const addr = m?.[1] !== undefined ? parseAddr(m[1]) : undefined;
        if (addr) return resolve(addr);
      }
      const last = p.tail().slice(-5).join(' | ') || 'no output';
      if (p.hasExited()) return reject(new Error(`${p.name} exited at start: ${last}`));
      if (Date.now() > deadline) return reject(new Error(`${p.name} did not start listening within ${timeoutMs / 1000}s: ${last}`));
      setTimeout(check, 25);
    };
    check();
  });
}

function spawnWeft(supervisor: Supervisor, name: string, args: string[]): Supervised {
  const p = supervisor.spawnApp({ name, command: process.execPath, args: ['--import', EXIT_WITH_PARENT_PRELOAD, WEFT_ENTRY, ...args], env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin' } });
  if (p.pid < 0) throw new Error(`could not start ${name} (${process.execPath} ${WEFT_ENTRY})`);
  return p;
}

/** Pure: the arguments of `weft policy` for a run's policy settings (loopback is a cluster network). */
export function policyArgs(policy: LocalPolicy, emptyFile: string, listen = '127.0.0.1:0'): string[] {
  const files = policy.files.length > 0 ? policy.files : [emptyFile];
  const args = ['policy', ...files.flatMap((f) => ['-f', f]), '--listen', listen, '--cluster-networks', LOCAL_CLUSTER_NETWORKS.join(',')];
  if (policy.defaultInboundPolicy) args.push('--default-inbound-policy', policy.defaultInboundPolicy);
  return args;
}

/**
 * Prepares the files, then starts the identity and destination services and, with policy settings,
 * the policy service (in parallel) and waits until each listens. On failure it throws; the
 * supervisor holds what was started.
 */
export async function startControlPlane(o: ControlPlaneOptions): Promise<RunningControlPlane> {
  const timeout = o.startTimeoutMs ?? 15_000;
  o.onProgress?.('control plane: a trust anchor, an issuer and a token per workload');
  const { files, secret } = await prepareControlPlaneFiles(o.dir, o.holders);
  await writeAtomically(files.model, localModelFileText(o.topology, o.served));

  o.onProgress?.(`control plane: starting the identity${o.topology.policy ? ', destination and policy' : ' and destination'} services`);
  const identityArgs = ['identity', '--addr', o.identityAddr ?? '127.0.0.1:0', '--trust-anchors', files.trustAnchors, '--issuer-cert', files.issuerCert, '--issuer-key', files.issuerKey, '--token-secret-file', files.tokenSecret];
  if (o.leafLifetimeMs !== undefined) identityArgs.push('--leaf-lifetime', `${Math.round(o.leafLifetimeMs)}ms`);
  const identity = spawnWeft(o.supervisor, CONTROL_PLANE_NAMES.identity, identityArgs);
  const destination = spawnWeft(o.supervisor, CONTROL_PLANE_NAMES.destination, ['destination', '-f', files.model, '--local-model', '--listen', o.destinationAddr ?? '127.0.0.1:0']);
  let policy: Supervised | undefined;
  if (o.topology.policy) {
    if (o.topology.policy.files.length === 0) await writeAtomically(files.emptyPolicy, '# generated by weft local: the topology names no policy file, only default inbound policies\n');
    policy = spawnWeft(o.supervisor, CONTROL_PLANE_NAMES.policy, policyArgs(o.topology.policy, files.emptyPolicy, o.policyAddr));
  }
  const [identityAddr, destinationAddr, policyAddr] = await Promise.all([
    awaitListening(identity, /listening on https:\/\/(\S+)/, timeout),
    awaitListening(destination, /listening on (\S+) \(h2c\)/, timeout),
    policy ? awaitListening(policy, /policy service listening on (\S+) \(h2c\)/, timeout) : undefined,
  ]);

  // Re-mint at half the tokens' lifetime; the proxies read their token file before every request.
  const remint = setInterval(() => void mintTokens(files, secret, o.holders).catch(() => undefined), (LOCAL_TOKEN_TTL_S * 1000) / 2);
  remint.unref();
  return {
    files,
    identity: { process: identity, addr: identityAddr },
    destination: { process: destination, addr: destinationAddr },
    ...(policy && policyAddr ? { policy: { process: policy, addr: policyAddr } } : {}),
    tokenFile: (name) => tokenFileOf(files.tokensDir, name),
    updateModel: (topology, served) => writeAtomically(files.model, localModelFileText(topology, served)),
    close: () => clearInterval(remint),
  };
}
