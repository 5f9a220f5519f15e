/**
 * Debian's chromium driven by playwright-core, with every request to a host other than loopback
 * aborted (the workbench must not need the internet, and tests must not reach it).
 */
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { CHROMIUM_BIN } from './prerequisites';

const CHROMIUM_ARGS = [
  '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
  '--disable-component-update', '--disable-sync', '--disable-dev-shm-usage',
];

/** True for loopback hosts and for URLs without a host (data:, blob:, about:). */
export function isLoopbackUrl(url: string): boolean {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return false;
  }
  if (!['http:', 'https:', 'ws:', 'wss:'].includes(parsed.protocol)) return true;
  const host = parsed.hostname.replace(/^\[|\]$/g, '');
  return host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host);
}

export interface EditorBrowser {
  browser: Browser;
  context: BrowserContext;
  page: Page;
  /** Hosts whose requests were aborted, for the record. */
  blocked: Set<string>;
  close(): Promise<void>;
}

export async function openBrowser(): Promise<EditorBrowser> {
  const browser = await chromium.launch({ executablePath: CHROMIUM_BIN, args: CHROMIUM_ARGS, headless: true });
  try {
    const context = await browser.newContext({ viewport: { width: 1400, height: 860 } });
    const blocked = new Set<string>();
    await context.route('**/*', (route) => {
      const url = route.request().url();
      if (isLoopbackUrl(url)) return route.continue();
      blocked.add(new URL(url).host);
      return route.abort('blockedbyclient');
    });
    const page = await context.newPage();
    return { browser, context, page, blocked, close: () => browser.close() };
  } catch (err) {
    await browser.close();
    throw err;
  }
}
