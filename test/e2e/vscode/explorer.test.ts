/**
 * The Weft explorer and the namespace commands inside a real VS Code: code-server with the built
 * extension, KUBECONFIG pointing at the fake Kubernetes API (started here, on loopback), driven by
 * playwright-core in Debian's chromium. In order, as a person would work: open the Weft view and
 * see the namespaces with their meshed badge; run "Mesh: Inject Namespace" from the palette, pick
 * a namespace, see the annotation land in the API and the badge change; accept the restart and see
 * the deployments patched; remove injection from the context menu; see a namespace deleted
 * elsewhere disappear; point the kubeconfig nowhere and see the welcome view with its buttons, then
 * recover; look at it in the light theme; read the activation time.
 * Skipped (with the reason) when code-server or chromium is missing, unless WEFT_E2E_REQUIRED is set.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import { ANNOTATIONS } from '../../../mesh/config/annotations';
import { findResourceType, kubeconfigYaml, startFakeKubeApi, type FakeKubeApi, type KubeObject } from '../../fixtures/kube-api';
import { openBrowser, type EditorBrowser } from './browser';
import { REPO_ROOT, startCodeServer, writeUserSettings, type CodeServer } from './code-server';
import { decide, probe } from './prerequisites';
import {
  clickNotificationButton,
  contextMenu,
  openViewContainer,
  pickQuickItem,
  recorded,
  runCommand,
  runningExtension,
  screenshot,
  treeRow,
  treeRowDescription,
  waitForWorkbench,
} from './workbench';

const verdict = decide(probe());
if (verdict.kind === 'skip') console.log(`# ${verdict.reason}`);

const RESTARTED_AT = 'kubectl.kubernetes.io/restartedAt';
const type = (group: string, version: string, plural: string) => {
  const t = findResourceType(group, version, plural);
  if (!t) throw new Error(`fake API has no ${plural}`);
  return t;
};
const NAMESPACES = type('', 'v1', 'namespaces');
const PODS = type('', 'v1', 'pods');
const DEPLOYMENTS = type('apps', 'v1', 'deployments');

function deployment(namespace: string, name: string, replicas: number): KubeObject {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { namespace, name },
    spec: { replicas, selector: { matchLabels: { app: name } }, template: { metadata: { labels: { app: name } }, spec: { containers: [{ name, image: `${name}:1` }] } } },
    status: { readyReplicas: replicas },
  } as KubeObject;
}

function pod(namespace: string, name: string, app: string, meshed: boolean): KubeObject {
  const containers = [{ name: app, image: `${app}:1` }, ...(meshed ? [{ name: 'weft-proxy', image: 'weft/proxy:0.1.0' }] : [])];
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { namespace, name, labels: { app } },
    spec: { serviceAccountName: app, containers },
    status: { phase: 'Running', containerStatuses: containers.map((c) => ({ name: c.name, ready: true, restartCount: 0, image: c.image, imageID: '' })) },
  } as KubeObject;
}

async function until<T>(get: () => T | Promise<T>, ok: (v: T) => boolean, what: string, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await get();
    if (ok(v)) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what} (last: ${JSON.stringify(v)})`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** A loopback port nobody listens on (bound, then released). */
async function closedPort(): Promise<number> {
  return new Promise((ok, fail) => {
    const s = createServer();
    s.once('error', fail);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => ok(port));
    });
  });
}

describe('Weft explorer in a real VS Code', () => {
  const skip = verdict.kind === 'skip' ? verdict.reason : false;
  let api: FakeKubeApi | undefined;
  let server: CodeServer | undefined;
  let browser: EditorBrowser | undefined;
  let dir: string | undefined;
  let kubeconfig = '';
  const page = () => {
    if (!browser) throw new Error('browser not started');
    return browser.page;
  };
  const store = () => {
    if (!api) throw new Error('fake API not started');
    return api.store;
  };
  const annotationsOf = (t: typeof NAMESPACES, ns: string, name: string): Record<string, string> => {
    try {
      return (store().get(t, ns, name) as { metadata: { annotations?: Record<string, string> } }).metadata.annotations ?? {};
    } catch {
      return {};
    }
  };
  const templateAnnotations = (ns: string, name: string): Record<string, string> =>
    (store().get(DEPLOYMENTS, ns, name) as unknown as { spec: { template: { metadata?: { annotations?: Record<string, string> } } } }).spec.template.metadata?.annotations ?? {};
  const e2e = (name: string, fn: () => Promise<void>) => test(name, { skip }, () => recorded(page(), `explorer-${name.slice(0, 36).replace(/\W+/g, '-')}`, fn));

  before(async () => {
    if (verdict.kind === 'skip') return;
    if (verdict.kind === 'fail') throw new Error(verdict.reason);
    api = await startFakeKubeApi({ namespaces: ['default', 'kube-system', 'shop', 'billing', 'weft'] });
    const s = api.store;
    s.patch(NAMESPACES, '', 'billing', 'application/merge-patch+json', { metadata: { annotations: { [ANNOTATIONS.inject]: 'enabled' } } });
    s.create(DEPLOYMENTS, 'shop', deployment('shop', 'web', 2));
    s.create(DEPLOYMENTS, 'shop', deployment('shop', 'api', 1));
    s.create(DEPLOYMENTS, 'billing', deployment('billing', 'ledger', 1));
    s.create(DEPLOYMENTS, 'weft', deployment('weft', 'weft-identity', 1));
    s.create(PODS, 'shop', pod('shop', 'web-5d8f-a1', 'web', false));
    s.create(PODS, 'shop', pod('shop', 'web-5d8f-b2', 'web', false));
    s.create(PODS, 'shop', pod('shop', 'api-77c4-c3', 'api', false));
    s.create(PODS, 'billing', pod('billing', 'ledger-6f-d4', 'ledger', true));
    s.create(PODS, 'weft', pod('weft', 'weft-identity-9a-e5', 'weft-identity', false));
    dir = mkdtempSync(join(tmpdir(), 'weft-e2e-explorer-'));
    kubeconfig = join(dir, 'kubeconfig');
    writeFileSync(kubeconfig, kubeconfigYaml({ server: api.url, contextName: 'kind-weft-dev' }));
    server = await startCodeServer({ env: { KUBECONFIG: kubeconfig }, settings: { 'workbench.colorTheme': 'Default Dark Modern' } });
    browser = await openBrowser();
    await waitForWorkbench(browser.page, server.url);
  });

  after(async () => {
    try {
      if (browser && browser.blocked.size > 0) console.log(`# blocked non-loopback hosts: ${[...browser.blocked].join(', ')}`);
    } finally {
      await browser?.close().catch(() => undefined);
      // A local demo a failed test left running: stop it before its folder goes.
      if (server && existsSync(join(server.workspace, '.weft', 'local', 'state.json'))) {
        spawnSync(process.execPath, [join(REPO_ROOT, 'dist', 'weft.js'), 'local', 'down'], { cwd: server.workspace, stdio: 'ignore', timeout: 60_000 });
      }
      await server?.stop();
      await api?.close();
      if (dir) rmSync(dir, { recursive: true, force: true });
    }
  });

  e2e('the explorer lists the namespaces with their meshed badge', async () => {
    await openViewContainer(page(), 'Weft Mesh');
    await treeRow(page(), 'kind-weft-dev').waitFor({ timeout: 20_000 });
    for (const ns of ['billing', 'default', 'kube-system', 'shop', 'weft']) await treeRow(page(), ns).waitFor({ timeout: 20_000 });
    await until(() => treeRowDescription(treeRow(page(), 'billing')), (d) => d === 'meshed', 'billing shown as meshed');
    assert.equal(await treeRowDescription(treeRow(page(), 'shop')), '');
    assert.equal(await treeRowDescription(treeRow(page(), 'weft')), 'control plane');
    assert.match(await treeRowDescription(treeRow(page(), 'kind-weft-dev')), /^1\/5 ns meshed$/);
    // Expand shop: its workloads with meshed/total pods.
    await treeRow(page(), 'shop').click();
    await treeRow(page(), 'web').waitFor({ timeout: 10_000 });
    assert.equal(await treeRowDescription(treeRow(page(), 'web')), '0/2 meshed');
    assert.equal(await treeRowDescription(treeRow(page(), 'api')), '0/1 meshed');
    await screenshot(page(), 'explorer-1-namespaces-dark');
  });

  e2e('"Mesh: Inject Namespace" from the palette: the annotation lands and the badge changes', async () => {
    await runCommand(page(), 'Mesh: Inject Namespace');
    await page().locator('.quick-input-widget .quick-input-list .monaco-list-row').first().waitFor({ timeout: 15_000 });
    await screenshot(page(), 'explorer-2-inject-quick-pick');
    const offered = await pickQuickItem(page(), 'shop');
    // Not-yet-meshed namespaces first; the meshed one is marked.
    assert.ok(offered.some((t) => /^billing .*meshed/.test(t)), `billing is marked meshed: ${offered.join(' | ')}`);
    assert.ok(offered.findIndex((t) => t.startsWith('shop')) < offered.findIndex((t) => t.startsWith('billing')), `injectable first: ${offered.join(' | ')}`);
    await until(() => annotationsOf(NAMESPACES, '', 'shop')[ANNOTATIONS.inject], (v) => v === 'enabled', 'the annotation in the API');
    // The watch brings it back to the tree within seconds; three pods still lack the proxy.
    await until(() => treeRowDescription(treeRow(page(), 'shop')), (d) => d === 'meshed · 3 pods to restart', 'the meshed badge on shop');
    await page().locator('.notifications-toasts .notification-toast', { hasText: /Restart its 2 workloads now/ }).waitFor({ timeout: 10_000 });
    await screenshot(page(), 'explorer-3-injected-restart-offered');
  });

  e2e('accepting the restart patches every deployment of the namespace (rolling restart)', async () => {
    assert.equal(templateAnnotations('shop', 'web')[RESTARTED_AT], undefined);
    await clickNotificationButton(page(), /Restart its 2 workloads now/, 'Restart');
    const web = await until(() => templateAnnotations('shop', 'web')[RESTARTED_AT], (v) => v !== undefined, 'web restarted');
    const apiAt = await until(() => templateAnnotations('shop', 'api')[RESTARTED_AT], (v) => v !== undefined, 'api restarted');
    assert.ok(!Number.isNaN(Date.parse(web)) && web === apiAt, `one timestamp for the rollout: ${web} ${apiAt}`);
    assert.equal(templateAnnotations('billing', 'ledger')[RESTARTED_AT], undefined, 'other namespaces untouched');
    await page().locator('.notifications-toasts .notification-toast', { hasText: /Rolling restart of 2 workloads in shop started/ }).waitFor({ timeout: 10_000 });
    // The new pods come up meshed (as the injector would do): the tree follows by watch.
    for (const p of ['web-5d8f-a1', 'web-5d8f-b2', 'api-77c4-c3']) store().delete(PODS, 'shop', p);
    store().create(PODS, 'shop', pod('shop', 'web-66aa-f6', 'web', true));
    store().create(PODS, 'shop', pod('shop', 'web-66aa-g7', 'web', true));
    store().create(PODS, 'shop', pod('shop', 'api-88bb-h8', 'api', true));
    await until(() => treeRowDescription(treeRow(page(), 'web')), (d) => d === '2/2 meshed', 'web fully meshed');
    await until(() => treeRowDescription(treeRow(page(), 'shop')), (d) => d === 'meshed', 'shop without pods to restart');
    await treeRow(page(), 'web').click();
    await treeRow(page(), 'web-66aa-f6').waitFor({ timeout: 10_000 });
    assert.equal(await treeRowDescription(treeRow(page(), 'web-66aa-f6')), 'proxy ready');
    await screenshot(page(), 'explorer-4-restarted-meshed');
  });

  e2e('the context menu of one workload restarts only that workload', async () => {
    const before = { web: templateAnnotations('shop', 'web')[RESTARTED_AT], api: templateAnnotations('shop', 'api')[RESTARTED_AT] };
    await new Promise((r) => setTimeout(r, 1_100)); // a later second than the namespace's restart
    await contextMenu(page(), treeRow(page(), 'api'), 'Restart Workloads');
    await until(() => templateAnnotations('shop', 'api')[RESTARTED_AT], (v) => v !== before.api, 'api restarted again');
    assert.equal(templateAnnotations('shop', 'web')[RESTARTED_AT], before.web, 'web untouched');
    await page().locator('.notifications-toasts .notification-toast', { hasText: /Rolling restart of shop\/api started/ }).waitFor({ timeout: 10_000 });
  });

  e2e('the context menu of a meshed namespace removes injection', async () => {
    await contextMenu(page(), treeRow(page(), 'billing'), 'Remove Namespace Injection');
    await until(() => annotationsOf(NAMESPACES, '', 'billing')[ANNOTATIONS.inject], (v) => v === undefined, 'the annotation removed');
    await until(() => treeRowDescription(treeRow(page(), 'billing')), (d) => d === '1 meshed pod', 'billing no longer meshed');
    await clickNotificationButton(page(), /no longer meshed/, 'Later');
  });

  e2e('a namespace deleted elsewhere disappears from the tree', async () => {
    store().delete(NAMESPACES, '', 'billing');
    await treeRow(page(), 'billing').waitFor({ state: 'detached', timeout: 15_000 });
    assert.match(await treeRowDescription(treeRow(page(), 'kind-weft-dev')), /^1\/4 ns meshed$/);
  });

  e2e('"Mesh: Check Mesh" lists every check with ✔/✖ and the next step in the Weft output', async () => {
    await runCommand(page(), 'Mesh: Check Mesh');
    const toast = page().locator('.notifications-toasts .notification-toast', { hasText: /Check Mesh: \d+ checks/ }).first();
    await toast.waitFor({ timeout: 30_000 });
    // The fake cluster has a weft namespace but no control-plane pods: some checks fail, with hints.
    assert.match(await toast.innerText(), /Check Mesh: \d+ checks, \d+ failed ✖/);
    const output = page().locator('.part.panel .monaco-editor .view-lines');
    const text = await until(() => output.innerText().then((t) => t.replace(/\u00a0/g, ' '), () => ''), (t) => /✖ /.test(t) && /next step: /.test(t), 'check results in the output');
    assert.match(text, /✔ /, 'some checks pass (the API answers)');
    await screenshot(page(), 'explorer-5-check-mesh');
    await page().locator('.notifications-toasts .notification-toast .codicon-notifications-clear, .notifications-toasts .notification-toast .codicon-close').first().click().catch(() => undefined);
  });

  e2e('a local mesh (its state file) shows as "Local mesh" with its workloads, and goes when it stops', async () => {
    const s = server;
    assert.ok(s);
    // Live PIDs (this test process) stand for the processes; one proxy's PID is dead.
    const dead = spawnSync(process.execPath, ['-e', '0']).pid ?? 0;
    const proc = (name: string, workload: string, proxyPid = process.pid) => ({
      name, workload, namespace: 'emojivoto', identity: `${workload}.emojivoto.serviceaccount.identity.weft.cluster.local`,
      app: { pid: process.pid, log: '/dev/null', command: ['node'] }, proxy: { pid: proxyPid, log: '/dev/null', admin: '127.0.0.1:4191' }, ports: [], upstreams: {},
    });
    const state = { version: 1, status: 'running', supervisorPid: process.pid, topologyFile: join(s.workspace, 'demo.yaml'), startedAt: new Date().toISOString(), supervisorLog: '/dev/null',
      workloads: [proc('web', 'web'), proc('voting-0', 'voting'), proc('voting-1', 'voting', dead), proc('emoji', 'emoji')] };
    const dirPath = join(s.workspace, '.weft', 'local');
    mkdirSync(dirPath, { recursive: true });
    writeFileSync(join(dirPath, 'state.json'), JSON.stringify(state));
    await treeRow(page(), 'Local mesh').waitFor({ timeout: 20_000 });
    assert.equal(await treeRowDescription(treeRow(page(), 'Local mesh')), '3 workloads');
    await until(() => treeRowDescription(treeRow(page(), 'voting')), (d) => d === 'emojivoto · 1/2 up', 'voting with one proxy down');
    assert.equal(await treeRowDescription(treeRow(page(), 'emoji')), 'emojivoto');
    await screenshot(page(), 'explorer-6-local-mesh');
    rmSync(join(dirPath, 'state.json'));
    await treeRow(page(), 'Local mesh').waitFor({ state: 'detached', timeout: 20_000 });
  });

  e2e('an unreachable API shows the welcome view; Start Local Demo there shows the local mesh with live stats; it recovers on refresh', async () => {
    const good = kubeconfigYaml({ server: api?.url ?? '', contextName: 'kind-weft-dev' });
    writeFileSync(kubeconfig, kubeconfigYaml({ server: `http://127.0.0.1:${await closedPort()}`, contextName: 'kind-weft-dev' }));
    await runCommand(page(), 'Mesh: Refresh');
    const welcome = page().locator('.part.sidebar .welcome-view-content');
    await welcome.waitFor({ timeout: 20_000 });
    for (const b of ['Start Dev Cluster', 'Start Local Demo']) await welcome.locator('.monaco-button', { hasText: b }).first().waitFor({ timeout: 5_000 });
    assert.match(await welcome.innerText(), /The cluster of the current Kubernetes context does not answer/);
    // The header names the context and the cause; Show Details puts the whole cause and next step in the output.
    assert.match(await page().locator('.part.sidebar .pane-header', { hasText: /cluster/i }).first().innerText(), /kind-weft-dev: unreachable/);
    await welcome.locator('a, .monaco-button', { hasText: 'Show Details' }).first().click();
    const output = page().locator('.part.panel .monaco-editor .view-lines');
    await until(() => output.innerText().then((t) => t.replace(/\u00a0/g, ' '), () => ''), (t) => /cannot reach the Kubernetes API server at http:\/\/127\.0\.0\.1:\d+/.test(t) && /next step: check that the cluster is running/.test(t), 'the details in the Weft output');
    await screenshot(page(), 'explorer-7-unreachable-welcome');

    // The welcome view's Start Local Demo runs the bundled CLI (weft demo --detach) in the workspace:
    // the local mesh shows with its workloads and, once scraped twice, their success rate and RPS.
    await welcome.locator('.monaco-button', { hasText: 'Start Local Demo' }).first().click();
    await treeRow(page(), 'Local mesh').waitFor({ timeout: 90_000 });
    for (const w of ['web', 'emoji', 'voting', 'vote-bot']) await treeRow(page(), w).waitFor({ timeout: 30_000 });
    // A vote for one emoji always fails: once the bot has voted for it, voting's success rate is under 100 %.
    const rateOf = (d: string): number => Number(/ ([\d.]+)% · [\d.<]+ rps$/.exec(d)?.[1] ?? NaN);
    const voting = await until(() => treeRowDescription(treeRow(page(), 'voting')), (d) => rateOf(d) < 100, 'voting with live stats showing failures', 120_000);
    assert.match(voting, /^demo · \d+(\.\d)?% · [\d.]+ rps$/);
    // The cluster is still unreachable: one red row with the cause in its tooltip.
    assert.equal(await treeRowDescription(treeRow(page(), 'kind-weft-dev')), 'unreachable');
    await screenshot(page(), 'explorer-7b-local-demo');
    await runCommand(page(), 'Mesh: Stop Local Demo');
    await treeRow(page(), 'Local mesh').waitFor({ state: 'detached', timeout: 60_000 });
    await welcome.waitFor({ timeout: 20_000 });

    writeFileSync(kubeconfig, good);
    await runCommand(page(), 'Mesh: Refresh');
    await treeRow(page(), 'shop').waitFor({ timeout: 20_000 });
    await welcome.waitFor({ state: 'hidden', timeout: 10_000 });
  });

  e2e('the explorer in the light theme', async () => {
    const s = server;
    assert.ok(s);
    writeUserSettings(s.userDataDir, { 'workbench.colorTheme': 'Default Light Modern' });
    // VS Code applies a settings file change live; if the file watcher is slow, the palette does it.
    const light = page().locator('.monaco-workbench.vs:not(.vs-dark)');
    if (!(await light.waitFor({ timeout: 5_000 }).then(() => true, () => false))) {
      await runCommand(page(), 'Preferences: Toggle between Light/Dark Themes');
      await light.waitFor({ timeout: 15_000 });
    }
    await page().keyboard.press('Escape');
    await treeRow(page(), 'shop').hover();
    await page().locator('.monaco-hover:not(.hidden), .workbench-hover-container').first().waitFor({ timeout: 10_000 }).catch(() => undefined);
    await screenshot(page(), 'explorer-8-light-tooltip');
  });

  e2e('"Mesh: Switch Cluster Context" lists the kubeconfig\'s contexts and reconnects to the one picked', async () => {
    const url = api?.url ?? '';
    // A second context (same API server, another name) beside the first.
    const doc = parseYaml(kubeconfigYaml({ server: url, contextName: 'kind-weft-dev' })) as { clusters: { name: string }[]; users: { name: string }[]; contexts: { name: string; context: { cluster: string; user: string } }[] };
    doc.clusters.push({ ...doc.clusters[0], name: 'staging' });
    doc.users.push({ ...doc.users[0], name: 'staging' });
    doc.contexts.push({ name: 'staging', context: { ...doc.contexts[0].context, cluster: 'staging', user: 'staging' } });
    writeFileSync(kubeconfig, stringifyYaml(doc));
    await runCommand(page(), 'Mesh: Switch Cluster Context');
    const offered = await pickQuickItem(page(), 'staging');
    assert.ok(offered.some((t) => /^kind-weft-dev .*current/.test(t)), `the current one is marked: ${offered.join(' | ')}`);
    await treeRow(page(), 'staging').waitFor({ timeout: 20_000 });
    await treeRow(page(), 'shop').waitFor({ timeout: 20_000 });
    await screenshot(page(), 'explorer-10-switched-context');
  });

  e2e('activation time as VS Code reports it', async () => {
    const row = await runningExtension(page(), 'Weft Service Mesh');
    await screenshot(page(), 'explorer-11-running-extensions');
    const ms = /(Startup )?Activation: (\d+)ms/.exec(row);
    assert.ok(ms, `the row shows an activation time: ${JSON.stringify(row)}`);
    assert.equal(ms[1], undefined, 'not activated at startup');
    console.log(`# weft activation (code loading + activate()), activated by the view: ${ms[2]} ms`);
  });
});
