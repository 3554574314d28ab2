/**
 * The web client in real Chromium against a real `certim server` process (docs/protocol.md §18): the page loads
 * under the strict CSP with no violation, the CA is pinned at first use and compared with an invitation link's
 * fingerprint, keys are made with WebCrypto and enrolled over EST from the page, and the private keys sit in
 * IndexedDB only sealed under the passphrase. Screenshots of the screens go to test-artifacts/web/.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import type { Browser } from 'playwright-core';
import { TestServer } from './support/cli-harness.js';
import { enrollInPage, launchBrowser, openPage, screenshot } from './support/browser.js';

describe('web client in Chromium: page, CA pinning, enrollment', { timeout: 300_000 }, () => {
  let server: TestServer;
  let browser: Browser;
  let origin: string;

  before(async () => {
    server = await TestServer.start();
    browser = await launchBrowser(server.dataDir);
    origin = `https://127.0.0.1:${server.ready.https}`;
  });

  after(async () => {
    await browser?.close();
    await server?.stop();
  });

  it('serves the built app with the CSP, and the page runs under it without a violation', async () => {
    const p = await openPage(browser, `${origin}/`);
    const res = p.response!;
    assert.match(res.headers()['content-security-policy'] ?? '', /script-src 'self'; style-src 'self'/);
    assert.equal(res.headers()['strict-transport-security'], 'max-age=31536000');
    const html = await res.text();
    assert.match(html, /<script type="module" crossorigin src="\/assets\/index-[\w-]+\.js"><\/script>/);
    assert.doesNotMatch(html, /<script(?![^>]*\bsrc=)[^>]*>/, 'no inline script');
    await p.page.getByTestId('ca-first-use').waitFor();
    await screenshot(p.page, 'ca-first-use');
    assert.deepEqual(p.errors, []);
    await p.context.close();
  });

  it('shows the CA fingerprint at first use; an invitation link with another fingerprint is refused', async () => {
    const p = await openPage(browser, `${origin}/`);
    const shown = (await p.page.getByTestId('ca-fingerprint').textContent()) ?? '';
    assert.equal(shown.replace(/ /g, '').toLowerCase(), server.ready.caFingerprint);
    await p.context.close();
    const wrong = `${'ab'.repeat(32)}`;
    const q = await openPage(browser, `${origin}/#ca=${wrong}`);
    await q.page.getByTestId('ca-mismatch').waitFor();
    await screenshot(q.page, 'ca-mismatch');
    await q.context.close();
  });

  it('enrolls from the page (invitation link pins the CA): two certificates for WebCrypto keys, keys sealed in IndexedDB, nothing in localStorage', async () => {
    await server.addUser('webby', 'webby-pw-1');
    const p = await openPage(browser, `${origin}/#ca=${server.ready.caFingerprint}`);
    await enrollInPage(p, 'webby', 'webby-pw-1', 'webby passphrase');
    await screenshot(p.page, 'sign-in');
    // Runs in the page (a string, so this file needs no DOM types): what IndexedDB and web storage hold.
    const stored = (await p.page.evaluate(`(async () => {
      const db = await new Promise((resolve, reject) => {
        const r = indexedDB.open('certim');
        r.onsuccess = () => resolve(r.result);
        r.onerror = () => reject(r.error);
      });
      const get = (k) => new Promise((resolve) => {
        const r = db.transaction('kv').objectStore('kv').get(k);
        r.onsuccess = () => resolve(r.result);
      });
      const acct = await get('account:webby');
      // The sealed key must not import as PKCS#8: it is ciphertext.
      let importable = true;
      try {
        await crypto.subtle.importKey('pkcs8', acct.keys.signing.data, { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' }, false, ['sign']);
      } catch {
        importable = false;
      }
      return {
        enc: Array.from(acct.certs.encryption), sig: Array.from(acct.certs.signing), iterations: acct.kdf.iterations, importable,
        local: localStorage.length, session: sessionStorage.length,
      };
    })()`)) as { enc: number[]; sig: number[]; iterations: number; importable: boolean; local: number; session: number };
    assert.equal(stored.importable, false);
    assert.equal(stored.iterations, 600_000);
    assert.deepEqual([stored.local, stored.session], [0, 0]);
    const enc = new X509Certificate(Buffer.from(stored.enc));
    const sig = new X509Certificate(Buffer.from(stored.sig));
    assert.match(enc.subject, /CN=webby/);
    assert.match(sig.subject, /CN=webby/);
    assert.equal((enc.publicKey.asymmetricKeyDetails?.modulusLength), 2048);
    assert.notEqual(enc.fingerprint256, sig.fingerprint256);
    assert.deepEqual(p.errors, []);
    await p.context.close();
  });

  it('a wrong password is refused with a clear message and nothing is stored', async () => {
    await server.addUser('wrongpw', 'right-pw-1');
    const p = await openPage(browser, `${origin}/#ca=${server.ready.caFingerprint}`);
    const form = p.page.getByTestId('enroll-form');
    await form.waitFor();
    await form.getByLabel('Screen name').fill('wrongpw');
    await form.getByLabel('Password').fill('not-the-password');
    await form.getByLabel('Passphrase for your keys on this device').fill('some passphrase');
    await form.getByLabel('Passphrase again').fill('some passphrase');
    await form.getByLabel('Key size').selectOption('2048');
    await form.getByRole('button', { name: 'Create keys and enroll' }).click();
    await form.getByRole('alert').waitFor({ timeout: 120_000 });
    assert.match((await form.getByRole('alert').textContent()) ?? '', /HTTP 401.*wrong screen name or password/);
    const accounts = await p.page.evaluate(`new Promise((resolve) => {
      const r = indexedDB.open('certim');
      r.onsuccess = () => {
        const q = r.result.transaction('kv').objectStore('kv').getAllKeys();
        q.onsuccess = () => resolve(q.result.filter((k) => String(k).startsWith('account:')).length);
      };
    })`);
    assert.equal(accounts, 0);
    await p.context.close();
  });
});
