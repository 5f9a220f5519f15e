/**
 * Where the proxy's inbound policy table comes from: a fixed default policy, YAML files compiled
 * by the proxy itself (WEFT_PROXY_POLICY_FILE, re-read on change), or the policy service
 * (policy-client.ts). Each keeps the last good table when a new one cannot be had.
 */
import { unwatchFile, watchFile } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { DEFAULT_CLUSTER_NETWORKS, DEFAULT_TRUST_DOMAIN } from '../../config/names';
import { compileInboundPolicy, type InboundPolicyTable, type MeshPolicyDefaults } from '../../control/policy/inbound-policy';
import { workloadFacts, type WorkloadRequest } from '../../control/policy/policy-model';
import { emptyPolicyResources } from '../../control/policy/resources';
import type { PolicyConfig } from './policy-config';

export interface InboundPolicySource {
  /** The table in force; undefined until the first one arrives. */
  current(): InboundPolicyTable | undefined;
  /** Resolves once a table is in force. */
  readonly ready: Promise<void>;
  /** Called with every new table. */
  onTable(cb: (table: InboundPolicyTable) => void): void;
  close(): void;
}

/** A table that never changes. */
export class FixedPolicy implements InboundPolicySource {
  readonly ready = Promise.resolve();
  constructor(private readonly table: InboundPolicyTable) {}
  current(): InboundPolicyTable {
    return this.table;
  }
  onTable(): void {}
  close(): void {}
}

export function defaultPolicyTable(c: Extract<PolicyConfig, { kind: 'default' }>): InboundPolicyTable {
  const mesh: MeshPolicyDefaults = { defaultInboundPolicy: c.defaultPolicy, clusterNetworks: c.clusterNetworks, trustDomain: DEFAULT_TRUST_DOMAIN };
  return compileInboundPolicy({ namespace: 'default', labels: {}, ports: [], annotations: {}, probes: c.probes }, emptyPolicyResources(), mesh);
}

/** Compiles the files for this workload; a string lists every problem. */
export async function compileFiles(files: readonly string[], workload: WorkloadRequest, mesh: MeshPolicyDefaults): Promise<InboundPolicyTable | string> {
  const texts: { name: string; text: string }[] = [];
  for (const f of files) {
    try {
      texts.push({ name: f, text: await readFile(f, 'utf8') });
    } catch (e) {
      return `WEFT_PROXY_POLICY_FILE ${f}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'not found' : (e as Error).message}`;
    }
  }
  // Loaded on demand: the YAML parser costs the proxy ~9 MB of RSS when no policy file is used.
  const { modelFromFiles } = await import('../../control/policy/policy-file');
  const { model, errors } = modelFromFiles(texts, mesh);
  // A resource left out could widen or narrow access: no table is better than a different one.
  if (errors.length > 0) return errors.join('\n');
  return compileInboundPolicy(workloadFacts(model, workload), model.resources, model.meshDefaults);
}

export class FilePolicySource implements InboundPolicySource {
  private table: InboundPolicyTable | undefined;
  private readonly listeners: ((t: InboundPolicyTable) => void)[] = [];
  readonly ready: Promise<void>;
  private readonly mesh: MeshPolicyDefaults;
  private closed = false;

  constructor(
    private readonly c: Extract<PolicyConfig, { kind: 'file' }>,
    private readonly log: (level: 'info' | 'warn', msg: string, fields?: Record<string, unknown>) => void,
  ) {
    this.mesh = { defaultInboundPolicy: c.defaultPolicy, clusterNetworks: c.clusterNetworks, trustDomain: DEFAULT_TRUST_DOMAIN };
    this.ready = compileFiles(c.files, c.workload, this.mesh).then((t) => {
      if (typeof t === 'string') throw new Error(t);
      this.set(t);
      for (const f of c.files) watchFile(f, { interval: 500 }, () => void this.reload());
    });
  }

  private async reload(): Promise<void> {
    const t = await compileFiles(this.c.files, this.c.workload, this.mesh);
    if (this.closed) return;
    if (typeof t === 'string') return this.log('warn', 'policy: policy file refused; the previous table stays in force', { error: t });
    this.set(t);
  }

  private set(t: InboundPolicyTable): void {
    this.table = t;
    for (const l of this.listeners) l(t);
  }

  current(): InboundPolicyTable | undefined {
    return this.table;
  }

  onTable(cb: (t: InboundPolicyTable) => void): void {
    this.listeners.push(cb);
  }

  close(): void {
    this.closed = true;
    for (const f of this.c.files) unwatchFile(f);
  }
}

/**
 * The source the configuration asks for, with its first table in force: the proxy starts serving
 * inbound traffic only then (a policy service that does not answer keeps the proxy not ready).
 */
export async function startInboundPolicy(
  config: PolicyConfig | undefined,
  log: { info(msg: string, f?: Record<string, unknown>): void; warn(msg: string, f?: Record<string, unknown>): void },
): Promise<InboundPolicySource> {
  const c: PolicyConfig = config ?? { kind: 'default', defaultPolicy: 'all-unauthenticated', clusterNetworks: [...DEFAULT_CLUSTER_NETWORKS], explicit: false, probes: [] };
  const say = (level: 'info' | 'warn', msg: string, fields?: Record<string, unknown>): void => log[level](msg, fields);
  if (c.kind === 'default') return new FixedPolicy(defaultPolicyTable(c));
  if (c.kind === 'file') {
    const s = new FilePolicySource(c, say);
    try {
      await s.ready;
    } catch (e) {
      s.close();
      throw e;
    }
    return s;
  }
  const { PolicyClient } = await import('./policy-client');
  const client = new PolicyClient({ addr: c.addr, workload: c.workload, log: say });
  log.info('policy: waiting for the inbound policy', { service: `${c.addr.host}:${c.addr.port}`, workload: `${c.workload.namespace}/${c.workload.name}` });
  await client.ready;
  return client;
}
