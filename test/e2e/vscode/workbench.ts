/**
 * What a person does in the VS Code workbench, as Playwright steps: wait for the workbench, open a
 * file by Quick Open, find squiggles, hover one, pick a quick fix, type, save, take a screenshot.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Locator, Page } from 'playwright-core';
import { REPO_ROOT } from './code-server';

export const SCREENSHOTS = join(REPO_ROOT, 'test', 'e2e', 'screenshots');
export const SQUIGGLE = '.monaco-editor .squiggly-warning, .monaco-editor .squiggly-error';
const MOD = 'Control';

export async function waitForWorkbench(page: Page, url: string): Promise<void> {
  await page.goto(url);
  await page.locator('.monaco-workbench').waitFor({ timeout: 30_000 });
  // The explorer lists the workspace once the remote file system answered.
  await page.locator('.explorer-folders-view .monaco-list-row').first().waitFor({ timeout: 30_000 });
}

/** Opens a workspace file with Quick Open (Ctrl+P) and waits for its editor to have focus. */
export async function openFile(page: Page, name: string): Promise<Locator> {
  const input = page.locator('.quick-input-widget .quick-input-box input');
  for (let attempt = 0; ; attempt++) {
    await page.keyboard.press(`${MOD}+P`);
    await input.waitFor({ timeout: 10_000 });
    await input.fill(name);
    const row = page.locator('.quick-input-list .monaco-list-row', { hasText: name }).first();
    try {
      await row.waitFor({ timeout: 5_000 });
      break;
    } catch (err) {
      // The first Quick Open after load can come up empty while files are still being indexed.
      await page.keyboard.press('Escape');
      if (attempt >= 3) throw err;
    }
  }
  await page.keyboard.press('Enter');
  await page.locator(`.tab.active[data-resource-name="${name}"]`).waitFor({ timeout: 10_000 });
  const editor = page.locator('.editor-group-container.active .monaco-editor').first();
  await editor.locator('.view-lines').waitFor();
  return editor;
}

export function squiggles(page: Page): Locator {
  return page.locator(SQUIGGLE);
}

/** Moves the mouse onto the first squiggle the way a person would and returns the visible hover. */
export async function hoverSquiggle(page: Page): Promise<Locator> {
  const box = await squiggles(page).first().boundingBox();
  if (!box) throw new Error('squiggle has no box');
  await page.mouse.move(box.x + box.width / 2 - 40, box.y - 30);
  await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2, { steps: 5 });
  const hover = page.locator('.monaco-hover:not(.hidden)').first();
  await hover.waitFor({ timeout: 10_000 });
  return hover;
}

/** Puts the cursor on the first squiggle, opens the quick-fix menu (Ctrl+.) and picks the row with `title`. */
export async function applyQuickFix(page: Page, title: RegExp): Promise<string[]> {
  await squiggles(page).first().waitFor({ state: 'visible', timeout: 5_000 });
  const box = await squiggles(page).first().boundingBox();
  if (!box) throw new Error('squiggle has no box');
  await page.mouse.click(box.x + box.width / 2, box.y + box.height / 2);
  await page.keyboard.press(`${MOD}+.`);
  const rows = page.locator('.action-widget .monaco-list-row.action');
  await rows.first().waitFor({ timeout: 10_000 });
  const titles = (await rows.allInnerTexts()).map((t) => t.trim());
  // The menu ignores clicks for a moment after it opens (a pointer block): choose with the keyboard.
  const focused = page.locator('.action-widget .monaco-list-row.action.focused');
  for (let i = 0; i <= titles.length; i++) {
    if (title.test((await focused.getAttribute('aria-label', { timeout: 2_000 })) ?? '')) {
      await page.keyboard.press('Enter');
      await page.locator('.action-widget').waitFor({ state: 'hidden', timeout: 5_000 });
      return titles;
    }
    await page.keyboard.press('ArrowDown');
  }
  throw new Error(`no quick fix matches ${title}: ${titles.join(' | ')}`);
}

/** Ctrl+G to a one-based line, then End: the cursor sits after the line's last character. */
export async function goToLineEnd(page: Page, line: number): Promise<void> {
  await page.keyboard.press(`${MOD}+G`);
  const input = page.locator('.quick-input-widget .quick-input-box input');
  await input.waitFor();
  await input.fill(`:${line}`); // Ctrl+G opens Quick Open with the ':' (go to line) prefix
  await page.keyboard.press('Enter');
  await page.keyboard.press('End');
}

export async function save(page: Page): Promise<void> {
  await page.keyboard.press(`${MOD}+S`);
  await page.locator('.tab.active.dirty').waitFor({ state: 'detached', timeout: 10_000 });
}

/** Runs a step; on failure saves a screenshot named after it, then rethrows. */
export async function recorded<T>(page: Page, name: string, step: () => Promise<T>): Promise<T> {
  try {
    return await step();
  } catch (err) {
    await screenshot(page, `failed-${name}`).catch(() => undefined);
    throw err;
  }
}

export async function screenshot(page: Page, name: string): Promise<string> {
  mkdirSync(SCREENSHOTS, { recursive: true });
  const path = join(SCREENSHOTS, `${name}.png`);
  await page.screenshot({ path });
  return path;
}

/** Runs a command by its palette title (F1). The first palette after load can be empty: retried. */
export async function runCommand(page: Page, title: string): Promise<void> {
  const input = page.locator('.quick-input-widget .quick-input-box input');
  for (let attempt = 0; ; attempt++) {
    await page.keyboard.press('F1');
    await input.waitFor({ timeout: 10_000 });
    await input.fill(`>${title}`);
    const row = page.locator('.quick-input-list .monaco-list-row', { hasText: title }).first();
    try {
      await row.waitFor({ timeout: 5_000 });
      break;
    } catch (err) {
      await page.keyboard.press('Escape');
      if (attempt >= 3) throw err;
    }
  }
  await page.keyboard.press('Enter');
}

/**
 * The Running Extensions editor's row of one extension, as text (name, activation event, time).
 * The editor fills its list after it opens, and on a loaded machine that can take a while: the
 * command is run again (which refreshes the editor) when the row has not appeared.
 */
export async function runningExtension(page: Page, displayName: string): Promise<string> {
  const row = page.locator('.runtime-extensions-editor .monaco-list-row', { hasText: displayName }).first();
  for (let attempt = 0; ; attempt++) {
    await runCommand(page, 'Developer: Show Running Extensions');
    try {
      await row.waitFor({ timeout: 15_000 });
      return await row.innerText();
    } catch (err) {
      if (attempt >= 2) throw err;
    }
  }
}

/** The status bar's problems item as VS Code reads it out ("No Problems", "Warnings: 1", …). */
export async function problemsInStatusBar(page: Page): Promise<string> {
  const item = page.locator('[id="status.problems"] a, [id="status.problems"]').first();
  return (await item.getAttribute('aria-label')) ?? (await item.innerText());
}

/** Opens a view container from the activity bar by its title (e.g. "Weft Mesh") and waits for its side bar. */
export async function openViewContainer(page: Page, title: string): Promise<Locator> {
  const item = page.locator(`.activitybar .action-label[aria-label^="${title}"]`).first();
  await item.waitFor({ timeout: 15_000 });
  const sidebar = page.locator('.part.sidebar');
  // Clicking an already active container closes the side bar: click only when it is not the shown one.
  const shown = await sidebar.locator('.composite.title', { hasText: new RegExp(title, 'i') }).isVisible().catch(() => false);
  if (!shown) await item.click();
  await sidebar.locator('.composite.title', { hasText: new RegExp(title, 'i') }).waitFor({ timeout: 10_000 });
  return sidebar;
}

/** A row of a tree in the side bar whose label is exactly `label`. */
export function treeRow(page: Page, label: string): Locator {
  const exact = new RegExp(`^${label.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`);
  return page.locator('.part.sidebar .monaco-list-row', { has: page.locator('.label-name', { hasText: exact }) }).first();
}

/** The description (the grey text after the label) of a tree row. */
export async function treeRowDescription(row: Locator): Promise<string> {
  return (await row.locator('.label-description').first().innerText().catch(() => '')).trim();
}

/** Waits for a notification toast whose text matches and clicks its button `button`. */
export async function clickNotificationButton(page: Page, text: RegExp, button: string): Promise<void> {
  const toast = page.locator('.notifications-toasts .notification-toast', { hasText: text }).first();
  await toast.waitFor({ timeout: 15_000 });
  await toast.locator('.monaco-button', { hasText: button }).first().click();
}

/** In an open quick pick: types `text`, waits for the row labelled `label` and picks it. Returns every row's text first. */
export async function pickQuickItem(page: Page, label: string, text = label): Promise<string[]> {
  const rows = page.locator('.quick-input-widget .quick-input-list .monaco-list-row');
  await rows.first().waitFor({ timeout: 10_000 });
  const all = (await rows.allInnerTexts()).map((t) => t.replace(/\s+/g, ' ').trim());
  await page.locator('.quick-input-widget .quick-input-box input').fill(text);
  const row = page.locator('.quick-input-widget .quick-input-list .monaco-list-row', { has: page.locator('.label-name', { hasText: new RegExp(`^${label}$`) }) }).first();
  await row.waitFor({ timeout: 5_000 });
  await row.click();
  await page.locator('.quick-input-widget').waitFor({ state: 'hidden', timeout: 5_000 });
  return all;
}

/**
 * Right-clicks a tree row and picks a context-menu entry by its title. A tree that refreshes under
 * the click (the explorer re-renders rows as the cluster changes) can swallow the menu: it is opened
 * again. The entry is chosen as a user at the keyboard does (hovered, so focused, then Enter): a
 * mouse click that lands while the menu is still settling is dropped by VS Code's menu, which then
 * stays open over the workbench.
 */
export async function contextMenu(page: Page, row: Locator, title: string): Promise<void> {
  const menu = page.locator('.context-view .monaco-menu');
  const item = page.locator('.context-view .action-item', { hasText: title }).first();
  for (let attempt = 0; ; attempt++) {
    await row.click({ button: 'right' });
    try {
      await item.waitFor({ timeout: 5_000 });
      await item.hover();
      await page.locator('.context-view .action-item.focused', { hasText: title }).waitFor({ timeout: 2_000 });
      await page.keyboard.press('Enter');
      await menu.waitFor({ state: 'hidden', timeout: 5_000 });
      return;
    } catch (err) {
      if (await menu.isVisible().catch(() => false)) await page.keyboard.press('Escape');
      if (attempt >= 2) throw err;
    }
  }
}
