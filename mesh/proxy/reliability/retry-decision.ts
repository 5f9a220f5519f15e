/**
 * The pure decision the proxy asks after each failed attempt: retry it or answer the client?
 *
 * In order (the budget is asked last, so only a retry that will really be sent spends it):
 * 1. `attempt` is the number of attempts already made (1 after the original request); a retry is
 *    possible while attempt ≤ limit (`limit` = extra attempts, RetryPolicy.limit).
 * 2. The request must be replayable: its body fully buffered (≤ PROXY_DEFAULTS.maxRetryableBodyBytes,
 *    not streaming) — `bodyBufferedOk`.
 * 3. What went wrong:
 *    - `error: 'connect'`: nothing reached the server, always safe to retry;
 *    - `error: 'reset' | 'timeout'`: the server may have acted, retried only when
 *      `requestIsIdempotentOrBuffered` (Linkerd ≥ 2.16 also retries per-attempt timeouts);
 *    - a gRPC status (`grpcStatus`, from the trailers or a trailers-only response) is judged by
 *      the gRPC conditions, else the HTTP status by the HTTP conditions, and only for requests
 *      marked idempotent-or-buffered (the route's opt-in).
 * 4. The retry budget must allow one more retry.
 *
 * Difference from Linkerd: Linkerd treats any configured route as retryable and only looks at the
 * body size; Weft additionally asks the caller to say whether the request is safe to replay.
 */
import type { RetryBudget } from './retry-budget';

export interface RetryInput {
  attempt: number;
  limit: number;
  /** false when the body is over 64 KiB or streaming. */
  bodyBufferedOk: boolean;
  status?: number;
  grpcStatus?: number;
  error?: 'connect' | 'reset' | 'timeout';
  requestIsIdempotentOrBuffered: boolean;
}

export interface RetryConditions {
  http: (status: number) => boolean;
  grpc: (grpcStatus: number) => boolean;
}

export function shouldRetry(input: RetryInput, conditions: RetryConditions, budget: RetryBudget): boolean {
  if (!(input.attempt <= input.limit)) return false;
  if (!input.bodyBufferedOk) return false;
  let retryable: boolean;
  if (input.error === 'connect') retryable = true;
  else if (!input.requestIsIdempotentOrBuffered) retryable = false;
  else if (input.error !== undefined) retryable = true;
  else if (input.grpcStatus !== undefined) retryable = input.grpcStatus !== 0 && conditions.grpc(input.grpcStatus);
  else if (input.status !== undefined) retryable = conditions.http(input.status);
  else retryable = false;
  return retryable && budget.tryWithdraw();
}
