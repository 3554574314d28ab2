import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generateRsaKeyPair } from '../../pki/keys.js';
import { OID } from '../../pki/oids.js';
import { makeTestCa } from '../../pki/test-ca.test-support.js';
import { bosService } from '../services/bos.js';
import { encodeCertificateInfo } from '../../wire/cert-info.js';
import { decodeSnacError } from '../../wire/snac.js';
import { pkiCertificateChecker } from '../certificate-checker.js';
import { Engine } from '../engine.js';
import { fakeEngine, fakePorts, readySession } from '../testing/fakes.js';
import { CertRejectSubcode, certRejectSubcode, locateFamily } from './locate.js';
import type { Reply } from './family.js';

function setCert(block: Uint8Array): Uint8Array {
  return Uint8Array.from([0, 6, block.length >> 8, block.length & 0xff, ...block]);
}

const certA = Uint8Array.from([0x30, 0x03, 0x02, 0x01, 0x01]);
const certB = Uint8Array.from([0x30, 0x03, 0x02, 0x01, 0x02]);

const cases: Array<{ name: string; block: Uint8Array; refuse?: Uint8Array; want: { code?: number; sub?: number; stored: boolean } }> = [
  { name: 'one common cert accepted', block: encodeCertificateInfo({ certA }), want: { stored: true } },
  { name: 'two certs accepted', block: encodeCertificateInfo({ certA, certB }), want: { stored: true } },
  { name: 'revoked signing cert refused', block: encodeCertificateInfo({ certA, certB }), refuse: certB, want: { code: 0x0d, sub: 0x0005, stored: false } },
  { name: 'malformed block refused', block: Uint8Array.from([0, 4, 0, 2, 0, 7]), want: { code: 0x0d, sub: 0x0001, stored: false } },
  { name: 'oversize block refused', block: new Uint8Array(9000), want: { code: 0x0d, sub: 0x0006, stored: false } },
];

for (const c of cases) {
  test(`Locate 02/04 cert-info: ${c.name}`, async () => {
    const { engine, state } = fakeEngine(['bob', 'alice']);
    const bob = readySession(engine, 'bob');
    const alice = readySession(engine, 'alice');
    alice.session.clientBuddies.add('bob');
    engine.presence.reindex(alice.session);
    if (c.refuse) state.certVerdicts.set(Buffer.from(c.refuse).toString('hex'), { ok: false, code: 'REVOKED', reason: 'revoked' });
    const replies = ((await locateFamily.handlers[0x04]!({ engine, session: bob.session, service: bosService }, setCert(c.block))) ?? []) as Reply[];
    const err = replies[0] ? decodeSnacError(replies[0].body) : undefined;
    assert.equal(err?.code, c.want.code);
    assert.equal(err?.tlvs.u16(0x0008), c.want.sub);
    assert.equal(state.certs.has('bob'), c.want.stored);
    assert.equal(bob.session.certHash !== undefined, c.want.stored);
    // Watchers hear about a new hash (an arrival re-sent), and only then.
    assert.equal(alice.link.of(0x0003, 0x000b).length, c.want.stored ? 1 : 0);
  });
}

test('Locate 02/15 flag 0x08 returns the exact stored bytes; a failed re-upload keeps them', async () => {
  const { engine, state } = fakeEngine(['bob', 'alice']);
  const bob = readySession(engine, 'bob');
  const alice = readySession(engine, 'alice');
  const good = encodeCertificateInfo({ certA });
  await locateFamily.handlers[0x04]!({ engine, session: bob.session, service: bosService }, setCert(good));
  state.certVerdicts.set(Buffer.from(certB).toString('hex'), { ok: false, code: 'EXPIRED', reason: 'expired' });
  await locateFamily.handlers[0x04]!({ engine, session: bob.session, service: bosService }, setCert(encodeCertificateInfo({ certA: certB })));
  const q = Uint8Array.from([0, 0, 0, 8, 3, ...Buffer.from('bob')]);
  const [r] = (await locateFamily.handlers[0x15]!({ engine, session: alice.session, service: bosService }, q)) as Reply[];
  assert.equal(r!.subtype, 0x06);
  assert.ok(Buffer.from(r!.body).includes(Buffer.from(good)));
});

test('every PKI verifier refusal code has its own subcode; only unknown codes get 0x00FF', () => {
  const want: Record<string, number> = {
    MALFORMED: 0x01, UNSUPPORTED_CRITICAL_EXTENSION: 0x01, UNTRUSTED_ISSUER: 0x02, BAD_SIGNATURE: 0x02, WRONG_NAME: 0x03,
    EXPIRED: 0x04, NOT_YET_VALID: 0x04, REVOKED: 0x05, TOO_LARGE: 0x06, WRONG_KEY_USAGE: 0x07, WEAK_KEY: 0x08,
    WEAK_ALGORITHM: 0x08, REVOCATION_UNKNOWN: 0x09, REVOCATION_STALE: 0x09, ISSUER_NOT_CA: 0x02,
    PATH_LENGTH_EXCEEDED: 0x02, NAME_CONSTRAINTS_VIOLATION: 0x02, UNSUPPORTED_NAME_CONSTRAINT: 0x02, SOMETHING_NEW: 0xff,
  };
  for (const [code, sub] of Object.entries(want)) assert.equal(certRejectSubcode(code), sub, code);
  assert.equal(CertRejectSubcode.OTHER, 0xff);
});

test('Locate 02/04 with the real PKI checker: wrong key usage -> 0x0007, untrusted issuer -> 0x0002', async () => {
  const [ca, otherCa, keys] = await Promise.all([makeTestCa('locate'), makeTestCa('elsewhere'), generateRsaKeyPair(2048)]);
  const { ports } = fakePorts(['bob']);
  ports.certificates = pkiCertificateChecker({ trustAnchors: [ca.root], intermediates: [ca.issuing] });
  const engine = new Engine({ ports, config: {}, clock: { now: () => Date.now() } });
  const bob = readySession(engine, 'bob');
  const issue = (from: typeof ca, keyUsage: Array<'digitalSignature' | 'nonRepudiation' | 'keyEncipherment'>) =>
    from.issue({ publicKey: keys.publicKey, cn: 'bob', keyUsage, eku: [OID.emailProtection] }).der;
  const cases: Array<[string, Uint8Array, number | undefined]> = [
    ['good common certificate', encodeCertificateInfo({ certA: issue(ca, ['digitalSignature', 'keyEncipherment']) }), undefined],
    ['common certificate that cannot encrypt', encodeCertificateInfo({ certA: issue(ca, ['digitalSignature']) }), 0x0007],
    ['encryption certificate that is signing-only', encodeCertificateInfo({ certA: issue(ca, ['digitalSignature']), certB: issue(ca, ['digitalSignature']) }), 0x0007],
    ['signing certificate that can only encrypt', encodeCertificateInfo({ certA: issue(ca, ['keyEncipherment']), certB: issue(ca, ['keyEncipherment']) }), 0x0007],
    ['certificate from a CA we do not trust', encodeCertificateInfo({ certA: issue(otherCa, ['digitalSignature', 'keyEncipherment']) }), 0x0002],
  ];
  for (const [label, block, sub] of cases) {
    const replies = ((await locateFamily.handlers[0x04]!({ engine, session: bob.session, service: bosService }, setCert(block))) ?? []) as Reply[];
    const err = replies[0] ? decodeSnacError(replies[0].body) : undefined;
    assert.equal(err?.code, sub === undefined ? undefined : 0x0d, label);
    assert.equal(err?.tlvs.u16(0x0008), sub, label);
  }
});
