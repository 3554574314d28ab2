import { test } from 'node:test';
import assert from 'node:assert/strict';
import { WireError, fromHex, toHex } from './bytes.js';
import { Prng } from './fuzz-kit.test-support.js';
import {
  Capability, capabilityBytes, capabilityFromString, capabilityName, capabilityToString, decodeCapabilityBlock,
  decodeShortCapabilities, encodeCapabilityBlock, encodeShortCapabilities, expandShortCapability, hasCapability,
  shortCapabilityOf,
} from './capabilities.js';

const isCode = (code: string) => (e: unknown) => WireError.is(e) && e.code === code;

test('docs/protocol.md §5: GUID text is the wire byte order', () => {
  assert.equal(toHex(capabilityBytes('SecureIm')), '094600014c7f11d18222444553540000');
  assert.equal(toHex(capabilityBytes('Chat')), '748f2420628711d18222444553540000');
  assert.equal(capabilityToString(fromHex('094613454c7f11d18222444553540000')), Capability.DirectIm);
  assert.equal(capabilityToString(capabilityFromString(Capability.IChatAv.toLowerCase())), Capability.IChatAv);
});

test('docs/protocol.md §5: name table covers secure IM, direct IM, send/get file, chat, buddy icon', () => {
  assert.equal(Capability.SecureIm, '09460001-4C7F-11D1-8222-444553540000');
  assert.equal(Capability.DirectIm, '09461345-4C7F-11D1-8222-444553540000');
  assert.equal(Capability.SendFile, '09461343-4C7F-11D1-8222-444553540000');
  assert.equal(Capability.GetFile, '09461348-4C7F-11D1-8222-444553540000');
  assert.equal(Capability.BuddyIcon, '09461346-4C7F-11D1-8222-444553540000');
  assert.equal(Capability.Chat, '748F2420-6287-11D1-8222-444553540000');
  assert.equal(capabilityName(fromHex('094613434c7f11d18222444553540000')), 'SendFile');
  assert.equal(capabilityName(new Uint8Array(16)), undefined);
});

test('certim modern secure-IM capability is a fixed v4 UUID distinct from every AIM capability', () => {
  const b = capabilityBytes('CertimModernSecureIm');
  assert.equal(Capability.CertimModernSecureIm, '47F62DA0-5B24-47FA-8E2C-F5BC66061803');
  assert.equal(b[6]! >> 4, 4); // version 4
  assert.equal(b[8]! & 0xc0, 0x80); // RFC 4122 variant
  assert.equal(shortCapabilityOf(b), undefined);
  const all = Object.values(Capability);
  assert.equal(new Set(all).size, all.length);
});

test('docs/protocol.md §5: short caps expand to 0946xxxx-4C7F-11D1-8222-444553540000', () => {
  assert.equal(capabilityToString(expandShortCapability(0x1345)), Capability.DirectIm);
  assert.equal(capabilityToString(expandShortCapability(0x0001)), Capability.SecureIm);
  assert.equal(shortCapabilityOf(capabilityBytes('SendFile')), 0x1343);
  assert.equal(shortCapabilityOf(capabilityBytes('Chat')), undefined);
  assert.equal(shortCapabilityOf(capabilityBytes('IChatAv')), undefined); // 0946 prefix but different tail
  assert.equal(toHex(encodeShortCapabilities([0x0001, 0x1345])), '00011345');
  assert.deepEqual(decodeShortCapabilities(fromHex('00011345')), [1, 0x1345]);
  assert.throws(() => decodeShortCapabilities(fromHex('000113')), isCode('BAD_LENGTH'));
});

test('docs/protocol.md §4.1 TLV 0x000D: capability block is N x 16 bytes', () => {
  const block = encodeCapabilityBlock(['SecureIm', 'Chat']);
  assert.equal(toHex(block), '094600014c7f11d18222444553540000' + '748f2420628711d18222444553540000');
  const caps = decodeCapabilityBlock(block);
  assert.equal(caps.length, 2);
  assert.equal(hasCapability(caps, 'Chat'), true);
  assert.equal(hasCapability(caps, 'DirectIm'), false);
  assert.deepEqual(decodeCapabilityBlock(new Uint8Array(0)), []);
  assert.throws(() => decodeCapabilityBlock(new Uint8Array(17)), isCode('BAD_LENGTH'));
});

test('malformed GUID text is BAD_VALUE; wrong byte count is BAD_LENGTH', () => {
  assert.throws(() => capabilityFromString('09460001-4C7F-11D1-8222-44455354000'), isCode('BAD_VALUE'));
  assert.throws(() => capabilityFromString('0946000x-4C7F-11D1-8222-444553540000'), isCode('BAD_VALUE'));
  assert.throws(() => capabilityToString(new Uint8Array(15)), isCode('BAD_LENGTH'));
});

test('property: UUID <-> string round-trips (5000 random UUIDs)', () => {
  const rng = new Prng(11);
  for (let i = 0; i < 5000; i++) {
    const b = rng.bytes(16);
    assert.equal(toHex(capabilityFromString(capabilityToString(b))), toHex(b));
  }
});
