import { test } from 'node:test';
import assert from 'node:assert/strict';
import { bosService } from '../services/bos.js';
import { IcbmTlv, decodeIcbmChannelMsgToClient, encodeIcbmChannelMsgToHost, imDataTlv } from '../../wire/icbm-message.js';
import { decodeSnacError } from '../../wire/snac.js';
import { tlv } from '../../wire/tlv.js';
import { fakeEngine, readySession } from '../testing/fakes.js';
import { icbmFamily } from './icbm.js';
import type { Reply } from './family.js';

const COOKIE = Uint8Array.from([1, 2, 3, 4, 5, 6, 7, 8]);

function im(to: string, opts: { ack?: boolean; store?: boolean; text?: string } = {}): Uint8Array {
  const tlvs = [imDataTlv({ features: new Uint8Array(0), parts: [{ charset: 0, text: Buffer.from(opts.text ?? 'hi') }] })];
  if (opts.ack) tlvs.push(tlv(IcbmTlv.REQUEST_HOST_ACK));
  if (opts.store) tlvs.push(tlv(IcbmTlv.STORE_OFFLINE));
  return encodeIcbmChannelMsgToHost({ cookie: COOKIE, channel: 1, screenName: to, tlvs });
}

type Setup = 'online' | 'offline' | 'unknown' | 'blocks-sender' | 'sender-blocks';

const cases: Array<{ name: string; setup: Setup; ack?: boolean; store?: boolean; want: { error?: number; ack: boolean; delivered: boolean; stored: boolean } }> = [
  { name: 'online recipient, ack requested', setup: 'online', ack: true, want: { ack: true, delivered: true, stored: false } },
  { name: 'online recipient, no ack', setup: 'online', want: { ack: false, delivered: true, stored: false } },
  { name: 'offline without store flag', setup: 'offline', ack: true, want: { error: 0x04, ack: false, delivered: false, stored: false } },
  { name: 'offline with store flag', setup: 'offline', ack: true, store: true, want: { ack: true, delivered: false, stored: true } },
  { name: 'unknown recipient with store flag', setup: 'unknown', store: true, want: { error: 0x04, ack: false, delivered: false, stored: false } },
  { name: 'recipient blocks sender', setup: 'blocks-sender', ack: true, want: { error: 0x04, ack: false, delivered: false, stored: false } },
  { name: 'sender blocks recipient', setup: 'sender-blocks', ack: true, want: { error: 0x10, ack: false, delivered: false, stored: false } },
];

for (const c of cases) {
  test(`ICBM 04/06: ${c.name}`, async () => {
    const { engine, state } = fakeEngine(['alice', 'bob']);
    const alice = readySession(engine, 'alice');
    let bobLink;
    if (c.setup !== 'offline' && c.setup !== 'unknown') {
      const bob = readySession(engine, 'bob');
      bobLink = bob.link;
      if (c.setup === 'blocks-sender') bob.session.privacy = { mode: 4, permit: new Set(), deny: new Set(['alice']) };
    }
    if (c.setup === 'sender-blocks') alice.session.privacy = { mode: 4, permit: new Set(), deny: new Set(['bob']) };
    const to = c.setup === 'unknown' ? 'carol' : 'bob';
    const replies = ((await icbmFamily.handlers[0x06]!({ engine, session: alice.session, service: bosService }, im(to, c))) ?? []) as Reply[];
    const err = replies.find((r) => r.subtype === 0x01);
    assert.equal(err ? decodeSnacError(err.body).code : undefined, c.want.error);
    assert.equal(replies.some((r) => r.subtype === 0x0c), c.want.ack);
    assert.equal((bobLink?.of(0x0004, 0x0007).length ?? 0) > 0, c.want.delivered);
    assert.equal((state.offline.get('bob')?.length ?? 0) > 0, c.want.stored);
  });
}

test('ICBM 04/07 keeps the sender TLVs verbatim but strips 0x0003 and 0x0006', async () => {
  const { engine } = fakeEngine(['alice', 'bob']);
  const alice = readySession(engine, 'alice');
  const bob = readySession(engine, 'bob');
  await icbmFamily.handlers[0x06]!({ engine, session: alice.session, service: bosService }, im('bob', { ack: true, store: true, text: 'secret-ciphertext' }));
  const { cookie, channel, sender, tlvs } = decodeIcbmChannelMsgToClient(bob.link.of(0x0004, 0x0007)[0]!.body);
  assert.deepEqual([...cookie], [...COOKIE]);
  assert.equal(channel, 1);
  assert.equal(sender.screenName, 'alice');
  assert.deepEqual(tlvs.items.map((t) => t.type), [0x0002]);
  assert.ok(Buffer.from(tlvs.bytes(2)!).toString().endsWith('secret-ciphertext'));
});

test('ICBM 04/07 never carries client-forged server-owned TLVs (0x0016 offline time, 0x000B) or unknown ones', async () => {
  const { engine } = fakeEngine(['alice', 'bob']);
  const alice = readySession(engine, 'alice');
  const bob = readySession(engine, 'bob');
  const forged = encodeIcbmChannelMsgToHost({
    cookie: COOKIE, channel: 1, screenName: 'bob',
    tlvs: [tlv(0x0016, Uint8Array.of(0x3a, 0x4f, 0xbd, 0x80)), imDataTlv({ features: new Uint8Array(0), parts: [{ charset: 0, text: Buffer.from('hi') }] }),
      tlv(0x000b), tlv(0x0099, Uint8Array.of(1)), tlv(IcbmTlv.AUTO_RESPONSE)],
  });
  await icbmFamily.handlers[0x06]!({ engine, session: alice.session, service: bosService }, forged);
  const { tlvs } = decodeIcbmChannelMsgToClient(bob.link.of(0x0004, 0x0007)[0]!.body);
  assert.deepEqual(tlvs.items.map((t) => t.type), [0x0002, 0x0004]);
});

test('ICBM offline store full -> error 0x17 and no ack', async () => {
  const { engine } = fakeEngine(['alice', 'bob'], { maxOfflinePerRecipient: 1 });
  const alice = readySession(engine, 'alice');
  const ctx = { engine, session: alice.session, service: bosService };
  await icbmFamily.handlers[0x06]!(ctx, im('bob', { store: true, ack: true }));
  const replies = (await icbmFamily.handlers[0x06]!(ctx, im('bob', { store: true, ack: true }))) as Reply[];
  assert.deepEqual(replies.map((r) => [r.subtype, decodeSnacError(r.body).code]), [[0x01, 0x17]]);
});
