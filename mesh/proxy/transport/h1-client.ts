/**
 * The HTTP/1.1 client for upstreams: undici's connection pools and request API, loaded piece by
 * piece. undici's index also loads fetch, WebSocket, caches and more: measured here, a proxy with
 * the whole package sits at ~76 MB RSS after its first requests, ~60 MB with only these two
 * modules. The lockfile pins undici; the proxy's integration tests exercise these paths.
 */
import { createRequire } from 'node:module';
import type { Agent, Dispatcher } from 'undici';

const require = createRequire(import.meta.url);
const UndiciAgent = require('undici/lib/dispatcher/agent.js') as typeof Agent;
const apiRequest = require('undici/lib/api/api-request.js') as (this: Dispatcher, opts: Dispatcher.RequestOptions) => Promise<Dispatcher.ResponseData>;

export interface H1Pool {
  request(opts: Dispatcher.RequestOptions): Promise<Dispatcher.ResponseData>;
  close(): Promise<void>;
}

/** Keep-alive pools per origin; undici's own timeouts are off (the proxy's apply). */
export function createH1Pool(opts: { keepAliveTimeoutMs: number; connectTimeoutMs: number }): H1Pool {
  const agent = new UndiciAgent({ keepAliveTimeout: opts.keepAliveTimeoutMs, headersTimeout: 0, bodyTimeout: 0, connect: { timeout: opts.connectTimeoutMs } });
  return {
    request: (o) => apiRequest.call(agent, o),
    close: () => agent.destroy(),
  };
}
