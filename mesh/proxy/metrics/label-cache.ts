/**
 * Label objects reused across requests, so the metrics' per-object cache hits on the hot path.
 * Bounded: past `max` entries it starts over (label sets are per target, not per request, so this
 * only happens when a proxy talks to an unbounded number of targets).
 */
import type { TrafficLabels } from './traffic-labels';

export class LabelCache {
  private readonly map = new Map<string, TrafficLabels>();

  constructor(private readonly max = 10_000) {}

  get(key: string, make: () => TrafficLabels): TrafficLabels {
    let l = this.map.get(key);
    if (l === undefined) {
      if (this.map.size >= this.max) this.map.clear();
      l = make();
      this.map.set(key, l);
    }
    return l;
  }

  clear(): void {
    this.map.clear();
  }
}
