/**
 * The Secure IM codec as the client consumes it (src/pki/cms): encode to a buddy, decode from a buddy, on one
 * crypto provider (src/pki/cms/crypto.ts). The portable default runs on WebCrypto (`globalThis.crypto`: modern
 * profile only, as in a browser); Node passes `nodeCodec` (node/codec.ts), which adds aim-legacy. Tests can
 * count calls through it.
 */
import { defaultCmsCrypto, type CmsCrypto } from '../pki/cms/crypto.js';
import { decodeSecureIm } from '../pki/cms/secure-im-decode.js';
import { encodeSecureIm } from '../pki/cms/secure-im-encode.js';
import type { DecodeSecureImOptions, EncodeSecureImOptions, SecureImResult } from '../pki/cms/secure-im-types.js';

/** Encoder + decoder of AIM Secure IM payloads (the bytes after fragment 01 01's charset words). */
export interface SecureImCodec {
  /** Builds the CMS payload. */
  encode(opts: EncodeSecureImOptions): Promise<Uint8Array>;
  /** Decodes and judges a payload; never rejects for bad input. */
  decode(bytes: Uint8Array, opts: DecodeSecureImOptions): Promise<SecureImResult>;
  /** False when the codec cannot speak aim-legacy (WebCrypto): classic buddies get CLASSIC_CLIENT, never plaintext. */
  readonly legacy?: boolean;
}

/** The codec of src/pki/cms on one provider. */
export function cmsCodec(crypto: CmsCrypto): SecureImCodec {
  return {
    encode: (opts) => encodeSecureIm({ crypto, ...opts }),
    decode: (bytes, opts) => decodeSecureIm(bytes, { crypto, ...opts }),
    legacy: crypto.legacy !== undefined,
  };
}

/** The portable default: src/pki/cms on the platform's WebCrypto (modern profile only). */
export const defaultCodec: SecureImCodec = {
  encode: (opts) => encodeSecureIm({ crypto: defaultCmsCrypto(), ...opts }),
  decode: (bytes, opts) => decodeSecureIm(bytes, { crypto: defaultCmsCrypto(), ...opts }),
  legacy: false,
};
