/** The metrics API's shared names and defaults (server, CLI and extension import them from here). */
import { CONTROL_PLANE_PORTS } from './ports';

/** `weft stat`'s default window, as Linkerd's `viz stat` (1 min). */
export const DEFAULT_STAT_WINDOW_MS = 60_000;
/** Shorter windows hold too few scrapes to mean anything. */
export const MIN_STAT_WINDOW_MS = 15_000;
/** How long scrapes are kept per proxy: the longest window one can ask for. */
export const MAX_STAT_WINDOW_MS = 10 * 60_000;
/** How often the metrics API scrapes each proxy's /metrics. */
export const DEFAULT_SCRAPE_INTERVAL_MS = 5_000;
/** A proxy that has not answered in this long counts as a failed scrape. */
export const DEFAULT_SCRAPE_TIMEOUT_MS = 2_000;
/** Where `weft stat` finds the API when no --api is given (local mode, port-forward). */
export const DEFAULT_METRICS_API_URL = `http://127.0.0.1:${CONTROL_PLANE_PORTS.metricsApi}`;
/** Environment variable that overrides DEFAULT_METRICS_API_URL for the CLI. */
export const METRICS_API_URL_ENV = 'WEFT_METRICS_API';

export const METRICS_API_PATHS = {
  stat: '/api/v1/stat',
  edges: '/api/v1/edges',
  health: '/healthz',
} as const;
