/**
 * Circuit breaking of one endpoint by consecutive failures (linkerd2-proxy's "consecutive
 * failures" failure accrual, default 7).
 *
 * closed ──N consecutive failures──▶ open ──back-off elapsed──▶ half-open
 *   ▲                                  ▲                            │ tryAcquire() claims the one probe
 *   └──────── probe succeeded ─────────┼──────── probe failed ──────┘ (next, longer back-off)
 *
 * The back-off grows exponentially from `minBackoffMs` to `maxBackoffMs`; each delay is
 * `base + base·jitter·random()`, capped at `maxBackoffMs` (linkerd2-proxy's ExponentialBackoff adds
 * jitter the same way). No timers: "open" turns into "half-open" when someone looks after the
 * back-off has elapsed.
 *
 * Known limits (shared with Linkerd): results are not tied to the request that produced them, so
 * a result that arrives while open is ignored, and any result in half-open counts as the probe's.
 * The caller must record() the outcome of every request it was allowed to send, or the breaker
 * stays half-open with its probe "in flight" forever (P2cBalancer's Lease does this).
 */
import { PROXY_DEFAULTS } from '../../config/proxy-defaults';

export interface FailureAccrualOptions {
  /** Consecutive failures that open the breaker. */
  consecutiveFailures?: number;
  minBackoffMs?: number;
  maxBackoffMs?: number;
  /** Extra random delay, as a fraction of the base back-off (0 = none). */
  jitter?: number;
  now?: () => number;
  random?: () => number;
}

export type BreakerState = 'closed' | 'open' | 'half-open';

export class FailureAccrual {
  private readonly threshold: number;
  private readonly minBackoffMs: number;
  private readonly maxBackoffMs: number;
  private readonly jitter: number;
  private readonly now: () => number;
  private readonly random: () => number;

  private mode: BreakerState = 'closed';
  private failures = 0;
  /** How many times the breaker opened since it was last closed (drives the back-off). */
  private openings = 0;
  private openUntil = 0;
  private probeInFlight = false;

  constructor(opts: FailureAccrualOptions = {}) {
    this.threshold = Math.max(1, Math.floor(opts.consecutiveFailures ?? PROXY_DEFAULTS.failureAccrualConsecutive));
    this.minBackoffMs = Math.max(0, opts.minBackoffMs ?? PROXY_DEFAULTS.failureAccrualMinBackoffMs);
    this.maxBackoffMs = Math.max(this.minBackoffMs, opts.maxBackoffMs ?? PROXY_DEFAULTS.failureAccrualMaxBackoffMs);
    this.jitter = Math.max(0, opts.jitter ?? PROXY_DEFAULTS.failureAccrualJitter);
    this.now = opts.now ?? (() => performance.now());
    this.random = opts.random ?? Math.random;
  }

  /** 'open' only while the back-off runs; once it has elapsed the breaker reads as 'half-open'. */
  get state(): BreakerState {
    if (this.mode === 'open' && this.now() >= this.openUntil) return 'half-open';
    return this.mode;
  }

  /** Would tryAcquire() succeed now? Claims nothing. */
  available(): boolean {
    if (this.mode === 'closed') return true;
    if (this.mode === 'open') return this.now() >= this.openUntil;
    return !this.probeInFlight;
  }

  /** When the current back-off ends (meaningful while open). */
  get retryAt(): number {
    return this.openUntil;
  }

  /** May a request go now? In half-open this claims the single probe. */
  tryAcquire(): boolean {
    if (this.mode === 'closed') return true;
    if (this.mode === 'open') {
      if (this.now() < this.openUntil) return false;
      this.mode = 'half-open';
      this.probeInFlight = false;
    }
    if (this.probeInFlight) return false;
    this.probeInFlight = true;
    return true;
  }

  record(ok: boolean): void {
    switch (this.mode) {
      case 'closed':
        if (ok) this.failures = 0;
        else if (++this.failures >= this.threshold) this.open();
        return;
      case 'half-open':
        this.probeInFlight = false;
        if (ok) {
          this.mode = 'closed';
          this.failures = 0;
          this.openings = 0;
        } else {
          this.open();
        }
        return;
      case 'open':
        // A late result of a request sent before the breaker opened: not a probe, ignored.
        return;
    }
  }

  private open(): void {
    const base = Math.min(this.maxBackoffMs, this.minBackoffMs * 2 ** Math.min(this.openings, 52));
    const delay = Math.min(this.maxBackoffMs, base + base * this.jitter * this.random());
    this.openings++;
    this.mode = 'open';
    this.failures = 0;
    this.probeInFlight = false;
    this.openUntil = this.now() + delay;
  }
}
