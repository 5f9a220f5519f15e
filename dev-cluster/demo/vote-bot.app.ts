/**
 * The demo's `vote-bot`: steady traffic to `web` through its own proxy. Open loop: a tick every
 * 1/rps seconds whether or not earlier requests finished. Each tick votes for an emoji chosen
 * uniformly at random from web's /api/list (so the failing one is hit once in N, N emojis); every
 * tenth tick also fetches the list again and the leaderboard. The choices are pure functions.
 */
import http from 'node:http';
import type { Emoji } from './emojis';

/** The interval between ticks for a rate; at least 1 ms. */
export function intervalForRate(rps: number): number {
  if (!(rps > 0)) throw new Error(`rate must be positive, got ${rps}`);
  return Math.max(1, 1000 / rps);
}

/** A uniformly chosen emoji (`random` uniform in [0, 1)); undefined for an empty list. */
export function chooseEmoji(list: readonly Emoji[], random: () => number): Emoji | undefined {
  if (list.length === 0) return undefined;
  return list[Math.min(list.length - 1, Math.floor(random() * list.length))];
}

export type BotAction = 'list' | 'leaderboard' | 'vote';

/** What tick `n` (0, 1, …) sends: the list until one is known, then a vote, plus list and leaderboard every tenth tick. */
export function botActions(tick: number, haveList: boolean): BotAction[] {
  if (!haveList) return ['list'];
  return tick % 10 === 0 ? ['list', 'leaderboard', 'vote'] : ['vote'];
}

export interface VoteBotOptions {
  /** Base URL of web as the bot reaches it (its proxy's listener for web). */
  webUrl: string;
  /** Host header (web's service authority), so the mesh's metrics name the service. */
  authority?: string;
  rps: number;
  random?: () => number;
  /** Injected for tests. */
  setInterval?: (fn: () => void, ms: number) => unknown;
  clearInterval?: (timer: unknown) => void;
}

export interface VoteBotCounts {
  /** Votes answered 2xx, by shortcode. */
  ok: Map<string, number>;
  /** Votes answered otherwise (status, 0 = transport error), by shortcode. */
  failed: Map<string, number>;
  /** list/leaderboard requests by status. */
  other: Map<number, number>;
}

export interface VoteBot {
  counts: VoteBotCounts;
  stop(): void;
}

const bump = <K>(m: Map<K, number>, k: K): void => void m.set(k, (m.get(k) ?? 0) + 1);

export function startVoteBot(o: VoteBotOptions): VoteBot {
  const random = o.random ?? Math.random;
  const agent = new http.Agent({ keepAlive: true, maxSockets: 32 });
  const counts: VoteBotCounts = { ok: new Map(), failed: new Map(), other: new Map() };
  const headers = o.authority ? { host: o.authority } : {};
  let list: Emoji[] = [];
  let tick = 0;

  const request = (method: 'GET' | 'POST', path: string, done: (status: number, body: string) => void): void => {
    const req = http.request(new URL(path, o.webUrl), { method, agent, headers }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => done(res.statusCode ?? 0, body));
      res.on('error', () => done(0, ''));
    });
    req.setTimeout(10_000, () => req.destroy());
    req.on('error', () => done(0, ''));
    req.end();
  };

  const fire = (): void => {
    for (const action of botActions(tick++, list.length > 0)) {
      if (action === 'vote') {
        const e = chooseEmoji(list, random);
        if (!e) continue;
        request('POST', `/api/vote?choice=${encodeURIComponent(e.shortcode)}`, (status) => bump(status >= 200 && status < 300 ? counts.ok : counts.failed, e.shortcode));
      } else {
        request('GET', `/api/${action}`, (status, body) => {
          bump(counts.other, status);
          if (action !== 'list' || status !== 200) return;
          try {
            const parsed = JSON.parse(body) as unknown;
            if (Array.isArray(parsed) && parsed.every((x: Partial<Emoji>) => typeof x?.shortcode === 'string' && typeof x.unicode === 'string')) list = parsed as Emoji[];
          } catch {
            // keep the last list
          }
        });
      }
    }
  };
  const every = o.setInterval ?? ((fn: () => void, ms: number) => setInterval(fn, ms));
  const clear = o.clearInterval ?? ((t: unknown) => clearInterval(t as NodeJS.Timeout));
  const timer = every(fire, intervalForRate(o.rps));
  return {
    counts,
    stop: () => {
      clear(timer);
      agent.destroy();
    },
  };
}

/** One line for the bot's log: votes sent, failed, and the failed share. Pure. */
export function summarize(c: VoteBotCounts): string {
  const sum = (m: Map<string, number>): number => [...m.values()].reduce((a, b) => a + b, 0);
  const ok = sum(c.ok);
  const failed = sum(c.failed);
  const total = ok + failed;
  return `vote-bot: ${total} votes answered, ${failed} failed (${total ? ((failed / total) * 100).toFixed(1) : '0.0'} %)`;
}
