/** Defaults of the proxy's behaviour; every one can be overridden by an environment variable (docs/proxy.md). */
export const PROXY_DEFAULTS = {
  detectTimeoutMs: 10_000,
  /** Peak-EWMA: the estimate a new endpoint starts with, and the decay time constant. */
  ewmaDefaultRttMs: 30,
  ewmaDecayMs: 10_000,
  retryLimit: 1,
  /** Retry budget: retries may add at most this ratio of requests, plus a floor per second. */
  retryBudgetRatio: 0.2,
  retryBudgetMinPerSecond: 10,
  retryBudgetTtlMs: 10_000,
  /** Bodies larger than this are streamed and never retried. */
  maxRetryableBodyBytes: 64 * 1024,
  /** Failure accrual: consecutive failures before an endpoint is ejected, and the back-off. */
  failureAccrualConsecutive: 7,
  failureAccrualMinBackoffMs: 1_000,
  failureAccrualMaxBackoffMs: 60_000,
  failureAccrualJitter: 0.5,
  maxHeaderBytes: 16 * 1024,
  headerTimeoutMs: 10_000,
  idleTimeoutMs: 300_000,
  shutdownGraceMs: 10_000,
} as const;
