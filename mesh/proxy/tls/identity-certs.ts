// The proxy's own identity material, loaded from files and reloaded live when they change.
// Thin I/O shell around validateIdentityMaterial: read files → validate → build ONE SecureContext → swap.
import { EventEmitter } from 'node:events';
import { readFile } from 'node:fs/promises';
import { watch as fsWatch, type FSWatcher } from 'node:fs';
import { basename, dirname, resolve } from 'node:path';
import * as tls from 'node:tls';
import { validateIdentityMaterial, type IdentityMaterialPem, type MaterialLabels } from './identity-material';

export interface IdentityFilePaths {
  certFile: string;
  keyFile: string;
  trustAnchorsFile: string;
}

export interface IdentityCertsOptions {
  /** Injectable clock (validation of validity periods). */
  now?: () => Date;
  /** Quiet period after a file event before reloading, so that a multi-file write is read once. */
  debounceMs?: number;
  /** Poll interval of the fallback that catches changes fs.watch missed. */
  pollIntervalMs?: number;
}

/** Identifies TLS sessions of Weft's mesh listeners (needed for resumption on bare TLSSockets with requestCert). */
export const MESH_SESSION_ID_CONTEXT = 'weft-mtls';

interface Loaded {
  pem: IdentityMaterialPem;
  identity: string;
  notAfter: Date;
  context: tls.SecureContext;
}

async function readMaterial(paths: IdentityFilePaths, labels: MaterialLabels): Promise<IdentityMaterialPem> {
  const read = async (file: string, label: string): Promise<string> => {
    try {
      return await readFile(file, 'utf8');
    } catch (err) {
      throw new Error(`${label}: cannot read ${file} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
    }
  };
  const [certPem, keyPem, trustAnchorsPem] = await Promise.all([
    read(paths.certFile, labels.cert),
    read(paths.keyFile, labels.key),
    read(paths.trustAnchorsFile, labels.trustAnchors),
  ]);
  return { certPem, keyPem, trustAnchorsPem };
}

/** The full TLS option set of an identity; setSecureContext resets anything left out, so keep this complete. */
export function secureContextOptions(pem: IdentityMaterialPem): tls.SecureContextOptions {
  return {
    key: pem.keyPem,
    cert: pem.certPem,
    ca: pem.trustAnchorsPem,
    minVersion: 'TLSv1.3',
    maxVersion: 'TLSv1.3',
    ecdhCurve: 'X25519:P-256',
    sessionIdContext: MESH_SESSION_ID_CONTEXT,
  };
}

function build(pem: IdentityMaterialPem, labels: MaterialLabels, now: Date): Loaded {
  const v = validateIdentityMaterial(pem, labels, now);
  let context: tls.SecureContext;
  try {
    context = tls.createSecureContext(secureContextOptions(pem));
  } catch (err) {
    throw new Error(`${labels.cert}: cannot build a TLS context (${(err as Error).message})`);
  }
  return { pem, identity: v.identity, notAfter: v.notAfter, context };
}

/** Emits 'rotated' (identity: string) after a successful reload and 'reload-error' (Error) after a refused one. */
export class IdentityCerts extends EventEmitter {
  private current: Loaded;
  private readonly labels: MaterialLabels;
  private watchers: FSWatcher[] = [];
  private pollTimer: NodeJS.Timeout | undefined;
  private debounceTimer: NodeJS.Timeout | undefined;
  private reloading: Promise<void> | undefined;
  private reloadAgain = false;
  private closed = false;

  private constructor(
    private readonly paths: IdentityFilePaths,
    loaded: Loaded,
    private readonly options: IdentityCertsOptions,
  ) {
    super();
    this.current = loaded;
    this.labels = labelsOf(paths);
  }

  /** Loads and validates; throws an Error naming the file and the problem. */
  static async load(paths: IdentityFilePaths, options: IdentityCertsOptions = {}): Promise<IdentityCerts> {
    const labels = labelsOf(paths);
    const pem = await readMaterial(paths, labels);
    const loaded = build(pem, labels, (options.now ?? (() => new Date()))());
    return new IdentityCerts(paths, loaded, options);
  }

  /** From the leaf's DNS SAN; always a Weft identity. */
  get identity(): string {
    return this.current.identity;
  }

  get notAfter(): Date {
    return this.current.notAfter;
  }

  /** ONE context per identity, shared by every client and server connection until the next rotation. */
  secureContext(): tls.SecureContext {
    return this.current.context;
  }

  trustAnchorsPem(): string {
    return this.current.pem.trustAnchorsPem;
  }

  /** The PEM material of the current context (for APIs that take options, e.g. server.setSecureContext). */
  material(): IdentityMaterialPem {
    return this.current.pem;
  }

  /**
   * Reads the files again; if they changed and validate, swaps and emits 'rotated'. A refusal keeps the old
   * material and emits 'reload-error'. Never throws. Resolves to true when a new identity was installed.
   */
  async reload(): Promise<boolean> {
    if (this.closed) return false;
    let pem: IdentityMaterialPem;
    try {
      pem = await readMaterial(this.paths, this.labels);
    } catch (err) {
      this.emit('reload-error', err as Error);
      return false;
    }
    const old = this.current.pem;
    if (pem.certPem === old.certPem && pem.keyPem === old.keyPem && pem.trustAnchorsPem === old.trustAnchorsPem) {
      return false;
    }
    let next: Loaded;
    try {
      next = build(pem, this.labels, (this.options.now ?? (() => new Date()))());
    } catch (err) {
      const e = err as Error;
      this.emit('reload-error', new Error(`identity reload refused, keeping ${this.current.identity}: ${e.message}`));
      return false;
    }
    if (this.closed) return false;
    this.current = next;
    this.emit('rotated', next.identity);
    return true;
  }

  /** Watches the files' directories (fs.watch) with a slow poll as a fallback; on change: validate then swap. */
  watch(): void {
    if (this.closed || this.watchers.length > 0 || this.pollTimer) return;
    const names = new Map<string, Set<string>>();
    for (const f of [this.paths.certFile, this.paths.keyFile, this.paths.trustAnchorsFile]) {
      const dir = dirname(resolve(f));
      if (!names.has(dir)) names.set(dir, new Set());
      names.get(dir)?.add(basename(f));
    }
    for (const [dir, files] of names) {
      try {
        const w = fsWatch(dir, { persistent: false }, (_event, filename) => {
          // Renames of temp files, Kubernetes' ..data symlink swaps: any event without a name, or naming
          // one of our files or a hidden/temporary sibling, may be a change.
          if (!filename || files.has(filename.toString()) || filename.toString().startsWith('..')) this.schedule();
        });
        w.on('error', () => {
          w.close();
          this.watchers = this.watchers.filter((x) => x !== w);
        });
        this.watchers.push(w);
      } catch {
        // The poll below still catches changes.
      }
    }
    this.pollTimer = setInterval(() => this.schedule(), this.options.pollIntervalMs ?? 10_000);
    this.pollTimer.unref();
  }

  private schedule(): void {
    if (this.closed) return;
    if (this.debounceTimer) clearTimeout(this.debounceTimer);
    this.debounceTimer = setTimeout(() => {
      this.debounceTimer = undefined;
      void this.runReload();
    }, this.options.debounceMs ?? 100);
    this.debounceTimer.unref();
  }

  private async runReload(): Promise<void> {
    if (this.reloading) {
      this.reloadAgain = true;
      return;
    }
    this.reloading = this.reload().then(() => undefined);
    await this.reloading;
    this.reloading = undefined;
    if (this.reloadAgain) {
      this.reloadAgain = false;
      void this.runReload();
    }
  }

  close(): void {
    this.closed = true;
    for (const w of this.watchers) w.close();
    this.watchers = [];
    if (this.pollTimer) clearInterval(this.pollTimer);
    if (this.debounceTimer) clearTimeout(this.debounceTimer);
    this.pollTimer = undefined;
    this.debounceTimer = undefined;
  }
}

function labelsOf(paths: IdentityFilePaths): MaterialLabels {
  return { cert: basename(paths.certFile), key: basename(paths.keyFile), trustAnchors: basename(paths.trustAnchorsFile) };
}
