/**
 * The entry of one demo app process (`weft demo --app <name>`), configured by environment variables
 * the local runner sets: PORT, UPSTREAM_<SERVICE>_URL and UPSTREAM_<SERVICE>_AUTHORITY, and per app
 * FAILURE_RATE (api) and RPS (traffic). The process exits when its stdin closes (the runner died)
 * and on SIGTERM/SIGINT.
 */
import type http from 'node:http';
import { createApiServer } from './api.app';
import { startTraffic } from './traffic.app';
import { createWebServer } from './web.app';

export const DEMO_APPS = ['web', 'api', 'traffic'] as const;
export type DemoAppName = (typeof DEMO_APPS)[number];

function need(env: NodeJS.ProcessEnv, key: string): string {
  const v = env[key];
  if (!v) throw new Error(`${key} is not set`);
  return v;
}

function numberFrom(env: NodeJS.ProcessEnv, key: string, dflt: number): number {
  const raw = env[key];
  if (raw === undefined || raw === '') return dflt;
  const n = Number(raw);
  if (!Number.isFinite(n) || n < 0) throw new Error(`${key} must be a non-negative number, got "${raw}"`);
  return n;
}

function listen(server: http.Server, port: number, name: string): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', (e: NodeJS.ErrnoException) => reject(new Error(e.code === 'EADDRINUSE' ? `${name}: port ${port} is already in use` : `${name}: ${e.message}`)));
    server.listen({ host: '127.0.0.1', port }, () => {
      process.stdout.write(`${name} listening on 127.0.0.1:${port}\n`);
      resolve();
    });
  });
}

/** Runs the named app until it is told to stop; resolves with the exit code. */
export async function runDemoApp(name: string, env: NodeJS.ProcessEnv = process.env): Promise<number> {
  let stop: () => void;
  switch (name) {
    case 'api': {
      const server = createApiServer({ failureRate: numberFrom(env, 'FAILURE_RATE', 0.05) });
      await listen(server, Number(need(env, 'PORT')), name);
      stop = () => server.close();
      break;
    }
    case 'web': {
      const server = createWebServer({ apiUrl: need(env, 'UPSTREAM_API_URL'), apiAuthority: env['UPSTREAM_API_AUTHORITY'] });
      await listen(server, Number(need(env, 'PORT')), name);
      stop = () => {
        server.close();
        server.closeAllConnections();
      };
      break;
    }
    case 'traffic': {
      const rps = numberFrom(env, 'RPS', 20);
      const gen = startTraffic({ targetUrl: need(env, 'UPSTREAM_WEB_URL'), authority: env['UPSTREAM_WEB_AUTHORITY'], rps });
      process.stdout.write(`traffic: ${rps} requests per second to web\n`);
      stop = () => gen.stop();
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
  stop();
  process.stdin.destroy();
  return 0;
}
