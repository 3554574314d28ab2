/**
 * One identity in the CLI and in the browser (docs/protocol.md §18.5), in real Chromium against a real
 * `certim server` process and real CLI processes: a CLI identity exported with `certim keys export` is imported in
 * the page, signs in with the CLI's fingerprint and exchanges verified IMs with a CLI buddy; a page identity
 * exported from the page becomes a new CLI profile with `certim keys import --server`, which sends and receives.
 * A wrong file password and a legacy file are refused with one clear message each, and nothing is stored.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { TestServer, TestUser } from './support/cli-harness.js';
import { enrollInPage, launchBrowser, openPage, screenshot, type WatchedPage } from './support/browser.js';
import { addBuddy, signIn } from './support/web-chat.js';

const marker = (): string => `p12-${randomBytes(8).toString('hex')}`;
const hexFp = (s: string): string => s.replace(/[\s:]/g, '').toLowerCase();

/** Fills the import form; returns the alert text when `expectError`, else waits for the sign-in screen. */
async function importInPage(p: WatchedPage, file: string, filePassword: string, passphrase: string, expectError = false): Promise<string | undefined> {
  const form = p.page.getByTestId('import-form');
  await form.waitFor();
  await form.getByLabel('Identity file (.p12)').setInputFiles(file);
  await form.getByLabel('Password of the file').fill(filePassword);
  await form.getByLabel('New passphrase for your keys on this device').fill(passphrase);
  await form.getByLabel('New passphrase again').fill(passphrase);
  await form.getByRole('button', { name: 'Import identity' }).click();
  if (expectError) {
    await form.getByRole('alert').waitFor({ timeout: 120_000 });
    return (await form.getByRole('alert').textContent()) ?? '';
  }
  await p.page.getByTestId('signin-form').waitFor({ timeout: 120_000 });
  return undefined;
}

/** The account records in the page's IndexedDB: screen name and certificate DERs. */
async function storedAccounts(page: Page): Promise<{ key: string; enc: number[]; sig: number[]; iterations: number }[]> {
  return (await page.evaluate(`(async () => {
    const db = await new Promise((resolve, reject) => {
      const r = indexedDB.open('certim');
      r.onsuccess = () => resolve(r.result);
      r.onerror = () => reject(r.error);
    });
    const all = (m) => new Promise((resolve) => {
      const r = db.transaction('kv').objectStore('kv')[m]();
      r.onsuccess = () => resolve(r.result);
    });
    const keys = await all('getAllKeys');
    const values = await all('getAll');
    return keys.map((k, i) => ({ k, v: values[i] })).filter((e) => String(e.k).startsWith('account:'))
      .map((e) => ({ key: String(e.k), enc: Array.from(e.v.certs.encryption), sig: Array.from(e.v.certs.signing), iterations: e.v.kdf.iterations }));
  })()`)) as { key: string; enc: number[]; sig: number[]; iterations: number }[];
}

const pemDer = (pem: string): Buffer => Buffer.from(pem.replace(/-----[^-]+-----/g, '').replace(/\s+/g, ''), 'base64');

describe('PKCS#12 identities between the CLI and the browser', { timeout: 900_000 }, () => {
  let server: TestServer;
  let browser: Browser;
  let origin: string;
  let dora: TestUser;

  before(async () => {
    server = await TestServer.start();
    browser = await launchBrowser(server.dataDir);
    origin = `https://127.0.0.1:${server.ready.https}/#ca=${server.ready.caFingerprint}`;
    dora = await server.enrolledUser('dora');
  });

  after(async () => {
    await browser?.close();
    await server?.stop();
  });

  it('CLI -> browser: keys export, import in the page, the same fingerprint, verified IMs both ways with a CLI buddy', async () => {
    const carl = await server.enrolledUser('carl');
    const p12 = join(server.tmp, 'carl.p12');
    const exp = await carl.run(['keys', 'export', '--p12', p12]);
    assert.equal(exp.code, 0, exp.stderr);
    const show = JSON.parse((await carl.run(['keys', 'show', '--json'])).stdout) as { fingerprint: string };

    const p = await openPage(browser, origin);
    await importInPage(p, p12, carl.passphrase, 'carl browser passphrase');
    const [acct] = await storedAccounts(p.page);
    assert.equal(acct!.key, 'account:carl');
    assert.equal(acct!.iterations, 600_000);
    assert.deepEqual(Buffer.from(acct!.enc), pemDer(readFileSync(join(carl.profile, 'encryption.crt'), 'utf8')));
    assert.deepEqual(Buffer.from(acct!.sig), pemDer(readFileSync(join(carl.profile, 'signing.crt'), 'utf8')));
    await screenshot(p.page, 'p12-imported');

    await signIn(p.page, carl.password, 'carl browser passphrase');
    await addBuddy(p.page, 'dora');
    // Adding opens the conversation (dora, on the CLI, is offline until she runs a command).
    await p.page.getByTestId('conversation-with').filter({ hasText: 'dora' }).waitFor();
    // dora (CLI) -> carl (browser).
    const m1 = marker();
    const sent = await dora.run(['send', 'carl', `hi carl ${m1}`, '--json']);
    assert.equal(sent.code, 0, sent.stderr);
    assert.equal((JSON.parse(sent.stdout) as { secure: boolean }).secure, true);
    const line = p.page.locator('.line.in', { hasText: m1 });
    await line.waitFor({ timeout: 60_000 });
    assert.equal(await line.getAttribute('data-verdict'), 'verified');
    // The page's own fingerprint is the CLI's.
    await p.page.getByTestId('trust-button').click();
    assert.equal(hexFp((await p.page.getByTestId('own-fp').textContent()) ?? ''), hexFp(show.fingerprint));
    await p.page.getByTestId('trust-button').click();
    // carl (browser) -> dora (CLI), checked by dora against carl's certificate.
    const listen = dora.start(['listen', '--json', '--count', '1']);
    await listen.waitFor((_o, e) => e.includes('waiting for IMs'), 'dora signed on');
    const m2 = marker();
    await p.page.getByLabel('Message to dora').fill(`hi dora ${m2}`);
    await p.page.getByLabel('Message to dora').press('Enter');
    const done = await listen.finish();
    assert.equal(done.code, 0, done.stderr);
    const [im] = listen.jsonLines();
    assert.equal(im?.from, 'carl');
    assert.equal(im?.text, `hi dora ${m2}`);
    assert.equal(im?.verdict, 'verified');
    assert.deepEqual(p.errors, []);
    await p.context.close();
  });

  it('a wrong file password and a legacy file are refused with one clear message each, and nothing is stored', async () => {
    const erin = await server.enrolledUser('erin');
    const modern = join(server.tmp, 'erin.p12');
    const legacy = join(server.tmp, 'erin-legacy.p12');
    assert.equal((await erin.run(['keys', 'export', '--p12', modern])).code, 0);
    assert.equal((await erin.run(['keys', 'export', '--p12', legacy, '--legacy'])).code, 0);
    const p = await openPage(browser, origin);
    const wrong = await importInPage(p, modern, 'not the password', 'erin browser passphrase', true);
    assert.equal(wrong, 'wrong password for this PKCS#12 file (or the file was altered)');
    const old = await importInPage(p, legacy, erin.passphrase, 'erin browser passphrase', true);
    assert.match(old ?? '', /legacy PKCS#12 algorithms \(RC2, 3DES or SHA-1\), which are refused here; export it again with the modern profile/);
    assert.deepEqual(await storedAccounts(p.page), []);
    await p.context.close();
  });

  it('browser -> CLI: export from the page, keys import --server makes a profile that sends and receives verified IMs', async () => {
    await server.addUser('wendy', 'wendy-pw-1');
    const p = await openPage(browser, origin);
    await enrollInPage(p, 'wendy', 'wendy-pw-1', 'wendy passphrase');
    const [acct] = await storedAccounts(p.page);
    await p.page.getByText('Export your identity (.p12)').click();
    const form = p.page.getByTestId('export-form');
    await form.getByLabel('Key passphrase on this device').fill('wendy passphrase');
    await form.getByLabel('Password for the file', { exact: true }).fill('wendy file password');
    await form.getByLabel('Password for the file again').fill('wendy file password');
    const [download] = await Promise.all([p.page.waitForEvent('download'), form.getByRole('button', { name: 'Export .p12' }).click()]);
    assert.equal(download.suggestedFilename(), 'wendy.p12');
    const file = join(server.tmp, 'wendy-from-browser.p12');
    await download.saveAs(file);
    await form.getByTestId('export-done').waitFor();
    await screenshot(p.page, 'p12-exported');
    assert.deepEqual(p.errors, []);
    await p.context.close();

    // The CLI's profile passphrase is the file's password.
    const wendy = new TestUser('wendy', join(server.tmp, 'wendy-cli'), 'wendy-pw-1', 'wendy file password');
    const importArgs = ['keys', 'import', file, '--server', server.tlsAddress, '--https', server.httpsUrl, '--ca-fingerprint', server.ready.caFingerprint];
    // A wrong file password: refused, and no profile is left behind.
    const bad = await wendy.run(importArgs, { CERTIM_PASSPHRASE: 'not the file password' });
    assert.notEqual(bad.code, 0);
    assert.match(bad.stderr, /wrong password for .*wendy-from-browser\.p12/);
    assert.equal(existsSync(join(wendy.profile, 'profile.json')), false);
    const imp = await wendy.run(importArgs);
    assert.equal(imp.code, 0, imp.stderr);
    assert.match(imp.stdout, /Imported .* into a new profile .*: wendy on /);
    const show = JSON.parse((await wendy.run(['keys', 'show', '--json'])).stdout) as { screenName: string; certs: { role: string; fingerprint: string }[] };
    assert.equal(show.screenName, 'wendy');
    const sha = (b: number[]): string => createHash('sha256').update(Buffer.from(b)).digest('hex');
    assert.deepEqual(show.certs.map((c) => [c.role, hexFp(c.fingerprint)]).sort(), [['encryption', sha(acct!.enc)], ['signing', sha(acct!.sig)]]);

    // wendy (CLI, browser's keys) -> dora, and dora -> wendy.
    const dl = dora.start(['listen', '--json', '--count', '1']);
    await dl.waitFor((_o, e) => e.includes('waiting for IMs'), 'dora signed on');
    const m1 = marker();
    const s1 = await wendy.run(['send', 'dora', `from wendy ${m1}`, '--json']);
    assert.equal(s1.code, 0, s1.stderr);
    assert.equal((await dl.finish()).code, 0);
    assert.deepEqual([dl.jsonLines()[0]?.from, dl.jsonLines()[0]?.text, dl.jsonLines()[0]?.verdict], ['wendy', `from wendy ${m1}`, 'verified']);
    const wl = wendy.start(['listen', '--json', '--count', '1']);
    await wl.waitFor((_o, e) => e.includes('waiting for IMs'), 'wendy signed on');
    const m2 = marker();
    const s2 = await dora.run(['send', 'wendy', `to wendy ${m2}`, '--json']);
    assert.equal(s2.code, 0, s2.stderr);
    const wdone = await wl.finish();
    assert.equal(wdone.code, 0, wdone.stderr);
    assert.deepEqual([wl.jsonLines()[0]?.from, wl.jsonLines()[0]?.text, wl.jsonLines()[0]?.verdict], ['dora', `to wendy ${m2}`, 'verified']);
  });
});
