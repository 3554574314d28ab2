/**
 * MD5 (RFC 1321) in plain TypeScript, so the wire layer stays free of node: imports and can run in a
 * browser. Used only for the legacy AIM digests that the protocol fixes (certificate-info hash, §4.2;
 * the MD5("") BART hashes, §6.1) — never as a security primitive.
 */

const S = [7, 12, 17, 22, 7, 12, 17, 22, 7, 12, 17, 22, 7, 12, 17, 22, 5, 9, 14, 20, 5, 9, 14, 20, 5, 9, 14, 20, 5, 9, 14, 20,
  4, 11, 16, 23, 4, 11, 16, 23, 4, 11, 16, 23, 4, 11, 16, 23, 6, 10, 15, 21, 6, 10, 15, 21, 6, 10, 15, 21, 6, 10, 15, 21];
const K = new Int32Array(64);
for (let i = 0; i < 64; i++) K[i] = Math.floor(Math.abs(Math.sin(i + 1)) * 0x100000000) | 0;

/** MD5 digest (16 bytes) of `data`. */
export function md5(data: Uint8Array): Uint8Array {
  const n = data.length;
  const padded = new Uint8Array((((n + 8) >>> 6) + 1) << 6);
  padded.set(data);
  padded[n] = 0x80;
  const bits = n * 8;
  const tail = padded.length - 8;
  // Little-endian 64-bit bit length; inputs here are far below 2^32 bytes.
  for (let i = 0; i < 4; i++) padded[tail + i] = (bits >>> (8 * i)) & 0xff;
  const hi = Math.floor(n / 0x20000000);
  for (let i = 0; i < 4; i++) padded[tail + 4 + i] = (hi >>> (8 * i)) & 0xff;

  let a0 = 0x67452301 | 0, b0 = 0xefcdab89 | 0, c0 = 0x98badcfe | 0, d0 = 0x10325476 | 0;
  const M = new Int32Array(16);
  for (let off = 0; off < padded.length; off += 64) {
    for (let i = 0; i < 16; i++) {
      const o = off + i * 4;
      M[i] = padded[o]! | (padded[o + 1]! << 8) | (padded[o + 2]! << 16) | (padded[o + 3]! << 24);
    }
    let a = a0, b = b0, c = c0, d = d0;
    for (let i = 0; i < 64; i++) {
      let f: number, g: number;
      if (i < 16) { f = (b & c) | (~b & d); g = i; }
      else if (i < 32) { f = (d & b) | (~d & c); g = (5 * i + 1) & 15; }
      else if (i < 48) { f = b ^ c ^ d; g = (3 * i + 5) & 15; }
      else { f = c ^ (b | ~d); g = (7 * i) & 15; }
      const t = d;
      d = c;
      c = b;
      const x = (a + f + K[i]! + M[g]!) | 0;
      const s = S[i]!;
      b = (b + ((x << s) | (x >>> (32 - s)))) | 0;
      a = t;
    }
    a0 = (a0 + a) | 0; b0 = (b0 + b) | 0; c0 = (c0 + c) | 0; d0 = (d0 + d) | 0;
  }
  const out = new Uint8Array(16);
  const words = [a0, b0, c0, d0];
  for (let i = 0; i < 4; i++) for (let j = 0; j < 4; j++) out[i * 4 + j] = (words[i]! >>> (8 * j)) & 0xff;
  return out;
}
