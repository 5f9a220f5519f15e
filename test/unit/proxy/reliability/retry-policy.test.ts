import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  GRPC_STATUS,
  parseDuration,
  parseGrpcRetryConditions,
  parseHttpRetryConditions,
} from '../../../../mesh/proxy/reliability/retry-policy';

function http(list: string[]): (s: number) => boolean {
  const r = parseHttpRetryConditions(list);
  assert.ok(r.ok, r.ok ? '' : r.error);
  return r.match;
}

function httpError(list: string[]): string {
  const r = parseHttpRetryConditions(list);
  assert.equal(r.ok, false, `${JSON.stringify(list)} should be refused`);
  return r.ok ? '' : r.error;
}

test('"5xx" matches 500-599 only', () => {
  const m = http(['5xx']);
  for (const s of [500, 503, 599]) assert.equal(m(s), true, String(s));
  for (const s of [200, 429, 499, 600, -1, 503.5]) assert.equal(m(s), false, String(s));
});

test('"gateway-error" is 502, 503, 504', () => {
  const m = http(['gateway-error']);
  assert.deepEqual(
    [500, 501, 502, 503, 504, 505].map(m),
    [false, false, true, true, true, false],
  );
});

test('ranges, single codes, classes; case and spaces do not matter; lists combine', () => {
  const m = http(['500-502', ' 429 ', '4XX', '503 - 503']);
  assert.deepEqual([429, 400, 499, 500, 502, 503, 504].map(m), [true, true, true, true, true, true, false]);
  assert.equal(http([])(503), false, 'an empty list retries nothing');
});

test('bad HTTP conditions are refused with a message', () => {
  assert.match(httpError(['abc']), /"abc" is not an HTTP retry condition.*"5xx"/);
  assert.match(httpError(['6xx']), /not an HTTP retry condition/);
  assert.match(httpError(['600']), /outside the status codes 100-599/);
  assert.match(httpError(['099']), /outside/);
  assert.match(httpError(['504-500']), /reversed: 504 > 500/);
  assert.match(httpError(['5xx', '']), /empty HTTP retry condition/);
  assert.match(httpError(['50']), /not an HTTP retry condition/);
  assert.match(httpError(['5xx5']), /not an HTTP retry condition/);
  assert.match(httpError(['500-']), /not an HTTP retry condition/);
});

test('gRPC conditions: the five retryable names, kebab or proto spelling', () => {
  const r = parseGrpcRetryConditions(['cancelled', 'DEADLINE_EXCEEDED', 'internal', 'resource-exhausted', ' unavailable ']);
  assert.ok(r.ok);
  const retried = Object.entries(GRPC_STATUS).filter(([, code]) => r.match(code)).map(([name]) => name);
  assert.deepEqual(retried.sort(), ['cancelled', 'deadline-exceeded', 'internal', 'resource-exhausted', 'unavailable']);

  const only = parseGrpcRetryConditions(['unavailable']);
  assert.ok(only.ok);
  assert.equal(only.match(14), true);
  assert.equal(only.match(13), false);
  assert.equal(only.match(99), false);
});

test('bad gRPC conditions are refused with a message', () => {
  const notRetryable = parseGrpcRetryConditions(['not-found']);
  assert.equal(notRetryable.ok, false);
  assert.match(notRetryable.ok ? '' : notRetryable.error, /"not-found" cannot be a retry condition; use one of cancelled/);
  const bogus = parseGrpcRetryConditions(['unavailable', 'bogus']);
  assert.match(bogus.ok ? '' : bogus.error, /"bogus" is not a gRPC status name/);
  const empty = parseGrpcRetryConditions(['']);
  assert.match(empty.ok ? '' : empty.error, /empty gRPC retry condition/);
  const numeric = parseGrpcRetryConditions(['14']);
  assert.equal(numeric.ok, false);
});

test('GRPC_STATUS has all 17 codes, 0 to 16', () => {
  assert.deepEqual(
    Object.values(GRPC_STATUS).sort((a, b) => a - b),
    Array.from({ length: 17 }, (_, i) => i),
  );
  assert.equal(GRPC_STATUS.ok, 0);
  assert.equal(GRPC_STATUS['deadline-exceeded'], 4);
  assert.equal(GRPC_STATUS.unavailable, 14);
  assert.equal(GRPC_STATUS.unauthenticated, 16);
});

test('durations: every documented form', () => {
  const cases: [string, number][] = [
    ['500ms', 500],
    ['10s', 10_000],
    ['1m', 60_000],
    ['1.5s', 1_500],
    ['1m30s', 90_000],
    ['2h', 7_200_000],
    ['0s', 0],
    [' 250ms ', 250],
  ];
  for (const [s, ms] of cases) assert.deepEqual(parseDuration(s), { ok: true, ms }, s);
});

test('durations: garbage is refused with a message', () => {
  const err = (s: string) => {
    const r = parseDuration(s);
    assert.equal(r.ok, false, `${JSON.stringify(s)} should be refused`);
    return r.ok ? '' : r.error;
  };
  assert.match(err('10'), /has no unit/);
  assert.match(err(''), /empty duration/);
  assert.match(err('abc'), /"abc" is not a duration; expected a number and a unit/);
  for (const s of ['-1s', '1.s', '1d', 's', '1 s', '10sec', '1e3ms', '.5s']) err(s);
});
