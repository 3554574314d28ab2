/**
 * Trust end to end, with a real `certim server` process and real CLI processes (docs/protocol.md §12.2):
 * - revocation: after `certim admin cert revoke`, alice's `send bob` exits non-zero naming who, why and since
 *   when; `trust show` says REVOKED; alice's `listen` marks a message signed with bob's revoked key untrusted with
 *   the reason; bob's own `listen` says his certificate was revoked and backs off (a handful of sign-ons, counted
 *   at a proxy, with a short injected backoff schedule instead of a one-minute wait);
 * - a stale CRL (past nextUpdate + the grace period, the server unreachable) is refused: nothing is sent;
 * - key lifecycle: `keys init` refuses to overwrite without --force; `keys rotate` puts the old serials on the
 *   CRL (reason superseded, checked with openssl); a personally verified buddy whose key changes blocks `send`
 *   until `trust accept` / `trust verify`;
 * - downgrade: a rewriting proxy on the plain port strips certim's modern capability; a pinned buddy still gets
 *   the modern profile with a warning, an unpinned one gets aim-legacy with a warning — never silently — and the
 *   receiver's JSON marks it legacy;
 * - replay: an IM delivered again after `listen` restarts is refused as replayed (the cache lives in the profile);
 * - joustsim's cookie 0: two different IMs with cookie 0 both arrive.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { formatFingerprint } from '../src/client/trust.js';
import { join } from 'node:path';
import { buildCrl, crlToPem } from '../src/pki/crl.js';
import { readPrivateKey } from '../src/pki/pkcs8.js';
import { parseCertificate } from '../src/pki/x509-parse.js';
import { runCli, TestServer, TestUser, type RunResult } from './support/cli-harness.js';
import { proxyCredentials, startTamperProxy, type TamperProxy } from './support/tamper-proxy.js';

interface CertRow {
  serial: string;
  purpose: string;
  revokedAt: string | null;
  revocationReason: string | null;
}

async function certs(server: TestServer, name: string): Promise<CertRow[]> {
  const r = await runCli(['admin', 'cert', 'list', name, '--json', '--data-dir', server.dataDir]);
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(r.stdout) as CertRow[];
}

async function revoke(server: TestServer, serial: string, reason: string): Promise<void> {
  const r = await runCli(['admin', 'cert', 'revoke', serial, '--reason', reason, '--data-dir', server.dataDir]);
  assert.equal(r.code, 0, r.stderr);
}

function json(r: RunResult): Record<string, unknown> {
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(r.stdout) as Record<string, unknown>;
}

/** The serials listed in the server's CRL, read with curl + openssl (independent of certim's parser). */
function crlSerials(server: TestServer): string {
  const der = execFileSync('curl', ['-sS', '--cacert', join(server.dataDir, 'ca', 'root.crt'), `${server.httpsUrl}/ca/crl`]);
  return execFileSync('openssl', ['crl', '-inform', 'DER', '-noout', '-text'], { input: der, encoding: 'utf8' });
}

/** A CRL signed by the server's issuing CA with the given dates (what a stale cached CRL looks like). */
async function signedCrl(server: TestServer, thisUpdate: Date, nextUpdate: Date): Promise<string> {
  const ca = join(server.dataDir, 'ca');
  const key = await readPrivateKey(readFileSync(join(ca, 'issuing.key'), 'utf8'), readFileSync(join(ca, 'issuing.pass'), 'utf8').trim());
  const issuer = parseCertificate(readFileSync(join(ca, 'issuing.crt'), 'utf8'));
  return crlToPem(buildCrl({ issuer, issuerKey: key, revoked: [], thisUpdate, nextUpdate, crlNumber: BigInt(thisUpdate.getTime()) }));
}

describe('certim trust end to end', { timeout: 900_000 }, () => {
  let server: TestServer;
  let alice: TestUser;
  let carol: TestUser;
  const proxies: TamperProxy[] = [];

  before(async () => {
    server = await TestServer.start();
    alice = await server.enrolledUser('alice');
    carol = await server.enrolledUser('carol');
  });

  after(async () => {
    for (const p of proxies) await p.close();
    await server?.stop();
  });

  it('revoked bob: send refuses and names the revocation, trust show says REVOKED, listen marks his signature, his own client backs off', async (t) => {
    // bob signs on through a proxy, so the test can cut his connection and count his sign-ons.
    const proxy = await startTamperProxy({ upstream: { host: '127.0.0.1', port: server.ready.oscarTls }, ...proxyCredentials(server.dataDir, server.tmp), tamper: false });
    proxies.push(proxy);
    const bob = new TestUser('bob', join(server.tmp, 'bob'), 'bob-pw-1', 'bob pass');
    await server.addUser('bob', bob.password);
    assert.equal((await bob.keysInit(server, `127.0.0.1:${proxy.port}`)).code, 0);

    // alice learns bob's key; bob sends alice an IM while she is offline (signed with the key about to be revoked).
    const first = json(await alice.run(['send', 'bob', 'hi bob', '--json']));
    assert.equal(first.profile, 'modern');
    const before = await bob.run(['send', 'alice', 'signed before my revocation']);
    assert.equal(before.code, 0, before.stderr);

    // bob listens (short injected backoff: 200 ms doubling to 2 s).
    const bobListen = bob.start(['listen', '--json'], { CERTIM_RECONNECT_MS: '200,2000' });
    await bobListen.waitFor((_o, e) => e.includes('waiting for IMs'), 'bob signed on');

    const rows = await certs(server, 'bob');
    const valid = rows.filter((r) => r.revokedAt === null);
    assert.equal(valid.length, 2, JSON.stringify(rows));
    for (const r of valid) await revoke(server, r.serial, 'keyCompromise');

    // alice: refused, exit 1, with who, why and since when — and --allow-plaintext does not change that.
    for (const extra of [[], ['--allow-plaintext']]) {
      const sent = await alice.run(['send', 'bob', 'are you there?', ...extra]);
      assert.equal(sent.code, 1, sent.stdout);
      assert.match(sent.stderr, /bob's (encryption|signing) certificate was REVOKED: revoked on \d{4}-\d\d-\d\dT[\d:.]+Z, reason keyCompromise \(serial [0-9a-f]+\)/);
      assert.match(sent.stderr, /\[BUDDY_REVOKED\]/);
      assert.doesNotMatch(sent.stdout, /sent to bob/);
    }
    const show = json(await alice.run(['trust', 'show', 'bob', '--json']));
    assert.equal(show.status, 'revoked');
    const revoked = show.revoked as { serial: string; reason: string; revokedAt: string }[];
    assert.deepEqual(revoked.map((r) => r.reason), ['keyCompromise', 'keyCompromise']);
    assert.deepEqual(revoked.map((r) => r.serial).sort(), valid.map((r) => r.serial).sort());
    const showText = await alice.run(['trust', 'show', 'bob']);
    assert.match(showText.stdout, /bob: REVOKED — the encryption certificate \(serial [0-9a-f]+\) was revoked on .*reason keyCompromise/);

    // alice's listen: the IM bob signed with the now-revoked key is untrusted, with the reason.
    const aliceListen = alice.start(['listen', '--json', '--count', '1']);
    assert.equal((await aliceListen.finish()).code, 0, aliceListen.stderr);
    const [im] = aliceListen.jsonLines();
    assert.equal(im?.from, 'bob');
    assert.equal(im?.verdict, 'untrusted');
    assert.equal(im?.code, 'REVOKED');
    assert.equal(im?.trust, null);
    assert.match(String(im?.reason), /bob's certificate was REVOKED: revoked on .*reason keyCompromise/);

    // bob's own client: cut his connection; he must say why and retry with backoff, not in a loop.
    const before2 = proxy.connections;
    proxy.dropAll();
    await bobListen.waitFor((_o, e) => /your certificate was revoked/.test(e), "bob's client names the revocation", 30_000);
    await new Promise((r) => setTimeout(r, 10_000));
    const signOns = (proxy.connections - before2) / 2; // login + BOS connection per attempt
    const attempts = (bobListen.stderr.match(/reconnect attempt \d+/g) ?? []).length;
    await bobListen.stop();
    t.diagnostic(`bob's listen after revocation: ${signOns} sign-on attempts (proxy), ${attempts} reconnects scheduled in ~10 s with backoff 200 ms..2 s`);
    assert.ok(signOns >= 1 && signOns <= 12, `bob signed on ${signOns} times in ~10 s (a handful expected)\n${bobListen.stderr}`);
    assert.ok(attempts >= 2 && attempts <= 12, `bob scheduled ${attempts} reconnects in ~10 s\n${bobListen.stderr}`);
    // The refusal is said plainly with what to do.
    assert.match(bobListen.stderr, /certim keys init --force/);

    // bob's one-shot commands refuse at once (his client checks its own certificates against the CRL).
    const own = await bob.run(['send', 'alice', 'me again']);
    assert.equal(own.code, 1, own.stdout);
    assert.match(own.stderr, /your (encryption|signing) certificate was revoked on .*reason keyCompromise.*certim keys init --force.*\[OWN_CERT_REVOKED\]/);
    const ks = await bob.run(['keys', 'show']);
    assert.equal(ks.code, 0, ks.stderr);
    assert.match(ks.stdout, /serial [0-9a-f]+ .*REVOKED on .*\(reason keyCompromise\)/);
    assert.match(ks.stdout, /you cannot send or receive secure IMs/);
    // Recovery: new keys, enrolled with the password; alice can write to bob again (a key change, said loudly).
    const renew = await bob.run(['keys', 'init', '--server', `127.0.0.1:${proxy.port}`, '--user', 'bob', '--https', server.httpsUrl, '--ca-fingerprint', server.ready.caFingerprint, '--force']);
    assert.equal(renew.code, 0, renew.stderr);
    const after = await alice.run(['send', 'bob', 'welcome back', '--json']);
    assert.equal(json(after).keyChanged, true);
    assert.match(after.stderr, /WARNING: bob's key changed!/);
  });

  it('a stale CRL is refused when no fresh one can be had; within the grace period it is used with a warning', async () => {
    const settingsPath = join(alice.profile, 'profile.json');
    const crlPath = join(alice.profile, 'crl.pem');
    assert.equal(json(await alice.run(['send', 'carol', 'hello carol', '--json'])).trust, 'ca'); // alice knows carol
    const saved = readFileSync(settingsPath, 'utf8');
    const savedCrl = readFileSync(crlPath, 'utf8');
    try {
      // The server's HTTPS becomes unreachable for alice, and her cached CRL expired two days ago.
      const s = JSON.parse(saved) as { https: string };
      s.https = 'https://127.0.0.1:1';
      writeFileSync(settingsPath, JSON.stringify(s));
      const now = Date.now();
      writeFileSync(crlPath, await signedCrl(server, new Date(now - 3 * 86_400_000), new Date(now - 2 * 86_400_000)));
      const stale = await alice.run(['send', 'carol', 'not with a stale CRL']);
      assert.equal(stale.code, 1, stale.stdout);
      assert.match(stale.stderr, /cannot tell whether carol's certificate was revoked: revocation list expired .* and the grace period ended/);
      assert.match(stale.stderr, /\[CRL_UNAVAILABLE\]/);
      const plain = await alice.run(['send', 'carol', 'nor in plaintext', '--allow-plaintext']);
      assert.equal(plain.code, 1, 'an unknown revocation status never falls back to plaintext');
      const show = json(await alice.run(['trust', 'show', 'carol', '--json']));
      assert.equal(show.status, 'revocation-unknown');

      // Expired an hour ago: inside the 24 h grace period, so it still counts, and the user is told.
      writeFileSync(crlPath, await signedCrl(server, new Date(now - 86_400_000), new Date(now - 3_600_000)));
      const grace = await alice.run(['send', 'carol', 'within the grace period', '--json']);
      assert.equal(grace.code, 0, grace.stderr);
      assert.match(grace.stderr, /revocation list is STALE .* still honoured until/);
    } finally {
      writeFileSync(settingsPath, saved);
      writeFileSync(crlPath, savedCrl);
    }
  });

  it('keys init refuses to replace an identity without --force; import says what it replaces; admin user remove revokes', async () => {
    const dave = await server.enrolledUser('dave');
    const fp = (json(await dave.run(['keys', 'show', '--json'])) as { fingerprint: string }).fingerprint;
    const oldP12 = join(server.tmp, 'dave-old.p12');
    assert.equal((await dave.run(['keys', 'export', '--p12', oldP12])).code, 0);
    // A second machine with the same (old) identity.
    const laptop = new TestUser('dave', join(server.tmp, 'dave-laptop'), dave.password, dave.passphrase);
    mkdirSync(laptop.profile, { mode: 0o700 });
    for (const f of ['profile.json', 'ca.pem', 'encryption.key', 'signing.key', 'encryption.crt', 'signing.crt']) copyFileSync(join(dave.profile, f), join(laptop.profile, f));
    const again = await dave.keysInit(server);
    assert.equal(again.code, 1);
    assert.match(again.stderr, /already holds dave's keys/);
    assert.match(again.stderr, /--force/);
    assert.match(again.stderr, /\[IDENTITY_EXISTS\]/);
    assert.equal((json(await dave.run(['keys', 'show', '--json'])) as { fingerprint: string }).fingerprint, fp, 'nothing was replaced');
    const oldSerials = (await certs(server, 'dave')).map((r) => r.serial);
    const forced = await dave.run(['keys', 'init', '--server', server.tlsAddress, '--user', 'dave', '--https', server.httpsUrl, '--ca-fingerprint', server.ready.caFingerprint, '--force']);
    assert.equal(forced.code, 0, forced.stderr);
    assert.match(forced.stderr, /replaced the identity/);
    const backups = readdirSync(dave.profile).filter((n) => n.startsWith('backup-'));
    assert.equal(backups.length, 1);
    assert.ok(existsSync(join(dave.profile, backups[0]!, 'signing.key')));
    // The server superseded dave's old certificates: one valid certificate per purpose.
    const rows = await certs(server, 'dave');
    for (const s of oldSerials) assert.equal(rows.find((r) => r.serial === s)?.revocationReason, 'superseded');
    assert.equal(rows.filter((r) => r.revokedAt === null).length, 2);

    // Importing the old (now superseded) identity is refused, with the reason.
    const stale = await dave.run(['keys', 'import', oldP12]);
    assert.equal(stale.code, 1, stale.stdout);
    assert.match(stale.stderr, /was revoked on .*superseded.*not imported/);
    // The laptop takes the new identity: import says which one it replaces.
    const newFp = (json(await dave.run(['keys', 'show', '--json'])) as { fingerprint: string }).fingerprint;
    const newP12 = join(server.tmp, 'dave-new.p12');
    assert.equal((await dave.run(['keys', 'export', '--p12', newP12])).code, 0);
    const imp = await laptop.run(['keys', 'import', newP12]);
    assert.equal(imp.code, 0, imp.stderr);
    assert.match(imp.stdout, new RegExp(`REPLACES dave's identity ${formatFingerprint(fp)} .* with ${formatFingerprint(newFp)}`));

    const removed = await runCli(['admin', 'user', 'remove', 'dave', '--data-dir', server.dataDir]);
    assert.equal(removed.code, 0, removed.stderr);
    assert.match(removed.stdout, /2 certificates revoked/);
    assert.deepEqual((await certs(server, 'dave')).filter((r) => r.revokedAt === null), []);
    assert.ok((await certs(server, 'dave')).some((r) => r.revocationReason === 'cessationOfOperation'));
  });

  it("a personally verified buddy's key change blocks send until accepted; keys rotate puts the old serials on the CRL", async () => {
    const carolFp = (json(await carol.run(['keys', 'show', '--json'])) as { fingerprint: string; certs: { serial: string }[] });
    const ok = await alice.run(['trust', 'verify', 'carol', carolFp.fingerprint]);
    assert.equal(ok.code, 0, ok.stderr);
    assert.equal(json(await alice.run(['send', 'carol', 'verified and fine', '--json'])).trust, 'personal');

    const rotate = await carol.run(['keys', 'rotate']);
    assert.equal(rotate.code, 0, rotate.stderr);
    for (const c of carolFp.certs) assert.match(rotate.stdout, new RegExp(`certificate ${c.serial}: revoked \\(superseded\\)`));
    const crlText = crlSerials(server);
    for (const c of carolFp.certs) {
      assert.match(crlText, new RegExp(`Serial Number: ${c.serial.toUpperCase()}[\\s\\S]*?CRL Reason Code:\\s*Superseded`), `${c.serial} on the CRL as superseded`);
    }

    const blocked = await alice.run(['send', 'carol', 'is this still you?']);
    assert.equal(blocked.code, 1, blocked.stdout);
    assert.match(blocked.stderr, /carol's key changed since you personally verified it/);
    assert.match(blocked.stderr, /certim trust accept carol/);
    assert.match(blocked.stderr, /\[KEY_CHANGED\]/);
    assert.equal(json(await alice.run(['trust', 'show', 'carol', '--json'])).trust, 'changed');
    const accept = await alice.run(['trust', 'accept', 'carol']);
    assert.equal(accept.code, 0, accept.stderr);
    assert.match(accept.stdout, /WITHOUT verifying it/);
    const sent = json(await alice.run(['send', 'carol', 'accepted your new key', '--json']));
    assert.equal(sent.trust, 'ca');
    const newFp = (json(await carol.run(['keys', 'show', '--json'])) as { fingerprint: string }).fingerprint;
    assert.equal((await alice.run(['trust', 'verify', 'carol', newFp])).code, 0);
    assert.equal(json(await alice.run(['send', 'carol', 'verified again', '--json'])).trust, 'personal');
  });

  it('downgrade through a rewriting proxy on the plain port: pinned buddy stays modern with a warning, never a silent legacy send', async () => {
    const proxy = await startTamperProxy({ upstream: { host: '127.0.0.1', port: server.ready.oscar }, key: '', cert: '', plain: true });
    proxies.push(proxy);
    const erin = new TestUser('erin', join(server.tmp, 'erin'), 'erin-pw-1', 'erin pass');
    // A classic (MD5) login over the plain port, as a classic client would: opted in per account.
    await server.addUser('erin', erin.password, { legacyLogin: true });
    const init = await erin.run(['keys', 'init', '--server', `127.0.0.1:${proxy.port}`, '--user', 'erin', '--https', server.httpsUrl, '--ca-fingerprint', server.ready.caFingerprint, '--plain']);
    assert.equal(init.code, 0, init.stderr);
    const hank = await server.enrolledUser('hank');
    // frank also sits behind the attacker, so both ends see each other as classic clients.
    const frank = new TestUser('frank', join(server.tmp, 'frank'), 'frank-pw-1', 'frank pass');
    await server.addUser('frank', frank.password, { legacyLogin: true });
    const finit = await frank.run(['keys', 'init', '--server', `127.0.0.1:${proxy.port}`, '--user', 'frank', '--https', server.httpsUrl, '--ca-fingerprint', server.ready.caFingerprint, '--plain']);
    assert.equal(finit.code, 0, finit.stderr);

    // Seen modern once (nothing stripped yet): erin pins hank to the modern profile.
    const hankListen = hank.start(['listen', '--json', '--count', '2']);
    await hankListen.waitFor((_o, e) => e.includes('waiting for IMs'), 'hank signed on');
    assert.equal(json(await erin.run(['send', 'hank', 'first, modern', '--json'])).profile, 'modern');
    // Now the network strips the capability: hank looks like a classic client.
    proxy.stripModern = true;
    const pinned = await erin.run(['send', 'hank', 'still modern', '--json']);
    const p = json(pinned);
    assert.equal(p.profile, 'modern');
    assert.match(pinned.stderr, /WARNING: hank no longer announces certim's modern profile \(pinned since/);
    assert.equal((await hankListen.finish()).code, 0);
    assert.deepEqual(hankListen.jsonLines().map((m) => [m.text, m.profile, m.legacy, m.verdict]), [
      ['first, modern', 'modern', false, 'verified'], ['still modern', 'modern', false, 'verified'],
    ]);

    // A buddy erin never saw before, online, stripped: aim-legacy — said loudly by sender and receiver.
    const frankListen = frank.start(['listen', '--json', '--count', '1']);
    await frankListen.waitFor((_o, e) => e.includes('waiting for IMs'), 'frank signed on');
    const legacy = await erin.run(['send', 'frank', 'legacy, and you will know it', '--json']);
    const l = json(legacy);
    assert.deepEqual([l.profile, l.legacy], ['aim-legacy', true]);
    assert.match(legacy.stderr, /WARNING: frank does not announce certim's modern profile .*aim-legacy profile: MD5 signature, no replay protection, no recipient binding/);
    assert.equal((await frankListen.finish()).code, 0);
    const [im] = frankListen.jsonLines();
    assert.equal(im?.profile, 'aim-legacy');
    assert.equal(im?.verdict, 'verified');
    assert.equal(im?.legacy, true);
    assert.deepEqual(im?.protections, { replay: false, recipientBinding: false, weakDigest: true });
    const human = frank.start(['listen']);
    await human.waitFor((_o, e) => e.includes('waiting for IMs'), 'frank signed on again');
    const again = await erin.run(['send', 'frank', 'once more']);
    assert.equal(again.code, 0, again.stderr);
    await human.waitFor((o) => o.includes('once more'), 'the legacy IM');
    await human.stop();
    assert.match(human.stdout, /erin \[secure, LEGACY: weak MD5, no replay\/recipient binding\]: once more/);
    assert.match(again.stdout, /aim-legacy: weak MD5 digest, no replay or recipient binding/);

    // An offline buddy erin has no record of: not legacy by default, and the user is told what was chosen.
    const june = await server.enrolledUser('june');
    const offline = await erin.run(['send', 'june', 'while you are away', '--json']);
    assert.equal(json(offline).profile, 'modern');
    assert.match(offline.stderr, /june is offline and has not been seen with a client yet: sent with the modern profile/);
    const juneListen = june.start(['listen', '--json', '--count', '1']);
    assert.equal((await juneListen.finish()).code, 0, juneListen.stderr);
    assert.deepEqual(juneListen.jsonLines().map((m) => [m.text, m.profile, m.verdict, m.offline]), [['while you are away', 'modern', 'verified', true]]);

    // The attacker now hides hank's certificates (hank is offline): no secure IM is possible; plaintext needs the
    // explicit flag, and even then erin is warned that hank had a certificate before.
    proxy.stripCertificates = true;
    const refused = await erin.run(['send', 'hank', 'where did your key go?']);
    assert.equal(refused.code, 1, refused.stdout);
    assert.match(refused.stderr, /hank publishes no certificate now, although it had one .*the server may be hiding it.*\[PLAINTEXT_REFUSED\]/);
    const plain = await erin.run(['send', 'hank', 'in the clear, knowingly', '--allow-plaintext']);
    assert.equal(plain.code, 0, plain.stderr);
    assert.match(plain.stderr, /WARNING: hank had a certificate \(fingerprint (?:[0-9A-F]{4} ){15}[0-9A-F]{4}, seen since .*\) and used the modern profile, but none is published now; sending in plaintext because you allowed it/);
    assert.match(plain.stdout, /NOT ENCRYPTED/);
  });

  it('an IM delivered again after listen restarts is refused as replayed; cookie-0 IMs are not deduplicated away', async () => {
    const proxy = await startTamperProxy({ upstream: { host: '127.0.0.1', port: server.ready.oscarTls }, ...proxyCredentials(server.dataDir, server.tmp), tamper: false, zeroCookies: true });
    proxies.push(proxy);
    const gina = new TestUser('gina', join(server.tmp, 'gina'), 'gina-pw-1', 'gina pass');
    await server.addUser('gina', gina.password);
    assert.equal((await gina.keysInit(server, `127.0.0.1:${proxy.port}`)).code, 0);
    const first = gina.start(['listen', '--json', '--count', '1']);
    await first.waitFor((_o, e) => e.includes('waiting for IMs'), 'gina signed on');
    assert.equal((await alice.run(['send', 'gina', 'only once'])).code, 0);
    assert.equal((await first.finish()).code, 0);
    assert.equal(first.jsonLines()[0]?.verdict, 'verified');

    // A restarted listen; the proxy (a replaying server) delivers the same IM again.
    const second = gina.start(['listen', '--json', '--count', '1']);
    await second.waitFor((_o, e) => e.includes('waiting for IMs'), 'gina signed on again');
    assert.ok(proxy.replayIncomingIm(), 'the proxy had an IM to replay');
    assert.equal((await second.finish()).code, 0);
    const [replayed] = second.jsonLines();
    assert.equal(replayed?.verdict, 'failed');
    assert.equal(replayed?.code, 'replayed');
    assert.equal(replayed?.text, '');

    // joustsim sends every IM with cookie 0 (the proxy rewrites gina's): two different ones must both arrive.
    const ivan = await server.enrolledUser('ivan');
    const ivanListen = ivan.start(['listen', '--json', '--count', '2']);
    await ivanListen.waitFor((_o, e) => e.includes('waiting for IMs'), 'ivan signed on');
    for (const t of ['zero cookie one', 'zero cookie two']) assert.equal((await gina.run(['send', 'ivan', t])).code, 0);
    assert.equal((await ivanListen.finish()).code, 0, ivanListen.stderr);
    assert.deepEqual(ivanListen.jsonLines().map((m) => m.text), ['zero cookie one', 'zero cookie two']);
  });
});
