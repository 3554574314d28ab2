/**
 * RC2 block cipher (RFC 2268), CBC mode. Only needed to IMPORT legacy PKCS#12 files: `openssl pkcs12 -export -legacy`
 * and AIM-era clients encrypt the certificate bag with pbeWithSHAAnd40BitRC2-CBC, and RC2 lives only in OpenSSL's
 * legacy provider, which Node does not load. Never used to protect anything we write.
 */
import { PkiError } from './errors.js';

/** RFC 2268 §2 PITABLE: a permutation of 0..255 derived from the digits of pi. */
const PITABLE = Buffer.from(
  'd978f9c419ddb5ed28e9fd794aa0d89dc67e37832b76538e624c6488448bfba2' +
  '179a59f587b34f1361456d8d09817d32bd8f40eb86b77b0bf09521225c6b4e82' +
  '54d66593ce60b21c7356c014a78cf1dc1275ca1f3bbee4d1423dd430a33cb626' +
  '6fbf0eda4669075727f21d9bbc944303f811c7f690ef3ee706c3d52fc8661ed7' +
  '08e8eade8052eef784aa72ac354d6a2a961ad2715a1549744b9fd05e0418a4ec' +
  'c2e0416e0f51cbcc2491af50a1f47039997c3a8523b8b47afc02365b25559731' +
  '2d5dfa98e38a92ae05df2910676cbac9d300e6cfe19ea82c6316013f58e289a9' +
  '0d38341bab33ffb0bb480c5fb9b1cd2ec5f3db47e5a59c770aa62068fe7fc1ad',
  'hex',
);

/** RFC 2268 §2 key expansion: 64 16-bit subkeys from a 1..128-byte key and the effective key length in bits. */
export function rc2ExpandKey(key: Uint8Array, effectiveBits: number): Uint16Array {
  const T = key.length;
  if (T < 1 || T > 128) throw new PkiError('INVALID_ARGUMENT', `RC2 key length ${T} out of range 1..128`);
  if (effectiveBits < 1 || effectiveBits > 1024) throw new PkiError('INVALID_ARGUMENT', 'RC2 effective bits out of range');
  const L = new Uint8Array(128);
  L.set(key);
  for (let i = T; i < 128; i++) L[i] = PITABLE[(L[i - 1]! + L[i - T]!) & 0xff]!;
  const T8 = (effectiveBits + 7) >> 3;
  const TM = 0xff >> (8 * T8 - effectiveBits);
  L[128 - T8] = PITABLE[L[128 - T8]! & TM]!;
  for (let i = 127 - T8; i >= 0; i--) L[i] = PITABLE[L[i + 1]! ^ L[i + T8]!]!;
  const K = new Uint16Array(64);
  for (let i = 0; i < 64; i++) K[i] = L[2 * i]! | (L[2 * i + 1]! << 8);
  return K;
}

const S = [1, 2, 3, 5];

function encryptBlock(K: Uint16Array, R: Uint16Array): void {
  let j = 0;
  const mix = (): void => {
    for (let i = 0; i < 4; i++) {
      const v = R[i]! + K[j++]! + (R[(i + 3) & 3]! & R[(i + 2) & 3]!) + (~R[(i + 3) & 3]! & R[(i + 1) & 3]!);
      const w = v & 0xffff;
      R[i] = (w << S[i]!) | (w >> (16 - S[i]!));
    }
  };
  const mash = (): void => {
    for (let i = 0; i < 4; i++) R[i] = R[i]! + K[R[(i + 3) & 3]! & 63]!;
  };
  for (let r = 0; r < 5; r++) mix();
  mash();
  for (let r = 0; r < 6; r++) mix();
  mash();
  for (let r = 0; r < 5; r++) mix();
}

function decryptBlock(K: Uint16Array, R: Uint16Array): void {
  let j = 63;
  const rmix = (): void => {
    for (let i = 3; i >= 0; i--) {
      const w = R[i]!;
      const v = ((w >> S[i]!) | (w << (16 - S[i]!))) & 0xffff;
      R[i] = v - K[j--]! - (R[(i + 3) & 3]! & R[(i + 2) & 3]!) - (~R[(i + 3) & 3]! & R[(i + 1) & 3]!);
    }
  };
  const rmash = (): void => {
    for (let i = 3; i >= 0; i--) R[i] = R[i]! - K[R[(i + 3) & 3]! & 63]!;
  };
  for (let r = 0; r < 5; r++) rmix();
  rmash();
  for (let r = 0; r < 6; r++) rmix();
  rmash();
  for (let r = 0; r < 5; r++) rmix();
}

function load(buf: Uint8Array, off: number, R: Uint16Array): void {
  for (let i = 0; i < 4; i++) R[i] = buf[off + 2 * i]! | (buf[off + 2 * i + 1]! << 8);
}
function store(R: Uint16Array, buf: Uint8Array, off: number): void {
  for (let i = 0; i < 4; i++) {
    buf[off + 2 * i] = R[i]! & 0xff;
    buf[off + 2 * i + 1] = R[i]! >> 8;
  }
}

/** Encrypts one 8-byte block (ECB); exposed for the RFC 2268 §5 known-answer tests. */
export function rc2EncryptBlock(key: Uint8Array, effectiveBits: number, block: Uint8Array): Uint8Array {
  const K = rc2ExpandKey(key, effectiveBits);
  const R = new Uint16Array(4);
  load(block, 0, R);
  encryptBlock(K, R);
  const out = new Uint8Array(8);
  store(R, out, 0);
  return out;
}

/** RC2-CBC encryption with PKCS#5 padding (used only by tests to build legacy fixtures). */
export function rc2CbcEncrypt(key: Uint8Array, effectiveBits: number, iv: Uint8Array, plain: Uint8Array): Uint8Array {
  if (iv.length !== 8) throw new PkiError('INVALID_ARGUMENT', 'RC2 IV must be 8 bytes');
  const K = rc2ExpandKey(key, effectiveBits);
  const pad = 8 - (plain.length % 8);
  const out = new Uint8Array(plain.length + pad);
  out.set(plain);
  out.fill(pad, plain.length);
  const R = new Uint16Array(4);
  const prev = Uint8Array.from(iv);
  for (let off = 0; off < out.length; off += 8) {
    for (let i = 0; i < 8; i++) out[off + i]! ^= prev[i]!;
    load(out, off, R);
    encryptBlock(K, R);
    store(R, out, off);
    prev.set(out.subarray(off, off + 8));
  }
  return out;
}

/**
 * RC2-CBC decryption with PKCS#5 padding removal. Bad padding (the usual symptom of a wrong password) throws
 * PkiError BAD_PASSPHRASE.
 */
export function rc2CbcDecrypt(key: Uint8Array, effectiveBits: number, iv: Uint8Array, cipher: Uint8Array): Uint8Array {
  if (iv.length !== 8) throw new PkiError('INVALID_ARGUMENT', 'RC2 IV must be 8 bytes');
  if (cipher.length === 0 || cipher.length % 8 !== 0) throw new PkiError('MALFORMED', 'RC2 ciphertext is not a whole number of blocks');
  const K = rc2ExpandKey(key, effectiveBits);
  const out = new Uint8Array(cipher.length);
  const R = new Uint16Array(4);
  for (let off = 0; off < cipher.length; off += 8) {
    load(cipher, off, R);
    decryptBlock(K, R);
    store(R, out, off);
    const prev = off === 0 ? iv : cipher.subarray(off - 8, off);
    for (let i = 0; i < 8; i++) out[off + i]! ^= prev[i]!;
  }
  const pad = out[out.length - 1]!;
  let bad = pad < 1 || pad > 8 ? 1 : 0;
  for (let i = 0; i < 8; i++) if (i < pad && out[out.length - 1 - i] !== pad) bad = 1;
  if (bad) throw new PkiError('BAD_PASSPHRASE', 'decryption failed: wrong passphrase (or corrupted data)');
  return out.subarray(0, out.length - pad);
}
