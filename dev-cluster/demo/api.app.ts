/**
 * The demo's `api` service: an HTTP/1.1 JSON service that hands out emojis. A fixed share of its
 * requests (5 % by default) fail with 500, so the success rate in the golden metrics is visibly
 * below 100 %. Randomness is injected; the decision is a pure function.
 */
import http from 'node:http';

export const EMOJIS = ['🍩', '🦄', '🚀', '🌮', '🐙', '🍕', '🎸', '🌵', '🦀', '🧇'] as const;

export interface ApiOptions {
  /** Share of requests answered with 500, 0..1. */
  failureRate: number;
  /** Uniform in [0, 1); Math.random by default. */
  random?: () => number;
  /** Extra latency per request, ms, drawn uniformly from [0, maxDelayMs). Default 10. */
  maxDelayMs?: number;
}

export interface ApiOutcome {
  status: 200 | 500;
  delayMs: number;
  emoji: string;
}

/** What one request gets: two random draws decide failure and delay, a third the emoji. */
export function apiOutcome(o: ApiOptions, random: () => number): ApiOutcome {
  const fail = random() < o.failureRate;
  const delayMs = Math.floor(random() * (o.maxDelayMs ?? 10));
  const emoji = EMOJIS[Math.floor(random() * EMOJIS.length) % EMOJIS.length]!;
  return { status: fail ? 500 : 200, delayMs, emoji };
}

export function createApiServer(o: ApiOptions): http.Server {
  const random = o.random ?? Math.random;
  return http.createServer((req, res) => {
    req.resume();
    const out = apiOutcome(o, random);
    setTimeout(() => {
      const body =
        out.status === 200
          ? JSON.stringify({ emoji: out.emoji, caller: req.headers['weft-client-id'] ?? null })
          : JSON.stringify({ error: 'injected failure' });
      res.writeHead(out.status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
      res.end(body);
    }, out.delayMs);
  });
}
