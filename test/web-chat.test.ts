/**
 * The web client's chat in real Chromium against a real `certim server` process, with the real client core in the
 * page (docs/protocol.md §14, §18): two browser contexts enroll, see each other online and exchange verified IMs;
 * each sees the other typing; the trust view shows the same safety code on both sides; a CLI user's IM altered by a relay gives a `failed`
 * badge and no text; and neither the server's data directory nor its logs hold any of the texts. Screenshots of the main screens go to test-artifacts/web/.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { TestServer, TestUser } from './support/cli-harness.js';
import { enrollInPage, launchBrowser, openPage, screenshot, type WatchedPage } from './support/browser.js';
import { proxyCredentials, startTamperProxy, type TamperProxy } from './support/tamper-proxy.js';
import { addBuddy, incoming, openConversation, send, signIn } from './support/web-chat.js';

const marker = (): string => `web-${randomBytes(8).toString('hex')}`;

/** Every file under `dir`, read as latin1 (binary-safe) for a plaintext search. */
function allFileText(dir: string): string {
  let out = '';
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    const st = statSync(p);
    if (st.isDirectory()) out += allFileText(p);
    else if (st.isFile()) out += readFileSync(p).toString('latin1'); // not the admin control socket
  }
  return out;
}

describe('web client chat in Chromium (real client core in the page)', { timeout: 900_000 }, () => {
  let server: TestServer;
  let browser: Browser;
  let origin: string;
  let alice: WatchedPage;
  let bob: WatchedPage;
  const texts: string[] = [];

  before(async () => {
    server = await TestServer.start();
    browser = await launchBrowser(server.dataDir);
    origin = `https://127.0.0.1:${server.ready.https}/#ca=${server.ready.caFingerprint}`;
    await server.addUser('alice', 'alice-pw-1');
    await server.addUser('bob', 'bob-pw-1');
    alice = await openPage(browser, origin);
    bob = await openPage(browser, origin);
    await Promise.all([enrollInPage(alice, 'alice', 'alice-pw-1', 'alice passphrase'), enrollInPage(bob, 'bob', 'bob-pw-1', 'bob passphrase')]);
  });

  after(async () => {
    await browser?.close();
    await server?.stop();
  });

  it('two browsers sign in, see each other online and exchange verified IMs', async () => {
    await signIn(alice.page, 'alice-pw-1', 'alice passphrase');
    await signIn(bob.page, 'bob-pw-1', 'bob passphrase');
    await addBuddy(alice.page, 'bob');
    await addBuddy(bob.page, 'alice');
    await alice.page.locator('[data-buddy="bob"][data-presence="online"]').waitFor({ timeout: 60_000 });
    await bob.page.locator('[data-buddy="alice"][data-presence="online"]').waitFor({ timeout: 60_000 });
    await openConversation(alice.page, 'bob');
    await openConversation(bob.page, 'alice');
    const m1 = marker();
    texts.push(m1);
    await send(alice.page, 'bob', `hello bob ${m1}`);
    assert.equal(await incoming(bob.page, m1), 'verified');
    const m2 = marker();
    texts.push(m2);
    await send(bob.page, 'alice', `hi alice ${m2}`);
    assert.equal(await incoming(alice.page, m2), 'verified');
    await screenshot(alice.page, 'conversation');
    assert.deepEqual([alice.errors, bob.errors], [[], []]);
  });

  it('typing notifications: one browser types, the other shows it, and clearing the box clears it', async () => {
    const typing = alice.page.getByTestId('typing');
    assert.equal(await typing.textContent(), '');
    await bob.page.getByLabel('Message to alice').pressSequentially('are you th');
    await typing.filter({ hasText: 'bob is typing…' }).waitFor({ timeout: 60_000 });
    await bob.page.getByLabel('Message to alice').fill('');
    await typing.filter({ hasText: /^$/ }).waitFor({ timeout: 60_000 });
    // And back: alice types, bob sees it; the IM that follows ends the notification on bob's side.
    await alice.page.getByLabel('Message to bob').pressSequentially('yes I');
    await bob.page.getByTestId('typing').filter({ hasText: 'alice is typing…' }).waitFor({ timeout: 60_000 });
    const m = marker();
    texts.push(m);
    await send(alice.page, 'bob', `yes ${m}`);
    assert.equal(await incoming(bob.page, m), 'verified');
    await bob.page.getByTestId('typing').filter({ hasText: /^$/ }).waitFor({ timeout: 60_000 });
    assert.deepEqual([alice.errors, bob.errors], [[], []]);
  });

  it('the trust view shows both fingerprints and the same safety code on both sides', async () => {
    await alice.page.getByTestId('trust-button').click();
    await bob.page.getByTestId('trust-button').click();
    const codeA = (await alice.page.getByTestId('safety-code').textContent()) ?? '';
    const codeB = (await bob.page.getByTestId('safety-code').textContent()) ?? '';
    assert.match(codeA, /^\d{5}( \d{5}){5}$/);
    assert.equal(codeA, codeB);
    assert.equal(await alice.page.getByTestId('own-fp').textContent(), await bob.page.getByTestId('buddy-fp').textContent());
    assert.equal(await alice.page.getByTestId('buddy-fp').textContent(), await bob.page.getByTestId('own-fp').textContent());
    assert.match((await alice.page.locator('img.qr').getAttribute('src')) ?? '', /^data:image\/svg\+xml/);
    await screenshot(alice.page, 'trust-view');
    await alice.page.getByRole('button', { name: /mark as verified/ }).click();
    await alice.page.getByTestId('trust-button').click();
    assert.equal(await alice.page.getByTestId('trust-level').textContent(), 'verified by you');
    await alice.page.getByTestId('trust-button').click();
    await bob.page.getByTestId('trust-button').click();
  });

  it('a relay that flips a ciphertext byte gives a failed badge and shows no text', async () => {
    const creds = proxyCredentials(server.dataDir, server.tmp);
    let proxy: TamperProxy | undefined;
    const mallory = new TestUser('dave', join(server.tmp, 'dave-profile'), 'dave-pw-1', 'dave passphrase');
    await server.addUser('dave', mallory.password);
    try {
      proxy = await startTamperProxy({ upstream: { host: '127.0.0.1', port: server.ready.oscarTls }, ...creds, tamper: true });
      const init = await mallory.keysInit(server, `127.0.0.1:${proxy.port}`);
      assert.equal(init.code, 0, init.stderr);
      const m = marker();
      texts.push(m);
      const sent = await mallory.run(['send', 'alice', `pay 10 EUR to dave ${m}`]);
      assert.equal(sent.code, 0, sent.stderr);
      assert.equal(proxy.tampered, 1);
      await alice.page.locator('[data-buddy="dave"]').click();
      const failed = alice.page.locator('.line.in[data-verdict="failed"]');
      await failed.waitFor({ timeout: 60_000 });
      assert.ok(!(await failed.textContent())?.includes(m), 'a failed message shows no text');
      assert.match((await failed.locator('.badge').textContent()) ?? '', /^failed: /);
      await screenshot(alice.page, 'failed-message');
    } finally {
      await proxy?.close();
    }
  });

  it('at phone width the buddy list and the conversation take turns', async () => {
    await bob.page.setViewportSize({ width: 390, height: 800 });
    await bob.page.getByRole('button', { name: 'Back to buddies' }).click();
    await bob.page.getByTestId('buddy-list').waitFor();
    await screenshot(bob.page, 'phone-buddy-list');
    await bob.page.locator('[data-buddy="alice"]').click();
    assert.equal(await bob.page.getByTestId('buddy-list').isVisible(), false);
    await screenshot(bob.page, 'phone-conversation');
  });

  it('the server kept no plaintext: no text appears in its data directory or its logs', () => {
    assert.ok(texts.length >= 3);
    const data = allFileText(server.dataDir);
    const logs = server.cli.stdout + server.cli.stderr;
    for (const t of texts) {
      assert.ok(!data.includes(t), `${t} found in the data directory`);
      assert.ok(!logs.includes(t), `${t} found in the server's logs`);
    }
  });
});
