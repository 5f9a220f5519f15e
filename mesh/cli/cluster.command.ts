/**
 * `weft cluster up|down [--name NAME]`: the dev cluster on kind (docs/dev-cluster.md). A thin shell
 * over dev-cluster/cluster.ts (clusterUp / clusterDown, which the VS Code extension calls too):
 * progress lines, Ctrl-C cancels (and removes a half-created cluster), errors as message + next step.
 */
export const CLUSTER_USAGE = `usage: weft cluster up [--name NAME]     create the kind dev cluster: build and load the mesh image,
                                         install the mesh, deploy and inject the demo, wait for its traffic
       weft cluster down [--name NAME]   delete it

Needs Docker (running) and kind v0.24.0 or newer. Default name: weft-dev. Details: docs/dev-cluster.md
`;

export function parseClusterArgs(args: readonly string[]): { ok: true; command: 'up' | 'down'; name?: string } | { ok: false; error: string } {
  const [command, ...rest] = args;
  if (command !== 'up' && command !== 'down') return { ok: false, error: command === undefined ? 'expected up or down' : `unknown command '${command}'` };
  let name: string | undefined;
  for (let i = 0; i < rest.length; i++) {
    const a = rest[i]!;
    if (a === '--name') {
      name = rest[++i];
      if (name === undefined) return { ok: false, error: '--name needs a value' };
    } else if (a.startsWith('--name=')) name = a.slice(7);
    else return { ok: false, error: `unknown option ${a}` };
  }
  return { ok: true, command, ...(name !== undefined ? { name } : {}) };
}

export async function run(args: string[]): Promise<number> {
  if (args[0] === undefined || args.includes('--help') || args.includes('-h') || args[0] === 'help') {
    process.stdout.write(CLUSTER_USAGE);
    return args[0] === undefined ? 2 : 0;
  }
  const parsed = parseClusterArgs(args);
  if (!parsed.ok) {
    process.stderr.write(`weft cluster: ${parsed.error}\n\n${CLUSTER_USAGE}`);
    return 2;
  }
  const { clusterUp, clusterDown, ClusterError } = await import('../../dev-cluster/cluster');
  const ac = new AbortController();
  const onSignal = (): void => {
    process.stderr.write('\nweft cluster: stopping (removing what was created)…\n');
    ac.abort();
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  const started = Date.now();
  const onStep = (e: { step: string; message: string }): void => void process.stdout.write(`[${Math.round((Date.now() - started) / 1000)}s] ${e.step}: ${e.message}\n`);
  try {
    if (parsed.command === 'up') {
      const r = await clusterUp({ ...(parsed.name ? { name: parsed.name } : {}), onStep, signal: ac.signal });
      process.stdout.write(`cluster "${r.name}" is up (kubectl context kind-${r.name})\n`);
    } else {
      const r = await clusterDown({ ...(parsed.name ? { name: parsed.name } : {}), onStep, signal: ac.signal });
      if (r.removed) process.stdout.write('deleted\n');
    }
    return 0;
  } catch (e) {
    if (e instanceof ClusterError) {
      process.stderr.write(`weft cluster: ${e.message}\n  next: ${e.hint}\n`);
      return 1;
    }
    throw e;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}
