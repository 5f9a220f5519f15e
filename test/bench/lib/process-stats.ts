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

/**
 * VmRSS split as /proc/PID/status reports it (kB): RssAnon is the process's own memory (heap,
 * stacks, malloc); RssFile is pages of mapped files, mostly the node executable, which every Node
 * process on the machine shares with the others (clean pages the kernel can drop and read back).
 */
export interface RssSplit {
  rssKb: number;
  anonKb: number;
  fileKb: number;
}

export function parseRssSplitKb(statusText: string): RssSplit {
  const field = (name: string): number => {
    const m = new RegExp(`^${name}:\\s+(\\d+)\\s+kB`, 'm').exec(statusText);
    if (!m) throw new Error(`no ${name} in /proc/PID/status`);
    return Number(m[1]);
  };
  return { rssKb: parseVmRssKb(statusText), anonKb: field('RssAnon'), fileKb: field('RssFile') };
}

export function rssSplitOf(pid: number): RssSplit {
  return parseRssSplitKb(readFileSync(`/proc/${pid}/status`, 'utf8'));
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

/** Samples the RSS of some processes on an interval and keeps each one's maximum (with its anon/file split). */
export class RssPeakSampler {
  private readonly peaks = new Map<number, RssSplit>();
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly pids: number[]) {}

  start(intervalMs = 250): this {
    this.sample();
    this.timer = setInterval(() => this.sample(), intervalMs);
    return this;
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    this.sample();
  }

  /** The peak RSS (MB) seen for a pid so far. */
  peakOf(pid: number): number | undefined {
    const p = this.peaks.get(pid);
    return p && p.rssKb / 1024;
  }

  /** The sample with the peak RSS for a pid so far. */
  peakSplitOf(pid: number): RssSplit | undefined {
    return this.peaks.get(pid);
  }

  private sample(): void {
    for (const pid of this.pids) {
      try {
        const split = rssSplitOf(pid);
        if (split.rssKb > (this.peaks.get(pid)?.rssKb ?? -1)) this.peaks.set(pid, split);
      } catch {
        // the process is gone; keep what was seen
      }
    }
  }
}
