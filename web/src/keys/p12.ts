/**
 * Moving an identity between the CLI and this page as a PKCS#12 file (docs/protocol.md §18.5), through the same
 * reader/writer the CLI uses (src/pki/pkcs12-codec.ts) with the WebCrypto engine (modern profile only; legacy files
 * are refused by name). Export unlocks the keys with the device passphrase and writes them, the two certificates and
 * the pinned CA under the file's password. Import reads a file, checks both certificates against the CA pinned on
 * this device (chain, validity, role, one screen name), then seals the keys in IndexedDB like enrolled ones.
 */
import { der, parseAsn1, rawOf, readOctets, seqOf } from '../../../src/pki/asn1/der.js';
import { OID } from '../../../src/pki/oids.js';
import { PkiError } from '../../../src/pki/errors.js';
import { decodePkcs12, encodeIdentityPkcs12, pairIdentity, type Pkcs12Identity } from '../../../src/pki/pkcs12-codec.js';
import { webCryptoPkcs12Engine } from '../../../src/pki/pkcs12-webcrypto.js';
import { parseCertificate } from '../../../src/pki/x509-parse.js';
import { verifyCertificate } from '../../../src/pki/verifier.js';
import { pinnedCa } from './enroll.js';
import { bufferSource } from './b64.js';
import {
  accountKey, getItem, sealPkcs8, storeNewAccount, unlockAccount, type StoredAccount,
} from './keystore.js';

/** Shortest password accepted for a file this page writes (it protects the keys wherever the file goes). */
export const MIN_P12_PASSWORD = 8;

/** SubjectPublicKeyInfo of an RSA PKCS#8 key, from its modulus and exponent (RFC 8017 A.1.2, RFC 3279 §2.3.1). */
export function rsaSpkiOfPkcs8(pkcs8: Uint8Array): Uint8Array {
  const [, alg, key] = seqOf(parseAsn1(pkcs8), 'PrivateKeyInfo', 3);
  const [oid] = seqOf(alg, 'AlgorithmIdentifier', 1);
  if (rawOf(oid!).join() !== der.oid(OID.rsaEncryption).join()) throw new PkiError('UNSUPPORTED_ALGORITHM', 'certim keys are RSA; this file holds another kind of key');
  const [, n, e] = seqOf(parseAsn1(readOctets(key!)), 'RSAPrivateKey', 3);
  return der.seq(der.seq(der.oid(OID.rsaEncryption), der.null()), der.bitString(der.seq(rawOf(n!), rawOf(e!))));
}

/** Writes the account's identity (both pairs and the pinned CA) as a .p12 under `filePassword`. */
export async function exportIdentity(account: StoredAccount, passphrase: string, filePassword: string): Promise<Uint8Array> {
  if (filePassword.length < MIN_P12_PASSWORD) throw new Error(`choose a password of at least ${MIN_P12_PASSWORD} characters for the file: it protects your private keys`);
  const ca = await pinnedCa();
  if (!ca) throw new Error('no CA pinned on this device');
  const keys = await unlockAccount(account, passphrase);
  try {
    return await encodeIdentityPkcs12({
      screenName: account.screenName, numCerts: 2,
      encryption: { pkcs8: keys.encryption, certDer: account.certs.encryption },
      signing: { pkcs8: keys.signing, certDer: account.certs.signing },
      caCertificates: ca.certs,
    }, filePassword, webCryptoPkcs12Engine());
  } finally {
    keys.encryption.fill(0);
    keys.signing.fill(0);
  }
}

/** What {@link importIdentity} needs. */
export interface ImportRequest {
  /** The .p12 file's bytes. */
  file: Uint8Array;
  /** Its password. */
  filePassword: string;
  /** The passphrase that will seal the keys on this device. */
  passphrase: string;
  /** Progress for the UI. */
  onStep?: (step: string) => void;
}

/** The message for a file that is not a certim identity usable here. */
function refuse(reason: string): never {
  throw new Error(`this file cannot be used here: ${reason}`);
}

/** Reads a .p12, checks it against the pinned CA and stores the account; returns it. */
export async function importIdentity(r: ImportRequest): Promise<StoredAccount> {
  if (r.passphrase.length < 8) throw new Error('choose a passphrase of at least 8 characters: it protects your keys on this device');
  const ca = await pinnedCa();
  if (!ca) throw new Error('pin the CA first');
  r.onStep?.('opening the file');
  let id: Pkcs12Identity;
  try {
    const raw = await decodePkcs12(r.file, r.filePassword, webCryptoPkcs12Engine());
    id = await pairIdentity(raw, { keySpki: rsaSpkiOfPkcs8, cert: (d) => parseCertificate(d) });
  } catch (e) {
    if (PkiError.is(e)) throw new Error(e.message, { cause: e });
    throw e;
  }
  try {
    if (id.numCerts !== 2) refuse('it holds one key pair; a certim identity has two (encryption and signing)');
    r.onStep?.('checking the certificates against the pinned CA');
    for (const [role, purpose] of [['encryption', 'encrypt'], ['signing', 'sign']] as const) {
      const v = await verifyCertificate(id[role].certDer, { purpose, screenName: id.screenName, trustAnchors: ca.certs.slice(0, 1), intermediates: ca.certs.slice(1) });
      if (!v.ok) refuse(`the ${role} certificate is not valid under the CA pinned on this device (${v.reason})`);
    }
    if (await getItem(accountKey(id.screenName))) refuse(`${id.screenName} is already set up on this device`);
    // Both keys must load as WebCrypto RSA keys (what sign-in will do), before anything is stored.
    for (const role of ['encryption', 'signing'] as const) {
      try {
        await crypto.subtle.importKey('pkcs8', bufferSource(id[role].pkcs8), { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' }, false, ['sign']);
      } catch {
        refuse(`the ${role} key does not load in this browser`);
      }
    }
    r.onStep?.('sealing the keys under your passphrase');
    return await storeNewAccount({
      screenName: id.screenName,
      passphrase: r.passphrase,
      seal: (wrapping, role) => sealPkcs8(id[role].pkcs8, wrapping, id.screenName, role),
      certs: { encryption: id.encryption.certDer, signing: id.signing.certDer },
      keySize: parseCertificate(id.encryption.certDer).keyBits ?? 0,
    });
  } finally {
    id.encryption.pkcs8.fill(0);
    id.signing.pkcs8.fill(0);
  }
}

/** Offers `bytes` as a file download named `name`. */
export function download(bytes: Uint8Array, name: string): void {
  const url = URL.createObjectURL(new Blob([bufferSource(bytes)], { type: 'application/x-pkcs12' }));
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  a.rel = 'noopener';
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}
