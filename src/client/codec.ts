/**
 * The Secure IM codec as the client consumes it (src/pki/cms): encode to a buddy, decode from a buddy. Kept as
 * a small interface so the web client can pass a WebCrypto-backed codec and tests can count calls.
 */
import { decodeSecureIm } from '../pki/cms/secure-im-decode.js';
import { encodeSecureIm } from '../pki/cms/secure-im-encode.js';
import type { DecodeSecureImOptions, EncodeSecureImOptions, SecureImResult } from '../pki/cms/secure-im-types.js';

/** Encoder + decoder of AIM Secure IM payloads (the bytes after fragment 01 01's charset words). */
export interface SecureImCodec {
  /** Builds the CMS payload. */
  encode(opts: EncodeSecureImOptions): Uint8Array | Promise<Uint8Array>;
  /** Decodes and judges a payload; never rejects for bad input. */
  decode(bytes: Uint8Array, opts: DecodeSecureImOptions): Promise<SecureImResult>;
}

/** The codec of src/pki/cms. */
export const defaultCodec: SecureImCodec = {
  encode: (opts) => encodeSecureIm(opts),
  decode: (bytes, opts) => decodeSecureIm(bytes, opts),
};
