/**
 * Metric families whose series are plain objects updated without any hashing: the hot path
 * holds a series and bumps a number. They register into a prom-client Registry, which renders
 * them (and escapes label values) like its own metrics. prom-client's own `.labels()` children
 * re-hash and re-validate the label set on every inc/observe (~1 µs each), which is why these exist.
 */
import type * as prom from 'prom-client';

export type SeriesLabels = Readonly<Record<string, string>>;

interface RenderedValue {
  value: number;
  labels: Record<string, string>;
  metricName?: string;
}

interface RenderedFamily {
  name: string;
  help: string;
  type: 'counter' | 'gauge' | 'histogram';
  aggregator: prom.Aggregator;
  values: RenderedValue[];
}

abstract class Family<S extends { readonly labels: SeriesLabels }> {
  protected readonly series = new Map<string, S>();
  abstract readonly type: RenderedFamily['type'];
  readonly aggregator: prom.Aggregator = 'sum';

  constructor(
    readonly name: string,
    readonly help: string,
  ) {}

  /** The series for `key` (a string that identifies `labels`), created on first use. */
  child(key: string, labels: SeriesLabels): S {
    let s = this.series.get(key);
    if (!s) {
      s = this.create(labels);
      this.series.set(key, s);
    }
    return s;
  }

  get size(): number {
    return this.series.size;
  }

  /** Forgets every series (for tests and for an explicit reset). */
  reset(): void {
    this.series.clear();
  }

  protected abstract create(labels: SeriesLabels): S;
  protected abstract render(s: S, out: RenderedValue[]): void;

  /** prom-client's Metric contract: called by Registry.metrics() at scrape time. */
  async get(): Promise<RenderedFamily> {
    const values: RenderedValue[] = [];
    for (const s of this.series.values()) this.render(s, values);
    return { name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values };
  }

  /** Adds this family to a registry (prom-client types only know its own classes). */
  registerIn(registry: prom.Registry): this {
    registry.registerMetric(this as unknown as prom.Metric);
    return this;
  }
}

export class CounterSeries {
  value = 0;
  constructor(readonly labels: SeriesLabels) {}
  inc(n = 1): void {
    this.value += n;
  }
}

export class CounterFamily extends Family<CounterSeries> {
  readonly type = 'counter' as const;
  protected create(labels: SeriesLabels): CounterSeries {
    return new CounterSeries(labels);
  }
  protected render(s: CounterSeries, out: RenderedValue[]): void {
    out.push({ value: s.value, labels: s.labels as Record<string, string> });
  }
}

export class GaugeSeries {
  value = 0;
  constructor(readonly labels: SeriesLabels) {}
  inc(n = 1): void {
    this.value += n;
  }
  dec(n = 1): void {
    this.value -= n;
  }
}

export class GaugeFamily extends Family<GaugeSeries> {
  readonly type = 'gauge' as const;
  protected create(labels: SeriesLabels): GaugeSeries {
    return new GaugeSeries(labels);
  }
  protected render(s: GaugeSeries, out: RenderedValue[]): void {
    out.push({ value: s.value, labels: s.labels as Record<string, string> });
  }
}

export class HistogramSeries {
  /** Non-cumulative counts; the last slot is the +Inf bucket. */
  readonly counts: Float64Array;
  sum = 0;
  count = 0;
  constructor(
    readonly labels: SeriesLabels,
    private readonly bounds: readonly number[],
  ) {
    this.counts = new Float64Array(bounds.length + 1);
  }
  observe(v: number): void {
    const b = this.bounds;
    let i = 0;
    while (i < b.length && v > b[i]!) i++;
    this.counts[i]!++;
    this.sum += v;
    this.count++;
  }
}

export class HistogramFamily extends Family<HistogramSeries> {
  readonly type = 'histogram' as const;
  private readonly leValues: readonly string[];

  constructor(
    name: string,
    help: string,
    readonly bounds: readonly number[],
  ) {
    super(name, help);
    for (let i = 1; i < bounds.length; i++) {
      if (!(bounds[i]! > bounds[i - 1]!)) throw new Error(`${name}: bucket bounds must increase`);
    }
    this.leValues = [...bounds.map((b) => String(b)), '+Inf'];
  }

  protected create(labels: SeriesLabels): HistogramSeries {
    return new HistogramSeries(labels, this.bounds);
  }

  protected render(s: HistogramSeries, out: RenderedValue[]): void {
    let acc = 0;
    for (let i = 0; i < this.leValues.length; i++) {
      acc += s.counts[i]!;
      out.push({ metricName: `${this.name}_bucket`, value: acc, labels: { ...s.labels, le: this.leValues[i]! } });
    }
    out.push({ metricName: `${this.name}_sum`, value: s.sum, labels: s.labels as Record<string, string> });
    out.push({ metricName: `${this.name}_count`, value: s.count, labels: s.labels as Record<string, string> });
  }
}
