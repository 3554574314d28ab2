/**
 * The page's storage (docs/protocol.md §18.3): one IndexedDB database per origin. Private keys are kept only as
 * PKCS#8 encrypted with AES-256-GCM under a key derived from the user's passphrase with PBKDF2-SHA-256 (WebCrypto;
 * the derived key is non-extractable and never stored). Certificates, the pinned CA and buddy trust records are
 * public and stored as they are. Nothing secret goes to localStorage or sessionStorage.
 */
import { bufferSource } from './b64.js';

/** PBKDF2 iterations for new records (PBKDF2-HMAC-SHA256; stored per record so it can be raised later). */
export const PBKDF2_ITERATIONS = 600_000;

const DB_NAME = 'certim';
const STORE = 'kv';

/** An encrypted private key: AES-GCM over PKCS#8, with the role and account as associated data. */
export interface SealedKey {
  /** 12-byte GCM nonce. */
  iv: Uint8Array;
  /** Ciphertext + tag. */
  data: Uint8Array;
}

/** One enrolled account on this device. */
export interface StoredAccount {
  /** Record version. */
  version: 1;
  /** Screen name as typed at enrollment. */
  screenName: string;
  /** PBKDF2 salt (16 bytes) and iterations. */
  kdf: { salt: Uint8Array; iterations: number };
  /** Encrypted private keys. */
  keys: { encryption: SealedKey; signing: SealedKey };
  /** Certificates (DER). */
  certs: { encryption: Uint8Array; signing: Uint8Array };
  /** RSA modulus size. */
  keySize: number;
  /** ISO time of enrollment. */
  enrolledAt: string;
}

/** The CA this device pinned at first use. */
export interface PinnedCa {
  /** DER certificates, root first. */
  certs: Uint8Array[];
  /** SHA-256 of the root (lowercase hex). */
  fingerprint: string;
  /** ISO time pinned. */
  pinnedAt: string;
}

let dbPromise: Promise<IDBDatabase> | undefined;

function openDb(): Promise<IDBDatabase> {
  dbPromise ??= new Promise((resolve, reject) => {
    const req = indexedDB.open(DB_NAME, 1);
    req.onupgradeneeded = () => req.result.createObjectStore(STORE);
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error ?? new Error('IndexedDB unavailable'));
  });
  return dbPromise;
}

async function tx<T>(mode: IDBTransactionMode, run: (s: IDBObjectStore) => IDBRequest<T>): Promise<T> {
  const db = await openDb();
  return new Promise((resolve, reject) => {
    const t = db.transaction(STORE, mode);
    const req = run(t.objectStore(STORE));
    t.oncomplete = () => resolve(req.result);
    t.onerror = () => reject(t.error ?? new Error('IndexedDB transaction failed'));
    t.onabort = () => reject(t.error ?? new Error('IndexedDB transaction aborted'));
  });
}

/** Reads one value. */
export async function getItem<T>(key: string): Promise<T | undefined> {
  return (await tx('readonly', (s) => s.get(key))) as T | undefined;
}

/** Writes one value (structured clone: Uint8Array stays binary). */
export async function setItem(key: string, value: unknown): Promise<void> {
  await tx('readwrite', (s) => s.put(value, key));
}

/** Deletes one value. */
export async function removeItem(key: string): Promise<void> {
  await tx('readwrite', (s) => s.delete(key));
}

/** Every key of the store. */
export async function keys(): Promise<string[]> {
  return (await tx('readonly', (s) => s.getAllKeys())).map(String);
}

/** The storage key of an account (screen names compare without spaces and case, docs/protocol.md §2.1). */
export function accountKey(screenName: string): string {
  return `account:${screenName.replace(/ /g, '').toLowerCase()}`;
}

/** Accounts enrolled on this device. */
export async function listAccounts(): Promise<StoredAccount[]> {
  const out: StoredAccount[] = [];
  for (const k of await keys()) {
    if (!k.startsWith('account:')) continue;
    const a = await getItem<StoredAccount>(k);
    if (a) out.push(a);
  }
  return out;
}

/** Derives the AES-GCM key from a passphrase (PBKDF2-SHA-256); non-extractable. */
export async function passphraseKey(passphrase: string, salt: Uint8Array, iterations: number): Promise<CryptoKey> {
  const base = await crypto.subtle.importKey('raw', new TextEncoder().encode(passphrase), 'PBKDF2', false, ['deriveKey']);
  return crypto.subtle.deriveKey({ name: 'PBKDF2', hash: 'SHA-256', salt: bufferSource(salt), iterations }, base, { name: 'AES-GCM', length: 256 }, false, ['encrypt', 'decrypt']);
}

function aad(screenName: string, role: string): Uint8Array {
  return new TextEncoder().encode(`certim-web-key:v1:${accountKey(screenName)}:${role}`);
}

/** Encrypts a private key's PKCS#8 for storage. */
export async function sealKey(key: CryptoKey, wrapping: CryptoKey, screenName: string, role: string): Promise<SealedKey> {
  const pkcs8 = new Uint8Array(await crypto.subtle.exportKey('pkcs8', key));
  try {
    return await sealPkcs8(pkcs8, wrapping, screenName, role);
  } finally {
    pkcs8.fill(0);
  }
}

/** Encrypts PKCS#8 bytes for storage (an imported key; the caller zeroes `pkcs8`). */
export async function sealPkcs8(pkcs8: Uint8Array, wrapping: CryptoKey, screenName: string, role: string): Promise<SealedKey> {
  const iv = crypto.getRandomValues(new Uint8Array(12));
  const data = new Uint8Array(await crypto.subtle.encrypt({ name: 'AES-GCM', iv, additionalData: bufferSource(aad(screenName, role)) }, wrapping, bufferSource(pkcs8)));
  return { iv, data };
}

/**
 * Seals both private keys of a new account under a key derived from `passphrase` (fresh salt, PBKDF2_ITERATIONS)
 * and stores the account: the one way enrollment and a .p12 import put keys on this device.
 */
export async function storeNewAccount(a: {
  screenName: string;
  passphrase: string;
  seal: (wrapping: CryptoKey, role: 'encryption' | 'signing') => Promise<SealedKey>;
  certs: StoredAccount['certs'];
  keySize: number;
}): Promise<StoredAccount> {
  const salt = crypto.getRandomValues(new Uint8Array(16));
  const wrapping = await passphraseKey(a.passphrase, salt, PBKDF2_ITERATIONS);
  const account: StoredAccount = {
    version: 1,
    screenName: a.screenName,
    kdf: { salt, iterations: PBKDF2_ITERATIONS },
    keys: { encryption: await a.seal(wrapping, 'encryption'), signing: await a.seal(wrapping, 'signing') },
    certs: a.certs,
    keySize: a.keySize,
    enrolledAt: new Date().toISOString(),
  };
  await setItem(accountKey(a.screenName), account);
  return account;
}

/** Thrown when the passphrase does not open the keys. */
export class BadPassphraseError extends Error {
  constructor() {
    super('wrong passphrase for the keys on this device');
    this.name = 'BadPassphraseError';
  }
}

/** Decrypts a stored key to PKCS#8; {@link BadPassphraseError} when the passphrase is wrong (or the record altered). */
export async function openKey(sealed: SealedKey, wrapping: CryptoKey, screenName: string, role: string): Promise<Uint8Array> {
  try {
    return new Uint8Array(await crypto.subtle.decrypt({ name: 'AES-GCM', iv: bufferSource(sealed.iv), additionalData: bufferSource(aad(screenName, role)) }, wrapping, bufferSource(sealed.data)));
  } catch {
    throw new BadPassphraseError();
  }
}

/** Decrypted keys of an account, as PKCS#8 (kept in memory only while signed in). */
export interface OpenedKeys {
  encryption: Uint8Array;
  signing: Uint8Array;
}

/** Opens both private keys of `account` with `passphrase`. */
export async function unlockAccount(account: StoredAccount, passphrase: string): Promise<OpenedKeys> {
  const k = await passphraseKey(passphrase, account.kdf.salt, account.kdf.iterations);
  const [encryption, signing] = await Promise.all([
    openKey(account.keys.encryption, k, account.screenName, 'encryption'),
    openKey(account.keys.signing, k, account.screenName, 'signing'),
  ]);
  return { encryption, signing };
}
