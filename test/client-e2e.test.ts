/**
 * End-to-end proof for the certim client: a real `certim server` process, real CLI processes.
 * alice and bob run `keys init` (EST enrollment), alice `send`s bob a secure IM that bob's `listen --json`
 * prints as verified + CA-certified; the server's database and log never see the text; a hostile relay's edit
 * yields a failed verdict; an IM to offline bob arrives at his next sign-on, still verified; bob's key rotation
 * raises a key-change warning at alice's next send; plaintext needs an explicit choice; a changed CA is refused.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { copyFileSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { formatFingerprint } from '../src/client/trust.js';
import { TestServer, TestUser } from './support/cli-harness.js';
import { proxyCredentials, startTamperProxy, type TamperProxy } from './support/tamper-proxy.js';

function marker(): string {
  return `MARKER-${randomBytes(8).toString('hex')}`;
}

/** Every file under `dir` (database, WAL, CA files...) as one buffer, to search for leaked plaintext. */
function allBytes(dir: string): Buffer {
  const parts: Buffer[] = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) parts.push(allBytes(p));
    else if (statSync(p).isFile()) parts.push(readFileSync(p)); // not the admin socket
  }
  return Buffer.concat(parts);
}

describe('certim client end to end', { timeout: 600_000 }, () => {
  let server: TestServer;
  let alice: TestUser;
  let bob: TestUser;
  const markers: string[] = [];

  before(async () => {
    server = await TestServer.start();
    alice = new TestUser('alice', join(server.tmp, 'alice-profile'), 'alice-password-1', 'alice passphrase');
    bob = new TestUser('bob', join(server.tmp, 'bob-profile'), 'bob-password-1', 'bob passphrase');
    await server.addUser('alice', alice.password);
    await server.addUser('bob', bob.password);
    await server.addUser('dave', 'dave-password-1');
  });

  after(async () => {
    await server?.stop();
  });

  it('keys init enrolls both users over EST and keeps private keys encrypted, files 0600 in a 0700 directory', async () => {
    for (const u of [alice, bob]) {
      const r = await u.keysInit(server);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, new RegExp(`CA fingerprint: ${formatFingerprint(server.ready.caFingerprint)} \\(pinned\\)`), 'text shows the display form of the ready line\'s hex');
      assert.equal(statSync(u.profile).mode & 0o777, 0o700);
      for (const f of readdirSync(u.profile)) assert.equal(statSync(join(u.profile, f)).mode & 0o777, 0o600, f);
      for (const k of ['encryption.key', 'signing.key']) {
        const pem = readFileSync(join(u.profile, k), 'utf8');
        assert.match(pem, /^-----BEGIN ENCRYPTED PRIVATE KEY-----/);
        // openssl reads it with the passphrase, and refuses it without.
        const out = execFileSync('openssl', ['pkey', '-in', join(u.profile, k), '-passin', `pass:${u.passphrase}`, '-noout', '-text'], { encoding: 'utf8' });
        assert.match(out, /Private-Key: \(2048 bit/);
      }
      const show = await u.run(['keys', 'show', '--json']);
      const s = JSON.parse(show.stdout) as { screenName: string; caFingerprint: string; certs: { role: string; keyBits: number }[] };
      assert.equal(s.screenName, u.name);
      assert.equal(s.caFingerprint, server.ready.caFingerprint);
      assert.deepEqual(s.certs.map((c) => [c.role, c.keyBits]), [['encryption', 2048], ['signing', 2048]]);
    }
  });

  it('keys export writes a .p12 that openssl opens, and keys import restores the identity into a profile', async () => {
    const p12 = join(server.tmp, 'alice.p12');
    const exp = await alice.run(['keys', 'export', '--p12', p12]);
    assert.equal(exp.code, 0, exp.stderr);
    assert.equal(statSync(p12).mode & 0o777, 0o600);
    const certs = execFileSync('openssl', ['pkcs12', '-in', p12, '-passin', `pass:${alice.passphrase}`, '-nokeys'], { encoding: 'utf8' });
    assert.match(certs, /subject=CN ?= ?alice/);
    assert.ok((certs.match(/BEGIN CERTIFICATE/g) ?? []).length >= 2);
    const keys = execFileSync('openssl', ['pkcs12', '-in', p12, '-passin', `pass:${alice.passphrase}`, '-nocerts', '-nodes'], { encoding: 'utf8' });
    assert.equal((keys.match(/BEGIN PRIVATE KEY/g) ?? []).length, 2);
    // A second machine: same settings and pinned CA, no keys yet.
    const copy = new TestUser('alice', join(server.tmp, 'alice-laptop'), alice.password, alice.passphrase);
    mkdirSync(copy.profile, { mode: 0o700 });
    for (const f of ['profile.json', 'ca.pem']) copyFileSync(join(alice.profile, f), join(copy.profile, f));
    const wrong = await copy.run(['keys', 'import', p12], { CERTIM_PASSPHRASE: 'not the passphrase' });
    assert.equal(wrong.code, 1);
    assert.match(wrong.stderr, /BAD_PASSPHRASE/);
    const imp = await copy.run(['keys', 'import', p12]);
    assert.equal(imp.code, 0, imp.stderr);
    const a = JSON.parse((await alice.run(['keys', 'show', '--json'])).stdout) as { fingerprint: string };
    const b = JSON.parse((await copy.run(['keys', 'show', '--json'])).stdout) as { fingerprint: string };
    assert.equal(b.fingerprint, a.fingerprint);
    assert.match(readFileSync(join(copy.profile, 'signing.key'), 'utf8'), /^-----BEGIN ENCRYPTED PRIVATE KEY-----/);
  });

  it('alice sends bob a secure IM; bob listen --json prints it verified and CA-certified', async () => {
    const listen = bob.start(['listen', '--json', '--count', '1']);
    await listen.waitFor((_o, e) => e.includes('waiting for IMs'), 'bob signed on');
    const m = marker();
    markers.push(m);
    const sent = await alice.run(['send', 'bob', `hello bob ${m}`, '--json']);
    assert.equal(sent.code, 0, sent.stderr);
    const s = JSON.parse(sent.stdout) as { secure: boolean; profile: string; trust: string };
    assert.deepEqual([s.secure, s.profile, s.trust], [true, 'modern', 'ca']);
    const done = await listen.finish();
    assert.equal(done.code, 0, done.stderr);
    const [im] = listen.jsonLines();
    assert.ok(im, listen.stdout);
    assert.equal(im.from, 'alice');
    assert.equal(im.text, `hello bob ${m}`);
    assert.equal(im.secure, true);
    assert.equal(im.verdict, 'verified');
    assert.equal(im.trust, 'ca');
    assert.equal(im.offline, false);
    assert.equal(typeof im.reason, 'string');
  });

  it('an IM to offline bob is stored and delivered at his next sign-on, still verified', async () => {
    const m = marker();
    markers.push(m);
    const sent = await alice.run(['send', 'bob', `while you were out ${m}`]);
    assert.equal(sent.code, 0, sent.stderr);
    const listen = bob.start(['listen', '--json', '--count', '1']);
    const done = await listen.finish();
    assert.equal(done.code, 0, done.stderr);
    const [im] = listen.jsonLines();
    assert.equal(im?.text, `while you were out ${m}`);
    assert.equal(im?.verdict, 'verified');
    assert.equal(im?.trust, 'ca');
    assert.equal(im?.offline, true);
  });

  it('a relay that flips a ciphertext byte produces a failed verdict, not a wrong message', async () => {
    // The proxy presents a TLS certificate from the server's own issuing CA (the worst case: a malicious server).
    const creds = proxyCredentials(server.dataDir, server.tmp);
    let proxy: TamperProxy | undefined;
    const carol = new TestUser('carol', join(server.tmp, 'carol-profile'), 'carol-password-1', 'carol passphrase');
    await server.addUser('carol', carol.password);
    try {
      proxy = await startTamperProxy({
        upstream: { host: '127.0.0.1', port: server.ready.oscarTls },
        ...creds,
        tamper: true,
      });
      const init = await carol.keysInit(server, `127.0.0.1:${proxy.port}`);
      assert.equal(init.code, 0, init.stderr);
      const listen = bob.start(['listen', '--json', '--count', '1']);
      await listen.waitFor((_o, e) => e.includes('waiting for IMs'), 'bob signed on');
      const m = marker();
      markers.push(m);
      const sent = await carol.run(['send', 'bob', `pay 10 EUR to carol ${m}`]);
      assert.equal(sent.code, 0, sent.stderr);
      assert.equal(proxy.tampered, 1, 'the proxy altered the IM in transit');
      const done = await listen.finish();
      assert.equal(done.code, 0, done.stderr);
      const [im] = listen.jsonLines();
      assert.equal(im?.from, 'carol');
      assert.equal(im?.secure, true);
      assert.equal(im?.verdict, 'failed');
      assert.equal(im?.trust, null);
      assert.equal(im?.text, '', 'a failed message shows no text');
      assert.ok(!listen.stdout.includes(m));
      assert.ok(typeof im?.reason === 'string' && (im.reason as string).length > 0);
    } finally {
      await proxy?.close();
    }
  });

  it('never silently plaintext: an IM to a buddy without a certificate fails unless plaintext is allowed', async () => {
    const refused = await alice.run(['send', 'dave', 'no keys here']);
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /dave has no certificate/);
    assert.match(refused.stderr, /PLAINTEXT_REFUSED/);
    const allowed = await alice.run(['send', 'dave', 'fine, in the clear', '--allow-plaintext']);
    assert.equal(allowed.code, 0, allowed.stderr);
    assert.match(allowed.stdout, /NOT ENCRYPTED/);
  });

  it("bob rotates his keys; alice's next send raises the key-change warning and trust shows 'changed'", async () => {
    // An IM encrypted to bob's OLD key waits offline; `keys rotate` signs on (to publish the new certificates),
    // receives it, and keeps it (ciphertext) in bob's inbox; his next listen decrypts it with the previous key.
    const early = marker();
    markers.push(early);
    const pre = await alice.run(['send', 'bob', `before your rotation ${early}`]);
    assert.equal(pre.code, 0, pre.stderr);
    const rotate = await bob.run(['keys', 'rotate']);
    assert.equal(rotate.code, 0, rotate.stderr);
    const newFp = (JSON.parse((await bob.run(['keys', 'show', '--json'])).stdout) as { fingerprint: string }).fingerprint;
    const m = marker();
    markers.push(m);
    const sent = await alice.run(['send', 'bob', `after your rotation ${m}`, '--json']);
    assert.equal(sent.code, 0, sent.stderr);
    assert.match(sent.stderr, /WARNING: bob's key changed!/);
    const s = JSON.parse(sent.stdout) as { keyChanged: boolean; trust: string; fingerprint: string };
    assert.equal(s.keyChanged, true);
    assert.equal(s.trust, 'changed');
    assert.equal(s.fingerprint, newFp);

    const show = JSON.parse((await alice.run(['trust', 'show', 'bob', '--json'])).stdout) as { trust: string; fingerprint: string };
    assert.deepEqual([show.trust, show.fingerprint], ['changed', newFp]);
    const wrong = await alice.run(['trust', 'verify', 'bob', 'ab'.repeat(32)]);
    assert.equal(wrong.code, 1);
    assert.match(wrong.stderr, /does NOT match/);
    const ok = await alice.run(['trust', 'verify', 'bob', newFp]);
    assert.equal(ok.code, 0, ok.stderr);
    const after = JSON.parse((await alice.run(['trust', 'show', 'bob', '--json'])).stdout) as { trust: string };
    assert.equal(after.trust, 'personal');

    // bob (offline during both sends) reads the old-key IM from his inbox and the new one from the server.
    const listen = bob.start(['listen', '--json', '--count', '2']);
    const done = await listen.finish();
    assert.equal(done.code, 0, done.stderr);
    const ims = listen.jsonLines();
    assert.deepEqual(ims.map((i) => [i.text, i.verdict]).sort(), [[`after your rotation ${m}`, 'verified'], [`before your rotation ${early}`, 'verified']]);
  });

  it('a changed CA is refused loudly', async () => {
    const other = await TestServer.start();
    try {
      await other.addUser('alice', alice.password);
      // alice's profile pins the first server's CA: re-running init against another CA must refuse.
      // (--force: replacing an identity is refused by default; the CA check must still stop it.)
      const r = await alice.run(['keys', 'init', '--server', other.tlsAddress, '--user', 'alice', '--https', other.httpsUrl, '--force']);
      assert.equal(r.code, 1);
      assert.match(r.stderr, /CA changed!/);
      assert.match(r.stderr, /CA_CHANGED/);
      // And a profile pointed at a server whose TLS does not chain to the pinned CA refuses to sign on.
      const settingsPath = join(alice.profile, 'profile.json');
      const saved = readFileSync(settingsPath, 'utf8');
      try {
        const s = JSON.parse(saved) as { server: string };
        s.server = other.tlsAddress;
        writeFileSync(settingsPath, JSON.stringify(s));
        const send = await alice.run(['send', 'bob', 'hi']);
        assert.equal(send.code, 1);
        assert.match(send.stderr, /not certified by the pinned CA/);
      } finally {
        writeFileSync(settingsPath, saved);
      }
    } finally {
      await other.stop();
    }
  });

  it("the server's database files and log hold no trace of any secure IM's text", async () => {
    assert.ok(markers.length >= 4);
    const stored = allBytes(server.dataDir);
    const log = server.cli.stderr;
    for (const m of markers) {
      assert.equal(stored.includes(Buffer.from(m)), false, `${m} found in the data directory`);
      assert.equal(stored.includes(Buffer.from(m, 'utf16le')), false);
      assert.equal(log.includes(m), false, `${m} found in the server log`);
    }
    // The plaintext IM to dave, by contrast, is stored as sent (offline): proof the search would find text.
    assert.equal(stored.includes(Buffer.from('fine, in the clear')), true);
  });
});
