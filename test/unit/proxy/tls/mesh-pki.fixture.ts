// Test fixture: throwaway mesh CAs and identity directories in a temp folder, removed by cleanup().
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createDevCa, type DevCa } from '../../../../mesh/control/identity/ca';
import { identityName } from '../../../../mesh/config/identity';

export const WEB = identityName({ serviceAccount: 'web', namespace: 'emojivoto' });
export const EMOJI = identityName({ serviceAccount: 'emoji', namespace: 'emojivoto' });
export const VOTING = identityName({ serviceAccount: 'voting', namespace: 'emojivoto' });

export interface Pki {
  root: string;
  ca: DevCa;
  /** A second, unrelated CA. */
  otherCa: DevCa;
  dir(name: string): string;
  cleanup(): Promise<void>;
}

let cached: Promise<{ ca: DevCa; otherCa: DevCa }> | undefined;

export async function makePki(): Promise<Pki> {
  cached ??= Promise.all([createDevCa(), createDevCa()]).then(([ca, otherCa]) => ({ ca, otherCa }));
  const { ca, otherCa } = await cached;
  const root = await mkdtemp(join(tmpdir(), 'weft-tls-'));
  return {
    root,
    ca,
    otherCa,
    dir: (name) => join(root, name),
    cleanup: () => rm(root, { recursive: true, force: true }),
  };
}
