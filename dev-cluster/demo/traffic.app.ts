/**
 * The demo's traffic generator: calls `web` at a steady rate (open loop: a request starts every
 * 1/rps seconds whether or not the previous ones finished), through its own meshed proxy.
 */
import http from 'node:http';

export interface TrafficOptions {
  targetUrl: string;
  /** Host header (the service authority) so the mesh's metrics name the service. */
  authority?: string;
  rps: number;
  /** Injected for tests. */
  setInterval?: (fn: () => void, ms: number) => { unref?: () => void };
}

export interface TrafficGenerator {
  /** Responses by status (0 = transport error). */
  counts: Map<number, number>;
  stop(): void;
}

/** The interval between request starts for a rate; at least 1 ms. */
export function intervalForRate(rps: number): number {
  if (!(rps > 0)) throw new Error(`rate must be positive, got ${rps}`);
  return Math.max(1, 1000 / rps);
}

export function startTraffic(o: TrafficOptions): TrafficGenerator {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 16 });
  const counts = new Map<number, number>();
  const count = (status: number): void => void counts.set(status, (counts.get(status) ?? 0) + 1);
  const url = new URL('/', o.targetUrl);
  const fire = (): void => {
    const req = http.get(url, { agent, headers: o.authority ? { host: o.authority } : {} }, (res) => {
      res.resume();
      res.on('end', () => count(res.statusCode ?? 0));
    });
    req.setTimeout(10_000, () => req.destroy());
    req.on('error', () => count(0));
  };
  const every = o.setInterval ?? ((fn, ms) => setInterval(fn, ms));
  const timer = every(fire, intervalForRate(o.rps));
  return {
    counts,
    stop: () => {
      clearInterval(timer as NodeJS.Timeout);
      agent.destroy();
    },
  };
}
