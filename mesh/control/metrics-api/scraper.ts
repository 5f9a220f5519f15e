/**
 * The thin shell that feeds the scrape ring: GET http://<admin>/metrics of every meshed pod of the
 * inventory, parse, record with the time of the scrape. One failed proxy is an error for that pod,
 * never for the others.
 */
import { DEFAULT_SCRAPE_TIMEOUT_MS } from '../../config/metrics-api';
import { parsePromText } from '../../metrics-view/prom-text';
import { podKey, type ScrapeTarget } from './aggregate';
import type { ScrapeRing } from './scrape-window';

export interface ScraperOptions {
  ring: ScrapeRing;
  now: () => number;
  timeoutMs?: number;
}

export class Scraper {
  /** podKey → why its last scrape failed (absent: it succeeded). */
  readonly errors = new Map<string, string>();

  constructor(private readonly opts: ScraperOptions) {}

  /** Scrapes every meshed target once, in parallel, and forgets pods that left the inventory. */
  async scrapeAll(targets: readonly ScrapeTarget[]): Promise<void> {
    this.opts.ring.retain(new Set(targets.map(podKey)));
    for (const key of this.errors.keys()) if (!targets.some((t) => podKey(t) === key)) this.errors.delete(key);
    await Promise.all(targets.filter((t) => t.admin !== undefined).map((t) => this.scrape(t)));
  }

  private async scrape(t: ScrapeTarget): Promise<void> {
    const key = podKey(t);
    try {
      const res = await fetch(`http://${t.admin}/metrics`, { signal: AbortSignal.timeout(this.opts.timeoutMs ?? DEFAULT_SCRAPE_TIMEOUT_MS) });
      const body = await res.text();
      if (!res.ok) throw new Error(`HTTP ${res.status}`);
      const at = this.opts.now();
      this.opts.ring.record(key, { at, samples: parsePromText(body).samples });
      this.errors.delete(key);
    } catch (err) {
      this.errors.set(key, `scrape of ${t.admin} failed: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
}
