/**
 * Private keys at rest: PKCS#8 EncryptedPrivateKeyInfo (RFC 5958 §3) with PBES2 = scrypt + AES-256-CBC, PEM label
 * "ENCRYPTED PRIVATE KEY" — readable by `openssl pkcs8 -in f -passin pass:...` and by Node's createPrivateKey.
 *
 * Reading accepts our files, files `openssl pkcs8 -topk8 -v2 aes-256-cbc` writes (PBKDF2 or -scrypt), PKCS#12-PBE
 * encrypted PKCS#8 (-v1 PBE-SHA1-3DES), anything else Node/OpenSSL can open (legacy "Proc-Type: 4,ENCRYPTED" PEM),
 * and unencrypted PKCS#8 / PKCS#1 keys. A wrong passphrase is always PkiError BAD_PASSPHRASE.
 */
import type { KeyObject } from 'node:crypto';
import { der, parseAsn1, seqOf, readOctets, toPem, fromPem, Asn1Error } from './asn1/der.js';
import { PkiError } from './errors.js';
import { pbes2Encrypt, pbeDecrypt, assertPbeWorkBounded, DEFAULT_SCRYPT, type PbeWorkBudget, type ScryptParams } from './pbe.js';
import { nodeCryptoProvider, type CryptoProvider } from './provider.js';

/** Options for {@link encryptPrivateKey}. */
export interface EncryptKeyOptions {
  /** scrypt cost; default {@link DEFAULT_SCRYPT} (N=2^15, r=7, p=1: the strongest OpenSSL 3.0 can read). */
  scrypt?: ScryptParams;
  /** Crypto provider (default node:crypto). */
  provider?: CryptoProvider;
}

/** Encrypts a private key as EncryptedPrivateKeyInfo DER (PBES2, scrypt, AES-256-CBC). */
export async function encryptPrivateKeyDer(key: KeyObject, passphrase: string, opts: EncryptKeyOptions = {}): Promise<Uint8Array> {
  if (key.type !== 'private') throw new PkiError('INVALID_ARGUMENT', 'not a private key');
  if (passphrase.length === 0) throw new PkiError('INVALID_ARGUMENT', 'an empty passphrase would not protect the key');
  const provider = opts.provider ?? nodeCryptoProvider;
  const pkcs8 = new Uint8Array(key.export({ type: 'pkcs8', format: 'der' }));
  try {
    const { algorithm, ciphertext } = await pbes2Encrypt(pkcs8, passphrase, { kdf: 'scrypt', scrypt: opts.scrypt ?? DEFAULT_SCRYPT }, provider);
    return der.seq(algorithm, der.octets(ciphertext));
  } finally {
    pkcs8.fill(0);
  }
}

/** Encrypts a private key as PEM "ENCRYPTED PRIVATE KEY". */
export async function encryptPrivateKey(key: KeyObject, passphrase: string, opts: EncryptKeyOptions = {}): Promise<string> {
  return toPem('ENCRYPTED PRIVATE KEY', await encryptPrivateKeyDer(key, passphrase, opts));
}

/**
 * Decrypts EncryptedPrivateKeyInfo DER into a KeyObject. Work parameters are bounded first (WORK_LIMIT_EXCEEDED);
 * `budget` counts them against a file-wide total (PKCS#12).
 */
export async function decryptPrivateKeyInfo(
  epki: Uint8Array, passphrase: string, provider: CryptoProvider = nodeCryptoProvider, budget?: PbeWorkBudget,
): Promise<KeyObject> {
  let alg;
  let data: Uint8Array;
  try {
    const [a, d] = seqOf(parseAsn1(epki), 'EncryptedPrivateKeyInfo', 2);
    alg = a!;
    data = readOctets(d!);
  } catch (e) {
    if (Asn1Error.is(e)) throw new PkiError('MALFORMED', `malformed EncryptedPrivateKeyInfo: ${e.message}`, { cause: e });
    throw e;
  }
  let plain: Uint8Array;
  try {
    plain = await pbeDecrypt(alg, data, passphrase, provider, budget);
  } catch (e) {
    if (Asn1Error.is(e)) throw new PkiError('MALFORMED', `malformed encryption parameters: ${e.message}`, { cause: e });
    throw e;
  }
  try {
    return provider.createPrivateKey({ key: Buffer.from(plain), format: 'der', type: 'pkcs8' });
  } catch (e) {
    // Padding checked out by chance (~1/256) but the plaintext is garbage: still a wrong passphrase.
    throw new PkiError('BAD_PASSPHRASE', 'decryption failed: wrong passphrase (or corrupted data)', { cause: e });
  } finally {
    plain.fill(0);
  }
}

function nodeOpen(provider: CryptoProvider, key: string | Buffer, passphrase: string | undefined, format?: 'der'): KeyObject {
  try {
    if (format) return provider.createPrivateKey({ key: key as Buffer, format: 'der', type: 'pkcs8' });
    return passphrase === undefined ? provider.createPrivateKey(key) : provider.createPrivateKey({ key, passphrase });
  } catch (e) {
    const msg = (e as Error).message;
    const code = (e as { code?: string }).code ?? '';
    if (/bad decrypt|BAD_DECRYPT|wrong tag|nested asn1|decode/i.test(msg + code) && passphrase !== undefined) {
      throw new PkiError('BAD_PASSPHRASE', 'decryption failed: wrong passphrase (or corrupted data)', { cause: e });
    }
    if (/passphrase required|interrupted or cancelled|ERR_MISSING_PASSPHRASE/i.test(msg + code)) {
      throw new PkiError('BAD_PASSPHRASE', 'the key is encrypted and no passphrase was given', { cause: e });
    }
    throw new PkiError('MALFORMED', `cannot read private key: ${msg}`, { cause: e });
  }
}

/**
 * Reads a private key from PEM text or DER bytes, encrypted or not. `passphrase` is required for encrypted keys.
 */
export async function readPrivateKey(
  input: string | Uint8Array, passphrase?: string, provider: CryptoProvider = nodeCryptoProvider,
): Promise<KeyObject> {
  if (typeof input === 'string') {
    const blocks = fromPem(input);
    const enc = blocks.find((b) => b.label === 'ENCRYPTED PRIVATE KEY');
    if (enc) return readEncrypted(enc.der, passphrase, provider);
    const plain = blocks.find((b) => /PRIVATE KEY$/.test(b.label));
    if (!plain) throw new PkiError('MALFORMED', 'no PRIVATE KEY PEM block found');
    if (looksEncrypted(plain.der)) return readEncrypted(plain.der, passphrase, provider);
    const isLegacyEncrypted = /Proc-Type:\s*4,ENCRYPTED/.test(input);
    if (isLegacyEncrypted && passphrase === undefined) throw new PkiError('BAD_PASSPHRASE', 'the key is encrypted and no passphrase was given');
    const pem = input.slice(input.indexOf(`-----BEGIN ${plain.label}-----`));
    return nodeOpen(provider, pem, isLegacyEncrypted ? passphrase : undefined);
  }
  // DER: EncryptedPrivateKeyInfo is SEQUENCE { AlgorithmIdentifier, OCTET STRING }; PrivateKeyInfo starts with INTEGER.
  try {
    seqOf(parseAsn1(input), 'key', 2);
  } catch (e) {
    if (Asn1Error.is(e)) throw new PkiError('MALFORMED', `malformed private key DER: ${e.message}`, { cause: e });
    throw e;
  }
  if (looksEncrypted(input)) return readEncrypted(input, passphrase, provider);
  return nodeOpen(provider, Buffer.from(input), undefined, 'der');
}

/** EncryptedPrivateKeyInfo shape: SEQUENCE { AlgorithmIdentifier SEQUENCE, OCTET STRING }. */
function looksEncrypted(d: Uint8Array): boolean {
  try {
    const kids = seqOf(parseAsn1(d), 'key', 2);
    return kids.length === 2 && kids[0]!.tag === 0x30 && kids[1]!.tag === 0x04;
  } catch {
    return false;
  }
}

async function readEncrypted(epki: Uint8Array, passphrase: string | undefined, provider: CryptoProvider): Promise<KeyObject> {
  if (passphrase === undefined) throw new PkiError('BAD_PASSPHRASE', 'the key is encrypted and no passphrase was given');
  // Bound the work before any decryption, and before OpenSSL sees the file: OpenSSL applies no iteration cap of
  // its own, so a scheme whose work we cannot read (UNSUPPORTED_ALGORITHM here) is never handed on.
  let alg;
  try {
    alg = seqOf(parseAsn1(epki), 'EncryptedPrivateKeyInfo', 2)[0]!;
  } catch (e) {
    if (Asn1Error.is(e)) throw new PkiError('MALFORMED', `malformed EncryptedPrivateKeyInfo: ${e.message}`, { cause: e });
    throw e;
  }
  assertPbeWorkBounded(alg);
  try {
    return await decryptPrivateKeyInfo(epki, passphrase, provider);
  } catch (e) {
    // Schemes we don't implement (PBES1 MD5/DES, other PBES2 ciphers) but whose work is bounded: let OpenSSL try.
    if (PkiError.is(e, 'UNSUPPORTED_ALGORITHM')) return nodeOpen(provider, toPem('ENCRYPTED PRIVATE KEY', epki), passphrase);
    throw e;
  }
}
