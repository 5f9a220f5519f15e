/**
 * Identity service throughput: certificates issued per second (target ≥ 300/s), measured two ways in the same run:
 * the certify() core alone, and over HTTPS on loopback (keep-alive connections, as many requests in flight as
 * CONCURRENCY). CSRs are made beforehand: their key generation is the proxies' cost, not the service's.
 * Run: node --import tsx test/bench/identity.bench.ts
 */
import * as https from 'node:https';
import { createDevCa } from '../../mesh/control/identity/ca';
import { certify } from '../../mesh/control/identity/certify';
import { startIdentityServer } from '../../mesh/control/identity/server';
import { LocalTokenVerifier, mintLocalToken } from '../../mesh/control/identity/token';
import { IDENTITY_SERVICE_ACCOUNT, identityName } from '../../mesh/config/identity';
import { CONTROL_PLANE_NAMESPACE } from '../../mesh/config/names';
import { createCsr } from '../../mesh/proxy/tls/identity-client';

const N = Number(process.env.N ?? 1500);
const CONCURRENCY = Number(process.env.CONCURRENCY ?? 16);
const SECRET = 'bench-secret-bench-secret-bench-secret';

async function pool<T>(items: T[], concurrency: number, fn: (item: T) => Promise<void>): Promise<void> {
  let i = 0;
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (i < items.length) await fn(items[i++]!);
  }));
}

const ca = await createDevCa();
const verifier = new LocalTokenVerifier(SECRET);
const requests = await Promise.all(
  Array.from({ length: N }, async (_, k) => {
    const sa = `sa${k % 50}`;
    const { csrPem } = await createCsr(identityName({ serviceAccount: sa, namespace: 'bench' }));
    return { csrPem, token: mintLocalToken(SECRET, { sa, ns: 'bench', ttl: 3600 }) };
  }),
);
console.log(`load: ${(await import('node:fs')).readFileSync('/proc/loadavg', 'utf8').trim()}`);

// Warm-up.
await pool(requests.slice(0, 100), CONCURRENCY, async (r) => {
  const res = await certify({ ...r, now: new Date() }, ca.issuer, verifier);
  if (!res.ok) throw new Error(res.reason);
});

let t0 = process.hrtime.bigint();
const cpu0 = process.cpuUsage();
await pool(requests, CONCURRENCY, async (r) => {
  const res = await certify({ ...r, now: new Date() }, ca.issuer, verifier);
  if (!res.ok) throw new Error(res.reason);
});
let s = Number(process.hrtime.bigint() - t0) / 1e9;
let cpu = process.cpuUsage(cpu0);
console.log(`certify() core:   ${(N / s).toFixed(0).padStart(6)} certificates/s  (${((s * 1000) / N).toFixed(2)} ms wall, ${((cpu.user + cpu.system) / 1000 / N).toFixed(2)} ms CPU each)`);

const server = await startIdentityServer({
  host: '127.0.0.1',
  port: 0,
  issuer: ca.issuer,
  trustAnchorPem: ca.anchor.certPem,
  verifier,
  serverCert: await ca.issue(identityName({ serviceAccount: IDENTITY_SERVICE_ACCOUNT, namespace: CONTROL_PLANE_NAMESPACE })),
});
const agent = new https.Agent({ keepAlive: true, maxSockets: CONCURRENCY, ca: ca.anchor.certPem });
const post = (body: string): Promise<number> =>
  new Promise((resolve, reject) => {
    const req = https.request(
      { host: '127.0.0.1', port: server.port, path: '/v1/certify', method: 'POST', agent, checkServerIdentity: () => undefined, headers: { 'content-type': 'application/json' } },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
const bodies = requests.map((r) => JSON.stringify({ csr: r.csrPem, token: r.token }));
await pool(bodies.slice(0, 100), CONCURRENCY, async (b) => void (await post(b)));
t0 = process.hrtime.bigint();
const cpu1 = process.cpuUsage();
let failed = 0;
await pool(bodies, CONCURRENCY, async (b) => {
  if ((await post(b)) !== 200) failed++;
});
s = Number(process.hrtime.bigint() - t0) / 1e9;
cpu = process.cpuUsage(cpu1);
console.log(`HTTPS /v1/certify: ${(N / s).toFixed(0).padStart(5)} certificates/s  (client and server in one process; ${((cpu.user + cpu.system) / 1000 / N).toFixed(2)} ms CPU each; ${failed} failed)`);
agent.destroy();
await server.close();
