import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { WireError, fromHex, toHex } from './bytes.js';
import { Prng } from './fuzz-kit.test-support.js';
import {
  MD5_EMPTY, certInfoHash, decodeCertificateInfo, encodeCertificateInfo, encodeClearedCertificateInfo, encryptionCert,
  isClearedCertificateInfo, signingCert,
} from './cert-info.js';
import { decodeTlvRestList, encodeTlvRestList, tlv } from './tlv.js';

const isCode = (code: string) => (e: unknown) => WireError.is(e) && e.code === code;
const EMPTY = 'd41d8cd98f00b204e9800998ecf8427e';
const CERT_A = '3003020101'; // opaque stand-in bytes: wire never parses X.509
const CERT_B = '3003020102';
const HASH_A_TLV = '0005' + '0014' + '0402' + '01' + '10' + EMPTY;
const HASH_B_TLV = '0006' + '0014' + '0403' + '01' + '10' + EMPTY;
const GOLDEN_N1 = '0004' + '0002' + '0001' + '0001' + '0005' + CERT_A + HASH_A_TLV + HASH_B_TLV;
const GOLDEN_N2 = '0004' + '0002' + '0002' + '0001' + '0005' + CERT_A + '0002' + '0005' + CERT_B + HASH_A_TLV + HASH_B_TLV;
const GOLDEN_CLEAR = '0004' + '0002' + '0001' + HASH_A_TLV + HASH_B_TLV;

test('docs/protocol.md §6.1: MD5("") default hash constant', () => {
  assert.equal(toHex(MD5_EMPTY), EMPTY);
  assert.equal(toHex(MD5_EMPTY), createHash('md5').update(new Uint8Array(0)).digest('hex'));
});

test('docs/protocol.md §6.1: one common cert (N=1) encodes in AIM order byte-exact', () => {
  assert.equal(toHex(encodeCertificateInfo({ certA: fromHex(CERT_A) })), GOLDEN_N1);
  const ci = decodeCertificateInfo(fromHex(GOLDEN_N1));
  assert.equal(ci.numCerts, 1);
  assert.equal(toHex(encryptionCert(ci)!), CERT_A);
  assert.equal(toHex(signingCert(ci)!), CERT_A); // common cert plays both roles
  assert.deepEqual([ci.hashA!.type, ci.hashA!.flags, toHex(ci.hashA!.data)], [0x0402, 1, EMPTY]);
  assert.deepEqual([ci.hashB!.type, ci.hashB!.flags, toHex(ci.hashB!.data)], [0x0403, 1, EMPTY]);
});

test('docs/protocol.md §6.1: separate certs (N=2): 0x0001 encryption, 0x0002 signing', () => {
  assert.equal(toHex(encodeCertificateInfo({ certA: fromHex(CERT_A), certB: fromHex(CERT_B) })), GOLDEN_N2);
  const ci = decodeCertificateInfo(fromHex(GOLDEN_N2));
  assert.equal(ci.numCerts, 2);
  assert.equal(toHex(encryptionCert(ci)!), CERT_A);
  assert.equal(toHex(signingCert(ci)!), CERT_B);
});

test('docs/protocol.md §6.1: "clear certificates" = N=1, no 0x0001, hashes still present', () => {
  assert.equal(toHex(encodeClearedCertificateInfo()), GOLDEN_CLEAR);
  const ci = decodeCertificateInfo(fromHex(GOLDEN_CLEAR));
  assert.equal(isClearedCertificateInfo(ci), true);
  assert.equal(signingCert(ci), undefined);
});

test('docs/protocol.md §6.1: classic-client blocks decode in any TLV order with unknown TLVs ignored', () => {
  const reordered = HASH_B_TLV + '0099' + '0001' + 'ff' + '0002' + '0005' + CERT_B + HASH_A_TLV + '0001' + '0005' + CERT_A + '0004' + '0002' + '0002';
  const ci = decodeCertificateInfo(fromHex(reordered));
  assert.equal(ci.numCerts, 2);
  assert.equal(toHex(signingCert(ci)!), CERT_B);
  assert.equal(toHex(ci.hashA!.data), EMPTY);
  // numcerts missing: inferred from the certs present
  assert.equal(decodeCertificateInfo(fromHex('0001' + '0005' + CERT_A)).numCerts, 1);
  // numcerts 1 with a stray signing cert: the stray is ignored
  assert.equal(decodeCertificateInfo(fromHex('0004 0002 0001 0001 0005' + CERT_A + '0002 0005' + CERT_B)).certB, undefined);
});

test('docs/protocol.md §6.1: invalid blocks are typed errors', () => {
  assert.throws(() => decodeCertificateInfo(fromHex('0004 0002 0003')), isCode('BAD_VALUE'));
  assert.throws(() => decodeCertificateInfo(fromHex('0004 0002 0002 0001 0005' + CERT_A)), isCode('BAD_VALUE'));
  assert.throws(() => decodeCertificateInfo(fromHex('0004 0001 01')), isCode('BAD_LENGTH'));
  assert.throws(() => decodeCertificateInfo(fromHex('0005 0004 0402 01 10')), isCode('TRUNCATED'));
  assert.throws(() => decodeCertificateInfo(fromHex('0005 0005 0402 01 00 ff')), isCode('TRAILING_BYTES'));
  assert.throws(() => decodeCertificateInfo(fromHex('0004 0002')), isCode('TRUNCATED'));
});

test('docs/protocol.md §4.2: certInfoHash = MD5 over exactly the Locate TLV 0x0006 value (no trailing bytes)', () => {
  const block = fromHex(GOLDEN_N1);
  const expected = createHash('md5').update(block).digest('hex');
  assert.equal(toHex(certInfoHash(block)), expected);
  // A Locate 02/04-style TLV list where the cert block is followed by more TLVs: hash only the 0x0006 value.
  const locate = encodeTlvRestList([tlv(0x0005, new Uint8Array(16)), tlv(0x0006, block), tlv(0x0002, fromHex('68656c6c6f'))]);
  const value = decodeTlvRestList(locate).bytes(0x0006)!;
  assert.equal(toHex(certInfoHash(value)), expected);
  const withTrailing = new Uint8Array([...block, 0x00, 0x02, 0x00, 0x00]);
  assert.notEqual(toHex(certInfoHash(withTrailing)), expected);
});

test('property: cert-info blocks round-trip and hash like node:crypto MD5 (1000 cases)', () => {
  const rng = new Prng(13);
  for (let i = 0; i < 1000; i++) {
    const certA = rng.chance(0.9) ? rng.bytes(1 + rng.int(1500)) : undefined;
    const certB = certA && rng.chance(0.5) ? rng.bytes(1 + rng.int(1500)) : undefined;
    const hashA = rng.chance(0.5) ? rng.bytes(16) : undefined;
    const bytes = encodeCertificateInfo({ certA, certB, hashA });
    const ci = decodeCertificateInfo(bytes);
    assert.equal(ci.numCerts, certB ? 2 : 1);
    assert.equal(ci.certA && toHex(ci.certA), certA && toHex(certA));
    assert.equal(ci.certB && toHex(ci.certB), certB && toHex(certB));
    assert.equal(toHex(ci.hashA!.data), toHex(hashA ?? MD5_EMPTY));
    assert.equal(toHex(certInfoHash(bytes)), createHash('md5').update(bytes).digest('hex'));
  }
});
