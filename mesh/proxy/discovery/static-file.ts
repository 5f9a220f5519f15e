/**
 * Discovery from a static YAML/JSON file (docs/proxy.md, "Destination file"). The parser is pure;
 * `StaticFileDiscovery` reloads the file when it changes and keeps the last good content when a
 * new version is malformed.
 */
import { readFile } from 'node:fs/promises';
import { unwatchFile, watchFile } from 'node:fs';
import { createRequire } from 'node:module';
import {
  parseAddr,
  type DestinationProfile,
  type DestinationUpdate,
  type Discovery,
  type DiscoveryHandlers,
  type DiscoveryWatch,
  type Endpoint,
  type RetryPolicy,
} from './discovery';

export type DestinationTable = Map<string, DestinationUpdate>;

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

function strRecord(v: unknown, where: string, errors: string[]): Record<string, string> {
  if (v === undefined) return {};
  if (!isObj(v)) {
    errors.push(`${where}: expected a map of strings`);
    return {};
  }
  const out: Record<string, string> = {};
  for (const [k, val] of Object.entries(v)) out[k] = String(val);
  return out;
}

function num(v: unknown, where: string, errors: string[]): number | undefined {
  if (v === undefined) return undefined;
  if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) {
    errors.push(`${where}: expected a non-negative number`);
    return undefined;
  }
  return v;
}

function strList(v: unknown, where: string, errors: string[]): string[] {
  if (v === undefined) return [];
  if (!Array.isArray(v)) {
    errors.push(`${where}: expected a list`);
    return [];
  }
  return v.map(String);
}

/**
 * JSON is YAML too: a file that parses as JSON skips the YAML parser, which the proxy then never
 * loads (local mode writes JSON). Anything else goes to js-yaml (YAML 1.2 core schema, as `yaml`
 * would read it): loading it costs the proxy ~0.5 MB of RSS where `yaml` cost ~3 MB
 * (docs/performance.md, "Proxy memory").
 */
function parseText(text: string): unknown {
  const t = text.trimStart();
  if (t.startsWith('{')) {
    try {
      return JSON.parse(t) as unknown;
    } catch {
      /* not JSON after all: YAML flow mappings look alike */
    }
  }
  const yaml = createRequire(import.meta.url)('js-yaml') as typeof import('js-yaml');
  const docs = yaml.loadAll(text); // an empty (or comments-only) file is an empty document, as `yaml` reads it
  if (docs.length > 1) throw new Error('the file holds more than one YAML document');
  return docs[0] ?? null;
}

/** Parses the destination file; every problem is reported with its path in the document. */
export function parseDestinationFile(text: string): { ok: true; table: DestinationTable } | { ok: false; errors: string[] } {
  let doc: unknown;
  try {
    doc = parseText(text);
  } catch (e) {
    return { ok: false, errors: [`not valid YAML: ${(e as Error).message}`] };
  }
  const errors: string[] = [];
  const table: DestinationTable = new Map();
  const list = isObj(doc) ? doc['destinations'] : undefined;
  if (!Array.isArray(list)) return { ok: false, errors: ['expected a top-level "destinations:" list'] };
  list.forEach((d: unknown, i) => {
    const at = `destinations[${i}]`;
    if (!isObj(d)) return void errors.push(`${at}: expected a map`);
    const authority = typeof d['authority'] === 'string' ? d['authority'] : '';
    if (!parseAddr(authority)) return void errors.push(`${at}.authority: expected host:port, got "${String(d['authority'])}"`);
    if (table.has(authority)) errors.push(`${at}.authority: "${authority}" is listed twice`);
    const endpoints: Endpoint[] = [];
    const eps = d['endpoints'] ?? [];
    if (!Array.isArray(eps)) errors.push(`${at}.endpoints: expected a list`);
    else
      eps.forEach((e: unknown, j) => {
        const eat = `${at}.endpoints[${j}]`;
        if (!isObj(e)) return void errors.push(`${eat}: expected a map`);
        const addr = typeof e['addr'] === 'string' ? parseAddr(e['addr']) : undefined;
        if (!addr) return void errors.push(`${eat}.addr: expected host:port`);
        const ep: Endpoint = { addr, labels: strRecord(e['labels'], `${eat}.labels`, errors) };
        if (e['identity'] !== undefined) ep.identity = String(e['identity']);
        const tp = num(e['targetPort'], `${eat}.targetPort`, errors);
        if (tp !== undefined) ep.targetPort = tp;
        if (e['protocolHint'] === 'h2' || e['protocolHint'] === 'opaque') ep.protocolHint = e['protocolHint'];
        else if (e['protocolHint'] !== undefined) errors.push(`${eat}.protocolHint: expected h2 or opaque`);
        endpoints.push(ep);
      });
    const profile: DestinationProfile = {
      opaque: d['opaque'] === true,
      timeouts: {},
      labels: strRecord(d['labels'], `${at}.labels`, errors),
    };
    if (isObj(d['timeouts'])) {
      const t = d['timeouts'];
      const requestMs = num(t['requestMs'], `${at}.timeouts.requestMs`, errors);
      const responseMs = num(t['responseMs'], `${at}.timeouts.responseMs`, errors);
      const idleMs = num(t['idleMs'], `${at}.timeouts.idleMs`, errors);
      if (requestMs) profile.timeouts.requestMs = requestMs;
      if (responseMs) profile.timeouts.responseMs = responseMs;
      if (idleMs) profile.timeouts.idleMs = idleMs;
    }
    if (isObj(d['retry'])) {
      const r = d['retry'];
      const retry: RetryPolicy = {
        limit: num(r['limit'], `${at}.retry.limit`, errors) ?? 1,
        http: strList(r['http'], `${at}.retry.http`, errors),
        grpc: strList(r['grpc'], `${at}.retry.grpc`, errors),
        timeoutMs: num(r['timeoutMs'], `${at}.retry.timeoutMs`, errors) ?? 0,
      };
      profile.retry = retry;
    }
    if (d['backends'] !== undefined) {
      if (!Array.isArray(d['backends'])) errors.push(`${at}.backends: expected a list`);
      else
        profile.backends = d['backends'].flatMap((b: unknown, k) => {
          const bat = `${at}.backends[${k}]`;
          if (!isObj(b) || typeof b['authority'] !== 'string' || !parseAddr(b['authority'])) {
            errors.push(`${bat}.authority: expected host:port`);
            return [];
          }
          return [{ authority: b['authority'], weight: num(b['weight'], `${bat}.weight`, errors) ?? 1 }];
        });
    }
    table.set(authority, { endpoints, profile });
  });
  return errors.length > 0 ? { ok: false, errors } : { ok: true, table };
}

export interface StaticFileDiscoveryOptions {
  pollMs?: number;
  log?: (level: 'warn' | 'info', msg: string) => void;
}

/** Implements Discovery over a destination file, re-read when it changes. */
export class StaticFileDiscovery implements Discovery {
  private table: DestinationTable = new Map();
  private readonly watches = new Map<string, Set<DiscoveryHandlers>>();
  private loaded = false;
  private lastText = '';
  private closed = false;

  private constructor(
    private readonly file: string,
    private readonly opts: StaticFileDiscoveryOptions,
  ) {}

  /** Loads the file once (failing loudly if it is bad at start) and then follows its changes. */
  static async open(file: string, opts: StaticFileDiscoveryOptions = {}): Promise<StaticFileDiscovery> {
    const d = new StaticFileDiscovery(file, opts);
    const text = await readFile(file, 'utf8').catch((e: NodeJS.ErrnoException) => {
      throw new Error(`destination file ${file}: ${e.code === 'ENOENT' ? 'not found' : e.message}`);
    });
    const r = parseDestinationFile(text);
    if (!r.ok) throw new Error(`destination file ${file}: ${r.errors.join('; ')}`);
    d.table = r.table;
    d.lastText = text;
    d.loaded = true;
    watchFile(file, { interval: opts.pollMs ?? 200, persistent: false }, () => void d.reload());
    return d;
  }

  private async reload(): Promise<void> {
    if (this.closed) return;
    let text: string;
    try {
      text = await readFile(this.file, 'utf8');
    } catch (e) {
      this.fail(new Error(`destination file ${this.file}: ${(e as Error).message}; keeping last-known endpoints`));
      return;
    }
    if (text === this.lastText) return;
    const r = parseDestinationFile(text);
    if (!r.ok) {
      this.fail(new Error(`destination file ${this.file}: ${r.errors.join('; ')}; keeping last-known endpoints`));
      return;
    }
    this.lastText = text;
    this.table = r.table;
    this.opts.log?.('info', `destination file ${this.file} reloaded (${r.table.size} destinations)`);
    for (const [authority, hs] of this.watches) for (const h of hs) this.deliver(authority, h);
  }

  private fail(err: Error): void {
    this.opts.log?.('warn', err.message);
    for (const hs of this.watches.values()) for (const h of hs) h.error(err);
  }

  private deliver(authority: string, h: DiscoveryHandlers): void {
    const u = this.table.get(authority);
    if (u) h.update(u);
    else h.notFound();
  }

  watch(authority: string, handlers: DiscoveryHandlers): DiscoveryWatch {
    let set = this.watches.get(authority);
    if (!set) this.watches.set(authority, (set = new Set()));
    set.add(handlers);
    queueMicrotask(() => {
      if (this.loaded && set.has(handlers)) this.deliver(authority, handlers);
    });
    return {
      close: () => {
        set.delete(handlers);
        if (set.size === 0) this.watches.delete(authority);
      },
    };
  }

  close(): void {
    this.closed = true;
    unwatchFile(this.file);
    this.watches.clear();
  }
}

/** Discovery that knows nothing: every target is forwarded to its original address. */
export class NoDiscovery implements Discovery {
  watch(_authority: string, handlers: DiscoveryHandlers): DiscoveryWatch {
    queueMicrotask(() => handlers.notFound());
    return { close: () => undefined };
  }
  close(): void {}
}
