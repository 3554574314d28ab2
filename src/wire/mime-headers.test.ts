import { test } from 'node:test';
import assert from 'node:assert/strict';
import { WireError, toHex } from './bytes.js';
import { Prng } from './fuzz-kit.test-support.js';
import { decodeMimeEntity, encodeMimeEntity, getMimeHeader, parseContentType } from './mime-headers.js';

const isCode = (code: string) => (e: unknown) => WireError.is(e) && e.code === code;
const ascii = (s: string) => new Uint8Array([...s].map((c) => c.charCodeAt(0)));

test('docs/protocol.md §6.3: outer header block encodes in AIM order with CRLF and a blank line', () => {
  const out = encodeMimeEntity({ contentType: 'application/pkcs7-mime; charset=us-ascii' }, new Uint8Array([0x30, 0x82]));
  const want = 'Content-Type: application/pkcs7-mime; charset=us-ascii\r\nContent-Language: en\r\nContent-Transfer-Encoding: binary\r\n\r\n';
  assert.equal(toHex(out), toHex(ascii(want)) + '3082');
});

test('docs/protocol.md §6.3: inner block with text/x-aolrtf decodes; body kept as bytes', () => {
  const body = ascii('<HTML><BODY>hi\r\n\r\nthere</BODY></HTML>');
  const e = decodeMimeEntity(encodeMimeEntity({ contentType: 'text/x-aolrtf; charset=utf-8' }, body));
  assert.equal(e.headers.length, 3);
  assert.equal(toHex(e.body), toHex(body)); // a CRLFCRLF inside the body is not a header boundary
  const ct = parseContentType(getMimeHeader(e, 'content-type')!);
  assert.deepEqual([ct.mediaType, ct.charset], ['text/x-aolrtf', 'utf-8']);
});

test('docs/protocol.md §6.3: names case-insensitive in any order (joscar puts CTE first); bare LF tolerated', () => {
  const e = decodeMimeEntity(ascii('content-transfer-encoding:binary\nCONTENT-TYPE:  text/x-aolrtf; charset="us-ascii"  \r\n\nBODY'));
  assert.equal(getMimeHeader(e, 'Content-Type'), 'text/x-aolrtf; charset="us-ascii"');
  assert.equal(getMimeHeader(e, 'Content-Transfer-Encoding'), 'binary');
  assert.equal(getMimeHeader(e, 'Content-Language'), undefined);
  assert.equal(new TextDecoder().decode(e.body), 'BODY');
});

test('docs/protocol.md §1.4/§6.3: Content-Type charset parsing, quoted or not', () => {
  assert.equal(parseContentType('text/x-aolrtf; charset="us-ascii"').charset, 'us-ascii');
  assert.equal(parseContentType('text/aolrtf; charset=ISO-8859-1').charset, 'iso-8859-1');
  assert.equal(parseContentType('Application/PKCS7-MIME').mediaType, 'application/pkcs7-mime');
  assert.equal(parseContentType('text/plain').charset, undefined);
  assert.equal(parseContentType('a/b; x="semi;colon"; charset=utf-8').params.get('x'), 'semi;colon');
  assert.throws(() => parseContentType('nonsense'), isCode('BAD_VALUE'));
});

test('header block limits and malformed lines are typed errors', () => {
  assert.throws(() => decodeMimeEntity(ascii('Content-Type: a/b\r\n')), isCode('TRUNCATED'));
  assert.throws(() => decodeMimeEntity(ascii('no colon here\r\n\r\n')), isCode('BAD_VALUE'));
  assert.throws(() => decodeMimeEntity(ascii(': empty\r\n\r\n')), isCode('BAD_VALUE'));
  assert.throws(() => decodeMimeEntity(ascii('A: b\x01\r\n\r\n')), isCode('BAD_ENCODING'));
  assert.throws(() => decodeMimeEntity(ascii(' cont\r\n\r\n')), isCode('BAD_VALUE'));
  assert.throws(() => decodeMimeEntity(ascii('A: 1\r\nB: 2\r\nC: 3\r\n\r\n'), { maxHeaders: 2 }), isCode('TOO_MANY'));
  assert.throws(() => decodeMimeEntity(ascii(`A: ${'x'.repeat(5000)}\r\n\r\n`)), isCode('BAD_LENGTH'));
  const folded = decodeMimeEntity(ascii('A: one\r\n  two\r\n\r\n'));
  assert.equal(getMimeHeader(folded, 'a'), 'one two');
  assert.deepEqual(decodeMimeEntity(ascii('\r\nxyz')).headers, []);
});

test('encoding refuses header injection', () => {
  assert.throws(() => encodeMimeEntity({ contentType: 'a/b\r\nX-Evil: 1' }, new Uint8Array(0)), RangeError);
  assert.throws(() => encodeMimeEntity({ contentType: 'a/b', contentLanguage: 'é€' }, new Uint8Array(0)), RangeError);
});

test('property: encode/decode round-trip (2000 cases)', () => {
  const rng = new Prng(23);
  for (let i = 0; i < 2000; i++) {
    const cs = rng.pick(['us-ascii', 'iso-8859-1', 'utf-16be', 'unicode-2-0', 'utf-8']);
    const body = rng.bytes(rng.int(600));
    const e = decodeMimeEntity(encodeMimeEntity({ contentType: `text/x-aolrtf; charset=${cs}`, contentLanguage: rng.pick(['en', 'de']) }, body));
    assert.equal(parseContentType(getMimeHeader(e, 'Content-Type')!).charset, cs);
    assert.equal(toHex(e.body), toHex(body));
  }
});
