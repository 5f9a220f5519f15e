/**
 * Parsers of the retry and timeout settings (annotation values, split on commas by the caller).
 *
 * HTTP conditions follow Linkerd's `retry.linkerd.io/http`: a status code ("503"), an inclusive
 * range ("500-504"), a class ("5xx"; Weft also accepts "1xx"…"4xx"), or "gateway-error"
 * (502, 503, 504). gRPC conditions follow `retry.linkerd.io/grpc` / Envoy / Gateway API:
 * cancelled, deadline-exceeded, internal, resource-exhausted, unavailable. Weft also accepts the
 * upper-case proto spelling ("DEADLINE_EXCEEDED"); other gRPC codes are refused with a message,
 * since retrying them (not-found, permission-denied…) cannot help.
 *
 * The matchers are table lookups: O(1), no allocation per call.
 */

/** gRPC status codes, name → number (all 17, kebab-case). */
export const GRPC_STATUS: Readonly<Record<string, number>> = Object.freeze({
  ok: 0,
  cancelled: 1,
  unknown: 2,
  'invalid-argument': 3,
  'deadline-exceeded': 4,
  'not-found': 5,
  'already-exists': 6,
  'permission-denied': 7,
  'resource-exhausted': 8,
  'failed-precondition': 9,
  aborted: 10,
  'out-of-range': 11,
  unimplemented: 12,
  internal: 13,
  unavailable: 14,
  'data-loss': 15,
  unauthenticated: 16,
});

/** The gRPC statuses that may be named as retry conditions. */
export const RETRYABLE_GRPC_NAMES = ['cancelled', 'deadline-exceeded', 'internal', 'resource-exhausted', 'unavailable'] as const;

export type ParseResult<M> = { ok: true; match: M } | { ok: false; error: string };

const HTTP_FORMS = 'a status code ("503"), a range ("500-504"), a class ("5xx") or "gateway-error"';

export function parseHttpRetryConditions(list: string[]): ParseResult<(status: number) => boolean> {
  const table = new Uint8Array(600);
  for (const raw of list) {
    const item = raw.trim().toLowerCase();
    if (item === '') return { ok: false, error: `empty HTTP retry condition; expected ${HTTP_FORMS}` };
    let lo: number;
    let hi: number;
    let m: RegExpExecArray | null;
    if (item === 'gateway-error') {
      lo = 502;
      hi = 504;
    } else if ((m = /^([1-5])xx$/.exec(item))) {
      lo = Number(m[1]) * 100;
      hi = lo + 99;
    } else if ((m = /^(\d{3})\s*-\s*(\d{3})$/.exec(item))) {
      lo = Number(m[1]);
      hi = Number(m[2]);
      if (lo > hi) return { ok: false, error: `HTTP retry range "${raw.trim()}" is reversed: ${lo} > ${hi}` };
    } else if (/^\d{3}$/.test(item)) {
      lo = hi = Number(item);
    } else {
      return { ok: false, error: `"${raw.trim()}" is not an HTTP retry condition; expected ${HTTP_FORMS}` };
    }
    if (lo < 100 || hi > 599) {
      return { ok: false, error: `HTTP retry condition "${raw.trim()}" is outside the status codes 100-599` };
    }
    table.fill(1, lo, hi + 1);
  }
  return { ok: true, match: (status: number) => table[status] === 1 };
}

export function parseGrpcRetryConditions(list: string[]): ParseResult<(grpcStatus: number) => boolean> {
  const table = new Uint8Array(17);
  for (const raw of list) {
    const name = raw.trim().toLowerCase().replace(/_/g, '-');
    if (name === '') {
      return { ok: false, error: `empty gRPC retry condition; expected one of ${RETRYABLE_GRPC_NAMES.join(', ')}` };
    }
    if (!(RETRYABLE_GRPC_NAMES as readonly string[]).includes(name)) {
      const known = Object.prototype.hasOwnProperty.call(GRPC_STATUS, name);
      return {
        ok: false,
        error: known
          ? `gRPC status "${raw.trim()}" cannot be a retry condition; use one of ${RETRYABLE_GRPC_NAMES.join(', ')}`
          : `"${raw.trim()}" is not a gRPC status name; expected one of ${RETRYABLE_GRPC_NAMES.join(', ')}`,
      };
    }
    table[GRPC_STATUS[name]!] = 1;
  }
  return { ok: true, match: (code: number) => table[code] === 1 };
}

const UNIT_MS: Record<string, number> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000 };

/**
 * Durations of the retry/timeout annotations: one or more `<number><unit>` parts, units ms, s, m,
 * h, decimals allowed ("500ms", "10s", "1m", "1.5s", "1m30s"). A bare number is refused: "10"
 * could mean seconds or milliseconds.
 */
export function parseDuration(s: string): { ok: true; ms: number } | { ok: false; error: string } {
  const text = s.trim();
  const expected = 'expected a number and a unit (ms, s, m, h), e.g. "500ms", "10s", "1.5s", "1m30s"';
  if (text === '') return { ok: false, error: `empty duration; ${expected}` };
  if (/^\d+(\.\d+)?$/.test(text)) return { ok: false, error: `duration "${text}" has no unit; ${expected}` };
  if (!/^(\d+(\.\d+)?(ms|s|m|h))+$/.test(text)) return { ok: false, error: `"${text}" is not a duration; ${expected}` };
  let ms = 0;
  for (const part of text.matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h)/g)) ms += Number(part[1]) * UNIT_MS[part[2]!]!;
  if (!Number.isFinite(ms)) return { ok: false, error: `duration "${text}" is too large` };
  return { ok: true, ms };
}
