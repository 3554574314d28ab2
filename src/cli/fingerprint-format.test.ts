/**
 * One fingerprint format everywhere: every command's text output shows a fingerprint as formatFingerprint does
 * (uppercase hex in groups of four), never as raw or colon-separated hex; --json keeps plain lowercase hex; every
 * fingerprint input takes either form, and a malformed one is refused with what to type instead.
 *
 * Runs the real CLI entry point (`main`) on a CA in a temporary data directory and a profile written from its
 * certificates, so no server is needed: the profile's EST URL points at a closed port (the CRL fetch fails at once
 * and the commands report the revocation status as unknown).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { captureMain } from './capture.test-support.js';
import { openCertificateAuthority, type IssuedCertificate } from '../pki/ca.js';
import { MemoryCertificateLedger } from '../pki/ledger-memory.js';
import { generateRsaKeyPair } from '../pki/keys.js';
import { toPem } from '../pki/asn1/der.js';
import { encodeCertificateInfo, certInfoHash } from '../wire/cert-info.js';
import { certFingerprint, formatFingerprint, identityFingerprint, parseFingerprint, updateRecord } from '../client/trust.js';
import { ProfileDir } from '../client/node/profile.js';

const capture = captureMain;

const GROUPED = /(?:[0-9A-F]{4} ){15}[0-9A-F]{4}/g;

/**
 * Holds one command's text to the display format: no 64-digit hex run (raw), no colon-separated pairs, and every
 * grouped fingerprint shown is one of `known`. Returns the grouped fingerprints, in order.
 */
function displayedFingerprints(what: string, text: string, known: readonly string[]): string[] {
  assert.doesNotMatch(text, /[0-9a-fA-F]{64}/, `${what}: a fingerprint in raw hex:\n${text}`);
  assert.doesNotMatch(text, /(?:[0-9a-fA-F]{2}:){31}[0-9a-fA-F]{2}/, `${what}: a fingerprint with colons:\n${text}`);
  const shown = text.match(GROUPED) ?? [];
  const allowed = new Set(known.map(formatFingerprint));
  for (const s of shown) assert.ok(allowed.has(s), `${what}: ${s} is no known fingerprint`);
  return shown;
}

/** A buddy record as the client stores it for one certificate pair. */
function buddyInput(screenName: string, enc: IssuedCertificate, sig: IssuedCertificate) {
  const block = encodeCertificateInfo({ certA: enc.der, certB: sig.der });
  return {
    screenName,
    certInfoHash: Buffer.from(certInfoHash(block)).toString('hex'),
    certInfo: Buffer.from(block).toString('base64'),
    fingerprint: identityFingerprint(enc.der, sig.der),
    encryptionFingerprint: certFingerprint(enc.der),
    signingFingerprint: certFingerprint(sig.der),
    modern: true,
  };
}

test('every command shows fingerprints in the one display format; --json keeps lowercase hex; inputs take any form', async () => {
  const tmp = mkdtempSync(join(tmpdir(), 'certim-fpformat-'));
  try {
    const dataDir = join(tmp, 'data');
    const ca = await openCertificateAuthority({ dataDir, domain: 'example.org', ledger: new MemoryCertificateLedger(), env: {}, warn: () => {}, issuingKeyBits: 2048 });
    const key = await generateRsaKeyPair(2048);
    const [aliceEnc, aliceSig, bobEnc1, bobSig1, bobEnc2, bobSig2] = await Promise.all([
      ca.issueUserCertificate(key.publicKey, 'alice', 'encrypt'), ca.issueUserCertificate(key.publicKey, 'alice', 'sign'),
      ca.issueUserCertificate(key.publicKey, 'bob', 'encrypt'), ca.issueUserCertificate(key.publicKey, 'bob', 'sign'),
      ca.issueUserCertificate(key.publicKey, 'bob', 'encrypt'), ca.issueUserCertificate(key.publicKey, 'bob', 'sign'),
    ]);
    const root = ca.rootFingerprint();
    assert.match(root, /^[0-9a-f]{64}$/);

    const dir = join(tmp, 'alice');
    const profile = new ProfileDir(dir);
    profile.saveSettings({ version: 1, screenName: 'alice', server: '127.0.0.1:1', https: 'https://127.0.0.1:1', caFingerprint: root, keySize: 2048 });
    profile.write('ca.pem', toPem('CERTIFICATE', ca.rootCertificate.der) + toPem('CERTIFICATE', ca.issuingCertificate.der));
    profile.write('encryption.crt', aliceEnc!.pem);
    profile.write('signing.crt', aliceSig!.pem);
    // Bob's key changed since alice first saw it: `trust show` has a "previously" line and `trust accept` a hint.
    const first = updateRecord(undefined, buddyInput('bob', bobEnc1!, bobSig1!), new Date(0)).record;
    const changed = updateRecord(first, buddyInput('bob', bobEnc2!, bobSig2!), new Date(1000)).record;
    assert.ok(changed.previousFingerprint);
    profile.put(changed);

    const aliceId = identityFingerprint(aliceEnc!.der, aliceSig!.der);
    const bobOld = identityFingerprint(bobEnc1!.der, bobSig1!.der);
    const bobNew = identityFingerprint(bobEnc2!.der, bobSig2!.der);
    const known = [root, aliceId, bobOld, bobNew, ...[aliceEnc, aliceSig, bobEnc2, bobSig2].map((c) => certFingerprint(c!.der))];

    // admin ca show: the SHA-256 line is the display form, and the README's sed takes exactly that rest of line.
    const caShow = await capture(['admin', 'ca', 'show', '--data-dir', dataDir]);
    assert.equal(caShow.code, 0, caShow.err);
    assert.deepEqual(displayedFingerprints('admin ca show', caShow.out, known), [formatFingerprint(root)]);
    const shaLine = caShow.out.split('\n').find((l) => l.startsWith('SHA-256:'));
    assert.equal(shaLine?.replace(/^SHA-256: */, ''), formatFingerprint(root));

    // keys show: the pinned CA, the identity, and each certificate.
    const keysShow = await capture(['keys', 'show', '--profile', dir]);
    assert.equal(keysShow.code, 0, keysShow.err);
    assert.deepEqual(displayedFingerprints('keys show', keysShow.out, known),
      [root, aliceId, certFingerprint(aliceEnc!.der), certFingerprint(aliceSig!.der)].map(formatFingerprint));
    assert.match(keysShow.out, new RegExp(`^CA fingerprint: +${formatFingerprint(root)}$`, 'm'));

    // trust show: the current and previous identity, and each current certificate.
    const trustShow = await capture(['trust', 'show', 'bob', '--profile', dir]);
    assert.equal(trustShow.code, 0, trustShow.err);
    assert.deepEqual(displayedFingerprints('trust show', trustShow.out, known),
      [bobNew, bobOld, certFingerprint(bobEnc2!.der), certFingerprint(bobSig2!.der)].map(formatFingerprint));

    // --json: machine fields, plain lowercase hex.
    const keysJson = JSON.parse((await capture(['keys', 'show', '--json', '--profile', dir])).out) as { caFingerprint: string; fingerprint: string; certs: { fingerprint: string }[] };
    assert.deepEqual([keysJson.caFingerprint, keysJson.fingerprint, ...keysJson.certs.map((c) => c.fingerprint)],
      [root, aliceId, certFingerprint(aliceEnc!.der), certFingerprint(aliceSig!.der)]);
    const trustJson = JSON.parse((await capture(['trust', 'show', 'bob', '--json', '--profile', dir])).out) as { fingerprint: string; previousFingerprint: string; certs: { sha256: string }[] };
    assert.deepEqual([trustJson.fingerprint, trustJson.previousFingerprint, ...trustJson.certs.map((c) => c.sha256)],
      [bobNew, bobOld, certFingerprint(bobEnc2!.der), certFingerprint(bobSig2!.der)]);

    // trust accept: the fingerprint and the `trust verify` hint both in the display form.
    const accept = await capture(['trust', 'accept', 'bob', '--profile', dir]);
    assert.equal(accept.code, 0, accept.err);
    assert.deepEqual(displayedFingerprints('trust accept', accept.out, known), [bobNew, bobNew].map(formatFingerprint));

    // Inputs: the displayed form (one argument or as typed in groups), plain hex and openssl's colons all verify.
    const verifyShown = await capture(['trust', 'verify', 'bob', formatFingerprint(bobNew), '--profile', dir]);
    assert.equal(verifyShown.code, 0, verifyShown.err);
    assert.deepEqual(displayedFingerprints('trust verify', verifyShown.out, known), [formatFingerprint(bobNew)]);
    for (const typed of [formatFingerprint(bobNew).split(' '), [bobNew], [(bobNew.toUpperCase().match(/../g) ?? []).join(':')]]) {
      const r = await capture(['trust', 'verify', 'bob', ...typed, '--profile', dir]);
      assert.equal(r.code, 0, `${typed.join(' ')}: ${r.err}`);
      assert.equal(parseFingerprint(typed.join(' ')), bobNew);
    }
    assert.equal(new ProfileDir(dir).get('bob')?.verifiedFingerprint, bobNew, 'stored in the machine form');

    // A malformed fingerprint is refused up front, saying what to type (no network, no prompt).
    const bad = await capture(['trust', 'verify', 'bob', 'ABCD', 'EF01', '--profile', dir]);
    assert.equal(bad.code, 2);
    assert.match(bad.err, /'ABCD EF01' is not a fingerprint: give the 64 hex digits bob reads from `certim keys show`/);
    const badInit = await capture(['keys', 'init', '--server', '127.0.0.1:1', '--user', 'carol', '--profile', join(tmp, 'carol'), '--ca-fingerprint', root.slice(0, 40)]);
    assert.equal(badInit.code, 2);
    assert.match(badInit.err, /--ca-fingerprint "[0-9a-f]{40}" is not a SHA-256 fingerprint \(64 hex digits\)\. Copy the whole SHA-256 line of `certim admin ca show`/);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
});

test('formatFingerprint groups any accepted form and leaves a non-fingerprint placeholder alone', () => {
  const hex = '0123456789abcdef'.repeat(4);
  const shown = formatFingerprint(hex);
  assert.equal(shown, '0123 4567 89AB CDEF '.repeat(4).trimEnd());
  assert.equal(formatFingerprint(shown), shown, 'formatting is idempotent');
  assert.equal(formatFingerprint((hex.toUpperCase().match(/../g) ?? []).join(':')), shown);
  assert.equal(formatFingerprint('(unreadable certificates)'), '(unreadable certificates)');
});
