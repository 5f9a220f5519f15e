/**
 * A ring of timestamped scrapes per proxy, and the increase of every series over a window. Pure:
 * the scraper hands in parsed samples with the time it took them.
 *
 * Over a window, counters (`*_total`, `*_bucket`, `*_count`, `*_sum`) give the sum of their
 * increases between consecutive scrapes in the window (a counter that went down was reset, a series
 * that appears mid-window counts from zero), gauges give their latest value. The window's length in
 * seconds is the time between its first and last scrape, so rates are exact for what was scraped.
 */
import { counterIncrease, seriesKey } from '../../metrics-view/golden-metrics';
import type { Sample } from '../../metrics-view/prom-text';

export interface Scrape {
  /** Milliseconds since the epoch (or any clock, as long as it is the same one). */
  at: number;
  samples: readonly Sample[];
}

export interface WindowIncrease {
  /** Counters: increase in the window; gauges: latest value. */
  samples: Sample[];
  /** Time between the window's first and last scrape (> 0). */
  seconds: number;
  /** Time of the last scrape. */
  at: number;
}

const COUNTER_SUFFIXES = ['_total', '_bucket', '_count', '_sum'];
export const isCounter = (name: string): boolean => COUNTER_SUFFIXES.some((s) => name.endsWith(s));

/**
 * Increase of every series over the scrapes given (oldest first). Undefined with fewer than two
 * scrapes or no time between them.
 */
export function increaseOver(scrapes: readonly Scrape[]): WindowIncrease | undefined {
  if (scrapes.length < 2) return undefined;
  const first = scrapes[0]!;
  const last = scrapes[scrapes.length - 1]!;
  const seconds = (last.at - first.at) / 1000;
  if (!(seconds > 0)) return undefined;
  const totals = new Map<string, Sample>();
  let prev = new Map<string, number>();
  for (const s of first.samples) prev.set(seriesKey(s), s.value);
  for (let i = 1; i < scrapes.length; i++) {
    const curr = new Map<string, number>();
    for (const s of scrapes[i]!.samples) {
      const key = seriesKey(s);
      curr.set(key, s.value);
      if (!isCounter(s.name)) {
        if (i === scrapes.length - 1) totals.set(key, { name: s.name, labels: s.labels, value: s.value });
        continue;
      }
      const inc = Number.isFinite(s.value) ? counterIncrease(prev.get(key), s.value) : 0;
      const t = totals.get(key);
      if (t) t.value += inc;
      else totals.set(key, { name: s.name, labels: s.labels, value: inc });
    }
    prev = curr;
  }
  return { samples: [...totals.values()], seconds, at: last.at };
}

/**
 * Scrapes per proxy, oldest first, kept for `retentionMs` after they were taken (a window as long
 * as the retention still has its first point).
 */
export class ScrapeRing {
  private readonly rings = new Map<string, Scrape[]>();

  constructor(private readonly retentionMs: number) {}

  /** Adds a scrape for `key` (e.g. namespace/pod) and drops those older than the retention. */
  record(key: string, scrape: Scrape): void {
    let ring = this.rings.get(key);
    if (!ring) {
      ring = [];
      this.rings.set(key, ring);
    }
    if (ring.length > 0 && scrape.at < ring[ring.length - 1]!.at) return; // out of order: ignore
    ring.push(scrape);
    const horizon = scrape.at - this.retentionMs;
    let drop = 0;
    while (drop < ring.length - 2 && ring[drop + 1]!.at <= horizon) drop++;
    if (drop > 0) ring.splice(0, drop);
  }

  /** Forgets proxies that are no longer in the inventory. */
  retain(keys: ReadonlySet<string>): void {
    for (const key of this.rings.keys()) if (!keys.has(key)) this.rings.delete(key);
  }

  scrapes(key: string): readonly Scrape[] {
    return this.rings.get(key) ?? [];
  }

  /** The increase over the scrapes taken in [now - windowMs, now]; undefined with fewer than two. */
  window(key: string, now: number, windowMs: number): WindowIncrease | undefined {
    const ring = this.rings.get(key);
    if (!ring) return undefined;
    const from = now - windowMs;
    const inWindow = ring.filter((s) => s.at >= from && s.at <= now);
    return increaseOver(inWindow);
  }
}
