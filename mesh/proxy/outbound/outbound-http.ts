/**
 * Outbound HTTP: for each request from the local app, resolve its target, apply the traffic split,
 * pick an endpoint (P2C/peak-EWMA), send it over the mesh (mTLS HTTP/2) or in plaintext, with
 * retries within a budget and timeouts, and record golden metrics.
 */
import { PassThrough } from 'node:stream';
import { PROXY_DEFAULTS } from '../../config/proxy-defaults';
import { formatAddr, parseAddr, type Endpoint, type SocketAddr } from '../discovery/discovery';
import { bufferUpTo, type Downstream } from '../http/downstream';
import { sendH1, sendH2, UpstreamError, type UpstreamRequest, type UpstreamResponse } from '../http/exchange';
import { Cancel } from '../http/cancel';
import { forwardOnce, grpcStatusOf, upstreamRequestOf } from '../http/forward-once';
import { H_DST_PORT, H_ORIG_PROTO, type HeaderMap } from '../http/headers';
import { throttledLog, type Logger } from '../log';
import type { ProxyMetrics, TrafficLabels } from '../metrics/proxy-metrics';
import { LabelCache } from '../metrics/label-cache';
import { NO_TLS_REASON } from '../metrics/traffic-labels';
import type { UpstreamPools } from '../transport/upstream-pools';
import type { Destinations, Target } from './destinations';

export interface OutboundHttpDeps {
  destinations: Destinations;
  pools: UpstreamPools;
  metrics: ProxyMetrics;
  log: Logger;
  random?: () => number;
}

/** Weighted choice over a split's backends (pure given `random`). */
export function chooseBackend<T extends { weight: number }>(backends: readonly T[], random: () => number): T | undefined {
  let total = 0;
  for (const b of backends) total += Math.max(0, b.weight);
  if (total <= 0) return undefined;
  let r = random() * total;
  for (const b of backends) {
    r -= Math.max(0, b.weight);
    if (r < 0) return b;
  }
  return backends[backends.length - 1];
}

export class OutboundHttp {
  private readonly random: () => number;
  private readonly directLabels = new LabelCache();
  private readonly logOnce: ReturnType<typeof throttledLog>;

  constructor(private readonly deps: OutboundHttpDeps) {
    this.random = deps.random ?? Math.random;
    this.logOnce = throttledLog(deps.log);
  }

  /**
   * Handles one request. `targetAuthority` is what discovery is asked about (the upstream's service
   * name, or the original destination address); `fallback` is where to go when discovery does not
   * know it.
   */
  async handle(ds: Downstream, targetAuthority: string, fallback: SocketAddr | undefined): Promise<void> {
    const { destinations } = this.deps;
    let target = destinations.get(targetAuthority);
    if (target.state === 'pending') await target.ready;
    const route = target;
    const backends = route.profile?.backends;
    if (backends && backends.length > 0) {
      const b = chooseBackend(backends, this.random);
      if (!b) return ds.fail(503, `traffic split for ${targetAuthority} has no backend with weight > 0`);
      target = destinations.get(b.authority);
      if (target.state === 'pending') await target.ready;
    }
    if (target.state !== 'found') {
      const addr = fallback ?? parseAddr(target.authority);
      if (!addr) return ds.fail(502, `no endpoints known for ${target.authority}`);
      return this.forwardDirect(ds, addr);
    }
    return this.forwardBalanced(ds, route, target, fallback?.port ?? parseAddr(target.authority)?.port);
  }

  private async forwardBalanced(ds: Downstream, route: Target, target: Target, defaultPort: number | undefined): Promise<void> {
    const profile = route.profile;
    const retry = route.retry;
    const timeouts = profile?.timeouts ?? {};
    const base = upstreamRequestOf(ds, target.authority);
    let replayable = ds.body === null;
    if (retry && ds.body) {
      const r = await bufferUpTo(ds.body, PROXY_DEFAULTS.maxRetryableBodyBytes).catch(() => undefined);
      if (!r) return; // the client went away while sending its body
      if (r.complete) {
        base.body = r.data;
        replayable = true;
      } else {
        const rest = new PassThrough();
        for (const c of r.head) rest.write(c);
        ds.body.pipe(rest);
        ds.body.resume();
        base.body = rest;
      }
    }
    if (retry) route.budget.deposit();

    let current: UpstreamResponse | undefined;
    let attemptCtl: Cancel | undefined;
    let finished = false;
    let requestTimer: NodeJS.Timeout | undefined;
    if (timeouts.requestMs) {
      requestTimer = setTimeout(() => {
        if (finished) return;
        finished = true;
        attemptCtl?.abort(`request timeout after ${timeouts.requestMs} ms`);
        current?.cancel();
        ds.fail(504, `request timeout after ${timeouts.requestMs} ms`);
      }, timeouts.requestMs);
    }
    ds.onAbort(() => {
      finished = true;
      attemptCtl?.abort('client went away');
      current?.cancel();
    });
    const done = (): void => {
      finished = true;
      if (requestTimer) clearTimeout(requestTimer);
    };

    const limit = retry?.limit ?? 0;
    let failedEndpoint: Endpoint | undefined;
    for (let attempt = 0; ; attempt++) {
      if (finished) return;
      // A retry goes to another endpoint when there is one.
      const lease = target.balancer.pick(failedEndpoint);
      if (!lease) {
        done();
        const why = target.balancer.size === 0 ? `no endpoints for ${target.authority}` : `all endpoints of ${target.authority} are failing (circuit open)`;
        return ds.fail(503, why);
      }
      const ep = lease.endpoint;
      const rec = this.deps.metrics.httpStream(this.labelsFor(target, ep, base.authority));
      const started = performance.now();
      const ctl = (attemptCtl = new Cancel());
      const perAttempt = retry?.timeoutMs || timeouts.responseMs || 0;
      const attemptTimer = perAttempt > 0 ? setTimeout(() => ctl.abort(`response timeout after ${perAttempt} ms`), perAttempt) : undefined;
      let res: UpstreamResponse | undefined;
      let err: UpstreamError | undefined;
      try {
        res = await this.send(ds, ep, { ...base, cancel: ctl }, defaultPort);
      } catch (e) {
        err = e instanceof UpstreamError ? e : new UpstreamError((e as Error).message, 'reset');
        if (err.kind === 'cancelled' && attemptTimer && !finished) err = new UpstreamError(err.message, 'timeout');
      } finally {
        if (attemptTimer) clearTimeout(attemptTimer);
      }
      const rtt = performance.now() - started;
      if (finished) {
        res?.cancel();
        lease.release({ ok: !err || err.kind === 'cancelled', rttMs: rtt });
        rec.end({ error: true });
        return;
      }
      if (err || !res) {
        lease.release({ ok: false, rttMs: rtt });
        rec.end({ error: true });
        const canRetry = attempt < limit && replayable && retry !== undefined && route.budget.tryWithdraw();
        // A refused connection never reached the app: always safe to try another endpoint once.
        const connectRetry = err?.kind === 'connect' && replayable && attempt < Math.max(limit, 1);
        failedEndpoint = ep;
        if (canRetry || connectRetry) continue;
        done();
        const status = err?.kind === 'timeout' ? 504 : 502;
        this.logOnce('info', `${target.authority}|${status}`, `outbound: ${target.authority} failed`, { endpoint: formatAddr(ep.addr), status, error: err?.message });
        return ds.fail(status, err?.message ?? 'upstream failed');
      }
      rec.responseHeaders(res.status);
      const grpcHead = grpcStatusOf(res.headers);
      const failed = res.status >= 500;
      lease.release({ ok: !failed, rttMs: rtt });
      if (
        retry &&
        attempt < limit &&
        replayable &&
        (retry.http(res.status) || (grpcHead !== undefined && retry.grpc(grpcHead))) &&
        route.budget.tryWithdraw()
      ) {
        res.cancel();
        res.body.resume();
        rec.end({ grpcStatus: grpcHead });
        failedEndpoint = ep;
        continue;
      }
      current = res;
      const completed = await ds.respond(res);
      done();
      const trailers = completed ? await res.trailers : undefined;
      rec.end({ grpcStatus: grpcStatusOf(trailers) ?? grpcHead, error: !completed });
      return;
    }
  }

  private send(ds: Downstream, ep: Endpoint, req: UpstreamRequest, defaultPort: number | undefined): Promise<UpstreamResponse> {
    const { pools } = this.deps;
    if (ep.identity && pools.meshEnabled) {
      const extra: HeaderMap = {};
      const port = ep.targetPort ?? defaultPort;
      if (port) extra[H_DST_PORT] = String(port);
      if (ds.proto === 'h1') extra[H_ORIG_PROTO] = 'HTTP/1.1';
      const open = pools.meshSessionNow(ep.addr, ep.identity);
      return open ? sendH2(open, req, extra) : pools.meshSession(ep.addr, ep.identity).then((s) => sendH2(s, req, extra));
    }
    if (ds.proto === 'h2' || ep.protocolHint === 'h2') return pools.plainSession(ep.addr).then((s) => sendH2(s, req));
    return sendH1(pools.h1, ep.addr, req);
  }

  /** A target discovery does not know: forward to the original address in plaintext. */
  private forwardDirect(ds: Downstream, addr: SocketAddr): Promise<void> {
    const key = formatAddr(addr);
    const labels = this.directLabels.get(`${key}|${ds.authority}`, () => ({
      direction: 'outbound',
      authority: ds.authority,
      target_addr: key,
      tls: 'no_identity',
      no_tls_reason: NO_TLS_REASON.notProvidedByServiceDiscovery,
    }));
    const rec = this.deps.metrics.httpStream(labels);
    return forwardOnce({ ds, addr, proto: ds.proto, pools: this.deps.pools, rec, what: key, onUnreachable: (m) => this.logOnce('info', key, `outbound: ${m}`) });
  }

  private labelsFor(target: Target, ep: Endpoint, authority: string): TrafficLabels {
    return target.labelsFor(ep, authority, () => {
      const dst: Record<string, string> = { ...target.profile?.labels, ...ep.labels };
      return ep.identity
        ? { direction: 'outbound', authority, target_addr: formatAddr(ep.addr), tls: 'true', server_id: ep.identity, dst }
        : { direction: 'outbound', authority, target_addr: formatAddr(ep.addr), tls: 'no_identity', no_tls_reason: NO_TLS_REASON.notProvidedByServiceDiscovery, dst };
    });
  }
}
