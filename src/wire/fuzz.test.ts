/**
 * Fuzz tests (structures half; framing is in fuzz-framing.test.ts): every wire decoder gets at least 100,000 random and mutated inputs per run (seeded, so failures
 * reproduce) and must answer each with a value or a WireError whose offset lies inside the input — nothing
 * else thrown, no hang. Counts of each outcome are asserted so a decoder that rejects everything (or accepts
 * everything) is noticed.
 */
import { test } from 'node:test';
import { ByteWriter, WireError, fromHex } from './bytes.js';
import { capabilityToString, decodeCapabilityBlock, decodeShortCapabilities, encodeCapabilityBlock, expandShortCapability } from './capabilities.js';
import { certInfoHash, decodeCertificateInfo, encodeCertificateInfo, encodeClearedCertificateInfo, signingCert } from './cert-info.js';
import { decodeExtraInfoBlock, decodeExtraInfoBlocks, encodeExtraInfoBlocks } from './extra-info.js';
import { FUZZ_ITERATIONS, FUZZ_TEST_OPTIONS, Prng, expectMixed, fuzzDecoder } from './fuzz-kit.test-support.js';
import {
  decodeIcbmChannelMsgToClient, decodeIcbmChannelMsgToHost, decodeImMessage, encodeEncryptedImMessage,
  encodeIcbmChannelMsgToClient, encodeIcbmChannelMsgToHost, encodeImMessage, imDataTlv, isEncryptedIm,
} from './icbm-message.js';
import { decodeMimeEntity, encodeMimeEntity, getMimeHeader, parseContentType } from './mime-headers.js';
import { tlv, writeTlvCountedBlock } from './tlv.js';
import { UserInfoBuilder, decodeUserInfo } from './user-info.js';

const N = FUZZ_ITERATIONS;
const OPTS = FUZZ_TEST_OPTIONS;

const seedRng = new Prng(0xc0ffee);
const userInfo = () => new UserInfoBuilder('user' + seedRng.int(100)).warningLevel(seedRng.int(1000)).userClass(0x10).onlineSince(seedRng.next())
  .idleMinutes(seedRng.int(100)).status(0).capabilities(['SecureIm', 'Chat', 'CertimModernSecureIm']).add(tlv(0x19, fromHex('00011345')))
  .certInfoHash(seedRng.bytes(16)).bartIds([{ type: 1, flags: 0, data: seedRng.bytes(16) }]).fields();

test('fuzz: user info block with every typed accessor', OPTS, () => {
  const seeds = [new UserInfoBuilder('x').encode()];
  seeds.push(...[userInfo(), userInfo(), userInfo()].map((f) => {
    const w = new ByteWriter();
    w.string8(f.screenName).u16(f.warningLevel ?? 0);
    writeTlvCountedBlock(w, f.tlvs);
    return w.finish();
  }));
  expectMixed('user-info', fuzzDecoder('user-info', (b) => {
    const u = decodeUserInfo(b);
    return [u.userClass, u.isAway, u.onlineSince, u.idleMinutes, u.memberSince, u.status, u.capabilities.length, u.certInfoHash, u.bartIds.length];
  }, seeds, { iterations: N, seed: 5 }));
});

test('fuzz: capability blocks, short caps and GUID formatting', OPTS, () => {
  const seeds = [encodeCapabilityBlock(['SecureIm', 'DirectIm', 'Chat']), fromHex('00011345134e'), seedRng.bytes(16)];
  expectMixed('caps', fuzzDecoder('caps', (b) => {
    const full = (() => { try { return decodeCapabilityBlock(b); } catch (e) { if (WireError.is(e)) return []; throw e; } })();
    for (const c of full) capabilityToString(c);
    return decodeShortCapabilities(b).map((s) => capabilityToString(expandShortCapability(s)));
  }, seeds, { iterations: N, seed: 6 }));
});

test('fuzz: ExtraInfoBlock single and lists', OPTS, () => {
  const seeds = [encodeExtraInfoBlocks([{ type: 0x0402, flags: 1, data: seedRng.bytes(16) }]), encodeExtraInfoBlocks([{ type: 1, flags: 0, data: seedRng.bytes(5) }, { type: 2, flags: 4, data: fromHex('000268690000') }])];
  expectMixed('extra-info', fuzzDecoder('extra-info', (b) => {
    try { decodeExtraInfoBlock(b); } catch (e) { if (!WireError.is(e)) throw e; }
    return decodeExtraInfoBlocks(b).length;
  }, seeds, { iterations: N, seed: 7 }));
});

test('fuzz: certificate info block', OPTS, () => {
  const seeds = [
    encodeCertificateInfo({ certA: seedRng.bytes(40) }),
    encodeCertificateInfo({ certA: seedRng.bytes(30), certB: seedRng.bytes(30) }),
    encodeClearedCertificateInfo(),
  ];
  expectMixed('cert-info', fuzzDecoder('cert-info', (b) => {
    const ci = decodeCertificateInfo(b);
    certInfoHash(b);
    return [ci.numCerts, signingCert(ci)?.length];
  }, seeds, { iterations: N, seed: 8 }));
});

test('fuzz: ICBM channel-1 fragments and 04/06 / 04/07 headers', OPTS, () => {
  const seeds = [
    encodeImMessage({ parts: [{ charset: 0, text: seedRng.bytes(20) }] }),
    encodeEncryptedImMessage(seedRng.bytes(40)),
    encodeIcbmChannelMsgToHost({ cookie: seedRng.bytes(8), channel: 1, screenName: 'bob', tlvs: [imDataTlv({ parts: [{ charset: 2, text: seedRng.bytes(8) }] }), tlv(3)] }),
    encodeIcbmChannelMsgToClient({ cookie: seedRng.bytes(8), channel: 1, sender: userInfo(), tlvs: [tlv(2, encodeEncryptedImMessage(seedRng.bytes(20)))] }),
  ];
  expectMixed('icbm', fuzzDecoder('icbm', (b) => {
    let enc = false;
    try { enc = isEncryptedIm(decodeImMessage(b)); } catch (e) { if (!WireError.is(e)) throw e; }
    try {
      const h = decodeIcbmChannelMsgToHost(b);
      const d = h.tlvs.bytes(2);
      if (d) decodeImMessage(d);
    } catch (e) { if (!WireError.is(e)) throw e; }
    const c = decodeIcbmChannelMsgToClient(b);
    const d = c.tlvs.bytes(2);
    return [enc, c.sender.capabilities.length, d && decodeImMessage(d).parts.length];
  }, seeds, { iterations: N, seed: 9 }));
});

test('fuzz: MIME header blocks and Content-Type', OPTS, () => {
  const enc = (s: string) => new TextEncoder().encode(s);
  const seeds = [
    encodeMimeEntity({ contentType: 'application/pkcs7-mime; charset=us-ascii' }, seedRng.bytes(20)),
    encodeMimeEntity({ contentType: 'text/x-aolrtf; charset="utf-8"' }, enc('<HTML>hi</HTML>')),
    enc('content-transfer-encoding: binary\nContent-Type: text/x-aolrtf;charset=us-ascii\n folded\n\nbody'),
  ];
  expectMixed('mime', fuzzDecoder('mime', (b) => {
    const e = decodeMimeEntity(b, { maxHeaders: 8, maxHeaderBytes: 512 });
    const ct = getMimeHeader(e, 'content-type');
    return ct === undefined ? undefined : parseContentType(ct).charset;
  }, seeds, { iterations: N, seed: 10, maxRandomLength: 96 }));
});
