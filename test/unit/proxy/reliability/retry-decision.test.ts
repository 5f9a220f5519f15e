import { test } from 'node:test';
import assert from 'node:assert/strict';
import { shouldRetry, type RetryInput } from '../../../../mesh/proxy/reliability/retry-decision';
import { RetryBudget } from '../../../../mesh/proxy/reliability/retry-budget';
import { parseGrpcRetryConditions, parseHttpRetryConditions } from '../../../../mesh/proxy/reliability/retry-policy';
import { fakeClock } from '../balance/fakes';

const httpParsed = parseHttpRetryConditions(['5xx']);
const grpcParsed = parseGrpcRetryConditions(['unavailable']);
if (!httpParsed.ok || !grpcParsed.ok) throw new Error('fixture conditions must parse');
const conditions = { http: httpParsed.match, grpc: grpcParsed.match };

const base: RetryInput = { attempt: 1, limit: 1, bodyBufferedOk: true, requestIsIdempotentOrBuffered: true, status: 503 };
const generous = () => new RetryBudget({ now: fakeClock().now, ratio: 0, minPerSecond: 100 });

test('a retryable status within the limit and the budget is retried', () => {
  assert.equal(shouldRetry(base, conditions, generous()), true);
});

test('the attempt limit: attempt ≤ limit', () => {
  assert.equal(shouldRetry({ ...base, attempt: 2, limit: 1 }, conditions, generous()), false);
  assert.equal(shouldRetry({ ...base, attempt: 2, limit: 3 }, conditions, generous()), true);
  assert.equal(shouldRetry({ ...base, attempt: 1, limit: 0 }, conditions, generous()), false);
});

test('statuses outside the conditions are not retried', () => {
  assert.equal(shouldRetry({ ...base, status: 404 }, conditions, generous()), false);
  assert.equal(shouldRetry({ ...base, status: undefined }, conditions, generous()), false);
});

test('gRPC status wins over the HTTP status (gRPC errors come with HTTP 200)', () => {
  assert.equal(shouldRetry({ ...base, status: 200, grpcStatus: 14 }, conditions, generous()), true);
  assert.equal(shouldRetry({ ...base, status: 503, grpcStatus: 5 }, conditions, generous()), false);
  assert.equal(shouldRetry({ ...base, status: 200, grpcStatus: 0 }, { ...conditions, grpc: () => true }, generous()), false);
});

test('an unbuffered body (over 64 KiB or streaming) is never retried', () => {
  assert.equal(shouldRetry({ ...base, bodyBufferedOk: false }, conditions, generous()), false);
  assert.equal(shouldRetry({ ...base, bodyBufferedOk: false, error: 'connect' }, conditions, generous()), false);
});

test('errors: connect is always safe; reset and timeout only for idempotent requests', () => {
  const unsafe = { ...base, status: undefined, requestIsIdempotentOrBuffered: false };
  assert.equal(shouldRetry({ ...unsafe, error: 'connect' }, conditions, generous()), true);
  assert.equal(shouldRetry({ ...unsafe, error: 'reset' }, conditions, generous()), false);
  assert.equal(shouldRetry({ ...unsafe, error: 'timeout' }, conditions, generous()), false);
  assert.equal(shouldRetry({ ...base, status: undefined, error: 'reset' }, conditions, generous()), true);
  assert.equal(shouldRetry({ ...base, status: undefined, error: 'timeout' }, conditions, generous()), true);
  assert.equal(shouldRetry({ ...base, requestIsIdempotentOrBuffered: false }, conditions, generous()), false);
});

test('the budget is asked last and refuses when spent', () => {
  const budget = new RetryBudget({ now: fakeClock().now, ratio: 0, minPerSecond: 0.2, ttlMs: 10_000 }); // 2 retries
  assert.equal(shouldRetry({ ...base, status: 404 }, conditions, budget), false);
  assert.equal(shouldRetry({ ...base, attempt: 5 }, conditions, budget), false);
  assert.equal(budget.balance(), 2, 'refusals for other reasons spend nothing');
  assert.equal(shouldRetry(base, conditions, budget), true);
  assert.equal(shouldRetry(base, conditions, budget), true);
  assert.equal(shouldRetry(base, conditions, budget), false);
});
