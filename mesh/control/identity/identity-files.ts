// A proxy's identity directory: ca.crt (trust anchors), tls.crt (leaf + chain), tls.key. Written by the
// proxy's certificate client and the dev CA, read (and watched) by the proxy. No x509 library here:
// the proxy loads this module at start.
import { randomBytes } from 'node:crypto';
import { mkdir, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

/** File names of a proxy's identity directory (the layout of a Kubernetes TLS secret plus ca.crt). */
export const IDENTITY_FILES = { trustAnchors: 'ca.crt', cert: 'tls.crt', key: 'tls.key' } as const;

async function writeAtomically(path: string, data: string, mode: number): Promise<void> {
  const tmp = `${path}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  await writeFile(tmp, data, { mode });
  await rename(tmp, path);
}

/**
 * Writes ca.crt (anchor), tls.crt (chain) and tls.key (mode 0600) into dir, each file replaced atomically
 * (write then rename) so a watching proxy never reads half a file. The key goes first, the chain last.
 */
export async function writeIdentityDir(dir: string, anchorPem: string, leaf: { certPem: string; keyPem: string }): Promise<void> {
  await mkdir(dir, { recursive: true });
  await writeAtomically(join(dir, IDENTITY_FILES.trustAnchors), anchorPem, 0o644);
  await writeAtomically(join(dir, IDENTITY_FILES.key), leaf.keyPem, 0o600);
  await writeAtomically(join(dir, IDENTITY_FILES.cert), leaf.certPem, 0o644);
}

export function identityFilePaths(dir: string): { certFile: string; keyFile: string; trustAnchorsFile: string } {
  return {
    certFile: join(dir, IDENTITY_FILES.cert),
    keyFile: join(dir, IDENTITY_FILES.key),
    trustAnchorsFile: join(dir, IDENTITY_FILES.trustAnchors),
  };
}
