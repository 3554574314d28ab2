/**
 * Wire codec throughput on a realistic ICBM stream.
 *
 * Stream: FLAP ch 2 frames, each a SNAC 04/07 with a sender user-info block (class, online-since, idle,
 * status, capabilities, cert-info hash, BART ids) and a channel-1 TLV 0x0002 message — plain AOL-HTML of
 * varying size, or (1 in 3) an encrypted-size Secure IM (0D 01 + 4 zero bytes + ~0.7-0.9 KB opaque CMS).
 * Frames are ~300-1100 bytes. The stream is fed in 16 KiB chunks and in random unaligned chunks.
 *
 * Measured: FlapDeframer.push + decodeSnac + decodeIcbmChannelMsgToClient (user info TLVs + TLV rest-list)
 * + the ch-1 fragment list, against a baseline that walks the same chunks reading only each 6-byte FLAP
 * header and skipping its payload. Median of several interleaved rounds; ratio = codec / baseline.
 */
import { FlapDeframer, encodeFlap, FlapChannel } from '../src/wire/flap.js';
import { decodeSnac, encodeSnac } from '../src/wire/snac.js';
import {
  decodeIcbmChannelMsgToClient, decodeImMessage, encodeEncryptedImMessage, encodeIcbmChannelMsgToClient, encodeImMessage,
  IcbmTlv, isEncryptedIm,
} from '../src/wire/icbm-message.js';
import { UserInfoBuilder } from '../src/wire/user-info.js';
import { tlv } from '../src/wire/tlv.js';
import { Prng } from '../src/wire/fuzz-kit.test-support.js';
import { median } from './support/stats.js';

const FRAMES = 20_000;
const ROUNDS = 9;
const rng = new Prng(2026);

function buildStream(): { stream: Uint8Array; sizes: number[]; encrypted: number } {
  const parts: Uint8Array[] = [];
  const sizes: number[] = [];
  let encrypted = 0;
  const senders = Array.from({ length: 50 }, (_, i) => new UserInfoBuilder(`buddy${i}`).userClass(0x10).onlineSince(1_700_000_000 + i)
    .status(0).idleMinutes(i % 7).capabilities(['SecureIm', 'DirectIm', 'SendFile', 'BuddyIcon', 'Chat', 'CertimModernSecureIm'])
    .certInfoHash(rng.bytes(16)).bartIds([{ type: 1, flags: 0, data: rng.bytes(16) }]).fields());
  for (let i = 0; i < FRAMES; i++) {
    const enc = i % 3 === 0;
    const data = enc
      ? encodeEncryptedImMessage(rng.bytes(700 + rng.int(200)))
      : encodeImMessage({ parts: [{ charset: 0, text: new TextEncoder().encode(`<HTML><BODY BGCOLOR="#ffffff">${'x'.repeat(20 + rng.int(700))}</BODY></HTML>`) }] });
    if (enc) encrypted++;
    const body = encodeIcbmChannelMsgToClient({ cookie: rng.bytes(8), channel: 1, sender: rng.pick(senders), tlvs: [tlv(IcbmTlv.IM_DATA, data), tlv(IcbmTlv.SUPPORTS_TYPING)] });
    const f = encodeFlap({ channel: FlapChannel.Data, sequence: i & 0xffff, payload: encodeSnac({ family: 4, subtype: 7, flags: 0, requestId: (0x80000000 + i) >>> 0 }, body) });
    parts.push(f);
    sizes.push(f.length);
  }
  const stream = new Uint8Array(parts.reduce((a, p) => a + p.length, 0));
  let o = 0;
  for (const p of parts) { stream.set(p, o); o += p.length; }
  return { stream, sizes, encrypted };
}

function chunk(stream: Uint8Array, next: () => number): Uint8Array[] {
  const out: Uint8Array[] = [];
  // Copies, as a socket would hand us fresh buffers.
  for (let o = 0; o < stream.length;) { const n = next(); out.push(stream.slice(o, o + n)); o += n; }
  return out;
}

let sink = 0;

function codec(chunks: Uint8Array[]): number {
  const d = new FlapDeframer();
  let frames = 0;
  for (const c of chunks) {
    for (const f of d.push(c)) {
      const s = decodeSnac(f.payload);
      if (s.family === 4 && s.subtype === 7) {
        const m = decodeIcbmChannelMsgToClient(s.body);
        const im = m.tlvs.bytes(IcbmTlv.IM_DATA);
        if (im !== undefined && isEncryptedIm(decodeImMessage(im))) sink++;
        sink += m.sender.tlvs.size;
      }
      frames++;
    }
  }
  return frames;
}

function baseline(chunks: Uint8Array[]): number {
  const hdr = new Uint8Array(6);
  let fill = 0;
  let skip = 0;
  let frames = 0;
  for (const c of chunks) {
    const n = c.length;
    let o = 0;
    while (o < n) {
      if (skip > 0) { const t = Math.min(skip, n - o); o += t; skip -= t; continue; }
      if (fill === 0 && n - o >= 6) { skip = (c[o + 4]! << 8) | c[o + 5]!; o += 6; frames++; continue; }
      hdr[fill++] = c[o++]!;
      if (fill === 6) { skip = (hdr[4]! << 8) | hdr[5]!; fill = 0; frames++; }
    }
  }
  return frames;
}

const { stream, sizes, encrypted } = buildStream();
const mb = stream.length / 1e6;
console.log(`stream: ${FRAMES} ICBM 04/07 frames, ${mb.toFixed(2)} MB, frame size min ${Math.min(...sizes)} / avg ${Math.round(stream.length / FRAMES)} / max ${Math.max(...sizes)} bytes, ${encrypted} encrypted-size`);

const layouts: [string, Uint8Array[]][] = [
  ['16 KiB chunks', chunk(stream, () => 16384)],
  ['unaligned chunks (1..16384, random)', chunk(stream, () => 1 + rng.int(16384))],
  ['small unaligned chunks (1..1500)', chunk(stream, () => 1 + rng.int(1500))],
];

for (const [name, chunks] of layouts) {
  if (codec(chunks) !== FRAMES || baseline(chunks) !== FRAMES) throw new Error('frame count mismatch');
  for (let w = 0; w < 3; w++) { codec(chunks); baseline(chunks); } // warm-up
  const tc: number[] = [];
  const tb: number[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    let t = performance.now(); codec(chunks); tc.push(performance.now() - t);
    t = performance.now(); baseline(chunks); tb.push(performance.now() - t);
  }
  const c = median(tc) / 1000;
  const b = median(tb) / 1000;
  console.log(`\n${name} (${chunks.length} chunks), median of ${ROUNDS}:`);
  console.log(`  codec    (deframe + SNAC + 04/07 user-info/TLVs + ch-1 fragments): ${(mb / c).toFixed(1)} MB/s, ${Math.round(FRAMES / c).toLocaleString('en')} frames/s`);
  console.log(`  baseline (FLAP header walk only):                                 ${(mb / b).toFixed(1)} MB/s, ${Math.round(FRAMES / b).toLocaleString('en')} frames/s`);
  console.log(`  ratio codec/baseline: ${(b / c).toFixed(3)}  (baseline is ${(c / b).toFixed(1)}x faster)`);
}
if (sink === -1) console.log('unreachable');
