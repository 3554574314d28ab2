/**
 * The Secure IM codec loop of bench/web-client.bench.ts, portable (no `node:`, no Buffer): the same file runs in
 * Node (imported) and in Chromium (bundled by Vite into a bench-only module that never goes into dist/web). It encodes
 * modern-profile IMs (sign, then AES-GCM + RSA-OAEP to the buddy and to our own encryption certificate, as the
 * client sends them) for a fixed time, then decodes (unwrap, decrypt, verify, replay cache) the messages it made.
 *
 * The trust decision is per certificate: the bench checks the pair's certificates once before the run, and the
 * callback here compares bytes, so the figures are those of the codec and its crypto provider alone.
 */
import { importSecureImKey, type CmsCrypto, type PrivateKeyInput } from '../../src/pki/cms/crypto.js';
import { MemoryReplayCache } from '../../src/pki/cms/replay-cache.js';
import { decodeSecureIm } from '../../src/pki/cms/secure-im-decode.js';
import { encodeSecureIm } from '../../src/pki/cms/secure-im-encode.js';
import type { TrustCallback } from '../../src/pki/cms/secure-im-types.js';
import { bytesEqual } from '../../src/wire/bytes.js';

/** One side of the pair: screen name, certificate (DER, both roles) and its private key (PKCS#8 DER). */
export interface CodecParty {
  name: string;
  certDer: Uint8Array;
  pkcs8: Uint8Array;
}

/** What one timed phase did: messages and wall milliseconds. */
export interface PhaseFigures {
  n: number;
  ms: number;
}

/** A short AOL-HTML IM, as the CLI and the web client send them. */
export const BENCH_TEXT = '<HTML><BODY BGCOLOR="#ffffff"><FONT LANG="0">hey, are we still on for lunch tomorrow at noon?</FONT></BODY></HTML>';

/** The codec loop for one provider; `keys` defaults to the parties' PKCS#8 imported as WebCrypto keys. */
export class CodecLoop {
  private readonly msgs: Uint8Array[] = [];

  private constructor(private readonly crypto: CmsCrypto, private readonly sender: CodecParty, private readonly recipient: CodecParty,
    private readonly senderKey: PrivateKeyInput, private readonly recipientKey: PrivateKeyInput) {}

  /** Sets up the loop; `keys` are provider-native keys (a KeyObject for the Node provider) when given. */
  static async create(crypto: CmsCrypto, sender: CodecParty, recipient: CodecParty, keys?: { sender: PrivateKeyInput; recipient: PrivateKeyInput }): Promise<CodecLoop> {
    const s = keys?.sender ?? (await importSecureImKey(crypto, sender.pkcs8));
    const r = keys?.recipient ?? (await importSecureImKey(crypto, recipient.pkcs8));
    return new CodecLoop(crypto, sender, recipient, s, r);
  }

  private encodeOne(): Promise<Uint8Array> {
    return encodeSecureIm({
      crypto: this.crypto, profile: 'modern', text: BENCH_TEXT, includeSelf: true,
      sender: { screenName: this.sender.name, signingKey: this.senderKey, signingCert: this.sender.certDer, encryptionCert: this.sender.certDer },
      recipient: { screenName: this.recipient.name, cert: this.recipient.certDer },
    });
  }

  private trust: TrustCallback = async (der, screenName) =>
    (screenName === this.sender.name && bytesEqual(der, this.sender.certDer)) || (screenName === this.recipient.name && bytesEqual(der, this.recipient.certDer))
      ? { ok: true }
      : { ok: false, code: 'untrusted', reason: 'not one of the bench certificates' };

  /** Warms up (JIT, key caches): a few encodes and decodes, not timed. */
  async warm(n = 20): Promise<void> {
    const cache = new MemoryReplayCache();
    for (let i = 0; i < n; i++) await this.decodeOne(await this.encodeOne(), cache);
  }

  /** Encodes for `seconds` (at least one message), keeping the messages for {@link decode}. */
  async encode(seconds: number): Promise<PhaseFigures> {
    this.msgs.length = 0;
    const t0 = performance.now();
    do this.msgs.push(await this.encodeOne());
    while (performance.now() - t0 < seconds * 1000);
    return { n: this.msgs.length, ms: performance.now() - t0 };
  }

  /** Decodes the messages of the last {@link encode} (all of them, or until `seconds` pass); each must verify. */
  async decode(seconds: number): Promise<PhaseFigures> {
    const cache = new MemoryReplayCache();
    const t0 = performance.now();
    let n = 0;
    while (n < this.msgs.length && (n === 0 || performance.now() - t0 < seconds * 1000)) await this.decodeOne(this.msgs[n++]!, cache);
    return { n, ms: performance.now() - t0 };
  }

  private async decodeOne(bytes: Uint8Array, replayCache: MemoryReplayCache): Promise<void> {
    const r = await decodeSecureIm(bytes, {
      crypto: this.crypto, recipientKeys: [{ cert: this.recipient.certDer, key: this.recipientKey }], senderScreenName: this.sender.name,
      senderCerts: [this.sender.certDer], recipientScreenName: this.recipient.name, trust: this.trust, replayCache,
    });
    if (r.verdict !== 'verified' || r.text !== BENCH_TEXT) throw new Error(`bench decode: ${r.verdict} ${r.code} ${r.reason}`);
  }
}
