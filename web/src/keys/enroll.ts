/**
 * Enrollment from the page (docs/protocol.md §18.2): pin the CA at first use (compared with the invitation's
 * fingerprint when the link carries one), make two RSA key pairs, have each certified over EST simpleenroll, check
 * the CA certified our keys, and store the keys sealed under the passphrase (keystore.ts).
 */
import { buildCsr, generateRsaKeyPair, type KeyRole } from './csr.js';
import { EstError, fetchCaCerts, simpleEnroll, summarizeCertificate, type CaBundle } from './est.js';
import { getItem, sealKey, setItem, storeNewAccount, type PinnedCa, type StoredAccount } from './keystore.js';

const CA_KEY = 'ca';

/** Normalizes a fingerprint however typed to lowercase hex (as src/pki/fingerprint.ts does). */
export function parseFingerprint(s: string): string {
  return s.replace(/[\s:]/g, '').toLowerCase();
}

/** The grouped display form: uppercase hex in groups of four (src/pki/fingerprint.ts). */
export function formatFingerprint(hex: string): string {
  return parseFingerprint(hex).replace(/(.{4})(?=.)/g, '$1 ').toUpperCase();
}

/** The `#ca=<fingerprint>` of an invitation link, if any (any fingerprint form; spaces may be %20). */
export function invitationFingerprint(hash: string): string | undefined {
  const params = new URLSearchParams(hash.replace(/^#/, ''));
  const v = params.get('ca');
  return v ? parseFingerprint(v) : undefined;
}

/** The CA pinned on this device, if any. */
export function pinnedCa(): Promise<PinnedCa | undefined> {
  return getItem<PinnedCa>(CA_KEY);
}

/** What the server's CA is compared to what this device expects. */
export type CaCheck =
  | { status: 'pinned'; ca: CaBundle } // matches the pinned CA
  | { status: 'matches-invitation'; ca: CaBundle } // first use, equal to the invitation's fingerprint
  | { status: 'first-use'; ca: CaBundle } // first use, no invitation: the user must compare the fingerprint
  | { status: 'mismatch'; ca: CaBundle; expected: string; source: 'pinned' | 'invitation' };

/** Fetches `/cacerts` and compares the root with the pinned CA and the invitation fingerprint. */
export async function checkCa(invitation: string | undefined): Promise<CaCheck> {
  const ca = await fetchCaCerts();
  const pinned = await pinnedCa();
  if (pinned) {
    if (pinned.fingerprint !== ca.rootFingerprint) return { status: 'mismatch', ca, expected: pinned.fingerprint, source: 'pinned' };
    if (invitation !== undefined && invitation !== pinned.fingerprint) return { status: 'mismatch', ca, expected: invitation, source: 'invitation' };
    return { status: 'pinned', ca };
  }
  if (invitation !== undefined) {
    return invitation === ca.rootFingerprint ? { status: 'matches-invitation', ca } : { status: 'mismatch', ca, expected: invitation, source: 'invitation' };
  }
  return { status: 'first-use', ca };
}

/** Pins `ca` on this device (first use; refuses to replace a different pinned CA). */
export async function pinCa(ca: CaBundle): Promise<void> {
  const pinned = await pinnedCa();
  if (pinned && pinned.fingerprint !== ca.rootFingerprint) throw new EstError(0, 'another CA is already pinned on this device');
  if (!pinned) await setItem(CA_KEY, { certs: ca.certs, fingerprint: ca.rootFingerprint, pinnedAt: new Date().toISOString() } satisfies PinnedCa);
}

/** What {@link enroll} needs. */
export interface EnrollRequest {
  screenName: string;
  password: string;
  passphrase: string;
  keySize: number;
  /** Progress for the UI. */
  onStep?: (step: string) => void;
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

/** Enrolls `screenName` on this device with a pinned CA; returns the stored account. */
export async function enroll(r: EnrollRequest): Promise<StoredAccount> {
  if (r.passphrase.length < 8) throw new EstError(0, 'choose a passphrase of at least 8 characters: it protects your keys on this device');
  if (!(await pinnedCa())) throw new EstError(0, 'pin the CA first');
  r.onStep?.(`making two ${r.keySize}-bit RSA key pairs`);
  const [encryption, signing] = await Promise.all([generateRsaKeyPair(r.keySize), generateRsaKeyPair(r.keySize)]);
  const certs: Record<KeyRole, Uint8Array> = { encryption: new Uint8Array(), signing: new Uint8Array() };
  for (const [role, pair] of [['encryption', encryption], ['signing', signing]] as const) {
    r.onStep?.(`asking the CA for the ${role} certificate`);
    const cert = await simpleEnroll(r.screenName, r.password, await buildCsr(r.screenName, pair, role));
    const spki = new Uint8Array(await crypto.subtle.exportKey('spki', pair.publicKey));
    if (!sameBytes(summarizeCertificate(cert).spki, spki)) throw new EstError(200, `the CA returned a ${role} certificate for a different key`);
    certs[role] = cert;
  }
  r.onStep?.('sealing the keys under your passphrase');
  const pairs = { encryption, signing };
  return storeNewAccount({
    screenName: r.screenName,
    passphrase: r.passphrase,
    seal: (wrapping, role) => sealKey(pairs[role].privateKey, wrapping, r.screenName, role),
    certs,
    keySize: r.keySize,
  });
}
