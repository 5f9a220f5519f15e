/**
 * Test helpers for Prometheus: a parser for the text exposition format, and a real Prometheus
 * server (Debian's /usr/bin/prometheus) started on a free loopback port with a temp config and
 * TSDB directory, scraping the given targets.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** Parses Prometheus text format 0.0.4 (comments skipped; label values unescaped). */
export function parsePromText(text: string): Sample[] {
  const out: Sample[] = [];
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})?\s+(\S+)/.exec(line);
    if (!m) throw new Error(`unparsable metric line: ${line}`);
    const labels: Record<string, string> = {};
    const body = m[3] ?? '';
    const re = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;
    for (let lm = re.exec(body); lm; lm = re.exec(body)) {
      labels[lm[1]!] = lm[2]!.replace(/\\(.)/g, (_s, c: string) => (c === 'n' ? '\n' : c));
    }
    const v = m[4]!;
    out.push({ name: m[1]!, labels, value: v === '+Inf' ? Infinity : v === '-Inf' ? -Infinity : Number(v) });
  }
  return out;
}

/** Samples named `name` whose labels include every pair of `match`. */
export function findSamples(samples: Sample[], name: string, match: Record<string, string> = {}): Sample[] {
  return samples.filter((s) => s.name === name && Object.entries(match).every(([k, v]) => s.labels[k] === v));
}

export interface VectorSample {
  metric: Record<string, string>;
  value: number;
}

export interface PrometheusInstance {
  url: string;
  /** Instant query; returns the vector (a scalar comes back as one sample with no labels). */
  query(promql: string): Promise<VectorSample[]>;
  /** Resolves once every configured target has been scraped successfully. */
  waitForTargetsUp(timeoutMs?: number): Promise<void>;
  stop(): Promise<void>;
}

export const PROMETHEUS_BIN = '/usr/bin/prometheus';

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls `check` until it returns a value other than undefined, or throws after `timeoutMs`. */
export async function eventually<T>(check: () => Promise<T | undefined>, timeoutMs: number, what: string): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await check();
      if (v !== undefined) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ''}`);
    await sleep(200);
  }
}

function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((r) => child.once('exit', () => r()));
}

export async function startPrometheus(opts: {
  targets: string[];
  scrapeIntervalMs?: number;
  startTimeoutMs?: number;
}): Promise<PrometheusInstance> {
  const interval = `${Math.max(1, Math.round((opts.scrapeIntervalMs ?? 1000) / 1000))}s`;
  const dir = await mkdtemp(join(tmpdir(), 'weft-prometheus-'));
  let child: ChildProcess | undefined;
  let stderr = '';

  const stop = async (): Promise<void> => {
    if (child && child.exitCode === null && child.signalCode === null) {
      const done = exited(child);
      child.kill('SIGTERM');
      const timer = setTimeout(() => child?.kill('SIGKILL'), 5000);
      await done;
      clearTimeout(timer);
    }
    await rm(dir, { recursive: true, force: true });
  };

  try {
    const config = [
      'global:',
      `  scrape_interval: ${interval}`,
      `  scrape_timeout: ${interval}`,
      `  evaluation_interval: ${interval}`,
      'scrape_configs:',
      '  - job_name: weft-proxy',
      '    metrics_path: /metrics',
      '    static_configs:',
      `      - targets: [${opts.targets.map((t) => JSON.stringify(t)).join(', ')}]`,
      '',
    ].join('\n');
    const configFile = join(dir, 'prometheus.yml');
    await writeFile(configFile, config);

    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    child = spawn(
      PROMETHEUS_BIN,
      [
        `--config.file=${configFile}`,
        `--storage.tsdb.path=${join(dir, 'data')}`,
        `--web.listen-address=127.0.0.1:${port}`,
        '--log.level=warn',
      ],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    child.stderr?.setEncoding('utf8').on('data', (d: string) => {
      stderr = (stderr + d).slice(-4000);
    });
    const spawned = child;
    const spawnError = new Promise<never>((_r, reject) => {
      spawned.once('error', reject);
      spawned.once('exit', (code, sig) => reject(new Error(`prometheus exited (${code ?? sig}): ${stderr}`)));
    });
    spawnError.catch(() => {});

    const ready = eventually(
      async () => ((await fetch(`${url}/-/ready`)).ok ? true : undefined),
      opts.startTimeoutMs ?? 15_000,
      'prometheus /-/ready',
    );
    await Promise.race([ready, spawnError]);

    const query = async (promql: string): Promise<VectorSample[]> => {
      const res = await fetch(`${url}/api/v1/query?query=${encodeURIComponent(promql)}`);
      const body = (await res.json()) as {
        status: string;
        error?: string;
        data?: { resultType: string; result: unknown };
      };
      if (body.status !== 'success' || !body.data) throw new Error(`query failed: ${body.error ?? res.status}`);
      if (body.data.resultType === 'scalar') {
        const [, v] = body.data.result as [number, string];
        return [{ metric: {}, value: Number(v) }];
      }
      const result = body.data.result as { metric: Record<string, string>; value: [number, string] }[];
      return result.map((r) => ({ metric: r.metric, value: Number(r.value[1]) }));
    };

    const waitForTargetsUp = async (timeoutMs = 15_000): Promise<void> => {
      await eventually(
        async () => {
          const res = await fetch(`${url}/api/v1/targets?state=active`);
          const body = (await res.json()) as { data: { activeTargets: { health: string }[] } };
          const t = body.data.activeTargets;
          return t.length === opts.targets.length && t.every((x) => x.health === 'up') ? true : undefined;
        },
        timeoutMs,
        'prometheus targets up',
      );
    };

    return { url, query, waitForTargetsUp, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}
