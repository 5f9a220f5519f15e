/**
 * The live metrics inside a real VS Code: a REAL local-mode demo (`weft demo --detach`, its state in
 * a temp dir given to code-server as WEFT_STATE_DIR), code-server with the built extension, driven by
 * playwright-core in Debian's chromium. In order, as a person would work: open the Weft activity-bar
 * container and see the demo's services with numbers that change, the failing ones marked; sort;
 * hide and show the view and keep the sparklines; open the service panel of `voting` and see its
 * charts, edges with identities and the 90/10 split; open a Deployment manifest of a demo workload
 * and see its CodeLens; stop the metrics API for a while (SIGSTOP) and see one quiet message, no
 * notification, and the recovery; look at everything in the light and high-contrast themes.
 * Skipped (with the reason) when code-server or chromium is missing, unless WEFT_E2E_REQUIRED is set.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { FrameLocator, Page } from 'playwright-core';
import { fetchStat } from '../../../mesh/control/metrics-api/client';
import { openBrowser, type EditorBrowser } from './browser';
import { REPO_ROOT, startCodeServer, type CodeServer } from './code-server';
import { decide, probe } from './prerequisites';
import { openFile, openViewContainer, recorded, runningExtension, screenshot, waitForWorkbench } from './workbench';

const verdict = decide(probe());
if (verdict.kind === 'skip') console.log(`# ${verdict.reason}`);

const WEFT = join(REPO_ROOT, 'dist', 'weft.js');
const VIEW_TITLE = 'Weft Mesh';

async function until<T>(get: () => T | Promise<T>, ok: (v: T) => boolean, what: string, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await get();
    if (ok(v)) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what} (last: ${JSON.stringify(v)})`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** The inner frame of the webview that shows `selector` (the sidebar view and panels are all `.webview.ready`). */
async function webviewWith(page: Page, selector: string, timeoutMs = 30_000): Promise<FrameLocator> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const frames = page.locator('iframe.webview.ready');
    const n = await frames.count();
    for (let i = 0; i < n; i++) {
      const inner = page.frameLocator('iframe.webview.ready').nth(i).frameLocator('#active-frame');
      if ((await inner.locator(selector).count().catch(() => 0)) > 0) return inner;
    }
    if (Date.now() > deadline) throw new Error(`no webview shows ${selector}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

interface RowText {
  name: string;
  health: string;
  success: string;
  rps: string;
  p99: string;
}

async function rows(view: FrameLocator, kind: 'service' | 'workload'): Promise<RowText[]> {
  return view.locator(`section[data-kind="${kind}"] tr.row`).evaluateAll((trs) =>
    trs.map((tr) => ({
      name: tr.getAttribute('data-name') ?? '',
      health: tr.getAttribute('data-health') ?? '',
      success: tr.querySelector('.col-success')?.textContent?.trim() ?? '',
      rps: tr.querySelector('.col-rps')?.textContent?.trim() ?? '',
      p99: tr.querySelector('.col-p99')?.textContent?.trim() ?? '',
    })),
  );
}

const percent = (s: string): number => Number(s.replace('%', ''));

describe('Weft live metrics in a real VS Code, against a real local demo', () => {
  const skip = verdict.kind === 'skip' ? verdict.reason : false;
  let root: string | undefined;
  let stateDir: string | undefined;
  let metricsApi: string | undefined;
  let supervisorPid: number | undefined;
  let server: CodeServer | undefined;
  let browser: EditorBrowser | undefined;
  const page = () => {
    if (!browser) throw new Error('browser not started');
    return browser.page;
  };
  const e2e = (name: string, fn: () => Promise<void>) => test(name, { skip }, () => recorded(page(), name.slice(0, 40).replace(/\W+/g, '-'), fn));
  const demo = (args: string[]) =>
    spawnSync(process.execPath, [WEFT, 'demo', ...args], { cwd: root, env: { ...process.env, WEFT_STATE_DIR: stateDir }, encoding: 'utf8', timeout: 120_000 });

  before(async () => {
    if (verdict.kind === 'skip') return;
    if (verdict.kind === 'fail') throw new Error(verdict.reason);
    const build = spawnSync(process.execPath, ['scripts/build.mjs'], { cwd: REPO_ROOT, encoding: 'utf8' });
    if (build.status !== 0) throw new Error(`build failed:\n${build.stderr}`);
    root = mkdtempSync(join(tmpdir(), 'weft-e2e-demo-'));
    stateDir = join(root, 'state'); // the runner owns it (removes it on stop)
    const up = demo(['--detach']);
    if (up.status !== 0) throw new Error(`weft demo --detach failed (${up.status}):\n${up.stdout}\n${up.stderr}`);
    const state = JSON.parse(readFileSync(join(stateDir, 'state.json'), 'utf8')) as { metricsApi: string; supervisorPid: number };
    metricsApi = state.metricsApi;
    supervisorPid = state.supervisorPid;
    // Numbers first: the services have traffic and one of them fails some of it.
    await until(
      async () => {
        const r = await fetchStat(state.metricsApi, { kind: 'service', namespace: 'demo', window: '30s' });
        return r.ok ? r.body.rows.filter((x) => x.podsWithData > 0 && x.rps > 0).map((x) => x.name) : [];
      },
      (names) => ['emoji', 'voting', 'web'].every((n) => names.includes(n)),
      'demo services with traffic',
      60_000,
    );
    server = await startCodeServer({ env: { WEFT_STATE_DIR: stateDir, KUBECONFIG: join(stateDir, 'no-kubeconfig') }, settings: { 'workbench.colorTheme': 'Default Dark Modern' } });
    // A manifest of a demo workload, as the user would have it in the repository.
    writeFileSync(
      join(server.workspace, 'voting-deploy.yaml'),
      `# The voting workload of the demo (runs in local mode)\napiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: voting\n  namespace: demo\nspec:\n  replicas: 1\n  selector:\n    matchLabels: { app: voting }\n  template:\n    metadata:\n      labels: { app: voting }\n    spec:\n      containers:\n        - name: voting\n          image: weft/demo-voting:0.1.0\n          ports: [{ containerPort: 8080, name: grpc }]\n---\napiVersion: v1\nkind: Service\nmetadata:\n  name: voting\n  namespace: demo\nspec:\n  selector: { app: voting }\n  ports: [{ port: 8080, name: grpc }]\n`,
    );
    browser = await openBrowser();
    await waitForWorkbench(browser.page, server.url);
  });

  after(async () => {
    try {
      if (supervisorPid) try { process.kill(supervisorPid, 'SIGCONT'); } catch { /* gone */ }
      if (browser && browser.blocked.size > 0) console.log(`# blocked non-loopback hosts: ${[...browser.blocked].join(', ')}`);
    } finally {
      await browser?.close().catch(() => undefined);
      await server?.stop();
      if (stateDir && root) {
        const down = demo(['--stop']);
        if (down.status !== 0) {
          console.log(`# weft demo --stop: ${down.status} ${down.stdout} ${down.stderr}`);
          spawnSync(process.execPath, [WEFT, 'local', 'down'], { cwd: root, env: { ...process.env, WEFT_STATE_DIR: stateDir }, encoding: 'utf8', timeout: 60_000 });
        }
      }
      if (root) rmSync(root, { recursive: true, force: true });
    }
  });

  /** Opens the Weft container with the Cluster view collapsed and the side bar widened, and returns the metrics webview. */
  async function metricsView(): Promise<FrameLocator> {
    const sidebar = await openViewContainer(page(), VIEW_TITLE);
    const cluster = sidebar.locator('.pane-header', { hasText: /^Cluster/i }).first();
    if ((await cluster.getAttribute('aria-expanded')) === 'true') await cluster.click();
    const metricsHeader = sidebar.locator('.pane-header', { hasText: /Service Metrics/i }).first();
    if ((await metricsHeader.getAttribute('aria-expanded')) === 'false') await metricsHeader.click();
    return webviewWith(page(), 'section[data-kind="service"]');
  }

  async function widenSidebar(width: number): Promise<void> {
    const box = await page().locator('.part.sidebar').boundingBox();
    if (!box) return;
    // The sash sits on the side bar's right edge.
    await page().mouse.move(box.x + box.width - 1, box.y + box.height / 2);
    await page().mouse.down();
    await page().mouse.move(box.x + width, box.y + box.height / 2, { steps: 8 });
    await page().mouse.up();
  }

  /** Ctrl+K Ctrl+T (Preferences: Color Theme), then the theme's row (the pick previews as it moves; Enter keeps it). */
  async function setColorTheme(label: string): Promise<void> {
    await page().keyboard.press('Control+K');
    await page().keyboard.press('Control+T');
    const input = page().locator('.quick-input-widget .quick-input-box input');
    await input.fill(label);
    await page().locator('.quick-input-list .monaco-list-row', { hasText: label }).first().waitFor({ timeout: 10_000 });
    await page().keyboard.press('Enter');
    await page().locator('.quick-input-widget').waitFor({ state: 'hidden', timeout: 5_000 });
  }

  e2e('the metrics view lists the demo services with real numbers that change, failing ones marked', async () => {
    await widenSidebar(560);
    const view = await metricsView();
    const services = await until(() => rows(view, 'service'), (r) => ['emoji', 'voting', 'web'].every((n) => r.some((x) => x.name === n && /^\d+\.\d\d%$/.test(x.success) && /^\d+\.\d$/.test(x.rps))), 'service rows with numbers');
    console.log(`# services: ${services.map((r) => `${r.name} ${r.success} ${r.rps}rps ${r.health}`).join(' | ')}`);
    assert.ok(services.every((r) => r.name !== 'vote-bot'), 'vote-bot serves nothing');
    const workloads = await rows(view, 'workload');
    assert.ok(['emoji', 'voting', 'voting-canary', 'web', 'vote-bot'].every((n) => workloads.some((w) => w.name === n)), JSON.stringify(workloads));
    // A failing service (the demo's vote for :poop: always fails): below the 99 % threshold, marked (red glyph and row class).
    const failing = await until(async () => (await rows(view, 'service')).filter((r) => r.health === 'failing'), (f) => f.length > 0, 'a failing service');
    for (const f of failing) assert.ok(percent(f.success) < 99, `${f.name} ${f.success}`);
    assert.equal((await rows(view, 'service')).find((r) => r.name === 'emoji')?.health, 'ok', 'emoji never fails');
    assert.ok((await view.locator('section[data-kind="service"] tr.row.failing svg.glyph.failing').count()) >= 1);
    const first = JSON.stringify(await rows(view, 'service'));
    const second = await until(async () => JSON.stringify(await rows(view, 'service')), (t) => t !== first, 'the numbers to change', 30_000);
    assert.notEqual(second, first);
    await until(() => view.locator('section[data-kind="service"] svg.spark polyline').first().getAttribute('points'), (p) => (p ?? '').split(' ').length >= 5, 'sparklines with a few points');
    await screenshot(page(), '10-metrics-view-dark');
  });

  e2e('clicking a column header sorts the rows, clicking again flips the order', async () => {
    const view = await metricsView();
    const header = view.locator('section[data-kind="workload"] th.col-rps button.sort');
    await header.click();
    await until(() => view.locator('section[data-kind="workload"] th.col-rps').getAttribute('aria-sort'), (s) => s === 'descending', 'rps descending');
    const desc = (await rows(view, 'workload')).map((r) => (r.rps === '–' ? -1 : Number(r.rps)));
    assert.deepEqual(desc, [...desc].sort((a, b) => b - a), `rps descending: ${desc}`);
    await view.locator('section[data-kind="workload"] th.col-success button.sort').click();
    await until(() => view.locator('section[data-kind="workload"] th.col-success').getAttribute('aria-sort'), (s) => s === 'ascending', 'success ascending (worst first)');
    const succ = (await rows(view, 'workload')).filter((r) => r.success !== '–').map((r) => percent(r.success));
    assert.deepEqual(succ, [...succ].sort((a, b) => a - b), `success ascending: ${succ}`);
    await view.locator('section[data-kind="workload"] th.col-name button.sort').click();
    await until(() => view.locator('section[data-kind="workload"] th.col-name').getAttribute('aria-sort'), (s) => s === 'ascending', 'back to names');
  });

  e2e('hidden and shown again, the view keeps its sparklines and resumes with a fresh snapshot', async () => {
    const view = await metricsView();
    const points = async () => ((await view.locator('section[data-kind="service"] tr.row[data-name="web"] svg.spark polyline').first().getAttribute('points')) ?? '').split(' ').length;
    const before = await points();
    // Another container hides the view (VS Code disposes a hidden webview's iframe content).
    await page().locator('.activitybar .action-label[aria-label^="Explorer"]').first().click();
    await new Promise((r) => setTimeout(r, 4_000));
    const shown = await metricsView();
    const after = await until(async () => ((await shown.locator('section[data-kind="service"] tr.row[data-name="web"] svg.spark polyline').first().getAttribute('points').catch(() => '')) ?? '').split(' ').length, (n) => n >= before, 'the sparkline history back');
    assert.ok(after >= before, `${after} points after, ${before} before`);
    const t1 = await until(() => shown.locator('.footer').innerText().then((t) => t.match(/updated (\S+)/)?.[1]), (t) => t !== undefined, 'an update time');
    await until(async () => (await shown.locator('.footer').innerText()).match(/updated (\S+)/)?.[1], (t) => t !== t1, 'polling again after show', 10_000);
  });

  e2e('the service panel of voting shows charts, edges with mTLS identities and the 90/10 split', async () => {
    const view = await metricsView();
    await view.locator('section[data-kind="service"] tr.row[data-name="voting"]').click();
    const panel = await webviewWith(page(), '.tiles');
    await panel.locator('.head h1', { hasText: 'voting' }).waitFor({ timeout: 15_000 });
    await until(() => panel.locator('figure.chart-box svg.chart polyline').count(), (n) => n >= 5, 'success, rps and three latency lines', 30_000);
    assert.deepEqual(await panel.locator('figure.chart-box figcaption > span:first-child').allInnerTexts(), ['Success rate', 'Requests per second', 'Latency']);
    const inbound = panel.locator('section.edges[data-direction="inbound"] tr.edge[data-peer="web"]');
    await inbound.waitFor({ timeout: 15_000 });
    const edge = await inbound.innerText();
    assert.match(edge, /web\.demo\.serviceaccount\.identity\.weft\.cluster\.local/);
    assert.match(edge, /voting\.demo\.serviceaccount\.identity\.weft\.cluster\.local/);
    assert.match(edge, /mTLS/);
    const split = await until(() => panel.locator('section.split tr.backend').allInnerTexts(), (r) => r.length === 2 && r.every((t) => /\d+\.\d/.test(t)), 'the split with observed RPS');
    assert.match(split[0]!, /voting\s+90%/);
    assert.match(split[1]!, /voting-canary\s+10%/);
    await screenshot(page(), '11-service-panel-dark');
  });

  e2e('a Deployment manifest of a demo workload shows its live success rate and RPS as a CodeLens', async () => {
    await openFile(page(), 'voting-deploy.yaml');
    const lens = page().locator('.monaco-editor .codelens-decoration', { hasText: /success · / });
    await lens.first().waitFor({ timeout: 30_000 });
    const texts = (await lens.allInnerTexts()).map((t) => t.trim());
    assert.equal(texts.length, 2, `one lens for the Deployment, one for the Service: ${texts.join(' | ')}`);
    for (const t of texts) assert.match(t, /^[✔⚠✖] \d+(\.\d)?% success · \d+\.\d rps$/);
    await screenshot(page(), '12-codelens-dark');
    // A click on the Deployment's lens opens the workload's panel.
    await lens.first().locator('a').first().click();
    await page().locator('.tab', { hasText: 'voting · workload metrics' }).first().waitFor({ timeout: 15_000 });
    const panel = await webviewWith(page(), '.head vscode-badge:text-is("workload")');
    await panel.locator('section.edges[data-direction="inbound"] tr.edge[data-peer="web"]').waitFor({ timeout: 15_000 });
    assert.equal(await panel.locator('section.split').count(), 0, 'a workload has no split');
    await page().locator('.tab', { hasText: 'voting-deploy.yaml' }).first().click();
  });

  e2e('a metrics API that stops answering: one quiet inline message, no notification, and recovery', async () => {
    assert.ok(supervisorPid && metricsApi);
    const view = await metricsView();
    process.kill(supervisorPid, 'SIGSTOP'); // the metrics API lives in the supervisor
    try {
      await view.locator('.status.error', { hasText: 'metrics API not answering — retrying' }).waitFor({ timeout: 30_000 });
      await screenshot(page(), '13-metrics-not-answering');
      assert.equal(await view.locator('.status').count(), 1);
      assert.equal(await page().locator('.notifications-toasts .notification-toast').count(), 0, 'no notification');
    } finally {
      process.kill(supervisorPid, 'SIGCONT');
    }
    await view.locator('.status').waitFor({ state: 'detached', timeout: 45_000 });
    assert.ok((await rows(view, 'service')).length >= 3);
    assert.equal(await page().locator('.notifications-toasts .notification-toast').count(), 0, 'no notification after recovery either');
  });

  e2e('light and high-contrast themes', async () => {
    for (const [theme, name, cls] of [['Light Modern', 'light', /\bvs\b(?!-dark)/], ['Dark High Contrast', 'hc', /\bhc-black\b/]] as const) {
      await setColorTheme(theme);
      await until(() => page().locator('.monaco-workbench').getAttribute('class'), (c) => cls.test(c ?? ''), `the ${name} theme`, 15_000);
      await page().locator('.tab', { hasText: 'voting · svc metrics' }).first().click();
      await new Promise((r) => setTimeout(r, 2_500));
      await screenshot(page(), `14-service-panel-${name}`);
      await page().locator('.tab', { hasText: 'voting-deploy.yaml' }).first().click();
      await metricsView();
      await new Promise((r) => setTimeout(r, 2_500));
      await screenshot(page(), `15-metrics-view-${name}`);
    }
  });

  e2e('the extension activated on demand (not at startup), and how long it took', async () => {
    const row = await runningExtension(page(), 'Weft Service Mesh');
    const ms = /(Startup )?Activation: (\d+)ms/.exec(row);
    assert.ok(ms, `the row shows an activation time: ${JSON.stringify(row)}`);
    assert.equal(ms[1], undefined, 'not activated at startup');
    console.log(`# weft activation with the metrics features (code loading + activate()): ${ms[2]} ms`);
  });
});
