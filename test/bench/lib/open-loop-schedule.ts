/**
 * The open-loop schedule: request i is due at start + i × (1e9 / rps) ns, whatever happened to the
 * requests before it, so a slow response delays nothing but is charged in full (each request is timed
 * from its intended start: no coordinated omission). Pure: the caller passes the clock readings.
 */
export class OpenLoopSchedule {
  readonly intervalNs: number;
  private next = 0;

  constructor(
    readonly startNs: number,
    rps: number,
    readonly total: number,
  ) {
    if (!(rps > 0)) throw new Error(`rate must be positive, got ${rps}`);
    if (!Number.isInteger(total) || total < 0) throw new Error(`request count must be a non-negative integer, got ${total}`);
    this.intervalNs = 1e9 / rps;
  }

  /** Intended start of request i. */
  intendedNs(i: number): number {
    return this.startNs + i * this.intervalNs;
  }

  /** The intended starts of the requests that became due at nowNs and were not handed out before. */
  takeDue(nowNs: number): number[] {
    const out: number[] = [];
    while (this.next < this.total && this.intendedNs(this.next) <= nowNs) out.push(this.intendedNs(this.next++));
    return out;
  }

  /** How many requests have been handed out. */
  get issued(): number {
    return this.next;
  }

  /** The intended start of the next request, or undefined when all have been handed out. */
  nextDueNs(): number | undefined {
    return this.next < this.total ? this.intendedNs(this.next) : undefined;
  }
}

export type Wake = { kind: 'timer'; ms: number } | { kind: 'spin' } | { kind: 'done' };

/**
 * How to wait for the next due request. Node's timers have 1 ms granularity and fire late, so close to
 * the target (within spinNs) the generator spins on setImmediate, which keeps serving socket I/O in
 * between. With spinning off, a timer is always used (cheaper, but requests leave up to ~1 ms late,
 * which the intended-start timing charges to every target alike).
 */
export function nextWake(nextDueNs: number | undefined, nowNs: number, spinNs: number): Wake {
  if (nextDueNs === undefined) return { kind: 'done' };
  const delayNs = nextDueNs - nowNs;
  if (spinNs > 0) {
    if (delayNs <= spinNs) return { kind: 'spin' };
    return { kind: 'timer', ms: Math.floor((delayNs - spinNs) / 1e6) };
  }
  return { kind: 'timer', ms: Math.max(0, Math.round(delayNs / 1e6)) };
}
