/**
 * Public types of the Secure IM codec (docs/protocol.md §6.3, §11): profiles, inputs, the decode verdict and its stable failure codes.
 */
import type { CertificateInput, CmsCertificate } from './cms-certificate.js';
import type { CmsCrypto, PrivateKeyInput, SecureImKey } from './crypto.js';
import type { ReplayCache } from './replay-cache.js';

/** `aim-legacy`: byte-compatible with AIM 5.2+/joscar. `modern`: SHA-256 + signed names, RSA-OAEP, AES-256-GCM. */
export type SecureImProfile = 'aim-legacy' | 'modern';

/** Charsets of the inner `text/x-aolrtf` block (docs/protocol.md §6.3). */
export type SecureImCharset = 'us-ascii' | 'iso-8859-1' | 'utf-16be' | 'unicode-2-0' | 'utf-8';

/** What {@link encodeSecureIm} needs. */
export interface EncodeSecureImOptions {
  profile: SecureImProfile;
  /** The message (AOL-HTML for classic clients; certim passes it through unchanged). */
  text: string;
  /** Force a charset; default: us-ascii / iso-8859-1 when they suffice, else unicode-2-0 (legacy) or utf-8 (modern). */
  charset?: SecureImCharset;
  sender: {
    screenName: string;
    /** The sender's SIGNING private key (a {@link SecureImKey}, or a key native to the provider: a KeyObject in Node). */
    signingKey: PrivateKeyInput;
    /** The certificate of that key (numcerts 2: the signing cert; numcerts 1: the common cert). */
    signingCert: CertificateInput;
    /** The sender's own encryption cert: with `includeSelf`, a second recipient so other sessions can read it. */
    encryptionCert?: CertificateInput;
  };
  recipient: {
    screenName: string;
    /** The recipient's ENCRYPTION certificate (numcerts 2) or common certificate (numcerts 1). */
    cert: CertificateInput;
    /**
     * aim-legacy only (ignored by modern): the recipient's SIGNING certificate. When it differs from `cert`, the
     * message carries two RecipientInfos — first for this certificate, then for `cert` — because joscar/joustsim
     * decrypt with their signing key and read only one RecipientInfo (docs/protocol.md §6.2; which one is hash
     * order in their BouncyCastle, see ARCHITECTURE.md, cms). Pass it only for buddies without certim's modern
     * capability; ARCHITECTURE.md (cms) has the trade-off.
     */
    signingCert?: CertificateInput;
  };
  /** Modern profile only: also wrap the content key to `sender.encryptionCert` (aim-legacy refuses it). */
  includeSelf?: boolean;
  /** Signing time; default now. */
  now?: Date;
  /** Message id (modern); default 16 random bytes. */
  messageId?: Uint8Array;
  /** The crypto provider (crypto.ts); default WebCrypto, which has no aim-legacy. Node passes node-crypto.ts's. */
  crypto?: CmsCrypto;
}

/** The decision of the PKI verifier about one certificate. */
export type TrustDecision = { ok: true } | { ok: false; code: string; reason: string };

/** Checks that the certificate (DER) is valid for `screenName` and `purpose` (src/pki/verifier.ts implements this). */
export type TrustCallback = (certDer: Uint8Array, screenName: string, purpose: 'signing' | 'encryption') => Promise<TrustDecision>;

/** One of our private keys and its certificate. */
export interface RecipientKey {
  cert: CertificateInput;
  key: PrivateKeyInput;
}

/** What {@link decodeSecureIm} needs. */
export interface DecodeSecureImOptions {
  /** Our keys; the first whose certificate a RecipientInfo names is used. A key whose certificate has keyUsage
   *  without keyEncipherment (a signing certificate) is never used to decrypt, even if listed. */
  recipientKeys: RecipientKey[];
  /** The screen name the server says sent the message. */
  senderScreenName: string;
  /** The sender's certificates from its certificate-info block (either role). If empty, certificates embedded in
   *  the SignedData are used, and the trust callback alone vouches for them. */
  senderCerts?: CertificateInput[];
  /** Our screen name, as the message should have been addressed (checked against the signed recipient attribute). */
  recipientScreenName: string;
  /** PKI verdict on the signer certificate. */
  trust: TrustCallback;
  /** Modern messages' ids are checked here; without it replay is not checked (and `replayChecked` is false). */
  replayCache?: ReplayCache;
  /** Clock; default now. */
  now?: Date;
  /** The crypto provider (crypto.ts); default WebCrypto: aim-legacy messages then fail as `unsupported-algorithm`. */
  crypto?: CmsCrypto;
  /** True when both sides announced the modern capability: a legacy-profile message is then a downgrade. */
  requireModern?: boolean;
}

/**
 * Stable failure codes. `remote` in the result is uniform whatever the code, so nothing here leaks to a peer.
 * - `malformed`: not a CMS message we can parse (truncated, bad structure, bad headers).
 * - `unsupported-algorithm`: an algorithm outside the profile (includes MD5/SHA-1 or PKCS#1 v1.5 in modern, and
 *   a legacy message when `requireModern`).
 * - `wrong-recipient`: no RecipientInfo names any of our certificates.
 * - `tampered`: key unwrap, content decryption/MAC, inner structure or signature check failed. Key-unwrap and
 *   content-decryption failures are one and the same result (code, step `decrypt`, reason); in aim-legacy, whose
 *   CBC content has no integrity, so is every failure before the signature verifies.
 * - `signer-mismatch`: the signature is good but the signer is not the sending screen name (or not one of its certs).
 * - `replayed`: the message id was seen before, or its signing time is outside the replay window.
 * - `forwarded`: the signed recipient name is not us.
 */
export type SecureImFailureCode =
  | 'malformed'
  | 'unsupported-algorithm'
  | 'wrong-recipient'
  | 'tampered'
  | 'signer-mismatch'
  | 'replayed'
  | 'forwarded';

/**
 * Which step failed, for local diagnostics (never sent to the peer). `decrypt` covers key unwrap and content
 * decryption alike — and, for the unauthenticated aim-legacy CBC profile, everything up to a good signature — so no
 * output can serve as a padding oracle (docs/protocol.md §6.3). The other steps are decided from public envelope
 * data or after the signature verified.
 */
export type SecureImStep = 'parse' | 'recipient' | 'decrypt' | 'inner-parse' | 'signature' | 'policy' | 'trust';

/** The decoder's answer. Never thrown; always returned. */
export interface SecureImResult {
  verdict: 'verified' | 'untrusted' | 'failed';
  /** 'ok' when verified; a {@link SecureImFailureCode} when failed; the trust callback's code when untrusted. */
  code: string;
  reason: string;
  /** What may be told to the sending party: identical for every failure. */
  remote: 'ok' | 'undecryptable';
  /** Local diagnostics: where it failed. */
  step?: SecureImStep;
  profile?: SecureImProfile;
  /** Present unless failed. */
  text?: string;
  charset?: string;
  signer?: { screenName: string; fingerprint: string };
  /** MD5/SHA-1 digest or PKCS#1 v1.5 legacy construction in use (legacy profile only). */
  weak?: boolean;
  /** The message carried signed sender/recipient names and they matched (modern certim senders). */
  bound?: boolean;
  /** A message id was checked against the replay cache. */
  replayChecked?: boolean;
  /** Hex message id, when present. */
  messageId?: string;
  signingTime?: Date;
}

/** Internal: a prepared recipient key. */
export interface PreparedRecipient {
  cert: CmsCertificate;
  key: SecureImKey;
}
