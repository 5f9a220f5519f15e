// Micro-benchmark of the balancer's hot path: ns per pick() + release().
// Run: node --import tsx test/bench/balance.bench.ts   (on demand; not part of the test suite)
// Real clock (performance.now) and Math.random, as in the proxy. Two shapes: one request at a
// time, and 32 requests in flight (each pick releases the lease taken 32 picks earlier).
import { P2cBalancer, type Lease } from '../../mesh/proxy/balance/p2c';

interface Ep {
  id: string;
  rtt: number;
}

function bench(n: number, inFlight: number, iterations: number): number {
  const eps: Ep[] = Array.from({ length: n }, (_, i) => ({ id: `10.0.0.${i}:8080`, rtt: 1 + (i % 7) }));
  const lb = new P2cBalancer<Ep>((e) => e.id);
  lb.setEndpoints(eps);
  const ring: (Lease<Ep> | undefined)[] = new Array(inFlight).fill(undefined);
  let sink = 0;
  const run = (count: number) => {
    for (let i = 0; i < count; i++) {
      const slot = i % inFlight;
      const old = ring[slot];
      if (old) old.release({ ok: true, rttMs: old.endpoint.rtt });
      const l = lb.pick()!;
      sink += l.endpoint.rtt;
      ring[slot] = l;
    }
  };
  run(200_000); // warm-up (JIT)
  const t0 = process.hrtime.bigint();
  run(iterations);
  const ns = Number(process.hrtime.bigint() - t0) / iterations;
  for (const l of ring) l?.release({ ok: true });
  if (sink < 0) console.log(sink);
  return ns;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

console.log(`node ${process.version}, loadavg ${(await import('node:os')).loadavg().map((x) => x.toFixed(2)).join(' ')}`);
console.log('endpoints  in-flight  ns/(pick+release)  (median of 5 runs × 1,000,000)');
for (const inFlight of [1, 32]) {
  for (const n of [3, 10, 100]) {
    const runs = Array.from({ length: 5 }, () => bench(n, inFlight, 1_000_000));
    console.log(`${String(n).padStart(9)}  ${String(inFlight).padStart(9)}  ${median(runs).toFixed(0).padStart(17)}   [${runs.map((r) => r.toFixed(0)).join(', ')}]`);
  }
}
