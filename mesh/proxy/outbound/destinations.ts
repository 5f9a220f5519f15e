/**
 * The outbound side's view of its targets: for each authority, the latest discovery answer and a
 * balancer over its endpoints. Discovery failures keep the last-known endpoints.
 */
import type { TrafficLabels } from '../metrics/traffic-labels';
import { P2cBalancer } from '../balance/p2c';
import { formatAddr, type DestinationProfile, type Discovery, type DiscoveryWatch, type Endpoint } from '../discovery/discovery';
import type { Logger } from '../log';
import { RetryBudget } from '../reliability/retry-budget';
import { parseGrpcRetryConditions, parseHttpRetryConditions } from '../reliability/retry-policy';

export interface RetryMatchers {
  limit: number;
  timeoutMs: number;
  http: (status: number) => boolean;
  grpc: (grpcStatus: number) => boolean;
}

export function endpointKey(e: Endpoint): string {
  return `${formatAddr(e.addr)}/${e.targetPort ?? ''}`;
}

export class Target {
  state: 'pending' | 'found' | 'not-found' = 'pending';
  profile: DestinationProfile | undefined;
  retry: RetryMatchers | undefined;
  readonly balancer = new P2cBalancer<Endpoint>(endpointKey);
  readonly budget = new RetryBudget();
  /**
   * Metric label objects, one per endpoint × authority, reused so the metrics' per-object cache hits;
   * looked up by endpoint object, then authority: no key string is built per request.
   */
  private readonly labelsByEndpoint = new Map<Endpoint, Map<string, TrafficLabels>>();
  readonly ready: Promise<void>;
  lastUsed = Date.now();
  watch: DiscoveryWatch | undefined;
  private markReady!: () => void;

  constructor(readonly authority: string) {
    this.ready = new Promise((r) => (this.markReady = r));
  }

  apply(endpoints: Endpoint[], profile: DestinationProfile, log: Logger): void {
    this.state = 'found';
    this.profile = profile;
    this.balancer.setEndpoints(endpoints);
    this.labelsByEndpoint.clear();
    this.retry = undefined;
    if (profile.retry && profile.retry.limit > 0) {
      const h = parseHttpRetryConditions(profile.retry.http);
      const g = parseGrpcRetryConditions(profile.retry.grpc);
      if (h.ok && g.ok) this.retry = { limit: profile.retry.limit, timeoutMs: profile.retry.timeoutMs, http: h.match, grpc: g.match };
      else log.warn('ignoring invalid retry policy', { authority: this.authority, error: h.ok ? (g.ok ? '' : g.error) : h.error });
    }
    this.markReady();
  }

  /** The label object for requests to `ep` under `authority`, made once by `make`. */
  labelsFor(ep: Endpoint, authority: string, make: () => TrafficLabels): TrafficLabels {
    let byAuthority = this.labelsByEndpoint.get(ep);
    if (!byAuthority) {
      if (this.labelsByEndpoint.size >= 10_000) this.labelsByEndpoint.clear();
      this.labelsByEndpoint.set(ep, (byAuthority = new Map()));
    }
    let l = byAuthority.get(authority);
    if (l === undefined) {
      if (byAuthority.size >= 1_000) byAuthority.clear();
      byAuthority.set(authority, (l = make()));
    }
    return l;
  }

  notFound(): void {
    this.state = 'not-found';
    this.profile = undefined;
    this.balancer.setEndpoints([]);
    this.markReady();
  }

  /** A source error before any answer: unblock waiting requests (they fail fast or go direct). */
  failedBeforeAnswer(): void {
    if (this.state === 'pending') this.markReady();
  }
}

export class Destinations {
  private readonly targets = new Map<string, Target>();

  constructor(
    private readonly discovery: Discovery,
    private readonly log: Logger,
  ) {}

  get(authority: string): Target {
    let t = this.targets.get(authority);
    if (t) {
      t.lastUsed = Date.now();
      return t;
    }
    const target = new Target(authority);
    t = target;
    this.targets.set(authority, t);
    t.watch = this.discovery.watch(authority, {
      update: (u) => target.apply(u.endpoints, u.profile, this.log),
      notFound: () => target.notFound(),
      error: (e) => {
        this.log.warn('discovery error; keeping last-known endpoints', { authority, error: e.message });
        target.failedBeforeAnswer();
      },
    });
    return t;
  }

  close(): void {
    for (const t of this.targets.values()) t.watch?.close();
    this.targets.clear();
  }
}
