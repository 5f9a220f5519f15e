/**
 * The demo apps' pure parts (vote tally, leaderboard, routing, the page, the bot's choices) and their
 * thin servers over real gRPC and HTTP on loopback (no proxies: those are in the integration test).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type net from 'node:net';
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { EMOJIS, FAILING_SHORTCODE, findByShortcode, type Emoji } from '../../../dev-cluster/demo/emojis';
import { VoteTally, createVotingServer } from '../../../dev-cluster/demo/voting.app';
import { createEmojiServer } from '../../../dev-cluster/demo/emoji.app';
import { bindGrpc, findProtoDir, grpcTarget, isGrpcError, shutdownGrpc, unary, votingClient, PROTO_DIR_ENV } from '../../../dev-cluster/demo/demo-grpc';
import { createWebServer, escapeHtml, grpcBackends, leaderboard, renderPage, route, type WebBackends } from '../../../dev-cluster/demo/web.app';
import { botActions, chooseEmoji, intervalForRate, startVoteBot, summarize } from '../../../dev-cluster/demo/vote-bot.app';

function listen(s: http.Server): Promise<string> {
  return new Promise((r) => s.listen({ host: '127.0.0.1', port: 0 }, () => r(`http://127.0.0.1:${(s.address() as net.AddressInfo).port}`)));
}

function request(method: string, url: string): Promise<{ status: number; body: string; type: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode!, body, type: String(res.headers['content-type']) }));
    });
    req.on('error', reject);
    req.end();
  });
}

test('the catalogue: 20 emojis, unique shortcodes, the failing one among them', () => {
  assert.equal(EMOJIS.length, 20);
  assert.equal(new Set(EMOJIS.map((e) => e.shortcode)).size, EMOJIS.length);
  assert.equal(findByShortcode(FAILING_SHORTCODE)?.unicode, '💩');
  assert.equal(findByShortcode(':nope:'), undefined);
});

test('VoteTally: counts per shortcode, the failing emoji always fails, bad shortcodes are refused, results sorted', () => {
  const t = new VoteTally();
  assert.deepEqual(t.vote(':rocket:'), { ok: true, votes: 1 });
  assert.deepEqual(t.vote(':rocket:'), { ok: true, votes: 2 });
  assert.deepEqual(t.vote(':taco:'), { ok: true, votes: 1 });
  assert.deepEqual(t.vote(':crab:'), { ok: true, votes: 1 });
  for (let i = 0; i < 5; i++) {
    const r = t.vote(FAILING_SHORTCODE);
    assert.equal(r.ok, false);
    assert.equal(!r.ok && r.code, 'failed');
  }
  const bad = t.vote('rocket');
  assert.equal(!bad.ok && bad.code, 'invalid');
  assert.match(!bad.ok ? bad.message : '', /expected a shortcode like ":rocket:", got "rocket"/);
  assert.deepEqual(t.results(), [
    { shortcode: ':rocket:', votes: 2 },
    { shortcode: ':crab:', votes: 1 },
    { shortcode: ':taco:', votes: 1 },
  ]);
});

test('leaderboard: most votes first, ties by shortcode, unicode from the catalogue, zero and unknown kept honest', () => {
  const emojis: Emoji[] = [
    { unicode: '🚀', shortcode: ':rocket:' },
    { unicode: '🌮', shortcode: ':taco:' },
  ];
  assert.deepEqual(
    leaderboard(
      [
        { shortcode: ':taco:', votes: 3 },
        { shortcode: ':zzz:', votes: 3 },
        { shortcode: ':rocket:', votes: 7 },
        { shortcode: ':none:', votes: 0 },
      ],
      emojis,
    ),
    [
      { shortcode: ':rocket:', unicode: '🚀', votes: 7 },
      { shortcode: ':taco:', unicode: '🌮', votes: 3 },
      { shortcode: ':zzz:', unicode: '?', votes: 3 },
    ],
  );
});

test('route: pages, API, methods and missing parameters', () => {
  assert.deepEqual(route('GET', '/'), { kind: 'page' });
  assert.deepEqual(route('GET', '/api/list'), { kind: 'list' });
  assert.deepEqual(route('GET', '/api/leaderboard?x=1'), { kind: 'leaderboard' });
  assert.deepEqual(route('POST', '/api/vote?choice=%3Arocket%3A'), { kind: 'vote', choice: ':rocket:' });
  assert.deepEqual(route('GET', '/api/vote?choice=:taco:'), { kind: 'vote', choice: ':taco:' });
  assert.deepEqual(route('GET', '/api/vote'), { kind: 'error', status: 400, message: 'missing ?choice=:shortcode: (see /api/list)' });
  assert.equal((route('DELETE', '/api/vote?choice=:taco:') as { status: number }).status, 405);
  assert.equal((route('POST', '/api/list') as { status: number }).status, 405);
  assert.equal((route('GET', '/nope') as { status: number }).status, 404);
});

test('renderPage: a button per emoji, the leaderboard, the voting version, everything escaped', () => {
  const html = renderPage([...EMOJIS, { unicode: '<b>', shortcode: ':x"y:' }], [{ shortcode: ':rocket:', unicode: '🚀', votes: 42 }], 'v2-canary<script>');
  assert.equal(html.match(/<button data-choice=/g)?.length, EMOJIS.length + 1);
  assert.ok(html.includes('data-choice=":rocket:"'));
  assert.ok(html.includes('&lt;b&gt;') && !html.includes('<b></button>'));
  assert.ok(html.includes('data-choice=":x&quot;y:"'));
  assert.match(html, /🚀 :rocket:<\/span><span class="n">42</);
  assert.ok(html.includes('v2-canary&lt;script&gt;'));
  assert.equal(escapeHtml(`<a href="x">'&'</a>`), '&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;');
  assert.match(renderPage(EMOJIS, [], 'v1'), /no votes yet/);
});

/** Backends in memory, with a switch that makes voting unreachable. */
function fakeBackends(): WebBackends & { votes: string[]; down: boolean } {
  const tally = new VoteTally();
  const b = {
    votes: [] as string[],
    down: false,
    listAll: () => Promise.resolve([...EMOJIS]),
    findByShortcode: (s: string) => Promise.resolve(findByShortcode(s)),
    vote: (s: string) => {
      if (b.down) return Promise.reject(Object.assign(new Error('14 UNAVAILABLE: no connection'), { code: grpc.status.UNAVAILABLE, details: 'no connection', metadata: new grpc.Metadata() }));
      b.votes.push(s);
      const r = tally.vote(s);
      if (r.ok) return Promise.resolve({ version: 'v1', votes: r.votes });
      return Promise.reject(Object.assign(new Error(`2 UNKNOWN: ${r.message}`), { code: grpc.status.UNKNOWN, details: r.message, metadata: new grpc.Metadata() }));
    },
    results: () => Promise.resolve({ results: tally.results(), version: 'v1' }),
    close: () => undefined,
  };
  return b;
}

test('web over HTTP: list, vote, the failing vote as 500, unknown emoji 404, unreachable voting 502, leaderboard, page', async () => {
  const backends = fakeBackends();
  const server = createWebServer(backends);
  const base = await listen(server);
  try {
    const list = await request('GET', `${base}/api/list`);
    assert.equal(list.status, 200);
    assert.match(list.type, /application\/json/);
    assert.equal((JSON.parse(list.body) as Emoji[]).length, EMOJIS.length);

    const ok = await request('POST', `${base}/api/vote?choice=${encodeURIComponent(':rocket:')}`);
    assert.equal(ok.status, 200);
    assert.deepEqual(JSON.parse(ok.body), { shortcode: ':rocket:', unicode: '🚀', version: 'v1', votes: 1 });
    await request('GET', `${base}/api/vote?choice=:rocket:`);

    const poop = await request('POST', `${base}/api/vote?choice=${encodeURIComponent(FAILING_SHORTCODE)}`);
    assert.equal(poop.status, 500);
    assert.deepEqual(JSON.parse(poop.body), { error: `voting: a vote for ${FAILING_SHORTCODE} always fails (the demo's deliberate error)`, code: 'UNKNOWN' });

    const unknown = await request('POST', `${base}/api/vote?choice=:nope:`);
    assert.equal(unknown.status, 404);
    assert.match((JSON.parse(unknown.body) as { error: string }).error, /unknown emoji ":nope:" \(see \/api\/list\)/);
    assert.equal((await request('POST', `${base}/api/vote`)).status, 400);

    backends.down = true;
    const down = await request('POST', `${base}/api/vote?choice=:taco:`);
    assert.equal(down.status, 502);
    assert.equal((JSON.parse(down.body) as { code: string }).code, 'UNAVAILABLE');
    backends.down = false;

    const board = JSON.parse((await request('GET', `${base}/api/leaderboard`)).body) as { version: string; leaderboard: unknown[] };
    assert.deepEqual(board, { version: 'v1', leaderboard: [{ shortcode: ':rocket:', unicode: '🚀', votes: 2 }] });

    const page = await request('GET', `${base}/`);
    assert.equal(page.status, 200);
    assert.match(page.type, /text\/html/);
    assert.match(page.body, /🚀 :rocket:<\/span><span class="n">2</);
    assert.deepEqual(backends.votes, [':rocket:', ':rocket:', FAILING_SHORTCODE]);
  } finally {
    server.close();
  }
});

test('emoji and voting over real gRPC (loopback): ListAll, FindByShortcode, Vote with version, the failing vote UNKNOWN, Results', async () => {
  const emoji = createEmojiServer();
  const voting = createVotingServer('v2-canary');
  const [ep, vp] = await Promise.all([bindGrpc(emoji, 0), bindGrpc(voting, 0)]);
  const backends = grpcBackends({ emojiUrl: `http://127.0.0.1:${ep}`, votingUrl: `http://127.0.0.1:${vp}`, emojiAuthority: 'emoji.demo:8080' });
  try {
    assert.deepEqual(await backends.listAll(), EMOJIS);
    assert.deepEqual(await backends.findByShortcode(':taco:'), { unicode: '🌮', shortcode: ':taco:' });
    assert.equal(await backends.findByShortcode(':nope:'), undefined, 'NOT_FOUND is "no such emoji"');
    assert.deepEqual(await backends.vote(':taco:'), { version: 'v2-canary', votes: 1 });
    assert.deepEqual(await backends.vote(':taco:'), { version: 'v2-canary', votes: 2 });
    await assert.rejects(backends.vote(FAILING_SHORTCODE), (e: unknown) => {
      assert.ok(isGrpcError(e));
      assert.equal(e.code, grpc.status.UNKNOWN);
      assert.match(e.details, /always fails.*\[voting v2-canary\]/);
      assert.equal(e.metadata.get('weft-demo-version')[0], 'v2-canary');
      return true;
    });
    const client = votingClient(`http://127.0.0.1:${vp}`);
    await assert.rejects(unary(client.vote.bind(client), { shortcode: 'x' }), (e: unknown) => isGrpcError(e) && e.code === grpc.status.INVALID_ARGUMENT);
    client.close();
    assert.deepEqual(await backends.results(), { results: [{ shortcode: ':taco:', votes: 2 }], version: 'v2-canary' });
  } finally {
    backends.close();
    await Promise.all([shutdownGrpc(emoji), shutdownGrpc(voting)]);
  }
});

test('grpcTarget: the host:port of an UPSTREAM_*_URL, a clear error otherwise', () => {
  assert.equal(grpcTarget('http://127.0.0.1:4567'), '127.0.0.1:4567');
  assert.throws(() => grpcTarget('http://127.0.0.1'), /expected an http:\/\/ URL with a port/);
  assert.throws(() => grpcTarget('https://127.0.0.1:4567'), /expected an http:\/\/ URL with a port/);
  assert.throws(() => grpcTarget('nonsense'), /expected a URL like http:\/\/127\.0\.0\.1:4567, got "nonsense"/);
});

test('findProtoDir: next to the source, above a bundle (dist/chunks), from the environment, or a clear error', async () => {
  const root = await mkdtemp(join(tmpdir(), 'weft-proto-'));
  try {
    const protos = join(root, 'dev-cluster', 'demo', 'proto');
    await mkdir(protos, { recursive: true });
    await mkdir(join(root, 'dist', 'chunks'), { recursive: true });
    await Promise.all(['emoji.proto', 'voting.proto'].map((f) => writeFile(join(protos, f), 'syntax = "proto3";\n')));
    assert.equal(findProtoDir([join(root, 'dist', 'chunks')], {}), protos);
    assert.equal(findProtoDir([join(root, 'dev-cluster', 'demo')], {}), protos);
    assert.equal(findProtoDir(['/nonexistent-start'], { [PROTO_DIR_ENV]: protos }), protos);
    assert.throws(() => findProtoDir([join(root, 'dist')], { [PROTO_DIR_ENV]: root }), new RegExp(`${PROTO_DIR_ENV}=.* does not hold emoji.proto and voting.proto`));
    assert.throws(() => findProtoDir([tmpdir()], {}), /cannot find the demo's emoji.proto and voting.proto .* set WEFT_DEMO_PROTO_DIR/);
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});

test('the bot: uniform choice over the list, the actions per tick, the interval per rate', () => {
  const list = EMOJIS.slice(0, 4);
  assert.equal(chooseEmoji(list, () => 0)?.shortcode, list[0]!.shortcode);
  assert.equal(chooseEmoji(list, () => 0.2499)?.shortcode, list[0]!.shortcode);
  assert.equal(chooseEmoji(list, () => 0.25)?.shortcode, list[1]!.shortcode);
  assert.equal(chooseEmoji(list, () => 0.9999999)?.shortcode, list[3]!.shortcode);
  assert.equal(chooseEmoji([], () => 0.5), undefined);
  assert.deepEqual(botActions(3, false), ['list']);
  assert.deepEqual(botActions(0, true), ['list', 'leaderboard', 'vote']);
  assert.deepEqual(botActions(7, true), ['vote']);
  assert.deepEqual(botActions(20, true), ['list', 'leaderboard', 'vote']);
  assert.equal(intervalForRate(20), 50);
  assert.equal(intervalForRate(5000), 1);
  assert.throws(() => intervalForRate(0), /rate must be positive/);
});

test('the bot against web: fetches the list first, then votes; evenly spread draws hit the failing emoji once in 20', async () => {
  const seen: string[] = [];
  const web = http.createServer((req, res) => {
    const url = new URL(req.url!, 'http://x');
    seen.push(`${req.method} ${url.pathname} ${req.headers.host}`);
    if (url.pathname === '/api/list') return void res.end(JSON.stringify(EMOJIS));
    if (url.pathname === '/api/leaderboard') return void res.end('{}');
    const choice = url.searchParams.get('choice');
    res.writeHead(choice === FAILING_SHORTCODE ? 500 : 200).end('{}');
  });
  const base = await listen(web);
  let tick: (() => void) | undefined;
  let draw = 0;
  const bot = startVoteBot({
    webUrl: base,
    authority: 'web.demo:80',
    rps: 10,
    random: () => ((draw++ % 20) + 0.5) / 20,
    setInterval: (fn) => (tick = fn),
    clearInterval: () => (tick = undefined),
  });
  const sum = (m: Map<unknown, number>): number => [...m.values()].reduce((a, b) => a + b, 0);
  const answered = (): number => sum(bot.counts.ok) + sum(bot.counts.failed) + sum(bot.counts.other);
  /** Waits until the bot has its answers to n requests (so the next tick sees the list). */
  const settle = async (n: number): Promise<void> => {
    const deadline = Date.now() + 10_000;
    while (answered() < n && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
    assert.equal(answered(), n);
  };
  try {
    tick!(); // no list yet: fetch it
    await settle(1);
    assert.deepEqual(seen, ['GET /api/list web.demo:80']);
    for (let i = 1; i <= 40; i++) {
      tick!();
      await settle(1 + i + 2 * Math.floor(i / 10)); // every tenth tick also fetches the list and the leaderboard
    }
    const votes = seen.filter((s) => s.startsWith('POST /api/vote'));
    assert.equal(votes.length, 40);
    assert.equal(bot.counts.failed.get(FAILING_SHORTCODE), 2, '40 evenly spread draws over 20 emojis: the failing one twice');
    assert.equal([...bot.counts.ok.values()].reduce((a, b) => a + b, 0), 38);
    assert.equal(new Set(bot.counts.ok.keys()).size, 19, 'every other emoji voted for');
    assert.match(summarize(bot.counts), /^vote-bot: 40 votes answered, 2 failed \(5\.0 %\)$/);
  } finally {
    bot.stop();
    assert.equal(tick, undefined, 'stop clears the timer');
    web.close();
  }
});
