/**
 * How the proxy's Node process is started: runtime settings that keep its memory near issue 2's
 * targets, each measured in docs/performance.md ("Proxy memory"). Every launch path applies them as
 * environment variables: spawnProxy (local mode, demo, tests, benchmarks), the injector's weft-proxy
 * container, and the mesh image (ENV in dev-cluster/image/Dockerfile, checked against these by
 * test/unit/config/proxy-runtime.test.ts).
 */

/**
 * Node/V8 flags for NODE_OPTIONS (only flags Node accepts there). `--max-semi-space-size=1` caps
 * each of V8's two young-generation semi-spaces at 1 MB (the default grows them to 16 MB under load).
 */
export const PROXY_NODE_OPTIONS: readonly string[] = ['--max-semi-space-size=1'];

/**
 * glibc gives each thread that calls malloc its own arena (V8's compiler and GC threads, libuv's
 * pool) and rarely returns their freed memory to the system; two arenas keep that in check.
 */
export const PROXY_MALLOC_ARENA_MAX = 2;

/** The environment every launch path of `weft proxy` sets. */
export const PROXY_RUNTIME_ENV: Readonly<Record<string, string>> = {
  NODE_OPTIONS: PROXY_NODE_OPTIONS.join(' '),
  MALLOC_ARENA_MAX: String(PROXY_MALLOC_ARENA_MAX),
};
