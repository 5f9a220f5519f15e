/**
 * Whether the editor end-to-end suite can run here: it needs code-server (scripts/install-e2e.sh
 * puts it outside the repository) and Debian's chromium. The decision is pure; locating the
 * binaries is the thin part.
 */
import { accessSync, constants } from 'node:fs';
import { join } from 'node:path';

export const E2E_HOME = process.env.WEFT_E2E_HOME ?? '/opt/weft-e2e';
export const CODE_SERVER_BIN = process.env.WEFT_CODE_SERVER ?? join(E2E_HOME, 'code-server', 'node_modules', '.bin', 'code-server');
export const CHROMIUM_BIN = process.env.WEFT_CHROMIUM ?? '/usr/bin/chromium';

export interface Prerequisites {
  codeServer: boolean;
  chromium: boolean;
  /** WEFT_E2E_REQUIRED is set (CI): a missing piece is a failure, not a skip. */
  required: boolean;
}

export type Verdict = { kind: 'run' } | { kind: 'skip'; reason: string } | { kind: 'fail'; reason: string };

export function decide(p: Prerequisites): Verdict {
  const missing = [p.codeServer ? '' : `code-server (${CODE_SERVER_BIN})`, p.chromium ? '' : `chromium (${CHROMIUM_BIN})`].filter(Boolean);
  if (missing.length === 0) return { kind: 'run' };
  const what = `${missing.join(' and ')} not installed; run scripts/install-e2e.sh`;
  return p.required ? { kind: 'fail', reason: `WEFT_E2E_REQUIRED is set but ${what}` } : { kind: 'skip', reason: `editor e2e skipped: ${what}` };
}

function executable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

export function probe(env: NodeJS.ProcessEnv = process.env): Prerequisites {
  const flag = env.WEFT_E2E_REQUIRED;
  return { codeServer: executable(CODE_SERVER_BIN), chromium: executable(CHROMIUM_BIN), required: flag !== undefined && flag !== '' && flag !== '0' };
}
