/**
 * The manifest diagnostics inside a real VS Code: code-server with the built extension installed,
 * driven by playwright-core in Debian's chromium. One code-server serves the whole file; the tests
 * run in order, as a person would work: see the squiggle, read the hover, apply the quick fix, open
 * a YAML file that is not a manifest, type a mistake into a clean manifest.
 * Skipped (with the reason) when code-server or chromium is missing, unless WEFT_E2E_REQUIRED is set.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { ANNOTATIONS } from '../../../mesh/config/annotations';
import { DEFAULT_OPAQUE_PORTS } from '../../../mesh/config/names';
import { openBrowser, type EditorBrowser } from './browser';
import { startCodeServer, type CodeServer } from './code-server';
import { decide, probe } from './prerequisites';
import { applyQuickFix, goToLineEnd, hoverSquiggle, openFile, problemsInStatusBar, recorded, runningExtension, save, screenshot, squiggles, waitForWorkbench } from './workbench';

const verdict = decide(probe());
if (verdict.kind === 'skip') console.log(`# ${verdict.reason}`);

describe('Weft diagnostics in a real VS Code', () => {
  const skip = verdict.kind === 'skip' ? verdict.reason : false;
  let server: CodeServer | undefined;
  let browser: EditorBrowser | undefined;
  const page = () => {
    if (!browser) throw new Error('browser not started');
    return browser.page;
  };
  /** A test that leaves test/e2e/screenshots/failed-<name>.png behind when it fails. */
  const e2e = (name: string, fn: () => Promise<void>) => test(name, { skip }, () => recorded(page(), name.slice(0, 40).replace(/\W+/g, '-'), fn));

  before(async () => {
    if (verdict.kind === 'skip') return;
    if (verdict.kind === 'fail') throw new Error(verdict.reason);
    server = await startCodeServer();
    browser = await openBrowser();
    await waitForWorkbench(browser.page, server.url);
  });

  after(async () => {
    try {
      if (browser && browser.blocked.size > 0) console.log(`# blocked non-loopback hosts: ${[...browser.blocked].join(', ')}`);
    } finally {
      await browser?.close().catch(() => undefined);
      await server?.stop();
    }
  });

  e2e('a Postgres port that is not opaque in an injected namespace gets a squiggle', async () => {
    await openFile(page(), 'ledger-db.yaml');
    await squiggles(page()).first().waitFor({ timeout: 15_000 });
    await screenshot(page(), '1-squiggle');
    assert.equal(await squiggles(page()).count(), 1);
  });

  e2e('hovering the squiggle explains the rule, with its code and a documentation link', async () => {
    const hover = await hoverSquiggle(page());
    await hover.getByText('Documentation of WEFT1001').waitFor({ timeout: 5_000 });
    await screenshot(page(), '2-hover');
    const text = await hover.innerText();
    assert.match(text, /WEFT1001/);
    assert.match(text, /Server-speaks-first port not opaque/);
    assert.match(text, /Port 15432 \(tcp-postgresql\) speaks PostgreSQL/);
    assert.match(text, /the proxy waits for the client's first bytes/);
    await page().keyboard.press('Escape');
  });

  e2e('the quick fix adds the opaque-ports annotation and the squiggle disappears', async () => {
    const s = server;
    assert.ok(s);
    const offered = await applyQuickFix(page(), /Mark port 15432 opaque/);
    assert.ok(offered.some((t) => /Ignore WEFT1001/.test(t)), `the ignore fix is offered too: ${offered.join(' | ')}`);
    await squiggles(page()).first().waitFor({ state: 'detached', timeout: 5_000 });
    await save(page());
    await screenshot(page(), '3-quick-fix-applied');
    const text = readFileSync(join(s.workspace, 'ledger-db.yaml'), 'utf8');
    const value = new RegExp(`^ +${ANNOTATIONS.opaquePorts.replace(/\./g, '\\.')}: "([^"]*)"$`, 'm').exec(text)?.[1];
    assert.ok(value, `the pod template has the annotation:\n${text}`);
    // Setting the annotation replaces the default list, so the fix keeps the defaults and adds 15432.
    assert.deepEqual(value.split(',').map(Number), [...DEFAULT_OPAQUE_PORTS, 15432]);
    assert.match(text, /^# A Postgres on a non-default port/, 'the comment is kept');
  });

  e2e('YAML files that are not Kubernetes manifests get no diagnostics', async () => {
    // A compose file (VS Code calls it "Compose", not "yaml") and a kind config, which has apiVersion
    // and kind like a manifest: both mention Postgres ports that would be findings in a workload.
    for (const name of ['docker-compose.yaml', 'kind-cluster.yaml']) {
      await openFile(page(), name);
      // Longer than the debounce and than the first file needed to show its squiggle.
      await new Promise((ok) => setTimeout(ok, 1_500));
      await screenshot(page(), `4-not-a-manifest-${name.replace('.yaml', '')}`);
      assert.equal(await squiggles(page()).count(), 0, name);
    }
    // Nothing anywhere: the status bar counts every open file's diagnostics.
    assert.equal(await problemsInStatusBar(page()), 'No Problems');
  });

  e2e('typing a mistake into a clean manifest shows a squiggle within 2 s', async () => {
    await openFile(page(), 'web.yaml');
    await new Promise((ok) => setTimeout(ok, 1_000));
    assert.equal(await squiggles(page()).count(), 0, 'web.yaml starts clean');
    await goToLineEnd(page(), 28); // `              containerPort: 8080`
    for (let i = 0; i < 4; i++) await page().keyboard.press('Backspace');
    await page().keyboard.type('5433', { delay: 40 });
    const typed = Date.now();
    await squiggles(page()).first().waitFor({ timeout: 5_000 });
    const elapsed = Date.now() - typed;
    console.log(`# squiggle ${elapsed} ms after the last keystroke`);
    await page().keyboard.press('Escape');
    await screenshot(page(), '5-typed-mistake');
    assert.ok(elapsed <= 2_000, `squiggle after ${elapsed} ms`);
  });

  e2e('the extension activated lazily (on a YAML file, not at startup), and how long it took', async () => {
    const row = await runningExtension(page(), 'Weft Service Mesh');
    await screenshot(page(), '6-running-extensions');
    // VS Code shows code loading + activate() call time, and prefixes "Startup" for eager activation.
    const ms = /(Startup )?Activation: (\d+)ms/.exec(row);
    assert.ok(ms, `the row shows an activation time: ${JSON.stringify(row)}`);
    assert.equal(ms[1], undefined, 'not activated at startup');
    console.log(`# weft activation (code loading + activate()): ${ms[2]} ms`);
  });
});
