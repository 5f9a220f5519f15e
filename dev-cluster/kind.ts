/**
 * A typed wrapper around the kind CLI (and the few docker commands its pre-flight needs), run with
 * execa as argv arrays — never a shell string. Every failure becomes a KindError with a message that
 * names the cause (not installed, daemon down, cluster exists, port in use, kind too old…) and a hint
 * with the next step. The texts it recognises are those real kind and docker versions print.
 */
import { execa } from 'execa';

/** kind v0.24.0 is the first whose kindnetd enforces NetworkPolicy; it ships kindest/node v1.31.0. */
export const MIN_KIND_VERSION = '0.24.0';

export type KindFailure = 'not-installed' | 'docker-missing' | 'daemon-down' | 'docker-permission' | 'too-old' | 'exists' | 'port-in-use' | 'no-cluster' | 'image-missing' | 'timeout' | 'failed';

export class KindError extends Error {
  constructor(
    readonly failure: KindFailure,
    message: string,
    readonly hint: string,
  ) {
    super(message);
    this.name = 'KindError';
  }
}

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
  /** The executable was not found on PATH. */
  missing: boolean;
  timedOut: boolean;
}

export interface KindOptions {
  /** Executable names or paths (default `kind`, `docker`). */
  kind?: string;
  docker?: string;
  /** The environment of every command (default process.env); tests put stand-ins first on PATH. */
  env?: NodeJS.ProcessEnv;
  signal?: AbortSignal;
  /** Each command line run, for progress or logs. */
  onCommand?: (argv: string[]) => void;
}

export interface Preflight {
  kindVersion: string;
  dockerClientVersion: string;
  dockerServerVersion: string;
}

/** `kind v0.23.0 go1.21.10 linux/amd64` → `0.23.0`. */
export function parseKindVersion(out: string): string | undefined {
  return /\bkind v?(\d+\.\d+\.\d+)/.exec(out)?.[1];
}

/** a < b for x.y.z versions. */
export function versionLess(a: string, b: string): boolean {
  const pa = a.split('.').map(Number);
  const pb = b.split('.').map(Number);
  for (let i = 0; i < 3; i++) if ((pa[i] ?? 0) !== (pb[i] ?? 0)) return (pa[i] ?? 0) < (pb[i] ?? 0);
  return false;
}

function lastLines(s: string, n = 3): string {
  return s.trim().split('\n').map((l) => l.trim()).filter(Boolean).slice(-n).join(' | ');
}

/** Turns what kind (or docker) printed when it failed into a KindError. Pure. */
export function classifyFailure(what: string, r: Pick<RunResult, 'code' | 'stdout' | 'stderr' | 'timedOut'>, cluster?: string): KindError {
  const out = `${r.stderr}\n${r.stdout}`;
  if (r.timedOut) return new KindError('timeout', `${what}: timed out`, 'Docker may be overloaded; try again, or raise the timeout');
  if (/Cannot connect to the Docker daemon|Is the docker daemon running|error during connect/i.test(out)) {
    return new KindError('daemon-down', `${what}: the Docker daemon is not running (${lastLines(out, 1)})`, 'start Docker (Docker Desktop, or `sudo systemctl start docker`) and try again');
  }
  if (/permission denied while trying to connect to the Docker daemon/i.test(out)) {
    return new KindError('docker-permission', `${what}: no permission to use Docker (${lastLines(out, 1)})`, 'add your user to the docker group (`sudo usermod -aG docker $USER`, then log in again)');
  }
  const exists = /node\(s\) already exist for a cluster with the name "([^"]+)"/.exec(out);
  if (exists) {
    return new KindError('exists', `a kind cluster named "${exists[1]}" already exists`, `remove it (\`weft cluster down --name ${exists[1]}\` or \`kind delete cluster --name ${exists[1]}\`) or choose another name`);
  }
  if (/port is already allocated|address already in use/i.test(out)) {
    const p = /Bind for \S*:(\d+) failed/.exec(out)?.[1] ?? /failed to bind port \S*:(\d+)\//.exec(out)?.[1] ?? /listen tcp[46]? \S*:(\d+): bind/.exec(out)?.[1];
    return new KindError('port-in-use', `${what}: host port ${p ?? '(unknown)'} is already in use`, `stop what listens on port ${p ?? 'it'} (\`ss -ltnp\` shows it), or remove the port mapping from the kind config`);
  }
  if (/could not locate any control plane nodes|no nodes found for cluster/i.test(out)) {
    return new KindError('no-cluster', `${what}: there is no kind cluster named "${cluster ?? '?'}"`, '`kind get clusters` lists them; `weft cluster up` creates one');
  }
  const img = /image: "([^"]+)" not present locally/.exec(out);
  if (img) return new KindError('image-missing', `${what}: the image ${img[1]} is not in the local Docker`, 'build it first (`weft cluster up` builds dev-cluster/image/Dockerfile)');
  return new KindError('failed', `${what} failed (exit ${r.code}): ${lastLines(out) || 'no output'}`, 'run the same kind command by hand to see the whole output');
}

export class Kind {
  private readonly kindBin: string;
  private readonly dockerBin: string;

  constructor(private readonly o: KindOptions = {}) {
    this.kindBin = o.kind ?? 'kind';
    this.dockerBin = o.docker ?? 'docker';
  }

  /** Runs one command (argv, no shell); never throws for a failed command, only returns it. */
  async run(file: string, args: string[], opts: { input?: string; timeoutMs?: number } = {}): Promise<RunResult> {
    this.o.onCommand?.([file, ...args]);
    const r = await execa(file, args, {
      reject: false,
      env: this.o.env ?? process.env,
      extendEnv: false,
      timeout: opts.timeoutMs ?? 10 * 60_000,
      ...(this.o.signal ? { cancelSignal: this.o.signal } : {}),
      ...(opts.input !== undefined ? { input: opts.input } : { stdin: 'ignore' as const }),
    });
    if (r.isCanceled) throw new KindError('failed', `${file} ${args[0] ?? ''}: cancelled`, 'nothing to do: it was stopped on request');
    const missing = (r as { code?: string }).code === 'ENOENT';
    return { code: r.exitCode ?? (missing ? 127 : 1), stdout: String(r.stdout ?? ''), stderr: String(r.stderr ?? ''), missing, timedOut: r.timedOut };
  }

  private async kind(what: string, args: string[], cluster?: string, opts: { timeoutMs?: number; input?: string } = {}): Promise<RunResult> {
    const r = await this.run(this.kindBin, args, opts);
    if (r.missing) throw notInstalled('kind');
    if (r.code !== 0) throw classifyFailure(what, r, cluster);
    return r;
  }

  /** Finds docker (client and daemon) and kind, and checks kind's version. */
  async preflight(): Promise<Preflight> {
    const client = await this.run(this.dockerBin, ['version', '--format', '{{.Client.Version}}'], { timeoutMs: 30_000 });
    if (client.missing) throw notInstalled('docker');
    const server = await this.run(this.dockerBin, ['version', '--format', '{{.Server.Version}}'], { timeoutMs: 30_000 });
    if (server.code !== 0) throw classifyFailure('docker', server);
    const v = await this.run(this.kindBin, ['version'], { timeoutMs: 30_000 });
    if (v.missing) throw notInstalled('kind');
    const kindVersion = parseKindVersion(v.stdout + v.stderr);
    if (!kindVersion) throw new KindError('failed', `kind version printed something unexpected: ${lastLines(v.stdout + v.stderr) || 'nothing'}`, 'reinstall kind from https://kind.sigs.k8s.io/docs/user/quick-start/#installation');
    if (versionLess(kindVersion, MIN_KIND_VERSION)) {
      throw new KindError('too-old', `kind v${kindVersion} is too old: the dev cluster needs v${MIN_KIND_VERSION} or newer (NetworkPolicy enforcement in kindnetd, the pinned node image)`, `upgrade kind (e.g. \`go install sigs.k8s.io/kind@v${MIN_KIND_VERSION}\`, or the release binary from https://github.com/kubernetes-sigs/kind/releases)`);
    }
    return { kindVersion, dockerClientVersion: client.stdout.trim(), dockerServerVersion: server.stdout.trim() };
  }

  /** The names of the kind clusters (kind prints "No kind clusters found." on stderr when none). */
  async listClusters(): Promise<string[]> {
    const r = await this.kind('kind get clusters', ['get', 'clusters'], undefined, { timeoutMs: 60_000 });
    return r.stdout.split('\n').map((l) => l.trim()).filter(Boolean);
  }

  async createCluster(c: { name: string; config?: string; image?: string; waitSeconds?: number }): Promise<void> {
    const args = ['create', 'cluster', '--name', c.name];
    if (c.config) args.push('--config', c.config);
    if (c.image) args.push('--image', c.image);
    if (c.waitSeconds) args.push('--wait', `${c.waitSeconds}s`);
    await this.kind(`kind create cluster --name ${c.name}`, args, c.name, { timeoutMs: 15 * 60_000 });
  }

  async deleteCluster(name: string): Promise<void> {
    await this.kind(`kind delete cluster --name ${name}`, ['delete', 'cluster', '--name', name], name, { timeoutMs: 5 * 60_000 });
  }

  /** The cluster's kubeconfig (YAML); `internal` gives the address reachable from other containers. */
  async kubeconfig(name: string, o: { internal?: boolean } = {}): Promise<string> {
    const r = await this.kind(`kind get kubeconfig --name ${name}`, ['get', 'kubeconfig', '--name', name, ...(o.internal ? ['--internal'] : [])], name, { timeoutMs: 60_000 });
    return r.stdout;
  }

  async loadDockerImage(name: string, image: string): Promise<void> {
    await this.kind(`kind load docker-image ${image}`, ['load', 'docker-image', image, '--name', name], name, { timeoutMs: 10 * 60_000 });
  }
}

function notInstalled(bin: 'kind' | 'docker'): KindError {
  return bin === 'kind'
    ? new KindError('not-installed', 'kind is not installed (not found on PATH)', `install kind v${MIN_KIND_VERSION} or newer: https://kind.sigs.k8s.io/docs/user/quick-start/#installation`)
    : new KindError('docker-missing', 'docker is not installed (not found on PATH)', 'install Docker (Docker Desktop, or Docker Engine: https://docs.docker.com/engine/install/)');
}
