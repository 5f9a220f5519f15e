/**
 * The demo's `web` front end (HTTP/1.1): an HTML page with the emojis to vote for and the
 * leaderboard, and a JSON API — GET /api/list, GET|POST /api/vote?choice=:shortcode:,
 * GET /api/leaderboard — that calls `emoji` and `voting` over gRPC through its proxy.
 * Routing, the leaderboard and the page are pure; the backends are injected (gRPC in the app).
 */
import http from 'node:http';
import * as grpc from '@grpc/grpc-js';
import { emojiClient, isGrpcError, unary, votingClient, type VotingResult } from './demo-grpc';
import type { Emoji } from './emojis';

/** What web needs from the two gRPC services. */
export interface WebBackends {
  listAll(): Promise<Emoji[]>;
  /** undefined when the emoji service says NOT_FOUND. */
  findByShortcode(shortcode: string): Promise<Emoji | undefined>;
  vote(shortcode: string): Promise<{ version: string; votes: number }>;
  results(): Promise<{ results: VotingResult[]; version: string }>;
  close(): void;
}

export interface WebGrpcOptions {
  emojiUrl: string;
  emojiAuthority?: string;
  votingUrl: string;
  votingAuthority?: string;
  timeoutMs?: number;
}

export function grpcBackends(o: WebGrpcOptions): WebBackends {
  const emoji = emojiClient(o.emojiUrl, o.emojiAuthority);
  const voting = votingClient(o.votingUrl, o.votingAuthority);
  const t = o.timeoutMs ?? 5_000;
  return {
    listAll: async () => (await unary(emoji.listAll.bind(emoji), {}, t)).list,
    findByShortcode: async (shortcode) => {
      try {
        return (await unary(emoji.findByShortcode.bind(emoji), { shortcode }, t)).emoji ?? undefined;
      } catch (e) {
        if (isGrpcError(e) && e.code === grpc.status.NOT_FOUND) return undefined;
        throw e;
      }
    },
    vote: (shortcode) => unary(voting.vote.bind(voting), { shortcode }, t),
    results: () => unary(voting.results.bind(voting), {}, t),
    close: () => {
      emoji.close();
      voting.close();
    },
  };
}

export type WebRoute =
  | { kind: 'page' }
  | { kind: 'health' }
  | { kind: 'list' }
  | { kind: 'leaderboard' }
  | { kind: 'vote'; choice: string }
  | { kind: 'error'; status: 400 | 404 | 405; message: string };

/** Which handler a request goes to. Pure. */
export function route(method: string, rawUrl: string): WebRoute {
  const url = new URL(rawUrl, 'http://web');
  const get = method === 'GET' || method === 'HEAD';
  const only = (kind: 'page' | 'health' | 'list' | 'leaderboard'): WebRoute => (get ? { kind } : { kind: 'error', status: 405, message: `${url.pathname} answers GET only` });
  switch (url.pathname) {
    case '/':
    case '/index.html':
      return only('page');
    case '/healthz':
      return only('health');
    case '/api/list':
      return only('list');
    case '/api/leaderboard':
      return only('leaderboard');
    case '/api/vote': {
      if (!get && method !== 'POST') return { kind: 'error', status: 405, message: '/api/vote answers GET or POST' };
      const choice = url.searchParams.get('choice');
      if (!choice) return { kind: 'error', status: 400, message: 'missing ?choice=:shortcode: (see /api/list)' };
      return { kind: 'vote', choice };
    }
    default:
      return { kind: 'error', status: 404, message: `no page ${url.pathname}; try /, /api/list, /api/vote?choice=:rocket:, /api/leaderboard` };
  }
}

export interface LeaderboardEntry {
  shortcode: string;
  unicode: string;
  votes: number;
}

/** Voting's results joined with the catalogue: most votes first, unknown shortcodes kept (as "?"). */
export function leaderboard(results: readonly VotingResult[], emojis: readonly Emoji[]): LeaderboardEntry[] {
  const unicode = new Map(emojis.map((e) => [e.shortcode, e.unicode]));
  return results
    .filter((r) => r.votes > 0)
    .map((r) => ({ shortcode: r.shortcode, unicode: unicode.get(r.shortcode) ?? '?', votes: r.votes }))
    .sort((a, b) => b.votes - a.votes || (a.shortcode < b.shortcode ? -1 : a.shortcode > b.shortcode ? 1 : 0));
}

export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

const STYLE = `
:root{color-scheme:light dark;--bg:#f7f5f0;--card:#fff;--ink:#1d1d1f;--muted:#6b6b70;--accent:#4f46e5;--bad:#c2410c}
@media (prefers-color-scheme:dark){:root{--bg:#17171a;--card:#222227;--ink:#ececf1;--muted:#9b9ba3;--accent:#8b85ff;--bad:#fb923c}}
*{box-sizing:border-box}body{margin:0;font:16px/1.5 system-ui,sans-serif;background:var(--bg);color:var(--ink)}
main{max-width:960px;margin:0 auto;padding:2rem 1rem}h1{margin:0 0 .25rem;font-size:2rem}p.sub{margin:0 0 1.5rem;color:var(--muted)}
.cols{display:grid;grid-template-columns:2fr 1fr;gap:1.5rem}@media (max-width:720px){.cols{grid-template-columns:1fr}}
section{background:var(--card);border-radius:14px;padding:1rem 1.25rem;box-shadow:0 1px 3px #0002}h2{margin:.25rem 0 .75rem;font-size:1.1rem}
.grid{display:grid;grid-template-columns:repeat(auto-fill,minmax(64px,1fr));gap:.5rem}
.grid button{font-size:2rem;padding:.4rem 0;border:1px solid #8883;border-radius:12px;background:transparent;cursor:pointer;transition:transform .1s}
.grid button:hover{transform:scale(1.12);border-color:var(--accent)}
ol{margin:0;padding-left:1.5rem}li{display:flex;justify-content:space-between;gap:1rem}li span.e{font-size:1.4rem}li span.n{color:var(--muted);font-variant-numeric:tabular-nums}
#msg{min-height:1.5rem;margin:.75rem 0 0}#msg.bad{color:var(--bad)}small{color:var(--muted)}code{font-size:.9em}`;

const SCRIPT = `
const msg=document.getElementById('msg');
async function refresh(){try{const r=await fetch('/api/leaderboard');if(!r.ok)return;const b=await r.json();
const ol=document.getElementById('board');ol.replaceChildren(...b.leaderboard.slice(0,10).map(e=>{const li=document.createElement('li');
li.innerHTML='<span class="e"></span><span class="n"></span>';li.children[0].textContent=e.unicode+' '+e.shortcode;li.children[1].textContent=e.votes;return li;}));
document.getElementById('ver').textContent=b.version;}catch{}}
document.querySelectorAll('button[data-choice]').forEach(btn=>btn.addEventListener('click',async()=>{
const r=await fetch('/api/vote?choice='+encodeURIComponent(btn.dataset.choice),{method:'POST'});const b=await r.json().catch(()=>({}));
msg.className=r.ok?'':'bad';msg.textContent=r.ok?'Voted '+btn.textContent+' (voting '+b.version+')':'Vote failed: '+(b.error||r.status);refresh();}));
setInterval(refresh,3000);`;

/** The page: every emoji as a vote button, the leaderboard's top ten, which voting version answered. Pure. */
export function renderPage(emojis: readonly Emoji[], board: readonly LeaderboardEntry[], votingVersion: string): string {
  const buttons = emojis.map((e) => `<button data-choice="${escapeHtml(e.shortcode)}" title="${escapeHtml(e.shortcode)}">${escapeHtml(e.unicode)}</button>`).join('');
  const rows = board
    .slice(0, 10)
    .map((e) => `<li><span class="e">${escapeHtml(e.unicode)} ${escapeHtml(e.shortcode)}</span><span class="n">${e.votes}</span></li>`)
    .join('');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>Weft emoji vote</title><style>${STYLE}</style></head>
<body><main>
<h1>🗳️ Emoji vote</h1>
<p class="sub">A demo on the Weft mesh: <b>web</b> calls <b>emoji</b> and <b>voting</b> over gRPC, every hop through Weft proxies with mutual TLS. One emoji's vote always fails; one vote in ten goes to the voting canary.</p>
<div class="cols">
<section><h2>Vote for your favourite</h2><div class="grid">${buttons}</div><p id="msg"></p></section>
<section><h2>Leaderboard</h2><ol id="board">${rows || '<li><small>no votes yet</small></li>'}</ol>
<p><small>counted by voting <code id="ver">${escapeHtml(votingVersion)}</code> (each version keeps its own tally)</small></p></section>
</div>
</main><script>${SCRIPT}</script></body></html>
`;
}

function sendJson(res: http.ServerResponse, status: number, body: unknown): void {
  const text = `${JSON.stringify(body)}\n`;
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text), 'cache-control': 'no-store' });
  res.end(text);
}

/** A gRPC failure as the HTTP answer: the voting service's deliberate error is a 500, an unreachable backend a 502. */
function backendError(e: unknown, what: string): { status: number; body: { error: string; code?: string } } {
  if (isGrpcError(e)) {
    const code = grpc.status[e.code] ?? String(e.code);
    const status = e.code === grpc.status.UNAVAILABLE || e.code === grpc.status.DEADLINE_EXCEEDED ? 502 : 500;
    return { status, body: { error: `${what}: ${e.details || e.message}`, code } };
  }
  return { status: 502, body: { error: `${what}: ${(e as Error).message}` } };
}

export function createWebServer(backends: WebBackends): http.Server {
  const handle = async (req: http.IncomingMessage, res: http.ServerResponse): Promise<void> => {
    const r = route(req.method ?? 'GET', req.url ?? '/');
    switch (r.kind) {
      case 'error':
        return sendJson(res, r.status, { error: r.message });
      case 'health':
        res.writeHead(200, { 'content-type': 'text/plain' });
        return void res.end('ok\n');
      case 'list':
        return sendJson(res, 200, await backends.listAll());
      case 'leaderboard': {
        const [emojis, results] = await Promise.all([backends.listAll(), backends.results()]);
        return sendJson(res, 200, { version: results.version, leaderboard: leaderboard(results.results, emojis) });
      }
      case 'vote': {
        const emoji = await backends.findByShortcode(r.choice);
        if (!emoji) return sendJson(res, 404, { error: `unknown emoji "${r.choice}" (see /api/list)` });
        try {
          const v = await backends.vote(emoji.shortcode);
          return sendJson(res, 200, { shortcode: emoji.shortcode, unicode: emoji.unicode, version: v.version, votes: v.votes });
        } catch (e) {
          const b = backendError(e, 'voting');
          return sendJson(res, b.status, b.body);
        }
      }
      case 'page': {
        const [emojis, results] = await Promise.all([backends.listAll(), backends.results()]);
        const html = renderPage(emojis, leaderboard(results.results, emojis), results.version);
        res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'content-length': Buffer.byteLength(html), 'cache-control': 'no-store' });
        return void res.end(html);
      }
    }
  };
  const server = http.createServer((req, res) => {
    req.resume();
    handle(req, res).catch((e: unknown) => {
      const b = backendError(e, 'backend');
      if (!res.headersSent) sendJson(res, b.status, b.body);
      else res.destroy();
    });
  });
  server.on('close', () => backends.close());
  return server;
}
