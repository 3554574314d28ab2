/**
 * `certim message encode|decode` as a spawned process (`node --import tsx`, the CLI's real entry through main()),
 * with keys and certificates made by the openssl CLI, and openssl on the other side where it matters.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { extraIdentity, fixtures } from '../../pki/cms/fixtures.test-support.js';
import { exportIdentityPkcs12 } from '../../pki/pkcs12.js';
import { parseCertificate } from '../../pki/x509-parse.js';

const ROOT = new URL('../../../', import.meta.url).pathname;
const f = fixtures();
const alice = f.ids.alice!;
const bob = f.ids['bob-enc']!;

function certim(args: string[], input: Uint8Array | string): { code: number; stdout: Buffer; stderr: string } {
  const r = spawnSync(process.execPath, ['--import', 'tsx', '-e',
    "import('./src/cli/main.ts').then((m) => m.main(process.argv.slice(1))).then((c) => { process.exitCode = c; })", ...args],
  { cwd: ROOT, input, maxBuffer: 1 << 20 });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr.toString() };
}

const encodeArgs = (profile: string): string[] => ['message', 'encode', '--profile', profile, '--sender', 'alice',
  '--sender-key', alice.keyPath, '--sender-cert', alice.certPath, '--recipient', 'Bob Smith', '--recipient-cert', bob.certPath];
const decodeArgs = ['message', 'decode', '--recipient', 'Bob Smith', '--recipient-key', bob.keyPath, '--recipient-cert', bob.certPath,
  '--sender', 'alice', '--sender-cert', alice.certPath, '--ca', f.caCertPath];

for (const profile of ['aim-legacy', 'modern']) {
  test(`CLI ${profile}: encode | decode gives verified JSON; openssl decrypts the same bytes`, () => {
    const enc = certim(encodeArgs(profile), '<HTML><BODY>from the CLI</BODY></HTML>');
    assert.equal(enc.code, 0, enc.stderr);
    assert.equal(enc.stdout[0], 0x30, 'raw DER ContentInfo on stdout');
    const dec = certim(decodeArgs, enc.stdout);
    assert.equal(dec.code, 0, dec.stderr);
    const j = JSON.parse(dec.stdout.toString());
    assert.equal(j.verdict, 'verified', j.reason);
    assert.equal(j.profile, profile);
    assert.equal(j.text, '<HTML><BODY>from the CLI</BODY></HTML>');
    writeFileSync(join(f.dir, `cli-${profile}.der`), enc.stdout);
    const plain = f.openssl(['cms', '-decrypt', '-binary', '-inform', 'DER', '-in', `cli-${profile}.der`, '-recip', bob.certPath, '-inkey', bob.keyPath]);
    assert.match(plain.toString('latin1'), /^Content-Type: application\/pkcs7-mime/);
  });
}

test('CLI decode: a tampered message prints failed JSON and exits non-zero', () => {
  const enc = certim(encodeArgs('modern'), 'hello');
  const bad = Buffer.from(enc.stdout);
  bad[bad.length - 30]! ^= 1;
  const dec = certim(decodeArgs, bad);
  assert.equal(dec.code, 1);
  const j = JSON.parse(dec.stdout.toString());
  assert.equal(j.verdict, 'failed');
  assert.equal(j.code, 'tampered');
  assert.equal(j.text, null);
});

for (const profile of ['aim-legacy', 'modern']) {
  test(`CLI decode ${profile}: a bad wrapped key and bad content print byte-identical JSON (no padding oracle)`, () => {
    const enc = certim(encodeArgs(profile), 'oracle?');
    assert.equal(enc.code, 0, enc.stderr);
    const badKey = Buffer.from(enc.stdout);
    const at = badKey.indexOf(Buffer.from([0x04, 0x82, 0x01, 0x00])); // the 256-byte encryptedKey
    assert.ok(at > 0);
    badKey[at + 4 + 77]! ^= 0x20;
    const badContent = Buffer.from(enc.stdout);
    badContent[badContent.length - 20]! ^= 0x20;
    const k = certim(decodeArgs, badKey);
    const c = certim(decodeArgs, badContent);
    assert.equal(k.code, 1);
    assert.equal(c.code, 1);
    assert.equal(k.stdout.toString(), c.stdout.toString());
    const j = JSON.parse(k.stdout.toString());
    assert.equal(j.code, 'tampered');
    assert.equal(j.step, 'decrypt');
  });
}

test('CLI encode --recipient-signing-cert: classic clients decrypt the first RecipientInfo with their signing key', () => {
  const bobSign = f.ids['bob-sign']!;
  const enc = certim([...encodeArgs('aim-legacy'), '--recipient-signing-cert', bobSign.certPath], 'classic');
  assert.equal(enc.code, 0, enc.stderr);
  writeFileSync(join(f.dir, 'cli-two-ri.der'), enc.stdout);
  for (const id of [bobSign, bob]) {
    const plain = f.openssl(['cms', '-decrypt', '-binary', '-inform', 'DER', '-in', 'cli-two-ri.der', '-recip', id.certPath, '-inkey', id.keyPath]);
    assert.match(plain.toString('latin1'), /^Content-Type: application\/pkcs7-mime/);
  }
  const dec = certim(decodeArgs, enc.stdout);
  assert.equal(JSON.parse(dec.stdout.toString()).text, 'classic');
});

test('CLI decode --recipient-p12 (numcerts 2): decrypts with the encryption key, never with the signing key', async () => {
  const sign = extraIdentity('cli-dana-sign', 'dana', 2048, 'sign');
  const encId = extraIdentity('cli-dana-enc', 'dana', 2048, 'encrypt');
  const p12 = await exportIdentityPkcs12({
    screenName: 'dana', numCerts: 2,
    encryption: { privateKey: encId.key, certificate: parseCertificate(encId.certDer) },
    signing: { privateKey: sign.key, certificate: parseCertificate(sign.certDer) },
    caCertificates: [],
  }, 'pw');
  writeFileSync(join(f.dir, 'dana.p12'), p12);
  writeFileSync(join(f.dir, 'dana.pass'), 'pw\n');
  const decode = ['message', 'decode', '--recipient', 'dana', '--recipient-p12', join(f.dir, 'dana.p12'), '--passphrase-file',
    join(f.dir, 'dana.pass'), '--sender', 'alice', '--sender-cert', alice.certPath, '--ca', f.caCertPath];
  const encodeTo = (recipientCert: string, extra: string[] = []): Buffer => {
    const r = certim(['message', 'encode', '--profile', 'aim-legacy', '--sender', 'alice', '--sender-key', alice.keyPath,
      '--sender-cert', alice.certPath, '--recipient', 'dana', '--recipient-cert', recipientCert, ...extra], 'for dana');
    assert.equal(r.code, 0, r.stderr);
    return r.stdout;
  };
  const both = certim(decode, encodeTo(encId.certPath, ['--recipient-signing-cert', sign.certPath]));
  assert.equal(both.code, 0, both.stderr);
  assert.equal(JSON.parse(both.stdout.toString()).text, 'for dana');
  // Addressed only to the signing certificate (what joustsim sends): refused, although the key is in the file.
  const signOnly = certim(decode, encodeTo(sign.certPath));
  assert.equal(signOnly.code, 1);
  const j = JSON.parse(signOnly.stdout.toString());
  assert.equal(j.code, 'wrong-recipient');
  assert.equal(j.text, null);
});

test('CLI decode: a sender certificate from another CA is untrusted (PKI verifier) and exits 0', () => {
  const rogue = f.ids['rogue-alice']!;
  const enc = certim(['message', 'encode', '--profile', 'modern', '--sender', 'alice', '--sender-key', rogue.keyPath,
    '--sender-cert', rogue.certPath, '--recipient', 'Bob Smith', '--recipient-cert', bob.certPath], 'hi');
  assert.equal(enc.code, 0, enc.stderr);
  const args = [...decodeArgs];
  args[args.indexOf(alice.certPath)] = rogue.certPath;
  const dec = certim(args, enc.stdout);
  const j = JSON.parse(dec.stdout.toString());
  assert.equal(dec.code, 0);
  assert.equal(j.verdict, 'untrusted');
  assert.equal(j.code, 'UNTRUSTED_ISSUER');
});

test('CLI: encrypted PEM key with --passphrase-file, and a PKCS#12 identity', () => {
  f.openssl(['pkey', '-in', alice.keyPath, '-aes256', '-passout', 'pass:s3cret', '-out', 'alice-enc.key']);
  writeFileSync(join(f.dir, 'pass.txt'), 's3cret\n');
  const args = encodeArgs('aim-legacy');
  args[args.indexOf(alice.keyPath)] = join(f.dir, 'alice-enc.key');
  const enc = certim([...args, '--passphrase-file', join(f.dir, 'pass.txt')], 'encrypted key');
  assert.equal(enc.code, 0, enc.stderr);
  f.openssl(['pkcs12', '-export', '-inkey', bob.keyPath, '-in', bob.certPath, '-passout', 'pass:s3cret', '-out', 'bob.p12']);
  const dec = certim(['message', 'decode', '--recipient', 'Bob Smith', '--recipient-p12', join(f.dir, 'bob.p12'),
    '--passphrase-file', join(f.dir, 'pass.txt'), '--sender', 'alice', '--sender-cert', alice.certPath, '--ca', f.caCertPath], enc.stdout);
  assert.equal(dec.code, 0, dec.stderr);
  assert.equal(JSON.parse(dec.stdout.toString()).text, 'encrypted key');
});

test('CLI usage errors exit 2', () => {
  assert.equal(certim(['message', 'encode', '--profile', 'nope'], '').code, 2);
  assert.equal(certim(['message'], '').code, 2);
  assert.equal(certim(['message', 'decode', '--recipient', 'x'], '').code, 2);
});
