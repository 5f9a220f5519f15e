/** The `weft` command: a table of subcommands, each in its own module, loaded on demand. */
import { CLI_NAME } from '../config/names';

type Command = { summary: string; run: (args: string[]) => Promise<number> };

const commands: Record<string, Command> = {
  proxy: {
    summary: 'run a proxy configured by WEFT_* environment variables (docs/proxy.md)',
    run: async (args) => (await import('./proxy.command')).run(args),
  },
  demo: {
    summary: 'run the mesh and a demo app locally, with live golden metrics (Ctrl-C stops)',
    run: async (args) => (await import('./demo.command')).run(args),
  },
  install: { summary: 'print the control plane manifests for `kubectl apply -f -` (docs/install.md)', run: async (args) => (await import('./install.command')).run(args) },
  check: { summary: 'check the cluster and the mesh: [--pre | --proxy] [--output json] (docs/install.md)', run: async (args) => (await import('./check.command')).run(args) },
  injector: { summary: 'serve the proxy injector webhook: --tls-cert --tls-key --mesh-config [--listen] [--kubeconfig]', run: async (args) => (await import('./injector.command')).run(args) },
  validate: {
    summary: 'check Kubernetes manifests for mesh mistakes (docs/rules.md)',
    run: async (args) => (await import('./validate.command')).run(args),
  },
  inject: {
    summary: 'add weft.dev/inject: enabled to the workloads of a YAML file (or -): FILE|- [--manual]',
    run: async (args) => (await import('./inject.command')).run(args),
  },
  local: {
    summary: 'run a topology file as local processes with proxies: up -f FILE [--detach] | status | logs | down',
    run: async (args) => (await import('./local.command')).run(args),
  },
  stat: {
    summary: 'golden metrics per workload or service from the metrics API: [TARGET] [--json] [--window 1m] [--api URL]',
    run: async (args) => (await import('./stat.command')).runStat(args),
  },
  edges: {
    summary: 'who calls whom, with identities and mTLS, from the metrics API: [--json] [--api URL]',
    run: async (args) => (await import('./stat.command')).runEdges(args),
  },
  identity: {
    summary: 'run the identity service (issues proxy certificates): --trust-anchors --issuer-cert --issuer-key --token-secret-file',
    run: async (args) => (await import('./identity.command')).run(args),
  },
  cluster: {
    summary: 'the kind dev cluster: up [--name NAME] (image, mesh, demo) | down [--name NAME] (docs/dev-cluster.md)',
    run: async (args) => (await import('./cluster.command')).run(args),
  },
  init: {
    summary: 'apply the redirect rules (iptables, ip6tables) in this network namespace: [--skip-inbound-ports L] [--skip-outbound-ports L] [--dry-run]',
    run: async (args) => (await import('./init.command')).run(args),
  },
  destination: {
    summary: 'run the destination service (endpoints for proxies) for a local topology file: -f FILE [--listen HOST:PORT]',
    run: async (args) => (await import('./destination.command')).run(args),
  },
  policy: {
    summary: 'run the policy service (inbound authorization for proxies) from YAML files or the cluster: -f FILE... | --kube [--listen HOST:PORT]',
    run: async (args) => (await import('./policy.command')).run(args),
  },
  'metrics-api': { summary: 'serve golden metrics of a cluster\'s meshed pods: --kube [--kubeconfig] [--listen] [--prometheus URL]', run: async (args) => (await import('./metrics-api.command')).run(args) },
};

function usage(): string {
  const rows = Object.entries(commands).map(([name, c]) => `  ${name.padEnd(10)} ${c.summary}`);
  return `usage: ${CLI_NAME} <command> [options]\n\ncommands:\n${rows.join('\n')}\n`;
}

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(usage());
    return name ? 0 : 2;
  }
  const cmd = commands[name];
  if (!cmd) {
    process.stderr.write(`${CLI_NAME}: unknown command '${name}'\n\n${usage()}`);
    return 2;
  }
  return cmd.run(rest);
}

main(process.argv.slice(2)).then(
  (code) => {
    if (code !== 0) process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`${CLI_NAME}: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 1;
  },
);
