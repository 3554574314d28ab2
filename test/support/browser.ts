/**
 * Real Chromium for the web client's tests: playwright-core drives /usr/bin/chromium (Debian's package; `.ci/run`
 * installs it), headless, with a fresh profile per launch. The browser trusts exactly the test server's TLS key:
 * `--ignore-certificate-errors-spki-list` names the SHA-256 of that key's SubjectPublicKeyInfo, so any other
 * certificate is still refused (no blanket ignoreHTTPSErrors).
 */
import { createHash, X509Certificate } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, statSync } from 'node:fs';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page, type Response } from 'playwright-core';

/** Where Debian's chromium lives. */
export const CHROMIUM = '/usr/bin/chromium';

/** Flags for a quiet, reproducible headless run (no network besides the page, no GPU, no first-run UI). */
export const CHROMIUM_FLAGS = [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
  '--disable-component-update', '--disable-sync',
];

/** base64 SHA-256 of the first (leaf) certificate's SubjectPublicKeyInfo, as Chromium's SPKI list wants it. */
export function spkiPin(certChainPem: string): string {
  const leaf = new X509Certificate(certChainPem);
  const spki = leaf.publicKey.export({ type: 'spki', format: 'der' });
  return createHash('sha256').update(spki).digest('base64');
}

/**
 * Launches Chromium trusting the TLS key of the server whose data directory is `dataDir`. `trust: 'issuing-ca'`
 * pins the server's issuing CA key instead (Chromium accepts a chain with any pinned key in it): the server makes a
 * new TLS key at every start, so a test that restarts it under a live page needs the CA's key, as a deployment's
 * browsers trust the CA, not one key.
 */
export async function launchBrowser(dataDir: string, opts: { trust?: 'server-key' | 'issuing-ca' } = {}): Promise<Browser> {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: apt-get install -y chromium (.ci/run does)`);
  const pin = opts.trust === 'issuing-ca'
    ? spkiPin(readFileSync(join(dataDir, 'ca', 'issuing.crt'), 'utf8'))
    : spkiPin(readFileSync(join(dataDir, 'tls', 'server-chain.pem'), 'utf8'));
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
  // RSA key generation, PBKDF2 and sign-on share two cores with the server and other tests: wait generously.
  context.setDefaultTimeout(120_000);
  const page = await context.newPage();
  const errors: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(m.text());
  });
  page.on('pageerror', (e) => errors.push(e.message));
  const response = await page.goto(url);
  return { context, page, errors, response };
}

/** Screenshots of the main screens, kept as test artifacts. */
export const ARTIFACTS = join(process.cwd(), 'test-artifacts', 'web');

/** Saves a screenshot and checks it is a real render (a PNG of some size, not an empty page). */
export async function screenshot(page: Page, name: string): Promise<string> {
  mkdirSync(ARTIFACTS, { recursive: true });
  const path = join(ARTIFACTS, `${name}.png`);
  const png = await page.screenshot({ path, fullPage: true });
  assert.deepEqual([...png.subarray(1, 4)], [0x50, 0x4e, 0x47], 'a PNG');
  // A blank page compresses to a few hundred bytes; a rendered screen with text is several kilobytes.
  assert.ok(statSync(path).size > 4000, `${name}.png is ${statSync(path).size} bytes: an empty render?`);
  return path;
}

/** Enrolls `name` from the page: pins the CA (first use), fills the form, waits for the sign-in screen. */
export async function enrollInPage(p: WatchedPage, name: string, password: string, passphrase: string): Promise<void> {
  const { page } = p;
  if (await page.getByTestId('ca-first-use').isVisible().catch(() => false)) await page.getByRole('button', { name: /It matches/ }).click();
  const form = page.getByTestId('enroll-form');
  await form.waitFor();
  await form.getByLabel('Screen name').fill(name);
  await form.getByLabel('Password').fill(password);
  await form.getByLabel('Passphrase for your keys on this device').fill(passphrase);
  await form.getByLabel('Passphrase again').fill(passphrase);
  await form.getByLabel('Key size').selectOption('2048');
  await form.getByRole('button', { name: 'Create keys and enroll' }).click();
  await page.getByTestId('signin-form').waitFor({ timeout: 120_000 });
}
