/**
 * Shared by the network-namespace suites: why they skip (not Linux, not root, a missing binary), or
 * fail instead when WEFT_E2E_REQUIRED=1, and a synchronous command runner with its output.
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const REPO = fileURLToPath(new URL('../../../', import.meta.url));

export function sh(cmd: string, args: string[], timeout = 20_000): { ok: boolean; out: string; stdout: string } {
  const r = spawnSync(cmd, args, { encoding: 'utf8', timeout, cwd: REPO });
  return { ok: !r.error && r.status === 0, stdout: r.stdout ?? '', out: `${r.stdout ?? ''}${r.stderr ?? ''}${r.error ? String(r.error) : ''}` };
}

function has(bin: string): boolean {
  return sh('sh', ['-c', `command -v ${bin}`]).ok;
}

/** Why this suite cannot run here, or false. `extra` are binaries this suite needs besides ip/iptables. */
export function netnsSkipReason(extra: string[] = []): string | false {
  if (process.platform !== 'linux') return 'network namespaces exist on Linux only';
  if (process.getuid?.() !== 0) return 'needs root (ip netns add, iptables, veth pairs); run as root to prove transparent interception';
  for (const bin of ['ip', 'iptables', 'ip6tables', 'setpriv', ...extra]) if (!has(bin)) return `\`${bin}\` is not installed`;
  return false;
}

/** Skips with the reason, or fails the test when WEFT_E2E_REQUIRED=1 (CI must not skip silently). */
export function skipOrFail(t: { skip: (msg: string) => void }, reason: string): void {
  if (process.env['WEFT_E2E_REQUIRED'] === '1') throw new Error(`required netns suite cannot run: ${reason}`);
  t.skip(reason);
}
