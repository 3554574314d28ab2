/** The plain room codec and codec choice (docs/protocol.md §15.2): charsets, AIM HTML, content types, the seam's rules. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { decodeMessageBlock, defaultRoomCodecs, encodeMessageBlock, plainRoomCodec, type RoomContext, type RoomMessageTlvs } from './room-codec.js';

const ctx: RoomContext = { exchange: 4, name: 'R', cookie: '!aol://2719:10-4-R', instance: 0, contentType: 'text/x-aolrtf', me: 'alice', members: [] };
const te = new TextEncoder();

function msg(parts: [number, Uint8Array | string][]): RoomMessageTlvs {
  return parts.map(([type, v]) => ({ type, value: typeof v === 'string' ? te.encode(v) : v }));
}

describe('plain room codec', () => {
  it('encodes five TLVs in joscar order and round-trips through a message block', async () => {
    const codec = plainRoomCodec();
    const tlvs = await codec.encode('héllo', ctx);
    assert.deepEqual(tlvs.map((t) => t.type), [4, 2, 3, 5, 1]);
    const back = decodeMessageBlock(encodeMessageBlock(tlvs));
    const v = await codec.decode(back, ctx, 'bob');
    assert.deepEqual(v, { verdict: 'untrusted', code: 'plaintext', reason: 'plain room: sent without encryption', secure: false, trust: null, text: 'héllo' });
    assert.equal(new TextDecoder().decode(tlvs[1]!.value), 'utf-8');
    assert.equal(new TextDecoder().decode((await codec.encode('plain', ctx))[1]!.value), 'us-ascii');
  });

  it('reads UTF-16BE and Latin-1 bodies, strips AIM HTML, and takes a missing content type as plain', async () => {
    const codec = plainRoomCodec();
    const utf16 = Buffer.from('größe ✓', 'utf16le').swap16();
    assert.equal((await codec.decode(msg([[2, 'unicode-2-0'], [1, utf16]]), ctx, 'x')).text, 'größe ✓');
    assert.equal((await codec.decode(msg([[4, 'text/x-aolrtf'], [2, 'iso-8859-1'], [1, Uint8Array.of(0x63, 0x61, 0x66, 0xe9)]]), ctx, 'x')).text, 'café');
    assert.equal((await codec.decode(msg([[1, '<HTML><BODY>a &amp; <B>b</B><BR>c</BODY></HTML>']]), ctx, 'x')).text, 'a & b\nc');
  });

  it('never shows a message of another content type or without a body as text', async () => {
    const codec = plainRoomCodec();
    const secure = await codec.decode(msg([[4, 'application/pkcs7-mime'], [1, Uint8Array.of(0x30, 0x80)]]), ctx, 'x');
    assert.equal(secure.verdict, 'failed');
    assert.equal(secure.code, 'content-type');
    assert.equal(secure.text, undefined);
    assert.equal((await codec.decode(msg([[4, 'text/x-aolrtf']]), ctx, 'x')).code, 'bad-body');
  });
});

describe('codec choice', () => {
  it('plain types have the plain codec; a secure room without a codec and an unknown type are told apart', () => {
    const codecs = defaultRoomCodecs();
    assert.equal(codecs.lookup('text/x-aolrtf').kind, 'codec');
    assert.equal(codecs.lookup('TEXT/X-AOLRTF; charset=us-ascii').kind, 'codec');
    assert.equal(codecs.lookup('text/plain').kind, 'codec');
    assert.equal(codecs.lookup('application/pkcs7-mime').kind, 'secure-unavailable');
    assert.equal(codecs.lookup('application/x-other').kind, 'unknown');
    assert.equal(codecs.secureAvailable, false);
  });
});
