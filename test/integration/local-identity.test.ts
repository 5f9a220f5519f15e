/**
 * Local mode's identity service, end to end with the real CLI: every proxy's certificate comes from
 * `weft identity` (a per-run anchor and issuer, a token file per workload). With 8 s leaves, traffic
 * through the mesh for more than two lifetimes loses no request while every proxy's certificate is
 * renewed; forged and foreign tokens are refused with the reason, and a proxy holding a foreign
 * token never becomes ready and logs why; a control-plane process that cannot start stops the run.
 * Needs `npm run build` first.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import net from 'node:net';
import { join } from 'node:path';
import { identityName } from '../../mesh/config/identity';
import { mintLocalToken } from '../../mesh/control/identity/token';
import { obtainCertificate, IdentityRequestError } from '../../mesh/proxy/tls/identity-client';
import { spawnProxy } from '../../dev-cluster/local/proxy-process';
import { echoServer, freePorts, IDLE_APP, proxyMetric, readRunState, waitNoneLeft, weft, withDir } from '../helpers/local-run';

const LIFETIME_S = 8;
const API_ID = identityName({ serviceAccount: 'api', namespace: 'shop' });
const CLIENT_ID = identityName({ serviceAccount: 'client', namespace: 'shop' });

const topology = (apiPort: number): string => `namespace: shop
workloads:
  - name: api
    command: [node, -e, ${JSON.stringify(echoServer('api'))}]
    ports: [{ port: ${apiPort} }]
  - name: client
    command: [node, -e, ${JSON.stringify(IDLE_APP)}]
    upstreams: [api]
`;

test('certificates from the identity service: renewed under load with zero failed requests; forged and foreign tokens refused', { timeout: 180_000 }, async () => {
  await withDir(async (dir, env) => {
    const file = join(dir, 'topology.yaml');
    await writeFile(file, topology(await freePorts()));
    const up = await weft(['local', 'up', '-f', file, '--detach', '--cert-lifetime', `${LIFETIME_S}s`], env);
    assert.equal(up.code, 0, up.stdout + up.stderr);
    assert.match(up.stdout, new RegExp(`identity service: https://127\\.0\\.0\\.1:\\d+ \\(pid \\d+, leaves ${LIFETIME_S}s\\)`));
    const state = await readRunState(env);
    const identitySvc = state.controlPlane!.find((c) => c.name === 'weft-identity')!;
    const api = state.workloads.find((w) => w.name === 'api')!;
    const client = state.workloads.find((w) => w.name === 'client')!;
    const url = `http://${Object.values(client.upstreams)[0]!}/`;
    const meshDir = join(env['WEFT_STATE_DIR']!, 'mesh');
    // No key is written for a proxy by the runner: each proxy's directory holds what it obtained itself.
    assert.ok(existsSync(join(meshDir, 'control-plane', 'tokens', 'api.token')));

    const before = await Promise.all([api, client].map(async (w) => ({ refresh: await proxyMetric(w.proxy.admin, 'identity_cert_refresh_count'), expiry: await proxyMetric(w.proxy.admin, 'identity_cert_expiration_timestamp_seconds') })));
    for (const b of before) assert.ok(b.refresh !== undefined && b.refresh >= 1 && b.expiry !== undefined, JSON.stringify(before));

    // Four clients, each one request after the other, for more than two certificate lifetimes.
    const runForMs = (2 * LIFETIME_S + 6) * 1000;
    const end = Date.now() + runForMs;
    let ok = 0;
    const failures: string[] = [];
    await Promise.all(
      Array.from({ length: 4 }, async () => {
        while (Date.now() < end) {
          try {
            const r = await fetch(url);
            const body = await r.text();
            if (r.status === 200 && body.endsWith(`from ${CLIENT_ID}`)) ok++;
            else failures.push(`${r.status} ${body}`);
          } catch (e) {
            failures.push((e as Error).message);
          }
        }
      }),
    );
    assert.deepEqual(failures.slice(0, 5), [], `${failures.length} failed of ${ok + failures.length}`);
    assert.ok(ok > 100, `requests sent: ${ok}`);

    const after = await Promise.all([api, client].map(async (w) => ({ refresh: await proxyMetric(w.proxy.admin, 'identity_cert_refresh_count'), expiry: await proxyMetric(w.proxy.admin, 'identity_cert_expiration_timestamp_seconds') })));
    for (const [i, a] of after.entries()) {
      assert.ok(a.refresh! >= before[i]!.refresh! + 2, `renewed at least twice in ${runForMs / 1000}s: ${JSON.stringify({ before: before[i], after: a })}`);
      assert.ok(a.expiry! >= before[i]!.expiry! + LIFETIME_S, `the expiry moved: ${JSON.stringify({ before: before[i], after: a })}`);
    }
    const apiLog = await readFile(api.proxy.log, 'utf8');
    assert.ok((apiLog.match(/identity: certificate obtained/g) ?? []).length >= 3, 'the api proxy logged each certificate');
    console.log(`renewal: ${ok} requests in ${runForMs / 1000}s, 0 failed; refreshes api ${before[0]!.refresh}→${after[0]!.refresh}, client ${before[1]!.refresh}→${after[1]!.refresh}`);

    // Tokens: a forged one (another secret) and a foreign one (client's valid token asking for api's name).
    const anchors = await readFile(join(meshDir, 'control-plane', 'ca.crt'), 'utf8');
    const clientToken = (await readFile(join(meshDir, 'control-plane', 'tokens', 'client.token'), 'utf8')).trim();
    const ask = (token: string, sub: string): Promise<unknown> => obtainCertificate({ addr: identitySvc.addr, trustAnchorsPem: anchors, token, identity: API_ID, dir: join(dir, sub) });
    await assert.rejects(ask(mintLocalToken(randomBytes(32), { sa: 'api', ns: 'shop', ttl: 600 }), 'forged'), (e: IdentityRequestError) => {
      assert.equal(e.status, 403);
      assert.equal(e.code, 'bad-token');
      assert.match(e.message, /token refused: token signature is invalid/);
      return true;
    });
    await assert.rejects(ask(clientToken, 'foreign'), (e: IdentityRequestError) => {
      assert.equal(e.status, 403);
      assert.equal(e.code, 'identity-mismatch');
      assert.match(e.message, new RegExp(`csr asks for ${API_ID.replace(/\./g, '\\.')} but the token is for ServiceAccount shop/client`));
      return true;
    });
    // The same token asking for its own name is fine: the refusal above is about the name, not the token.
    const own = await obtainCertificate({ addr: identitySvc.addr, trustAnchorsPem: anchors, token: clientToken, identity: CLIENT_ID, dir: join(dir, 'own') });
    assert.equal(own.identity, CLIENT_ID);
    assert.ok(own.notAfter.getTime() - Date.now() <= LIFETIME_S * 1000 + 1000, 'the run gives short leaves');

    // A proxy holding the foreign token never becomes ready and says why.
    const tokenFile = join(dir, 'foreign.token');
    await writeFile(tokenFile, clientToken);
    await mkdir(join(dir, 'impostor'));
    await assert.rejects(
      spawnProxy({
        name: 'impostor',
        startTimeoutMs: 12_000, // long enough for a refusal on a loaded machine; it never becomes ready
        env: {
          WEFT_PROXY_IDENTITY_ADDR: identitySvc.addr,
          WEFT_PROXY_IDENTITY_NAME: API_ID,
          WEFT_PROXY_IDENTITY_TOKEN_FILE: tokenFile,
          WEFT_PROXY_IDENTITY_DIR: join(dir, 'impostor'),
          WEFT_PROXY_TRUST_ANCHORS: join(meshDir, 'control-plane', 'ca.crt'),
        },
      }),
      (e: Error) => {
        assert.match(e.message, /did not become ready/);
        assert.match(e.message, /certificate request failed/);
        assert.match(e.message, /ServiceAccount shop\/client/, 'the log names the mismatch');
        return true;
      },
    );
    assert.equal(existsSync(join(dir, 'impostor', 'tls.crt')), false, 'no certificate was written');
  });
});

test('a control-plane process that cannot start: a clear error, everything started is stopped', { timeout: 60_000 }, async () => {
  await withDir(async (dir, env) => {
    const blocker = net.createServer();
    await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', r));
    const taken = (blocker.address() as net.AddressInfo).port;
    try {
      const file = join(dir, 'topology.yaml');
      await writeFile(file, topology(await freePorts()));
      const r = await weft(['local', 'up', '-f', file, '--detach'], { ...env, WEFT_LOCAL_IDENTITY_ADDR: `127.0.0.1:${taken}` });
      assert.equal(r.code, 1, r.stdout + r.stderr);
      assert.match(r.stderr, /weft-identity exited at start: .*EADDRINUSE/);
      assert.match(r.stderr, /stopped everything that had started/);
      assert.deepEqual(await waitNoneLeft(dir), [], 'no control-plane process, proxy or app left');
      assert.equal(existsSync(join(env['WEFT_STATE_DIR']!, 'state.json')), false);
    } finally {
      await new Promise((r) => blocker.close(r));
    }
  });
});
