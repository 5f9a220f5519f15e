/**
 * `weft inject FILE|- [--manual] [--proxy-image IMAGE]`: the thin shell (reading the file or stdin,
 * printing) around mesh/control/injector/manifest-inject. The YAML goes to stdout, one line per
 * workload to stderr (as `linkerd inject`), so `weft inject app.yaml | kubectl apply -f -` works.
 */
import { readFile } from 'node:fs/promises';
import { CLI_NAME, WEFT_VERSION } from '../config/names';
import { DEFAULT_MESH_IMAGE } from '../config/injector';
import { annotateManifest, injectManifest, type ManifestInjectResult, type ResourceReport } from '../control/injector/manifest-inject';

const USAGE = `usage: ${CLI_NAME} inject FILE|- [--manual] [--proxy-image IMAGE]
  Adds weft.dev/inject: enabled to the pod templates of Pods, Deployments, StatefulSets, DaemonSets,
  ReplicaSets, Jobs and CronJobs (comments and formatting kept); the proxy injector then meshes them.
  --manual             inject client-side: add weft-init, weft-proxy and their volumes to the YAML
  --proxy-image IMAGE  the mesh image for --manual (default ${DEFAULT_MESH_IMAGE})
  Reads stdin for '-'. Writes YAML to stdout and one line per workload to stderr.
`;

export interface InjectArgs {
  file: string;
  manual: boolean;
  proxyImage: string;
  help: boolean;
}

/** Parses the arguments; a string is a usage error. */
export function parseInjectArgs(args: string[]): InjectArgs | string {
  let file: string | undefined;
  let manual = false;
  let help = false;
  let proxyImage = DEFAULT_MESH_IMAGE;
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === '--manual') manual = true;
    else if (a === '--help' || a === '-h') help = true;
    else if (a === '--proxy-image') {
      const v = args[++i];
      if (v === undefined || v === '') return 'missing value for --proxy-image';
      proxyImage = v;
    } else if (a.startsWith('--proxy-image=')) {
      proxyImage = a.slice('--proxy-image='.length);
      if (proxyImage === '') return 'missing value for --proxy-image';
    } else if (a !== '-' && a.startsWith('-')) return `unknown option '${a}'`;
    else if (file !== undefined) return `one FILE at a time (got '${file}' and '${a}')`;
    else file = a;
  }
  if (help) return { file: file ?? '-', manual, proxyImage, help };
  if (file === undefined) return 'no FILE given (use - for stdin)';
  return { file, manual, proxyImage, help };
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/** `deployment "web" injected` / `pod "x" skipped (reason)`. */
export function reportLine(r: ResourceReport): string {
  const detail = r.detail ? ` (${r.detail})` : '';
  return `${r.kind.toLowerCase()} "${r.name}" ${r.action}${detail}`;
}

/** Pure: the text transform for given arguments. */
export function transform(text: string, args: Pick<InjectArgs, 'manual' | 'proxyImage'>): ManifestInjectResult {
  return args.manual ? injectManifest(text, { proxyImage: args.proxyImage, proxyVersion: WEFT_VERSION }) : annotateManifest(text);
}

export async function run(argv: string[]): Promise<number> {
  const args = parseInjectArgs(argv);
  if (typeof args === 'string') {
    process.stderr.write(`${CLI_NAME} inject: ${args}\n${USAGE}`);
    return 2;
  }
  if (args.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  const source = args.file === '-' ? 'stdin' : args.file;
  let text: string;
  try {
    text = args.file === '-' ? await readStdin() : await readFile(args.file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'it is a directory' : (err as Error).message;
    process.stderr.write(`${CLI_NAME} inject: cannot read '${source}': ${why}\n`);
    return 1;
  }
  const result = transform(text, args);
  if (!result.ok) {
    process.stderr.write(`${CLI_NAME} inject: ${source}: ${result.error}\n  Nothing was written; fix the YAML and run again.\n`);
    return 1;
  }
  process.stdout.write(result.text);
  for (const r of result.resources) process.stderr.write(reportLine(r) + '\n');
  if (result.resources.length === 0) process.stderr.write(`${CLI_NAME} inject: ${source} has no workloads with a pod template; printed unchanged\n`);
  return 0;
}
