/**
 * One plain exchange, no balancing or retries: the inbound side's hop to the app, and the outbound
 * side's hop to a target discovery does not know. Builds the upstream request from the downstream
 * one, sends it over HTTP/1.1 or HTTP/2, writes the response back and records the golden metrics.
 */
import { formatAddr, type SocketAddr } from '../discovery/discovery';
import type { HttpStreamRecorder } from '../metrics/proxy-metrics';
import type { UpstreamPools } from '../transport/upstream-pools';
import { Cancel } from './cancel';
import type { Downstream } from './downstream';
import { sendH1, sendH2, type UpstreamRequest, type UpstreamResponse } from './exchange';
import { forwardableHeaders, type HeaderMap } from './headers';

/** The request to send upstream for a downstream request: hop-by-hop fields out, `extra` in. */
export function upstreamRequestOf(ds: Downstream, fallbackAuthority: string, extra?: HeaderMap): UpstreamRequest {
  const headers = forwardableHeaders(ds.headers);
  if (extra) Object.assign(headers, extra);
  return {
    method: ds.method,
    path: ds.path,
    authority: ds.authority || fallbackAuthority,
    headers,
    body: ds.body,
    trailers: ds.trailers,
    expectTrailers: ds.expectTrailers,
  };
}

export function grpcStatusOf(h: Record<string, unknown> | undefined): number | undefined {
  const v = h?.['grpc-status'];
  if (v === undefined) return undefined;
  const n = Number(v);
  return Number.isInteger(n) ? n : undefined;
}

/** Sends `ds` to `addr` once and answers the client; the failure message names `what`. */
export async function forwardOnce(opts: {
  ds: Downstream;
  addr: SocketAddr;
  proto: 'h1' | 'h2';
  pools: UpstreamPools;
  rec: HttpStreamRecorder;
  extraHeaders?: HeaderMap;
  what: string;
  /** Told once per failure kind (throttled by the caller), so a down app is visible in the log. */
  onUnreachable?: (message: string) => void;
}): Promise<void> {
  const { ds, addr, pools, rec } = opts;
  const req = upstreamRequestOf(ds, formatAddr(addr), opts.extraHeaders);
  const cancel = (req.cancel = new Cancel());
  ds.onAbort(() => cancel.abort('client went away'));
  let res: UpstreamResponse;
  try {
    res = opts.proto === 'h1' ? await sendH1(pools.h1, addr, req) : await pools.plainSession(addr).then((s) => sendH2(s, req));
  } catch (e) {
    rec.end({ error: true });
    const message = `${opts.what} is unreachable: ${(e as Error).message}`;
    opts.onUnreachable?.(message);
    return ds.fail(502, message);
  }
  rec.responseHeaders(res.status);
  const completed = await ds.respond(res);
  const trailers = completed ? await res.trailers : undefined;
  rec.end({ grpcStatus: grpcStatusOf(trailers) ?? grpcStatusOf(res.headers), error: !completed });
}
