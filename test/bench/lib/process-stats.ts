/**
 * CPU time and resident memory of a process, from Linux's /proc (the parsers are pure; the readers are
 * thin). CPU is utime + stime in clock ticks (USER_HZ, 100 on Linux), so it has 10 ms resolution:
 * measure deltas over seconds.
 */
import { readFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';

/** Linux's USER_HZ: the unit of utime/stime in /proc/PID/stat (fixed at 100 for user space). */
export const CLOCK_TICKS_PER_SECOND = 100;

/** utime + stime (clock ticks) from the text of /proc/PID/stat. The comm field may hold spaces and ')'. */
export function parseCpuTicks(statText: string): number {
  const close = statText.lastIndexOf(')');
  if (close < 0) throw new Error('not a /proc/PID/stat line');
  // After "pid (comm) ": field 3 is state, so utime (field 14) and stime (field 15) are at 11 and 12.
  const fields = statText.slice(close + 2).trim().split(/\s+/);
  const utime = Number(fields[11]);
  const stime = Number(fields[12]);
  if (!Number.isFinite(utime) || !Number.isFinite(stime)) throw new Error('no utime/stime in /proc/PID/stat');
  return utime + stime;
}

/** VmRSS in kB from the text of /proc/PID/status. */
export function parseVmRssKb(statusText: string): number {
  const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(statusText);
  if (!m) throw new Error('no VmRSS in /proc/PID/status');
  return Number(m[1]);
}

export function cpuMsOf(pid: number): number {
  return (parseCpuTicks(readFileSync(`/proc/${pid}/stat`, 'utf8')) * 1000) / CLOCK_TICKS_PER_SECOND;
}

export function rssMbOf(pid: number): number {
  return parseVmRssKb(readFileSync(`/proc/${pid}/status`, 'utf8')) / 1024;
}

/** Pins every thread of a process to one core with taskset; returns false (and pins nothing) where that fails. */
export function pinToCore(pid: number, core: number): boolean {
  try {
    execFileSync('taskset', ['-a', '-p', '-c', String(core), String(pid)], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** Samples the RSS of some processes on an interval and keeps each one's maximum. */
export class RssPeakSampler {
  private readonly peaks = new Map<number, number>();
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly pids: number[]) {}

  start(intervalMs = 250): this {
    this.sample();
    this.timer = setInterval(() => this.sample(), intervalMs);
    return this;
  }

  stop(): Map<number, number> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    this.sample();
    return this.peaks;
  }

  /** The peak RSS (MB) seen for a pid so far. */
  peakOf(pid: number): number | undefined {
    return this.peaks.get(pid);
  }

  private sample(): void {
    for (const pid of this.pids) {
      try {
        const mb = rssMbOf(pid);
        this.peaks.set(pid, Math.max(this.peaks.get(pid) ?? 0, mb));
      } catch {
        // the process is gone; keep what was seen
      }
    }
  }
}
