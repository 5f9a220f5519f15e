/**
 * How the proxy's Node process is started: runtime settings that keep its memory near issue 2's
 * targets, each measured in docs/performance.md ("Proxy memory"). Every launch path applies them as
 * environment variables: spawnProxy (local mode, demo, tests, benchmarks), the injector's weft-proxy
 * container, and the mesh image (ENV in dev-cluster/image/Dockerfile, checked against these by
 * test/unit/config/proxy-runtime.test.ts).
 */

/**
 * Node/V8 flags for NODE_OPTIONS (only flags Node accepts there). `--max-semi-space-size=2` caps
 * each of V8's two young-generation semi-spaces at 2 MB; by default they grow to 8–16 MB under load
 * (~20 MB more RSS per proxy). Measured: ~4–5 % more time in GC per request; a 1 MB cap saved only
 * ~2 MB more for twice that cost.
 */
export const PROXY_NODE_OPTIONS: readonly string[] = ['--max-semi-space-size=2'];

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
