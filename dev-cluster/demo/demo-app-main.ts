/**
 * The entry of one demo app process (`weft demo --app <name>`), configured by environment variables
 * the local runner sets: PORT, UPSTREAM_<SERVICE>_URL and UPSTREAM_<SERVICE>_AUTHORITY, and per app
 * VERSION (voting) and RPS (vote-bot). The process exits when its stdin closes (the runner died)
 * and on SIGTERM/SIGINT.
 */
import type http from 'node:http';
import { bindGrpc, shutdownGrpc } from './demo-grpc';
import { createEmojiServer } from './emoji.app';
import { startVoteBot, summarize } from './vote-bot.app';
import { createVotingServer } from './voting.app';
import { createWebServer, grpcBackends } from './web.app';

export const DEMO_APPS = ['emoji', 'voting', 'web', 'vote-bot'] as const;
export type DemoAppName = (typeof DEMO_APPS)[number];

function need(env: NodeJS.ProcessEnv, key: string): string {
  const v = env[key];
  if (!v) throw new Error(`${key} is not set (the demo's topology sets it)`);
  return v;
}

function portFrom(env: NodeJS.ProcessEnv): number {
  const raw = need(env, 'PORT');
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1 || n > 65535) throw new Error(`PORT must be a port 1..65535, got "${raw}"`);
  return n;
}

function numberFrom(env: NodeJS.ProcessEnv, key: string, dflt: number): number {
  const raw = env[key];
  if (raw === undefined || raw === '') return dflt;
  const n = Number(raw);
  if (!Number.isFinite(n) || n <= 0) throw new Error(`${key} must be a positive number, got "${raw}"`);
  return n;
}

/** Where the apps listen: 127.0.0.1 (local mode: only their proxy reaches them) unless HOST says otherwise (a pod: 0.0.0.0). */
const hostFrom = (env: NodeJS.ProcessEnv): string => env['HOST'] || '127.0.0.1';

function listenHttp(server: http.Server, host: string, port: number, name: string): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', (e: NodeJS.ErrnoException) => reject(new Error(e.code === 'EADDRINUSE' ? `${name}: port ${port} is already in use` : `${name}: ${e.message}`)));
    server.listen({ host, port }, () => resolve());
  });
}

/** Runs the named app until it is told to stop; resolves with the exit code. */
export async function runDemoApp(name: string, env: NodeJS.ProcessEnv = process.env): Promise<number> {
  const say = (line: string): void => void process.stdout.write(`${line}\n`);
  let stop: () => Promise<void> | void;
  const host = hostFrom(env);
  switch (name) {
    case 'emoji': {
      const server = createEmojiServer();
      const port = await bindGrpc(server, portFrom(env), host);
      say(`emoji: gRPC on ${host}:${port}`);
      stop = () => shutdownGrpc(server);
      break;
    }
    case 'voting': {
      const version = env['VERSION'] || 'v1';
      const server = createVotingServer(version);
      const port = await bindGrpc(server, portFrom(env), host);
      say(`voting ${version}: gRPC on ${host}:${port}`);
      stop = () => shutdownGrpc(server);
      break;
    }
    case 'web': {
      const backends = grpcBackends({
        emojiUrl: need(env, 'UPSTREAM_EMOJI_URL'),
        emojiAuthority: env['UPSTREAM_EMOJI_AUTHORITY'],
        votingUrl: need(env, 'UPSTREAM_VOTING_URL'),
        votingAuthority: env['UPSTREAM_VOTING_AUTHORITY'],
      });
      const server = createWebServer(backends);
      const port = portFrom(env);
      await listenHttp(server, host, port, name);
      say(`web: HTTP on ${host}:${port}; emoji at ${env['UPSTREAM_EMOJI_URL']}, voting at ${env['UPSTREAM_VOTING_URL']} (gRPC, h2c to the proxy)`);
      stop = () => {
        server.close();
        server.closeAllConnections();
      };
      break;
    }
    case 'vote-bot': {
      const rps = numberFrom(env, 'RPS', 10);
      const bot = startVoteBot({ webUrl: need(env, 'UPSTREAM_WEB_URL'), authority: env['UPSTREAM_WEB_AUTHORITY'], rps, random: Math.random });
      say(`vote-bot: ${rps} votes per second to web`);
      const report = setInterval(() => say(summarize(bot.counts)), 30_000);
      report.unref();
      stop = () => {
        clearInterval(report);
        bot.stop();
        say(summarize(bot.counts));
      };
      break;
    }
    default:
      process.stderr.write(`unknown demo app "${name}" (known: ${DEMO_APPS.join(', ')})\n`);
      return 2;
  }
  await new Promise<void>((resolve) => {
    const done = (): void => resolve();
    process.once('SIGTERM', done);
    process.once('SIGINT', done);
    // The runner holds our stdin open; when it dies, stdin ends and we go too.
    process.stdin.once('end', done);
    process.stdin.once('close', done);
    process.stdin.resume();
  });
  await stop();
  process.stdin.destroy();
  return 0;
}
