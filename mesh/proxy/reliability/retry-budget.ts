/**
 * Finagle-style retry budget (Finagle's RetryBudget over a leaky token bucket; Linkerd's
 * `retryBudget: {retryRatio, minRetriesPerSecond, ttl}`, default 0.2 / 10 / 10 s).
 *
 * Every original request deposits `ratio` of a retry; every retry withdraws one. Deposits and
 * withdrawals both expire after `ttlMs`, and a constant reserve of `minPerSecond × ttl(s)` retries
 * is always added. So over any window of `ttlMs`, retries ≤ ratio × requests + minPerSecond × ttl(s).
 *
 * The window is a ring of 10 slices (as Finagle's WindowedAdder), so an entry expires between
 * 0.9·ttl and ttl after it was made. Amounts are integers in millionths of a retry, so the sums
 * never drift. O(1) per call (at most 10 slices cleared), no allocation after construction.
 */
import { PROXY_DEFAULTS } from '../../config/proxy-defaults';

export interface RetryBudgetOptions {
  ttlMs?: number;
  minPerSecond?: number;
  ratio?: number;
  now?: () => number;
}

const SLICES = 10;
const UNIT = 1_000_000;

/** Slice number → ring index (also for clocks that start below 0). */
function ring(slice: number): number {
  return ((slice % SLICES) + SLICES) % SLICES;
}

export class RetryBudget {
  private readonly sliceMs: number;
  private readonly deposit_: number;
  private readonly reserve: number;
  private readonly now: () => number;
  private readonly slices = new Float64Array(SLICES);
  private total = 0;
  private lastSlice: number;

  constructor(opts: RetryBudgetOptions = {}) {
    const ttlMs = opts.ttlMs ?? PROXY_DEFAULTS.retryBudgetTtlMs;
    const minPerSecond = opts.minPerSecond ?? PROXY_DEFAULTS.retryBudgetMinPerSecond;
    const ratio = opts.ratio ?? PROXY_DEFAULTS.retryBudgetRatio;
    if (!(ttlMs > 0)) throw new RangeError(`ttlMs must be > 0, got ${ttlMs}`);
    if (!(minPerSecond >= 0)) throw new RangeError(`minPerSecond must be >= 0, got ${minPerSecond}`);
    if (!(ratio >= 0 && ratio <= 1000)) throw new RangeError(`ratio must be within [0, 1000], got ${ratio}`);
    this.sliceMs = ttlMs / SLICES;
    this.deposit_ = Math.round(ratio * UNIT);
    this.reserve = Math.round(minPerSecond * (ttlMs / 1000) * UNIT);
    this.now = opts.now ?? (() => performance.now());
    this.lastSlice = Math.floor(this.now() / this.sliceMs);
  }

  /** Call once per original request (not per retry). */
  deposit(): void {
    this.add(this.deposit_);
  }

  /** Call before each retry: true (and one retry is spent) when the budget allows it. */
  tryWithdraw(): boolean {
    this.advance();
    if (this.total + this.reserve < UNIT) return false;
    this.add(-UNIT);
    return true;
  }

  /** Whole retries available now (for metrics and tests). */
  balance(): number {
    this.advance();
    return Math.floor((this.total + this.reserve) / UNIT);
  }

  private add(amount: number): void {
    this.advance();
    this.slices[ring(this.lastSlice)] += amount;
    this.total += amount;
  }

  /** Clears the slices that fell out of the window since the last call. */
  private advance(): void {
    const slice = Math.floor(this.now() / this.sliceMs);
    if (slice <= this.lastSlice) return;
    const steps = Math.min(SLICES, slice - this.lastSlice);
    for (let k = 1; k <= steps; k++) {
      const idx = ring(this.lastSlice + k);
      this.total -= this.slices[idx]!;
      this.slices[idx] = 0;
    }
    this.lastSlice = slice;
  }
}
