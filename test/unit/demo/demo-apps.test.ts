import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type net from 'node:net';
import { apiOutcome, createApiServer, EMOJIS } from '../../../dev-cluster/demo/api.app';
import { createWebServer } from '../../../dev-cluster/demo/web.app';
import { intervalForRate, startTraffic } from '../../../dev-cluster/demo/traffic.app';

/** Deterministic uniform draws from a fixed list, cycling. */
const draws = (xs: number[]): (() => number) => {
  let i = 0;
  return () => xs[i++ % xs.length]!;
};

function listen(s: http.Server): Promise<string> {
  return new Promise((r) => s.listen({ host: '127.0.0.1', port: 0 }, () => r(`http://127.0.0.1:${(s.address() as net.AddressInfo).port}`)));
}

function get(url: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    http.get(url, { agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode!, body }));
    }).on('error', reject);
  });
}

test('apiOutcome: fails exactly when the first draw is below the failure rate', () => {
  assert.equal(apiOutcome({ failureRate: 0.05 }, draws([0.049, 0, 0])).status, 500);
  assert.equal(apiOutcome({ failureRate: 0.05 }, draws([0.05, 0, 0])).status, 200);
  assert.equal(apiOutcome({ failureRate: 0 }, draws([0, 0, 0])).status, 200);
  const o = apiOutcome({ failureRate: 0.05, maxDelayMs: 20 }, draws([0.9, 0.5, 0.999]));
  assert.deepEqual(o, { status: 200, delayMs: 10, emoji: EMOJIS[EMOJIS.length - 1] });
});

test('api over HTTP: 5 % failure rate gives 1 in 20 with evenly spread draws', async () => {
  const xs = Array.from({ length: 20 }, (_, i) => i / 20);
  let i = 0;
  const random = (): number => xs[Math.floor(i++ / 3) % xs.length]!; // three draws per request, same value
  const api = createApiServer({ failureRate: 0.05, random, maxDelayMs: 1 });
  const base = await listen(api);
  try {
    const answers: { status: number; body: string }[] = [];
    for (let k = 0; k < 20; k++) answers.push(await get(`${base}/emoji`));
    assert.equal(answers.filter((a) => a.status === 500).length, 1);
    for (const ok of answers.filter((a) => a.status === 200)) assert.ok((EMOJIS as readonly string[]).includes((JSON.parse(ok.body) as { emoji: string }).emoji));
  } finally {
    api.close();
  }
});

test('web renders the api emoji, answers 502 when api fails or is unreachable', async () => {
  let fail = false;
  let hostSeen = '';
  const api = http.createServer((req, res) => {
    hostSeen = req.headers.host ?? '';
    res.writeHead(fail ? 500 : 200, { 'content-type': 'application/json' });
    res.end(fail ? '{}' : JSON.stringify({ emoji: '🦄', caller: 'web.demo.serviceaccount.identity.weft.cluster.local' }));
  });
  const apiUrl = await listen(api);
  const web = createWebServer({ apiUrl, apiAuthority: 'api.demo:80' });
  const base = await listen(web);
  try {
    const ok = await get(`${base}/`);
    assert.equal(ok.status, 200);
    assert.match(ok.body, /🦄/);
    assert.match(ok.body, /web\.demo\.serviceaccount/);
    assert.equal(hostSeen, 'api.demo:80', 'the api is called by its service authority');
    fail = true;
    assert.equal((await get(`${base}/`)).status, 502);
    assert.equal((await get(`${base}/healthz`)).status, 200);
  } finally {
    web.close();
    api.close();
  }
  const orphan = createWebServer({ apiUrl });
  const b2 = await listen(orphan);
  try {
    const r = await get(`${b2}/`);
    assert.equal(r.status, 502);
    assert.match(r.body, /api unreachable/);
  } finally {
    orphan.close();
  }
});

test('traffic: one request per tick at 1/rps, counted by status', async () => {
  assert.equal(intervalForRate(20), 50);
  assert.equal(intervalForRate(5000), 1);
  assert.throws(() => intervalForRate(0), /positive/);
  let seen = 0;
  const target = http.createServer((_req, res) => {
    seen++;
    res.end('ok');
  });
  const url = await listen(target);
  let tick: (() => void) | undefined;
  let every = 0;
  const gen = startTraffic({ targetUrl: url, rps: 20, setInterval: (fn, ms) => ((tick = fn), (every = ms), {}) });
  try {
    assert.equal(every, 50);
    for (let k = 0; k < 3; k++) tick!();
    const end = Date.now() + 5_000;
    while ((gen.counts.get(200) ?? 0) < 3 && Date.now() < end) await new Promise((r) => setTimeout(r, 10));
    assert.equal(seen, 3);
    assert.equal(gen.counts.get(200), 3);
  } finally {
    gen.stop();
    target.close();
  }
});
