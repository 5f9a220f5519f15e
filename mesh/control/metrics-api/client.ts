/**
 * A client of the metrics API (the CLI's; the extension can use it too). Failures are values with a
 * message that says what to do next, never exceptions.
 */
import { METRICS_API_PATHS } from '../../config/metrics-api';
import type { EdgesResponse, ErrorResponse, StatResponse } from './api-query';

export type ApiResult<T> = { ok: true; body: T } | { ok: false; error: string };

async function getJson<T>(apiUrl: string, path: string, params: Record<string, string | undefined>, timeoutMs: number): Promise<ApiResult<T>> {
  let url: URL;
  try {
    url = new URL(path, apiUrl);
  } catch {
    return { ok: false, error: `"${apiUrl}" is not a URL; pass --api http://HOST:PORT` };
  }
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== '') url.searchParams.set(k, v);
  let res: Response;
  try {
    res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
  } catch (err) {
    const cause = err instanceof Error ? ((err.cause as Error | undefined)?.message ?? err.message) : String(err);
    return { ok: false, error: `cannot reach the metrics API at ${apiUrl} (${cause}); is the mesh running (weft demo)? Pass --api URL to use another one` };
  }
  let body: unknown;
  try {
    body = await res.json();
  } catch {
    return { ok: false, error: `the metrics API at ${apiUrl} answered HTTP ${res.status} without JSON; is --api the metrics API?` };
  }
  if (!res.ok) return { ok: false, error: (body as Partial<ErrorResponse>).error ?? `HTTP ${res.status}` };
  return { ok: true, body: body as T };
}

export function fetchStat(apiUrl: string, q: { kind?: string; namespace?: string; name?: string; window?: string }, timeoutMs = 5_000): Promise<ApiResult<StatResponse>> {
  return getJson<StatResponse>(apiUrl, METRICS_API_PATHS.stat, q, timeoutMs);
}

export function fetchEdges(apiUrl: string, q: { namespace?: string; window?: string }, timeoutMs = 5_000): Promise<ApiResult<EdgesResponse>> {
  return getJson<EdgesResponse>(apiUrl, METRICS_API_PATHS.edges, q, timeoutMs);
}
