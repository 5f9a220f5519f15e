/**
 * `weft local up -f FILE --isolation netns [--no-mesh]` and `weft local down --isolation netns`
 * (docs/dev-cluster.md): the topology file's workloads as pods in network namespaces, in the
 * foreground (Ctrl-C removes everything). A thin shell over netns-plan.ts and netns-mesh.ts;
 * mesh/cli/local.command.ts hands it every `up`/`down` that names --isolation.
 */
import { randomBytes } from 'node:crypto';
import { chmod, mkdir, rm } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readTopologyFile } from '../local/topology-file';
import { WEFT_ENTRY } from '../local/proxy-process';
import { Supervisor, installShutdownHandlers } from '../local/supervisor';
import { planNetns } from './netns-plan';
import { NetnsError, netnsPreflight, pickSubnet, removeNetnsRun, startNetnsMesh } from './netns-mesh';

export const NETNS_USAGE = `usage: weft local up -f FILE --isolation netns [--no-mesh]
       weft local down --isolation netns

  --isolation netns   every replica in its own network namespace on a bridge, with an IPv4 and an
                      IPv6 address, /etc/hosts naming the services, the redirect rules (weft init)
                      applied before its app starts and its proxy running as UID 2102: a pod's
                      semantics on this machine (Linux, root). Foreground: Ctrl-C removes it all.
  --no-mesh           the same pods without rules or proxies (plaintext, to compare)
  down                removes every namespace, link and /etc/netns entry any netns run left behind

  --isolation process is the default (weft local up without --isolation; docs/local-mode.md).
`;

const SETTLE_MS = 500;

export interface NetnsArgs {
  command: 'up' | 'down';
  file?: string;
  mesh: boolean;
}

export function parseNetnsArgs(command: string, args: readonly string[]): { ok: true; value: NetnsArgs } | { ok: false; error: string } {
  if (command !== 'up' && command !== 'down') return { ok: false, error: `--isolation applies to up and down, not ${command}` };
  let file: string | undefined;
  let isolation: string | undefined;
  let mesh = true;
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === '-f' || a === '--file') {
      file = args[++i];
      if (file === undefined) return { ok: false, error: `${a} needs a file` };
    } else if (a.startsWith('--file=')) file = a.slice(7);
    else if (a === '--isolation') {
      isolation = args[++i];
      if (isolation === undefined) return { ok: false, error: '--isolation needs a value: netns or process' };
    } else if (a.startsWith('--isolation=')) isolation = a.slice(12);
    else if (a === '--no-mesh') mesh = false;
    else return { ok: false, error: `unknown option ${a} with --isolation netns` };
  }
  if (isolation !== 'netns') return { ok: false, error: `--isolation ${isolation ?? ''}: expected netns (process, the default, takes no flag)` };
  if (command === 'up' && file === undefined) return { ok: false, error: 'no topology file: weft local up -f topology.yaml --isolation netns' };
  if (command === 'down' && file !== undefined) return { ok: false, error: 'down takes no file' };
  return { ok: true, value: { command, ...(file !== undefined ? { file } : {}), mesh } };
}

function fail(msg: string, hint?: string, code = 1): number {
  process.stderr.write(`weft local: ${msg}\n${hint ? `  next: ${hint}\n` : ''}`);
  return code;
}

export async function run(command: string, args: string[]): Promise<number> {
  if (args.includes('--help') || args.includes('-h')) {
    process.stdout.write(NETNS_USAGE);
    return 0;
  }
  const parsed = parseNetnsArgs(command, args);
  if (!parsed.ok) return fail(`${parsed.error}\n\n${NETNS_USAGE}`, undefined, 2);
  const pre = await netnsPreflight();
  if (pre) return fail(pre.message, pre.hint);
  if (parsed.value.command === 'down') {
    const removed = await removeNetnsRun();
    process.stdout.write(removed.length ? `removed ${removed.join(', ')}\n` : 'nothing to remove (no weft network namespace, link or /etc/netns entry)\n');
    return 0;
  }
  return up(parsed.value.file!, parsed.value.mesh);
}

async function up(file: string, mesh: boolean): Promise<number> {
  const topo = await readTopologyFile(file);
  if (!topo.ok) {
    if (topo.exitCode === 1) return fail(topo.message);
    process.stderr.write(`weft local: ${topo.message}`);
    return 2;
  }
  if (mesh && !existsSync(WEFT_ENTRY)) return fail(`${WEFT_ENTRY} is missing`, 'run `npm run build` first (the proxies and weft init run from dist/)');
  const runId = randomBytes(3).toString('hex');
  const planned = planNetns(topo.topology, { runId, subnet: await pickSubnet(), mesh });
  if (!planned.ok) return fail(planned.error, 'split the topology into smaller runs');
  const plan = planned.plan;
  // In the temp dir: every parent directory must be traversable by the proxies' UID.
  const workDir = join(tmpdir(), `weft-netns-${runId}`);
  await mkdir(workDir, { recursive: true });
  await chmod(workDir, 0o755);

  const say = (line: string): void => void process.stdout.write(`${line}\n`);
  const sup = new Supervisor({
    graceMs: 2_000,
    onUnexpectedExit: (p, info) => say(`${new Date().toISOString()} ${p.name} exited (${info.signal ?? `code ${info.code}`})${p.tail().length ? `; last output: ${p.tail().slice(-3).join(' | ')}` : ''}`),
  });
  let resolveStop!: () => void;
  const stopRequested = new Promise<void>((r) => (resolveStop = r));
  const removeHandlers = installShutdownHandlers(sup, () => resolveStop());
  say(`weft local: run ${runId}, ${plan.pods.length} pod${plan.pods.length === 1 ? '' : 's'} in network namespaces${mesh ? '' : ' (mesh off)'}`);
  let running;
  try {
    running = await Promise.race([startNetnsMesh(plan, { workDir, supervisor: sup, onProgress: (m) => say(`  ${m}`) }), stopRequested.then(() => undefined)]);
  } catch (e) {
    removeHandlers();
    await rm(workDir, { recursive: true, force: true });
    const hint = e instanceof NetnsError ? e.hint : undefined;
    return fail(`${(e as Error).message}\nweft local: removed everything this run had made`, hint);
  }
  if (running) {
    // An app that exits at once (a client with no port to wait for) is a failed start too.
    await new Promise((r) => setTimeout(r, SETTLE_MS));
    const dead = running.pods.find((p) => p.app.hasExited());
    if (dead) {
      await running.stop();
      removeHandlers();
      await rm(workDir, { recursive: true, force: true });
      return fail(`${dead.plan.name} exited at start: ${dead.app.tail().slice(-5).join(' | ') || 'no output'}\nweft local: removed everything this run had made`, 'fix its command in the topology file');
    }
    say('');
    for (const p of plan.pods) say(`  ${p.name}: netns ${p.netns}  ${p.ipv4}  ${p.ipv6}${p.workload.ports.length ? `  ports ${p.workload.ports.map((x) => x.port).join(',')}` : ''}`);
    for (const s of plan.services) say(`  service ${s.name}.${s.namespace}:${s.port} → ${s.addresses.join(', ')}`);
    const client = plan.pods.find((p) => p.workload.ports.length === 0) ?? plan.pods[0]!;
    const svc = plan.services[0];
    if (svc) say(`\ntry: ip netns exec ${client.netns} curl http://${svc.name}.${svc.namespace}:${svc.port}/`);
    say('Ctrl-C to stop');
    await stopRequested;
    say('stopping…');
  }
  await (running ? running.stop() : sup.stopAll().then(() => removeNetnsRun(runId)));
  removeHandlers();
  await rm(workDir, { recursive: true, force: true });
  say('stopped; namespaces, links and /etc/netns entries removed');
  return 0;
}
