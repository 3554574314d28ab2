/**
 * Real Chromium for the web client's tests: playwright-core drives /usr/bin/chromium (Debian's package; `.ci/run`
 * installs it), headless, with a fresh profile per launch. The browser trusts exactly the test server's TLS key:
 * `--ignore-certificate-errors-spki-list` names the SHA-256 of that key's SubjectPublicKeyInfo, so any other
 * certificate is still refused (no blanket ignoreHTTPSErrors).
 */
import { createHash, X509Certificate } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page, type Response } from 'playwright-core';

/** Where Debian's chromium lives. */
export const CHROMIUM = '/usr/bin/chromium';

/** Flags for a quiet, reproducible headless run (no network besides the page, no GPU, no first-run UI). */
export const CHROMIUM_FLAGS = [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
  '--disable-component-update', '--disable-sync',
];

/** base64 SHA-256 of the leaf certificate's SubjectPublicKeyInfo, as Chromium's SPKI list wants it. */
export function spkiPin(certChainPem: string): string {
  const leaf = new X509Certificate(certChainPem);
  const spki = leaf.publicKey.export({ type: 'spki', format: 'der' });
  return createHash('sha256').update(spki).digest('base64');
}

/** Launches Chromium trusting the TLS key of the server whose data directory is `dataDir`. */
export async function launchBrowser(dataDir: string): Promise<Browser> {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: apt-get install -y chromium (.ci/run does)`);
  const pin = spkiPin(readFileSync(join(dataDir, 'tls', 'server-chain.pem'), 'utf8'));
  return chromium.launch({ executablePath: CHROMIUM, args: [...CHROMIUM_FLAGS, `--ignore-certificate-errors-spki-list=${pin}`] });
}

/** A page with its console and CSP reports collected (a CSP violation is a test failure). */
export interface WatchedPage {
  context: BrowserContext;
  page: Page;
  /** Console errors and page errors, in order. */
  errors: string[];
  /** The navigation's response. */
  response: Response | null;
}

/** Opens a fresh context (its own IndexedDB) and page at `url`. */
export async function openPage(browser: Browser, url: string, viewport = { width: 1100, height: 760 }): Promise<WatchedPage> {
  const context = await browser.newContext({ viewport });
  const page = await context.newPage();
  const errors: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(m.text());
  });
  page.on('pageerror', (e) => errors.push(e.message));
  const response = await page.goto(url);
  return { context, page, errors, response };
}
