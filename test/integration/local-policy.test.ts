/**
 * Local mode's authorization policy, end to end with the real CLI: a topology with policy settings
 * runs `weft policy` as a third control-plane process and every served workload's proxy asks it for
 * its table. `web` has `defaultInboundPolicy: all-authenticated`: meshed clients pass, a plain
 * request straight to its proxy's inbound gets 403 (but its probe path passes). `api` is under a Server + AuthorizationPolicy +
 * MeshTLSAuthentication that allows only client-a: client-b gets 403 through the mesh, until an
 * edit of the policy file allows it too (live, no restart). `status` and `logs` know weft-policy.
 * Needs `npm run build` first (or WEFT_TEST_CLI, see test/helpers/local-run.ts).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { identityName } from '../../mesh/config/identity';
import { echoServer, freePorts, IDLE_APP, readRunState, until, waitNoneLeft, weft, withDir } from '../helpers/local-run';

const A_ID = identityName({ serviceAccount: 'client-a', namespace: 'shop' });
const B_ID = identityName({ serviceAccount: 'client-b', namespace: 'shop' });

const topology = (apiPort: number, webPort: number): string => `namespace: shop
policy: [policy.yaml]          # relative to this file
workloads:
  - name: api
    command: [node, -e, ${JSON.stringify(echoServer('api'))}]
    ports: [{ port: ${apiPort}, name: http }]
  - name: web
    command: [node, -e, ${JSON.stringify(echoServer('web'))}]
    ports: [{ port: ${webPort} }]
    defaultInboundPolicy: all-authenticated
    probes: [{ path: /ready }]
  - name: client-a
    command: [node, -e, ${JSON.stringify(IDLE_APP)}]
    upstreams: [api, web]
  - name: client-b
    command: [node, -e, ${JSON.stringify(IDLE_APP)}]
    upstreams: [api, web]
`;

const policy = (identities: string[]): string => `apiVersion: policy.weft.dev/v1beta1
kind: Server
metadata: {name: api-http, namespace: shop}
spec:
  podSelector: {matchLabels: {app: api}}
  port: http
---
apiVersion: policy.weft.dev/v1alpha1
kind: MeshTLSAuthentication
metadata: {name: allowed-clients, namespace: shop}
spec:
  identities: [${identities.map((i) => JSON.stringify(i)).join(', ')}]
---
apiVersion: policy.weft.dev/v1alpha1
kind: AuthorizationPolicy
metadata: {name: api-callers, namespace: shop}
spec:
  targetRef: {group: policy.weft.dev, kind: Server, name: api-http}
  requiredAuthenticationRefs:
  - {group: policy.weft.dev, kind: MeshTLSAuthentication, name: allowed-clients}
`;

async function get(url: string): Promise<{ status: number; body: string }> {
  const r = await fetch(url, { signal: AbortSignal.timeout(15_000) });
  return { status: r.status, body: await r.text() };
}

test('policy in local mode: all-authenticated on a workload, a Server allowing only client-a, a live edit allowing client-b; weft-policy in status and logs', { timeout: 240_000 }, async () => {
  await withDir(async (dir, env) => {
    const file = join(dir, 'topology.yaml');
    const policyFile = join(dir, 'policy.yaml');
    const apiPort = await freePorts();
    let webPort = await freePorts();
    while (webPort === apiPort) webPort = await freePorts();
    await writeFile(policyFile, policy([A_ID]));
    await writeFile(file, topology(apiPort, webPort));

    const up = await weft(['local', 'up', '-f', file, '--detach'], env, 150_000);
    assert.equal(up.code, 0, up.stdout + up.stderr);
    assert.match(up.stdout, new RegExp(`policy service: 127\\.0\\.0\\.1:\\d+ \\(pid \\d+; default all-unauthenticated; edits to ${policyFile.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')} apply live\\)`));
    const state = await readRunState(env);
    const policySvc = state.controlPlane?.find((c) => c.name === 'weft-policy');
    assert.ok(policySvc, `state.json records weft-policy: ${JSON.stringify(state.controlPlane)}`);
    const w = Object.fromEntries(state.workloads.map((x) => [x.name, x]));
    const url = (client: string, svc: string): string => `http://${w[client]!.upstreams[svc]!}/`;

    // web: all-authenticated. Meshed clients pass (with their identity); a plain request to its proxy's inbound does not.
    assert.deepEqual(await get(url('client-a', `web.shop:${webPort}`)), { status: 200, body: `web ${webPort} from ${A_ID}` });
    assert.deepEqual(await get(url('client-b', `web.shop:${webPort}`)), { status: 200, body: `web ${webPort} from ${B_ID}` });
    const plain = await get(`http://${w['web']!.proxy.inbound!}/`);
    assert.equal(plain.status, 403, plain.body);
    assert.match(plain.body, /all-authenticated/);
    assert.match(plain.body, /no mesh identity/);
    assert.equal((await get(`http://${w['web']!.proxy.inbound!}/ready`)).status, 200, 'its probe path passes unauthenticated');

    // api: a Server that only client-a may call; client-b is refused through the mesh.
    assert.deepEqual(await get(url('client-a', `api.shop:${apiPort}`)), { status: 200, body: `api ${apiPort} from ${A_ID}` });
    const refused = await get(url('client-b', `api.shop:${apiPort}`));
    assert.equal(refused.status, 403, refused.body);
    assert.match(refused.body, /Server shop\/api-http/);
    assert.match(refused.body, new RegExp(B_ID.replace(/\./g, '\\.')));
    const plainApi = await get(`http://${w['api']!.proxy.inbound!}/`);
    assert.equal(plainApi.status, 403, 'the Server denies unauthenticated clients too');

    // The live edit: allow client-b as well; the policy service re-reads the file and pushes the new table.
    const editedAt = Date.now();
    await writeFile(policyFile, policy([A_ID, B_ID]));
    const allowed = await until(async () => (await get(url('client-b', `api.shop:${apiPort}`))).status === 200, 60_000, 250);
    assert.ok(allowed, 'client-b is allowed after the edit');
    console.log(`policy edit applied in ${Date.now() - editedAt} ms`);
    assert.deepEqual(await get(url('client-b', `api.shop:${apiPort}`)), { status: 200, body: `api ${apiPort} from ${B_ID}` });
    assert.deepEqual(await get(url('client-a', `api.shop:${apiPort}`)), { status: 200, body: `api ${apiPort} from ${A_ID}` });

    const st = await weft(['local', 'status'], env);
    assert.equal(st.code, 0, st.stdout + st.stderr);
    assert.match(st.stdout, new RegExp(`^weft-policy pid ${policySvc.pid} running · ${policySvc.addr} · listening$`, 'm'));
    const logs = await weft(['local', 'logs', 'weft-policy'], env);
    assert.equal(logs.code, 0, logs.stderr);
    assert.match(logs.stdout, /policy service listening on/);
    assert.match(logs.stdout, /policy\.yaml changed: policy reloaded/);

    const down = await weft(['local', 'down'], env);
    assert.equal(down.code, 0, down.stdout + down.stderr);
    assert.deepEqual(await waitNoneLeft(dir), [], 'no process left, weft-policy included');
  });
});

test('without policy settings there is no policy service', { timeout: 120_000 }, async () => {
  await withDir(async (dir, env) => {
    const file = join(dir, 'topology.yaml');
    await writeFile(file, `workloads:\n  - name: api\n    command: [node, -e, ${JSON.stringify(echoServer('api'))}]\n    ports: [{ port: ${await freePorts()} }]\n`);
    const up = await weft(['local', 'up', '-f', file, '--detach'], env, 150_000);
    assert.equal(up.code, 0, up.stdout + up.stderr);
    assert.doesNotMatch(up.stdout, /policy service/);
    const state = await readRunState(env);
    assert.deepEqual(state.controlPlane?.map((c) => c.name), ['weft-identity', 'weft-destination']);
    const plain = await get(`http://${state.workloads[0]!.proxy.inbound!}/`);
    assert.equal(plain.status, 200, 'all-unauthenticated: a plain request passes');
  });
});

test('a policy file with an error: weft-policy exits at start naming the file, nothing is left running', { timeout: 120_000 }, async () => {
  await withDir(async (dir, env) => {
    const file = join(dir, 'topology.yaml');
    await writeFile(join(dir, 'bad.yaml'), `apiVersion: policy.weft.dev/v1beta1\nkind: Server\nmetadata: {name: s, namespace: default}\nspec: {podSelector: {}, port: 70000}\n`);
    await writeFile(file, `policy: [bad.yaml]\nworkloads:\n  - name: api\n    command: [node, -e, ${JSON.stringify(echoServer('api'))}]\n    ports: [{ port: ${await freePorts()} }]\n`);
    const up = await weft(['local', 'up', '-f', file, '--detach'], env, 150_000);
    assert.equal(up.code, 1, up.stdout + up.stderr);
    assert.match(up.stderr, /weft-policy exited at start: .*bad\.yaml.*70000/);
    assert.match(up.stderr, /stopped everything that had started/);
    assert.deepEqual(await waitNoneLeft(dir), []);
  });
});
