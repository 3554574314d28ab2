import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fromHex as unhex, toHex as hex } from '../../wire/bytes.js';
import {
  Asn1Error, TAG, children, der, parseAsn1, readBigInt, readBool, readOctets, readOid, readTime, readString, readUnsignedBytes,
  rawOf, fromPem, toPem, tlv,
} from './der.js';

test('X.690 known encodings: INTEGER, OID, lengths', () => {
  assert.equal(hex(der.int(0)), '020100');
  assert.equal(hex(der.int(127)), '02017f');
  assert.equal(hex(der.int(128)), '02020080');
  assert.equal(hex(der.int(-128)), '020180');
  assert.equal(hex(der.int(-129)), '0202ff7f');
  assert.equal(hex(der.int(unhex('00ff'))), '020200ff');
  assert.equal(hex(der.oid('1.2.840.113549.1.7.3')), '06092a864886f70d010703');
  assert.equal(hex(der.oid('2.16.840.1.101.3.4.1.42')), '060960864801650304012a');
  assert.equal(hex(der.octets(new Uint8Array(200)).subarray(0, 3)), '0481c8');
  assert.equal(hex(der.octets(new Uint8Array(300)).subarray(0, 4)), '0482012c');
});

test('round trip of a nested structure', () => {
  const when = new Date(Date.UTC(2026, 10, 22, 12, 0, 0));
  const enc = der.seq(der.int(65537n), der.oid('1.2.840.113549.1.1.11'), der.utf8('héllo'), der.time(when), der.octets(unhex('0102')));
  const n = parseAsn1(enc);
  const [i, o, s, t, oc] = children(n);
  assert.equal(readBigInt(i!), 65537n);
  assert.equal(readOid(o!), '1.2.840.113549.1.1.11');
  assert.equal(readString(s!), 'héllo');
  assert.equal(readTime(t!).getTime(), when.getTime());
  assert.equal(hex(readOctets(oc!)), '0102');
  assert.equal(hex(rawOf(n)), hex(enc));
});

test('BER: indefinite lengths and constructed OCTET STRING are read only with ber:true', () => {
  // SEQUENCE(indef) { OCTET STRING(constructed, indef) { 04 02 0102, 04 01 03 } } 
  const ber = unhex('3080 2480 04020102 040103 0000 0000');
  assert.throws(() => parseAsn1(ber), (e) => Asn1Error.is(e, 'BAD_LENGTH'));
  const n = parseAsn1(ber, { ber: true });
  const [os] = children(n);
  assert.equal(hex(readOctets(os!)), '010203');
});

test('truncation, trailing bytes, non-minimal lengths and depth bombs are typed errors', () => {
  assert.throws(() => parseAsn1(unhex('3005020101')), (e) => Asn1Error.is(e, 'TRUNCATED'));
  assert.throws(() => parseAsn1(unhex('02010100')), (e) => Asn1Error.is(e, 'TRAILING_BYTES'));
  assert.throws(() => parseAsn1(unhex('0281010a')), (e) => Asn1Error.is(e, 'BAD_LENGTH'));
  assert.throws(() => parseAsn1(unhex('02850000000001')), (e) => Asn1Error.is(e, 'BAD_LENGTH'));
  const deep = new Uint8Array(2 * 200 + 2);
  for (let i = 0; i < 200; i++) { deep[2 * i] = 0x30; deep[2 * i + 1] = 0x80; }
  const bomb = new Uint8Array(deep.length + 400);
  bomb.set(deep.subarray(0, 400));
  assert.throws(() => parseAsn1(bomb, { ber: true }), (e) => Asn1Error.is(e, 'TOO_DEEP'));
});

test('fuzz: random mutations of a certificate only ever raise Asn1Error', () => {
  const pem = execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes',
    '-keyout', '/dev/null', '-subj', '/CN=fuzz', '-days', '1'], { stdio: ['ignore', 'pipe', 'ignore'] }).toString();
  const cert = fromPem(pem)[0]!.der;
  assert.equal(toPem('CERTIFICATE', cert).trim(), pem.trim());
  let seed = 12345;
  const rnd = () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32);
  const walk = (n: ReturnType<typeof parseAsn1>, depth: number): void => {
    if (depth > 70 || (n.tag & 0x20) === 0) return;
    for (const c of children(n)) walk(c, depth + 1);
  };
  for (let i = 0; i < 20000; i++) {
    const m = Uint8Array.from(cert);
    const k = 1 + Math.floor(rnd() * 4);
    for (let j = 0; j < k; j++) m[Math.floor(rnd() * m.length)] = Math.floor(rnd() * 256);
    const input = rnd() < 0.2 ? m.subarray(0, Math.floor(rnd() * m.length)) : m;
    try { walk(parseAsn1(input, { ber: rnd() < 0.5 }), 0); } catch (e) {
      if (!(e instanceof Asn1Error)) throw e;
    }
  }
  assert.equal(readUnsignedBytes(children(children(parseAsn1(cert))[0]!)[1]!).length > 0, true);
  void TAG;
});

test('OIDs with 128-bit arcs (2.25.<uuid>, X.667) round-trip', () => {
  const oid = '2.25.207470142294151747653840509765409129692.1.2';
  const enc = der.oid(oid);
  assert.equal(readOid(parseAsn1(enc)), oid);
  // Cross-check against openssl's encoder.
  const dir = mkdtempSync(join(tmpdir(), 'certim-oid-'));
  try {
    execFileSync('openssl', ['asn1parse', '-genstr', `OID:${oid}`, '-noout', '-out', join(dir, 'oid.der')]);
    assert.equal(hex(enc), hex(new Uint8Array(readFileSync(join(dir, 'oid.der')))));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('times: impossible calendar values are refused, never normalised; DER needs seconds and no fractions', () => {
  const utc = (s: string, ber = false) => readTime(parseAsn1(tlv(TAG.UTC_TIME, Buffer.from(s, 'latin1')), { ber }));
  const gen = (s: string) => readTime(parseAsn1(tlv(TAG.GENERALIZED_TIME, Buffer.from(s, 'latin1'))));
  assert.equal(utc('240229120000Z').toISOString(), '2024-02-29T12:00:00.000Z');
  for (const bad of ['250229120000Z', '260230120000Z', '260431000000Z', '261231235960Z', '261231240000Z', '261301000000Z', '260100000000Z']) {
    assert.throws(() => utc(bad), (e) => Asn1Error.is(e, 'BAD_VALUE'), bad);
  }
  assert.throws(() => utc('2601011200Z'), (e) => Asn1Error.is(e, 'BAD_VALUE'));
  assert.equal(utc('2601011200Z', true).toISOString(), '2026-01-01T12:00:00.000Z');
  assert.throws(() => gen('20260101120000.5Z'), (e) => Asn1Error.is(e, 'BAD_VALUE'));
  assert.equal(gen('00500101000000Z').getUTCFullYear(), 50);
});

test('DER INTEGER and BOOLEAN have one encoding', () => {
  assert.throws(() => readBigInt(parseAsn1(Uint8Array.of(0x02, 0x02, 0x00, 0x7f))), (e) => Asn1Error.is(e, 'BAD_VALUE'));
  assert.throws(() => readBigInt(parseAsn1(Uint8Array.of(0x02, 0x02, 0xff, 0x80))), (e) => Asn1Error.is(e, 'BAD_VALUE'));
  assert.equal(readBigInt(parseAsn1(Uint8Array.of(0x02, 0x02, 0x00, 0x80))), 128n);
  assert.equal(readBigInt(parseAsn1(Uint8Array.of(0x02, 0x02, 0x00, 0x7f), { ber: true })), 127n);
  assert.throws(() => readBool(parseAsn1(Uint8Array.of(0x01, 0x01, 0x01))), (e) => Asn1Error.is(e, 'BAD_VALUE'));
  assert.equal(readBool(parseAsn1(Uint8Array.of(0x01, 0x01, 0xff))), true);
});

test('readOid gives the right text from its cache, for many OIDs and past the cache bound', () => {
  const oids = Array.from({ length: 5000 }, (_, i) => `1.3.6.1.4.1.${i}.${(i * 7919) % 1000}`);
  for (let round = 0; round < 2; round++) {
    for (const o of oids) assert.equal(readOid(parseAsn1(der.oid(o))), o);
  }
  // A prefix of a cached OID's bytes is its own OID, not a cache hit.
  const long = der.oid('2.25.329800735698586629295641978511506172918');
  assert.equal(readOid(parseAsn1(long)), '2.25.329800735698586629295641978511506172918');
  assert.equal(readOid(parseAsn1(der.oid('2.25.1'))), '2.25.1');
});
