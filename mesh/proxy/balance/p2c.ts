/**
 * Power-of-two-choices balancer over peak-EWMA load, with per-endpoint failure accrual.
 *
 * A pick draws two distinct endpoints at random and takes the cheaper one, where
 *   cost = estimate(ms) × (pending + 1)
 * exactly as tower's PeakEwma `load()` used by linkerd2-proxy (checked against tower
 * src/load/peak_ewma.rs: `Cost(estimate * f64::from(pending + 1))`, pending = requests in flight).
 *
 * Differences from Linkerd, on purpose:
 * - Ejection lives in the balancer: an endpoint whose FailureAccrual is open is not a candidate
 *   (linkerd2-proxy wraps each endpoint in a breaker that makes it "not ready", which P2C then
 *   skips: same effect). If both draws are ejected we redraw twice, then fall back to a linear
 *   scan for the cheapest available endpoint (O(n), only when most endpoints are ejected).
 * - A failed response may raise the estimate (peak) but never lowers it, so an endpoint that
 *   fails fast does not attract traffic (Linkerd feeds every response into the EWMA; its
 *   optional "load biaser" addresses the same problem for 429s).
 * - The cost is floored at 1 µs × (pending + 1): an estimate that decayed to 0 after a long idle
 *   period still lets the pending count decide.
 *
 * Hot path: pick() is O(1) (two random draws, two exp()), allocates one Lease; release() is O(1).
 */
import { PeakEwma, type PeakEwmaOptions } from './peak-ewma';
import { FailureAccrual, type BreakerState, type FailureAccrualOptions } from '../reliability/failure-accrual';

export interface Lease<T> {
  readonly endpoint: T;
  /** Reports how the request ended; `rttMs` defaults to the time since pick(). Only the first call counts. */
  release(outcome: { ok: boolean; rttMs?: number }): void;
}

export interface P2cOptions {
  ewma?: Omit<PeakEwmaOptions, 'now'>;
  accrual?: Omit<FailureAccrualOptions, 'now' | 'random'>;
  now?: () => number;
  random?: () => number;
}

/** A read-only view of one endpoint's balancing state (admin pages, tests). */
export interface EndpointLoad {
  key: string;
  estimateMs: number;
  pending: number;
  state: BreakerState;
}

const MIN_COST_MS = 0.001;

class Slot<T> {
  pending = 0;
  constructor(
    public endpoint: T,
    readonly key: string,
    readonly ewma: PeakEwma,
    readonly accrual: FailureAccrual,
  ) {}

  cost(t: number): number {
    return Math.max(this.ewma.estimateAt(t), MIN_COST_MS) * (this.pending + 1);
  }
}

class SlotLease<T> implements Lease<T> {
  private done = false;
  constructor(
    private readonly slot: Slot<T>,
    private readonly start: number,
    private readonly now: () => number,
  ) {}

  get endpoint(): T {
    return this.slot.endpoint;
  }

  release(outcome: { ok: boolean; rttMs?: number }): void {
    if (this.done) return;
    this.done = true;
    const slot = this.slot;
    slot.pending--;
    // With an explicit RTT the sample is dated start + RTT, sparing a clock read.
    let rtt = outcome.rttMs;
    let t: number;
    if (rtt === undefined) {
      t = this.now();
      rtt = t - this.start;
    } else {
      t = this.start + rtt;
    }
    if (outcome.ok) slot.ewma.observeAt(rtt, t);
    else if (rtt > slot.ewma.estimateAt(t)) slot.ewma.observeAt(rtt, t);
    slot.accrual.record(outcome.ok);
  }
}

export class P2cBalancer<T> {
  private slots: Slot<T>[] = [];
  private byKey = new Map<string, Slot<T>>();
  private readonly now: () => number;
  private readonly random: () => number;

  constructor(
    private readonly key: (e: T) => string,
    private readonly opts: P2cOptions = {},
  ) {
    this.now = opts.now ?? (() => performance.now());
    this.random = opts.random ?? Math.random;
  }

  /** Replace the endpoint set; endpoints whose key survives keep their EWMA, pending and breaker state. */
  setEndpoints(endpoints: readonly T[]): void {
    const slots: Slot<T>[] = [];
    const byKey = new Map<string, Slot<T>>();
    for (const e of endpoints) {
      const k = this.key(e);
      if (byKey.has(k)) continue;
      let slot = this.byKey.get(k);
      if (slot) slot.endpoint = e;
      else slot = this.newSlot(e, k);
      byKey.set(k, slot);
      slots.push(slot);
    }
    this.slots = slots;
    this.byKey = byKey;
  }

  get size(): number {
    return this.slots.length;
  }

  /** Endpoints a request could go to now (closed breakers, and half-open ones whose probe is free). */
  get availableCount(): number {
    let n = 0;
    for (const s of this.slots) if (s.accrual.available()) n++;
    return n;
  }

  /**
   * undefined when there is no endpoint or every endpoint is ejected (caller answers 503 fail-fast).
   * `avoid` (a retry's failed endpoint) is chosen only when no other endpoint is available.
   */
  pick(avoid?: T): Lease<T> | undefined {
    const slots = this.slots;
    const n = slots.length;
    if (n === 0) return undefined;
    const t = this.now();
    let chosen: Slot<T> | undefined;
    if (n === 1) {
      chosen = slots[0];
    } else {
      for (let attempt = 0; attempt < 3 && chosen === undefined; attempt++) {
        const i = Math.min(n - 1, Math.floor(this.random() * n));
        let j = Math.min(n - 2, Math.floor(this.random() * (n - 1)));
        if (j >= i) j++;
        const a = slots[i]!;
        const b = slots[j]!;
        const aOk = a.endpoint !== avoid && a.accrual.available();
        const bOk = b.endpoint !== avoid && b.accrual.available();
        if (aOk && bOk) chosen = b.cost(t) < a.cost(t) ? b : a;
        else if (aOk) chosen = a;
        else if (bOk) chosen = b;
      }
      chosen ??= this.cheapestAvailable(t, avoid) ?? this.cheapestAvailable(t, undefined);
    }
    if (chosen === undefined || !chosen.accrual.tryAcquire()) return undefined;
    chosen.pending++;
    return new SlotLease(chosen, t, this.now);
  }

  /** Balancing state of every endpoint, in set order. */
  loads(): EndpointLoad[] {
    return this.slots.map((s) => ({
      key: s.key,
      estimateMs: s.ewma.estimate(),
      pending: s.pending,
      state: s.accrual.state,
    }));
  }

  private cheapestAvailable(t: number, avoid: T | undefined): Slot<T> | undefined {
    let best: Slot<T> | undefined;
    let bestCost = Infinity;
    for (const s of this.slots) {
      if (s.endpoint === avoid || !s.accrual.available()) continue;
      const c = s.cost(t);
      if (c < bestCost) {
        best = s;
        bestCost = c;
      }
    }
    return best;
  }

  private newSlot(e: T, k: string): Slot<T> {
    const ewma = new PeakEwma({ ...this.opts.ewma, now: this.now });
    const accrual = new FailureAccrual({ ...this.opts.accrual, now: this.now, random: this.random });
    return new Slot(e, k, ewma, accrual);
  }
}
