/**
 * `weft injector`: serves the proxy injector's mutating admission webhook
 * (mesh/control/injector/webhook-server.ts) with a serving certificate from files. Namespace
 * annotations (the `weft.dev/inject` truth table, inherited `config.weft.dev/*`) come from a
 * namespace informer (in-cluster configuration, or --kubeconfig); the mesh settings from the
 * `mesh-config.json` that `weft install` puts in the control plane's ConfigMap.
 */
import { readFile } from 'node:fs/promises';
import { CLI_NAME, WEFT_VERSION } from '../config/names';
import { CONTROL_PLANE_PORTS } from '../config/ports';
import type { NamespaceLike } from '../control/injector/kube-types';
import type { MeshConfig } from '../control/injector/mesh-config';
import { parseAddr, type SocketAddr } from '../proxy/discovery/discovery';
import { informerKit } from '../platform/informed-model';
import { controlPlaneKubeConfig } from './kube-mode';

export const INJECTOR_USAGE = `usage: ${CLI_NAME} injector --tls-cert FILE --tls-key FILE --mesh-config FILE [--trust-anchors FILE]
                      [--listen HOST:PORT] [--kubeconfig FILE]

  Serves the mutating admission webhook (POST /inject, GET /ready) over HTTPS.
  --mesh-config    JSON with at least proxyImage (and proxyVersion, imagePullPolicy, controlPlaneNamespace)
  --trust-anchors  PEM handed to injected proxies
  --listen         default 0.0.0.0:${CONTROL_PLANE_PORTS.webhook}
`;

export interface InjectorArgs {
  listen: SocketAddr;
  tlsCert: string;
  tlsKey: string;
  meshConfig: string;
  trustAnchors?: string;
  kubeconfig?: string;
}

/** Parses the arguments; a string is a usage error naming every problem. */
export function parseInjectorArgs(args: string[]): InjectorArgs | string {
  const v: Record<string, string> = {};
  const known = ['--listen', '--tls-cert', '--tls-key', '--mesh-config', '--trust-anchors', '--kubeconfig'];
  const errors: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    const eq = /^(--[a-z-]+)=(.*)$/.exec(a);
    const flag = eq ? eq[1]! : a;
    if (!known.includes(flag)) {
      errors.push(`unknown argument '${a}'`);
      continue;
    }
    const value = eq ? eq[2] : args[++i];
    if (value === undefined) errors.push(`missing value for ${flag}`);
    else v[flag] = value;
  }
  for (const f of ['--tls-cert', '--tls-key', '--mesh-config']) if (!v[f]) errors.push(`${f} FILE is required`);
  const listenText = v['--listen'] ?? `0.0.0.0:${CONTROL_PLANE_PORTS.webhook}`;
  const listen = parseAddr(listenText, { allowPortZero: true });
  if (!listen) errors.push(`--listen: expected host:port, got "${listenText}"`);
  if (errors.length > 0) return errors.join('; ');
  const out: InjectorArgs = { listen: listen!, tlsCert: v['--tls-cert']!, tlsKey: v['--tls-key']!, meshConfig: v['--mesh-config']! };
  if (v['--trust-anchors']) out.trustAnchors = v['--trust-anchors'];
  if (v['--kubeconfig']) out.kubeconfig = v['--kubeconfig'];
  return out;
}

/** The injector's MeshConfig from mesh-config.json's text (pure). */
export function meshConfigFromJson(text: string, file: string, trustAnchorsPem?: string): MeshConfig | string {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    return `${file} is not JSON (${(e as Error).message})`;
  }
  const d = (typeof doc === 'object' && doc !== null ? doc : {}) as Record<string, unknown>;
  if (typeof d['proxyImage'] !== 'string' || d['proxyImage'] === '') return `${file}: proxyImage (the mesh image) is missing`;
  const c: MeshConfig = { proxyImage: d['proxyImage'], proxyVersion: typeof d['proxyVersion'] === 'string' ? d['proxyVersion'] : WEFT_VERSION };
  const pull = d['imagePullPolicy'];
  if (pull === 'Always' || pull === 'IfNotPresent' || pull === 'Never') c.imagePullPolicy = pull;
  if (typeof d['controlPlaneNamespace'] === 'string') c.controlPlaneNamespace = d['controlPlaneNamespace'];
  if (trustAnchorsPem) c.trustAnchorsPem = trustAnchorsPem;
  return c;
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
    process.stdout.write(INJECTOR_USAGE);
    return 0;
  }
  const say = (msg: string): void => void process.stderr.write(`${CLI_NAME} injector: ${msg}\n`);
  const a = parseInjectorArgs(args);
  if (typeof a === 'string') {
    process.stderr.write(`${CLI_NAME} injector: ${a}\n\n${INJECTOR_USAGE}`);
    return 2;
  }
  const [certPem, keyPem, meshText, anchors] = await Promise.all([
    readNamed(a.tlsCert, 'serving certificate'),
    readNamed(a.tlsKey, 'serving key'),
    readNamed(a.meshConfig, 'mesh config'),
    a.trustAnchors ? readNamed(a.trustAnchors, 'trust anchors') : Promise.resolve(undefined),
  ]);
  const meshConfig = meshConfigFromJson(meshText, a.meshConfig, anchors);
  if (typeof meshConfig === 'string') {
    say(meshConfig);
    return 1;
  }
  const conn = await controlPlaneKubeConfig(a.kubeconfig);
  if (!conn.ok) {
    say(conn.message);
    return 1;
  }
  const kit = informerKit({ kubeConfig: conn.kubeConfig, log: (_l, m) => say(m) });
  const core = kit.core;
  const namespaces = kit.namespaces();
  namespaces.start();
  const { startInjectorWebhook } = await import('../control/injector/webhook-server');
  const webhook = await startInjectorWebhook({
    host: a.listen.host,
    port: a.listen.port,
    certPem,
    keyPem,
    meshConfig,
    // The cache once synced; before that (or for a namespace not seen yet) one GET.
    namespaceLookup: async (name) => {
      const cached = namespaces.hasSynced ? namespaces.get(name) : undefined;
      if (cached) return cached as unknown as NamespaceLike;
      try {
        return (await core.readNamespace({ name })) as unknown as NamespaceLike;
      } catch (e) {
        if ((e as { code?: number }).code === 404) return undefined;
        throw e;
      }
    },
    onReview: (req, outcome) => say(`${req.namespace ?? ''}/${req.name ?? '(generated name)'}: ${outcome.events.join(' ')}`),
  });
  say(`listening on ${webhook.url} (namespaces through ${conn.where})`);
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  await webhook.close();
  await namespaces.stop();
  return 0;
}
