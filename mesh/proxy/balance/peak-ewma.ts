/**
 * Peak-EWMA latency estimate of one endpoint (Finagle's PeakEwma, as ported to tower and used
 * by linkerd2-proxy's balancer).
 *
 * - A sample above the current estimate replaces it at once: the estimate follows the worst case.
 * - A sample below it is blended in: `next = estimate·w + sample·(1 − w)`, `w = exp(−Δt/decayMs)`,
 *   Δt being the time since the last update (so the weight of the old estimate falls by 1/e per
 *   `decayMs`).
 * - Reading the estimate applies the same decay toward 0 (tower's `load()` updates with a zero
 *   RTT). An endpoint nobody measures — a new one still at `defaultRttMs`, or one that answered a
 *   single outlier and is avoided since — therefore becomes cheap again and is tried.
 *
 * Like tower, a read commits the decay (it moves the reference time). Between two reads or
 * samples at the same instant nothing changes, so this stays O(1), allocation-free and idempotent
 * within a tick. Difference from tower: times are in ms (floats) from an injected clock, and
 * negative or non-finite samples are ignored instead of panicking in debug builds.
 */
import { PROXY_DEFAULTS } from '../../config/proxy-defaults';

export interface PeakEwmaOptions {
  /** The estimate a new endpoint starts with (ms). */
  defaultRttMs?: number;
  /** Time constant of the decay (ms). */
  decayMs?: number;
  /** Monotonic clock in ms. */
  now?: () => number;
}

export class PeakEwma {
  private value: number;
  private stamp: number;
  private readonly decayMs: number;
  private readonly now: () => number;

  constructor(opts: PeakEwmaOptions = {}) {
    this.decayMs = opts.decayMs ?? PROXY_DEFAULTS.ewmaDecayMs;
    if (!(this.decayMs > 0)) throw new RangeError(`decayMs must be > 0, got ${this.decayMs}`);
    this.now = opts.now ?? (() => performance.now());
    this.value = Math.max(0, opts.defaultRttMs ?? PROXY_DEFAULTS.ewmaDefaultRttMs);
    this.stamp = this.now();
  }

  observe(rttMs: number): void {
    this.observeAt(rttMs, this.now());
  }

  /**
   * observe() for a sample that completed at `t` (same clock), e.g. request start + RTT: saves a
   * clock read on the hot path. A `t` older than the last update counts as "now" (Δt = 0).
   */
  observeAt(rttMs: number, t: number): void {
    if (!(rttMs >= 0) || rttMs === Infinity) return;
    if (rttMs > this.value) {
      this.value = rttMs;
    } else {
      const dt = t - this.stamp;
      if (dt > 0) {
        const w = Math.exp(-dt / this.decayMs);
        this.value = this.value * w + rttMs * (1 - w);
      }
    }
    if (t > this.stamp) this.stamp = t;
  }

  /** The current estimate in ms, decayed toward 0 for the time since the last update. */
  estimate(): number {
    return this.estimateAt(this.now());
  }

  /** estimate() at a time the caller already read from the same clock (saves a clock read per candidate). */
  estimateAt(t: number): number {
    const dt = t - this.stamp;
    if (dt > 0) {
      this.value *= Math.exp(-dt / this.decayMs);
      this.stamp = t;
    }
    return this.value;
  }
}
