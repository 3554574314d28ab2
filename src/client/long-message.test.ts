import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ClientError } from './errors.js';
import { cutText, encodeInParts, MAX_PARTS, MAX_PENDING_GROUPS, PART_TIMEOUT_MS, PartAssembler, parsePart, type PartLike } from './long-message.js';

/** A stand-in for CMS: 1,500 bytes of envelope, the text inflated by a third, rounded up to 16-byte blocks. */
const fakeEncode = async (t: string): Promise<Uint8Array> => new Uint8Array(1500 + Math.ceil((Buffer.byteLength(t) * 4) / 3 / 16) * 16);
const textOf = async (t: string): Promise<Uint8Array> => Buffer.from(t);

function im(text: string, extra: Partial<PartLike> = {}): PartLike {
  return { from: 'Bob', text, secure: true, verdict: 'verified', reason: 'ok', code: 'ok', trust: 'ca', time: new Date(0), offline: false, ...extra };
}

describe('long messages in parts (docs/protocol.md §3.4 message limit)', () => {
  it('a short text is one IM without a marker', async () => {
    const parts = await encodeInParts('hello', textOf, 8000);
    assert.deepEqual(parts.map((p) => Buffer.from(p).toString()), ['hello']);
  });

  it('a long text is cut into parts that each fit, and joins back exactly (emoji, CJK, whitespace kept)', async () => {
    const text = Array.from({ length: 900 }, (_, i) => `word${i} 漢字 😀`).join(' ') + '\n end';
    const sizes = (await encodeInParts(text, fakeEncode, 8000)).map((p) => p.length);
    assert.ok(sizes.length > 1 && sizes.every((s) => s <= 8000), sizes.join(','));
    const plain = await encodeInParts(text, async (t) => Buffer.from(t), 3000, 'abc123');
    const asm = new PartAssembler<PartLike>();
    const shown = plain.map((p) => Buffer.from(p).toString()).reverse().flatMap((t) => asm.push(im(t)));
    assert.equal(shown.length, 1);
    assert.equal(shown[0]!.text, text);
    assert.equal(parsePart(Buffer.from(plain[0]!).toString())?.count, plain.length);
  });

  it('cuts at whitespace near the end and never inside a character', () => {
    const chunks = cutText('aaaa bbbb cccc dddd', 12);
    assert.deepEqual(chunks, ['aaaa bbbb ', 'cccc dddd']);
    assert.deepEqual(cutText('😀😀😀', 8), ['😀😀', '😀']);
  });

  it('a text that looks like a part marker is sent as part 1/1', async () => {
    const [p] = await encodeInParts('[part 1/2 abcdef] not really', textOf, 8000, 'zzzzzz');
    const t = Buffer.from(p!).toString();
    assert.equal(t, '[part 1/1 zzzzzz] [part 1/2 abcdef] not really');
    assert.equal(new PartAssembler<PartLike>().push(im(t))[0]!.text, '[part 1/2 abcdef] not really');
  });

  it('refuses a message needing more than MAX_PARTS parts up front, saying how much fits', async () => {
    await assert.rejects(encodeInParts('x'.repeat(8000 * MAX_PARTS), fakeEncode, 8000), (e) => ClientError.is(e, 'MESSAGE_TOO_LONG') && /at most about \d+/.test(e.message));
  });

  it('the joined IM is as weak as its weakest part', () => {
    const asm = new PartAssembler<PartLike>();
    assert.deepEqual(asm.push(im('[part 1/2 aaaaaa] one ', { trust: 'personal' })), []);
    const [joined] = asm.push(im('[part 2/2 aaaaaa] two', { secure: false, verdict: 'untrusted', trust: null, reason: 'sent without encryption', code: 'plaintext' }));
    assert.equal(joined!.text, 'one two');
    assert.equal(joined!.secure, false);
    assert.equal(joined!.verdict, 'untrusted');
    assert.equal(joined!.trust, null);
  });

  it('a legacy mark on any part marks the joined IM legacy (never lost in the join)', () => {
    const asm = new PartAssembler<PartLike>();
    asm.push(im('[part 1/2 cccccc] one ', { profile: 'modern' }));
    const [joined] = asm.push(im('[part 2/2 cccccc] two', { profile: 'aim-legacy', legacy: true, weak: true }));
    assert.equal(joined!.text, 'one two');
    assert.equal(joined!.legacy, true);
    assert.equal(joined!.weak, true);
    assert.equal(joined!.profile, 'aim-legacy');
  });

  it('our own parts copied from another session are joined per recipient and keep `to`', () => {
    const asm = new PartAssembler<PartLike>();
    assert.deepEqual(asm.push(im('[part 1/2 dddddd] to bob ', { from: 'alice', to: 'bob' })), []);
    assert.deepEqual(asm.push(im('[part 2/2 dddddd] to carol', { from: 'alice', to: 'carol' })), [], 'another recipient is another group');
    const [joined] = asm.push(im('[part 2/2 dddddd] again', { from: 'alice', to: 'Bob' }));
    assert.equal(joined!.text, 'to bob again');
    assert.equal(joined!.to, 'bob');
  });

  it('parts of different senders or groups do not mix; incomplete groups expire with a note (injected clock)', () => {
    let now = 0;
    const asm = new PartAssembler<PartLike>(() => now);
    asm.push(im('[part 1/3 bbbbbb] from bob'));
    asm.push(im('[part 2/3 bbbbbb] from eve', { from: 'eve' }));
    assert.equal(asm.pending, 2);
    assert.deepEqual(asm.expire(), []);
    now += PART_TIMEOUT_MS;
    const out = asm.expire();
    assert.equal(out.length, 2);
    assert.match(out.find((m) => m.from === 'Bob')!.text, /^from bob \[incomplete: parts 2, 3 of 3 did not arrive\]$/);
  });

  it('keeps at most MAX_PENDING_GROUPS incomplete groups: a new one shows the oldest now, saying what is missing', () => {
    const asm = new PartAssembler<PartLike>();
    const first = (n: number) => im(`[part 1/30 g${String(n).padStart(5, '0')}] piece`, { from: `sender${n}` });
    for (let n = 0; n < MAX_PENDING_GROUPS; n++) assert.deepEqual(asm.push(first(n)), []);
    assert.equal(asm.pending, MAX_PENDING_GROUPS);
    for (let n = MAX_PENDING_GROUPS; n < MAX_PENDING_GROUPS + 1000; n++) {
      const shown = asm.push(first(n));
      assert.equal(shown.length, 1);
      assert.equal(shown[0]!.from, `sender${n - MAX_PENDING_GROUPS}`, 'the oldest group');
      assert.match(shown[0]!.text, /^piece \[incomplete: parts 2, 3, .* of 30 did not arrive\]$/);
    }
    assert.equal(asm.pending, MAX_PENDING_GROUPS);
  });
});
