/**
 * The CA's CRL policy: nextUpdate at most 24 h after thisUpdate, rebuilt when older than the refresh age, at once on
 * revoke, and when another process changed the ledger (a digest of the revoked set, not its count). OpenSSL checks
 * each CRL it is given.
 */
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openCertificateAuthority, type CertificateAuthority } from './ca.js';
import { MemoryCertificateLedger } from './ledger-memory.js';
import { generateRsaKeyPair } from './keys.js';
import { checkCrl, crlToPem, parseCrl } from './crl.js';
import { toPem } from './asn1/der.js';
import { PkiError } from './errors.js';
import { verifyCertificate } from './verifier.js';
import type { CertificateLedger, RevokedEntry } from './ledger.js';

const tmp = mkdtempSync(join(tmpdir(), 'certim-crl-'));
const ledger = new MemoryCertificateLedger();
let clock = new Date('2026-03-01T12:00:00Z');
let ca: CertificateAuthority;
const serials: string[] = [];
/** Serials listRevoked leaves out (a store pruning entries of expired certificates). */
const hidden = new Set<string>();

before(async () => {
  const view: CertificateLedger = {
    recordIssued: (r) => ledger.recordIssued(r),
    listByScreenName: (n) => ledger.listByScreenName(n),
    listAll: (limit) => ledger.listAll(limit),
    get: (s) => ledger.get(s),
    revoke: (s, r, at) => ledger.revoke(s, r, at),
    listRevoked: async (): Promise<RevokedEntry[]> => (await ledger.listRevoked()).filter((r) => !hidden.has(r.serial)),
  };
  ca = await openCertificateAuthority({ dataDir: join(tmp, 'data'), domain: 'example.org', ledger: view, env: {}, warn: () => {}, issuingKeyBits: 2048, now: () => clock });
  const key = (await generateRsaKeyPair(2048)).publicKey;
  for (let i = 0; i < 3; i++) serials.push((await ca.issueUserCertificate(key, `user${i}`, 'encrypt')).certificate.serial);
});

function opensslCrlOk(crlDer: Uint8Array): string {
  const f = join(tmp, `c${Math.random()}.crl`);
  writeFileSync(f, crlToPem(crlDer));
  const caF = join(tmp, 'issuing.pem');
  writeFileSync(caF, toPem('CERTIFICATE', ca.issuingCertificate.der));
  const r = spawnSync('openssl', ['crl', '-in', f, '-CAfile', caF, '-noout', '-text'], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  assert.match(`${r.stdout}${r.stderr}`, /verify OK/);
  return r.stdout;
}

test('a CRL is valid for 24 h at most, carries a non-critical cRLNumber, and is current by checkCrl and OpenSSL', async () => {
  const crl = parseCrl(await ca.crl());
  assert.equal(crl.nextUpdate!.getTime() - crl.thisUpdate.getTime(), 24 * 3_600_000);
  assert.equal(crl.crlNumberCritical, false);
  assert.equal(checkCrl(crl, ca.issuingCertificate, { now: clock }).state, 'current');
  assert.equal(checkCrl(crl, ca.issuingCertificate, { now: new Date(clock.getTime() + 25 * 3_600_000) }).state, 'stale');
  assert.match(opensslCrlOk(crl.der), /Next Update: Mar {2}2 12:00:00 2026 GMT/);
  await assert.rejects(
    openCertificateAuthority({ dataDir: join(tmp, 'data'), domain: 'example.org', ledger, env: {}, crlValidityHours: 168 }),
    (e) => PkiError.is(e, 'INVALID_ARGUMENT'));
});

test('cached while nothing changes; rebuilt after the refresh age with a larger cRLNumber', async () => {
  const a = await ca.crl();
  clock = new Date(clock.getTime() + 10 * 60_000);
  assert.equal(await ca.crl(), a, 'same object within the hour');
  clock = new Date(clock.getTime() + 55 * 60_000);
  const b = parseCrl(await ca.crl());
  assert.ok(b.crlNumber! > parseCrl(a).crlNumber!);
  assert.equal(b.thisUpdate.getTime(), clock.getTime());
});

test('revoke() rebuilds at once; a revocation written by another process shows at the next call', async () => {
  const built: Uint8Array[] = [];
  const sched = ca.scheduleCrl({ intervalMs: 3_600_000, onCrl: (d) => built.push(d) });
  try {
    await ca.revoke(serials[0]!, 'keyCompromise');
    assert.equal(parseCrl(built.at(-1)!).entries.get(serials[0]!)?.reason, 'keyCompromise', 'revoke published a new CRL at once');
    // `certim admin cert revoke` writes only the ledger:
    await ledger.revoke(serials[1]!, 'superseded', clock);
    const crl = parseCrl(await ca.crl());
    assert.ok(crl.entries.has(serials[1]!));
    assert.equal(built.at(-1), crl.der);
    opensslCrlOk(crl.der);
  } finally {
    sched.stop();
  }
});

test('the same revoked count with different content still rebuilds (digest, not count)', async () => {
  hidden.add(serials[0]!);
  assert.deepEqual([...parseCrl(await ca.crl()).entries.keys()], [serials[1]!]);
  await ledger.revoke(serials[2]!, 'affiliationChanged', clock);
  hidden.add(serials[1]!);
  // Still one entry, no time passed: a count comparison would serve the cached CRL.
  assert.deepEqual([...parseCrl(await ca.crl()).entries.keys()], [serials[2]!]);
  hidden.clear();
});

test('scheduleCrl polls the ledger: a revocation from another process is published without any request', async () => {
  const built: Uint8Array[] = [];
  const key = (await generateRsaKeyPair(2048)).publicKey;
  const s = (await ca.issueUserCertificate(key, 'late', 'sign')).certificate.serial;
  const sched = ca.scheduleCrl({ intervalMs: 30, onCrl: (d) => built.push(d) });
  try {
    await ledger.revoke(s, 'cessationOfOperation', clock);
    const t0 = Date.now();
    while (!built.some((d) => parseCrl(d).entries.has(s)) && Date.now() - t0 < 3000) await new Promise((r) => setTimeout(r, 20));
    assert.ok(built.some((d) => parseCrl(d).entries.has(s)), 'published by the schedule');
  } finally {
    sched.stop();
  }
});

test('a client checking a user certificate against the published CRL: leaf coverage required, revocation seen', async () => {
  const key = (await generateRsaKeyPair(2048)).publicKey;
  const keep = (await ca.issueUserCertificate(key, 'keeper', 'encrypt')).certificate;
  const gone = (await ca.issueUserCertificate(key, 'goner', 'encrypt')).certificate;
  await ca.revoke(gone.serial, 'keyCompromise');
  const base = { purpose: 'encrypt' as const, trustAnchors: [ca.rootCertificate], intermediates: [ca.issuingCertificate], crls: [await ca.crl()], now: clock, requireRevocationInfo: true };
  // Only the issuing CA's CRL exists, so the issuing CA itself is not covered when the whole chain is required.
  const chain = await verifyCertificate(keep, { ...base, screenName: 'keeper' });
  assert.equal(chain.ok ? 'ok' : chain.code, 'REVOCATION_UNKNOWN');
  const ok = await verifyCertificate(keep, { ...base, screenName: 'keeper', revocationRequiredFor: 'leaf' });
  assert.ok(ok.ok && ok.revocation?.[0]?.source === 'crl' && ok.revocation[0].crlState === 'current');
  const bad = await verifyCertificate(gone, { ...base, screenName: 'goner', revocationRequiredFor: 'leaf' });
  assert.equal(bad.ok ? 'ok' : bad.code, 'REVOKED');
  // A day and a bit later the same CRL is stale: fail closed unless inside the grace period.
  const later = new Date(clock.getTime() + 25 * 3_600_000);
  const stale = await verifyCertificate(keep, { ...base, screenName: 'keeper', revocationRequiredFor: 'leaf', now: later });
  assert.equal(stale.ok ? 'ok' : stale.code, 'REVOCATION_STALE');
  const graced = await verifyCertificate(keep, { ...base, screenName: 'keeper', revocationRequiredFor: 'leaf', now: later, crlGracePeriodMs: 2 * 3_600_000 });
  assert.ok(graced.ok && graced.revocation?.[0]?.crlState === 'stale');
});
