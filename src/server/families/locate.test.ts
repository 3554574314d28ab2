import { test } from 'node:test';
import assert from 'node:assert/strict';
import { bosService } from '../services/bos.js';
import { encodeCertificateInfo } from '../../wire/cert-info.js';
import { decodeSnacError } from '../../wire/snac.js';
import { fakeEngine, readySession } from '../testing/fakes.js';
import { locateFamily } from './locate.js';
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
    const replies = ((await locateFamily.handlers[0x04]!({ engine, session: bob.session, requestId: 3, service: bosService }, setCert(c.block))) ?? []) as Reply[];
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
  await locateFamily.handlers[0x04]!({ engine, session: bob.session, requestId: 1, service: bosService }, setCert(good));
  state.certVerdicts.set(Buffer.from(certB).toString('hex'), { ok: false, code: 'EXPIRED', reason: 'expired' });
  await locateFamily.handlers[0x04]!({ engine, session: bob.session, requestId: 2, service: bosService }, setCert(encodeCertificateInfo({ certA: certB })));
  const q = Uint8Array.from([0, 0, 0, 8, 3, ...Buffer.from('bob')]);
  const [r] = (await locateFamily.handlers[0x15]!({ engine, session: alice.session, requestId: 4, service: bosService }, q)) as Reply[];
  assert.equal(r!.subtype, 0x06);
  assert.ok(Buffer.from(r!.body).includes(Buffer.from(good)));
});
