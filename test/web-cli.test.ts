/**
 * The web client and the `certim` CLI against one real `certim server` process, the web client in real Chromium
 * with the real client core in the page (docs/protocol.md §14, §18): IMs the CLI sent while the browser user was
 * signed out show at sign-in, verified; a signed-in page stays connected past the HTTPS listener's header deadline
 * and adding a buddy works (the upgrade used to leave that deadline armed, cutting the WebSocket after 10 s);
 * IMs go both ways verified (the CLI decrypts the page's modern profile); a CLI user's key rotation shows the
 * key-change warning in the page; and after a server restart the page reconnects on its own with backoff.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { connect as tlsConnect } from 'node:tls';
import type { Browser, Page } from 'playwright-core';
import { TestServer, type TestUser } from './support/cli-harness.js';
import { enrollInPage, launchBrowser, openPage, screenshot, type WatchedPage } from './support/browser.js';
import { addBuddy, incoming, openConversation, send, signIn } from './support/web-chat.js';

const marker = (): string => `webcli-${randomBytes(8).toString('hex')}`;

/** A counter of the server's /metrics, read from the page (same origin, no other TLS trust needed). */
async function metric(page: Page, name: string): Promise<number> {
  const text = (await page.evaluate(`fetch('/metrics', { cache: 'no-store' }).then((r) => r.text())`)) as string;
  const m = new RegExp(`^${name} (\\d+)$`, 'm').exec(text);
  assert.ok(m, `${name} in /metrics`);
  return Number(m[1]);
}

/** Opens a TLS connection to the HTTPS port that sends nothing, and resolves when the server closes it. */
function idleHttpsConnection(server: TestServer): Promise<void> {
  const ca = ['root.crt', 'issuing.crt'].map((f) => readFileSync(join(server.dataDir, 'ca', f), 'utf8'));
  const s = tlsConnect({ host: '127.0.0.1', port: server.ready.https, ca });
  s.on('error', () => {});
  return new Promise((resolve) => s.once('close', () => resolve()));
}

describe('web client and CLI users (Chromium, real server and CLI processes)', { timeout: 900_000 }, () => {
  let server: TestServer;
  let browser: Browser;
  let alice: WatchedPage;
  let carol: TestUser;
  const texts: string[] = [];
  let logsBefore = '';

  before(async () => {
    server = await TestServer.start();
    browser = await launchBrowser(server.dataDir, { trust: 'issuing-ca' });
    await server.addUser('alice', 'alice-pw-1');
    alice = await openPage(browser, `https://127.0.0.1:${server.ready.https}/#ca=${server.ready.caFingerprint}`);
    [carol] = await Promise.all([server.enrolledUser('carol'), enrollInPage(alice, 'alice', 'alice-pw-1', 'alice passphrase')]);
  });

  after(async () => {
    await browser?.close();
    await server?.stop();
  });

  it('IMs the CLI sent while the browser user was signed out show at sign-in, verified', async () => {
    // A first sign-in publishes alice's certificates (the server keeps them for senders while she is away).
    await signIn(alice.page, 'alice-pw-1', 'alice passphrase');
    await alice.page.getByRole('button', { name: 'Sign out' }).click();
    await alice.page.getByTestId('signin-form').waitFor();
    const m1 = marker();
    const m2 = marker();
    texts.push(m1, m2);
    for (const m of [m1, m2]) {
      const sent = await carol.run(['send', 'alice', `while you were out ${m}`, '--json']);
      assert.equal(sent.code, 0, sent.stderr);
      assert.equal((JSON.parse(sent.stdout) as { delivery: string }).delivery, 'stored');
    }
    await signIn(alice.page, 'alice-pw-1', 'alice passphrase');
    // carol is not on alice's list: her stored IMs put her there, marked unread.
    await alice.page.locator('[data-buddy="carol"] .unread').waitFor({ timeout: 60_000 });
    await openConversation(alice.page, 'carol');
    for (const m of [m1, m2]) {
      assert.equal(await incoming(alice.page, m), 'verified');
      const line = alice.page.locator('.line.in', { hasText: m });
      assert.equal(await line.locator('.badge').textContent(), 'verified');
      assert.match((await line.locator('.meta').textContent()) ?? '', /while you were away/);
    }
    await screenshot(alice.page, 'offline-messages');
    assert.deepEqual(alice.errors, []);
  });

  it('the page stays connected past the HTTPS header deadline, and adding a buddy works', async () => {
    const upgrades = await metric(alice.page, 'certim_ws_upgrades_total');
    // Opened after the page's WebSocket: when the server closes it at the header deadline (10 s), that deadline
    // has passed for the WebSocket's TLS connection too.
    await idleHttpsConnection(server);
    await addBuddy(alice.page, 'carol');
    assert.equal(await alice.page.getByTestId('connection').textContent(), 'online');
    assert.equal(await metric(alice.page, 'certim_ws_upgrades_total'), upgrades, 'no reconnect: the WebSocket was never cut');
    // The buddy list change reached the server: a fresh read of the feedbag from the CLI side is not ours to make,
    // but a second add of the same buddy must answer without an error (the page is still signed on).
    await alice.page.getByLabel('Screen name to add').fill('carol');
    await alice.page.getByRole('button', { name: 'Add', exact: true }).click();
    // Settled: the form clears itself once the server answered, or shows the error.
    await alice.page.waitForFunction(`document.querySelector('.add input[name="buddy"]').value === '' || document.querySelector('.add .error') !== null`);
    assert.equal(await alice.page.locator('.add .error').count(), 0);
    assert.deepEqual(alice.errors, []);
  });

  it('IMs go both ways: CLI send shows verified in the page, the page\'s IM reaches CLI listen --json verified', async () => {
    const listen = carol.start(['listen', '--json', '--count', '1']);
    await listen.waitFor((_o, e) => e.includes('waiting for IMs'), 'carol signed on');
    await alice.page.locator('[data-buddy="carol"][data-presence="online"]').waitFor({ timeout: 60_000 });
    const out = marker();
    texts.push(out);
    await openConversation(alice.page, 'carol');
    await send(alice.page, 'carol', `hello carol ${out}`);
    const done = await listen.finish();
    assert.equal(done.code, 0, done.stderr);
    const [im] = listen.jsonLines();
    assert.ok(im, listen.stdout);
    assert.deepEqual([im.from, im.text, im.secure, im.verdict, im.offline], ['alice', `hello carol ${out}`, true, 'verified', false]);
    assert.equal(im.profile ?? 'modern', 'modern');
    const back = marker();
    texts.push(back);
    const sent = await carol.run(['send', 'alice', `hi alice ${back}`, '--json']);
    assert.equal(sent.code, 0, sent.stderr);
    assert.equal((JSON.parse(sent.stdout) as { delivery: string }).delivery, 'delivered');
    assert.equal(await incoming(alice.page, back), 'verified');
    assert.equal(await alice.page.getByTestId('key-change').count(), 0, 'no key-change warning before a rotation');
    assert.deepEqual(alice.errors, []);
  });

  it('the CLI buddy rotates keys and sends again: the page warns of the key change, the trust view says changed', async () => {
    const before = (await alice.page.locator('.line.in').count());
    const rotate = await carol.run(['keys', 'rotate']);
    assert.equal(rotate.code, 0, rotate.stderr);
    const newFp = (JSON.parse((await carol.run(['keys', 'show', '--json'])).stdout) as { fingerprint: string }).fingerprint;
    const m = marker();
    texts.push(m);
    const sent = await carol.run(['send', 'alice', `new keys ${m}`]);
    assert.equal(sent.code, 0, sent.stderr);
    await incoming(alice.page, m);
    assert.equal(await alice.page.locator('.line.in').count(), before + 1);
    const banner = alice.page.getByTestId('key-change');
    await banner.waitFor();
    assert.match((await banner.textContent()) ?? '', /carol's key changed/);
    // The new line does not pass as an ordinary verified one: its badge says the key changed.
    const line = alice.page.locator('.line.in', { hasText: m });
    assert.match((await line.locator('.badge').textContent()) ?? '', /key changed/);
    await screenshot(alice.page, 'key-change');
    // The warning outlives the page: after a reload and a new sign-in it is still there until the user acts.
    await alice.page.reload();
    await signIn(alice.page, 'alice-pw-1', 'alice passphrase');
    await openConversation(alice.page, 'carol');
    await banner.waitFor();
    assert.match((await banner.textContent()) ?? '', /carol's key changed/, 'the unacknowledged key change is shown again after a reload');
    await banner.getByRole('button', { name: 'Review keys' }).click();
    assert.equal(await alice.page.getByTestId('trust-level').textContent(), 'key changed — not verified');
    assert.equal((await alice.page.getByTestId('buddy-fp').textContent())?.replace(/ /g, '').toLowerCase(), newFp);
    await screenshot(alice.page, 'key-change-trust');
    // Accepting clears the warning; the trust level goes back to CA-certified.
    await alice.page.getByRole('button', { name: /Accept the new key/ }).click();
    await alice.page.getByTestId('lines').waitFor();
    assert.equal(await alice.page.getByTestId('key-change').count(), 0);
    await alice.page.getByTestId('trust-button').click();
    assert.equal(await alice.page.getByTestId('trust-level').textContent(), 'certified by the CA (not compared in person)');
    await alice.page.getByTestId('trust-button').click();
    // Accepted is accepted for good: no warning after another reload.
    await alice.page.reload();
    await signIn(alice.page, 'alice-pw-1', 'alice passphrase');
    await openConversation(alice.page, 'carol');
    assert.equal(await alice.page.getByTestId('key-change').count(), 0, 'an accepted key is not warned about again');
    assert.deepEqual(alice.errors, []);
  });

  it('after a server restart the page reconnects by itself (with backoff) and IMs flow again', async () => {
    logsBefore = server.cli.stdout + server.cli.stderr;
    // The page notices, and retries with capped exponential backoff until the server is back (watched from before
    // the restart: the page may be online again by the time the new server reports ready).
    await Promise.all([
      alice.page.getByTestId('connection').filter({ hasText: /reconnecting \(attempt \d+\)/ }).waitFor({ timeout: 60_000 }),
      server.restart(),
    ]);
    await alice.page.getByTestId('connection').filter({ hasText: /^online$/ }).waitFor({ timeout: 120_000 });
    const m = marker();
    texts.push(m);
    const sent = await carol.run(['send', 'alice', `after the restart ${m}`, '--json']);
    assert.equal(sent.code, 0, sent.stderr);
    assert.equal((JSON.parse(sent.stdout) as { delivery: string }).delivery, 'delivered');
    assert.equal(await incoming(alice.page, m), 'verified');
    // The page's own IM after the reconnect reaches the CLI too.
    const listen = carol.start(['listen', '--json', '--count', '1']);
    await listen.waitFor((_o, e) => e.includes('waiting for IMs'), 'carol signed on');
    const out = marker();
    texts.push(out);
    await send(alice.page, 'carol', `still here ${out}`);
    const done = await listen.finish();
    assert.equal(done.code, 0, done.stderr);
    assert.deepEqual(listen.jsonLines().map((i) => [i.text, i.verdict]), [[`still here ${out}`, 'verified']]);
    // A reconnect is a disconnect the user sees, never a console error.
    assert.deepEqual(alice.errors.filter((e) => !/WebSocket/.test(e)), []);
  });

  it('the server kept no plaintext in its logs', () => {
    assert.ok(texts.length >= 5);
    const logs = logsBefore + server.cli.stdout + server.cli.stderr;
    for (const t of texts) assert.ok(!logs.includes(t), `${t} found in the server's logs`);
  });
});
