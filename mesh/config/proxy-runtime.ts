/**
 * How the proxy's Node process is started: runtime settings that keep its memory near issue 2's
 * targets, each measured in docs/performance.md ("Proxy memory"). Every launch path applies them as
 * environment variables: spawnProxy (local mode, demo, tests, benchmarks), the injector's weft-proxy
 * container, and the mesh image (ENV in dev-cluster/image/Dockerfile, checked against these by
 * test/unit/config/proxy-runtime.test.ts).
 */

/**
 * Node/V8 flags for NODE_OPTIONS (only flags Node accepts there).
 * - `--max-semi-space-size=2` caps each of V8's two young-generation semi-spaces at 2 MB; by default
 *   they grow to 8–16 MB under load (~20 MB more RSS per proxy). Measured: ~4–5 % more time in GC
 *   per request; a 1 MB cap saved only ~2 MB more for twice that cost.
 * - `--max-old-space-size=1024` is there for the growth factor it implies, not as a limit the
 *   proxy is meant to reach. V8 lets the old generation grow to 4× what survived the last full GC
 *   when the heap limit is 2 GB or more (the default on a machine with 8 GB or more); below 2 GB the
 *   factor is at most 2×, falling linearly to 1.3× at 256 MB (V8's MaxGrowingFactor); at 1 GB ~1.6×. Measured in a
 *   64-connection closed loop through two mTLS proxies: peak RSS 90 / 87 → 72 / 71 MB (client /
 *   server), for ~1 / ~7 ms more GC per 1,000 requests (~2 % of their CPU); 2048 behaves as the default.
 */
export const PROXY_NODE_OPTIONS: readonly string[] = ['--max-semi-space-size=2', '--max-old-space-size=1024'];

/**
 * glibc gives each thread that calls malloc its own arena (V8's compiler and GC threads, libuv's
 * pool) and rarely returns their freed memory to the system; two arenas keep that in check (the
 * server proxy after a loop of full mTLS handshakes: ~170 → ~85 MB; no CPU cost measured).
 */
export const PROXY_MALLOC_ARENA_MAX = 2;

/** The environment every launch path of `weft proxy` sets. */
export const PROXY_RUNTIME_ENV: Readonly<Record<string, string>> = {
  NODE_OPTIONS: PROXY_NODE_OPTIONS.join(' '),
  MALLOC_ARENA_MAX: String(PROXY_MALLOC_ARENA_MAX),
};
