/**
 * Node-side account operations over a profile directory: pin the CA, create and enroll keys, load them, rotate
 * and re-enroll, and build a signed-on {@link CertimClient}. The CLI commands are thin wrappers over these.
 */
import { X509Certificate, type KeyObject } from 'node:crypto';
import { mkdirSync, readFileSync, rmSync } from 'node:fs';
import { fromPem, toPem } from '../../pki/asn1/der.js';
import { buildCsr } from '../../pki/csr.js';
import { PkiError } from '../../pki/errors.js';
import { generateIdentityKeys } from '../../pki/keys.js';
import { encryptPrivateKey, readPrivateKey } from '../../pki/pkcs8.js';
import { exportIdentityPkcs12, importIdentityPkcs12 } from '../../pki/pkcs12.js';
import { verifyCertificate } from '../../pki/verifier.js';
import { sameScreenName } from '../../pki/screen-name.js';
import { parseCertificate } from '../../pki/x509-parse.js';
import { CertimClient, type CertimClientOptions } from '../client.js';
import { ClientError } from '../errors.js';
import { type Identity, type IdentityPart } from '../identity.js';
import { certFingerprint, formatFingerprint, identityFingerprint, isSha256Fingerprint, parseFingerprint } from '../trust.js';
import { parseHostPort, type TransportTarget } from '../transport.js';
import { crlToPem } from '../../pki/crl.js';
import { CrlCache, type CrlCacheOptions } from '../revocation.js';
import { caBundleFromDer, fetchCaCerts, fetchCrl, simpleEnroll, simpleReenroll, type CaBundle } from './est-client.js';
import { ProfileReplayCache } from './replay-store.js';
import { nodeCodec } from './codec.js';
import { ProfileDir, writePrivateFile, type ProfileSettings } from './profile.js';
import { nodeTransportFactory } from './tcp-transport.js';

/** Default OSCAR-over-TLS port of `certim server`. */
export const DEFAULT_TLS_PORT = 5191;
/** Default HTTPS (EST) port of `certim server`. */
export const DEFAULT_HTTPS_PORT = 8443;
/** Re-enroll when a certificate has less than this left. */
export const REENROLL_BEFORE_MS = 30 * 24 * 3600_000;

/** Asks the user to confirm a CA fingerprint on first contact; resolves true to pin it. */
export type ConfirmCa = (fingerprint: string) => Promise<boolean>;

/**
 * Learns and pins the server's CA. With `expectedFingerprint` (from --ca-fingerprint) the CA must match it;
 * otherwise `confirm` must accept the fingerprint shown. If the profile already pins a CA, a different one is
 * refused with CA_CHANGED — never silently replaced. `expectedFingerprint` may be in any form
 * {@link parseFingerprint} accepts; one that is not a SHA-256 fingerprint is refused (BAD_ARGUMENT) before any
 * request is made.
 */
export async function pinCa(profile: ProfileDir, httpsUrl: string, expectedFingerprint: string | undefined, confirm: ConfirmCa | undefined): Promise<CaBundle> {
  if (expectedFingerprint !== undefined && !isSha256Fingerprint(expectedFingerprint)) {
    throw new ClientError('BAD_ARGUMENT', `--ca-fingerprint ${JSON.stringify(expectedFingerprint)} is not a SHA-256 fingerprint (64 hex digits). ` +
      'Copy the whole SHA-256 line of `certim admin ca show` from the server\'s admin, in quotes: --ca-fingerprint "3F2A 9C01 ..." (spaces, colons and case do not matter)');
  }
  const previous = profile.exists() ? profile.settings().caFingerprint : undefined;
  const bundle = await fetchCaCerts(httpsUrl);
  const got = bundle.rootFingerprint;
  if (previous !== undefined && previous !== got) {
    throw new ClientError('CA_CHANGED', `the server's CA changed!\n  pinned:  ${formatFingerprint(previous)}\n  offered: ${formatFingerprint(got)}\nRefusing to continue. If the server's CA was really replaced, verify the new fingerprint with its admin and start a new profile.`);
  }
  const want = expectedFingerprint === undefined ? undefined : parseFingerprint(expectedFingerprint);
  if (want !== undefined && want !== got) {
    throw new ClientError('CA_CHANGED', `the server's CA fingerprint does not match the expected one: refusing to trust it.\n  expected: ${formatFingerprint(want)}\n  offered:  ${formatFingerprint(got)}\nCheck the fingerprint with the server's admin (\`certim admin ca show\` on the server), and the --server/--https address.`);
  }
  if (want === undefined && previous === undefined) {
    if (!confirm || !(await confirm(got))) throw new ClientError('CA_UNKNOWN', `CA fingerprint ${formatFingerprint(got)} was not confirmed; after checking it with the server's admin, pass --ca-fingerprint "${formatFingerprint(got)}"`);
  }
  // Re-fetch over a connection that now trusts only this CA: the HTTPS server itself must chain to it.
  const checked = await fetchCaCerts(httpsUrl, bundle.pems);
  if (checked.rootFingerprint !== got) throw new ClientError('CA_CHANGED', 'the CA changed between two requests');
  return checked;
}

/** Options of {@link initKeys}. */
export interface InitKeysOptions {
  /** Profile directory. */
  profile: ProfileDir;
  /** Screen name. */
  screenName: string;
  /** "host[:port]" of OSCAR over TLS. */
  server: string;
  /** EST base URL; default https://HOST:8443. */
  https?: string;
  /** Account password (EST Basic auth). */
  password: string;
  /** Passphrase that encrypts the private keys. */
  passphrase: string;
  /** Expected CA fingerprint (skips the confirmation). */
  caFingerprint?: string;
  /** Confirmation callback for first contact. */
  confirmCa?: ConfirmCa;
  /** RSA size (default 3072; tests use 2048). */
  keySize?: number;
  /** Plain TCP + classic login (test rigs only). */
  plain?: boolean;
  /** Replace an existing identity (its files are kept in a backup directory first). */
  force?: boolean;
}

/** Key and certificate files that make up an identity in a profile. */
const IDENTITY_FILES = ['encryption.key', 'signing.key', 'encryption.crt', 'signing.crt'] as const;

/** The identity a profile holds now (fingerprint and serials), or undefined when it has none. */
export function existingIdentity(profile: ProfileDir): KeysSummary | undefined {
  if (!profile.exists() || profile.read('encryption.key') === undefined) return undefined;
  try {
    return keysSummary(profile);
  } catch {
    // Keys without readable certificates still are an identity worth keeping.
    const s = profile.settings();
    return { screenName: s.screenName, server: s.server, caFingerprint: s.caFingerprint, fingerprint: '(unreadable certificates)', certs: [] };
  }
}

/**
 * Copies the profile's identity files into `backup-<time>/` (0700, files 0600) before they are replaced, and
 * returns that directory. The keys stay encrypted with their passphrase.
 */
export function backupIdentity(profile: ProfileDir, now = new Date()): string | undefined {
  const name = `backup-${now.toISOString().replace(/[:.]/g, '-')}`;
  profile.ensure();
  mkdirSync(profile.path(name), { recursive: true, mode: 0o700 });
  let copied = 0;
  for (const f of [...IDENTITY_FILES, 'profile.json']) {
    const data = profile.read(f);
    if (data === undefined) continue;
    profile.write(`${name}/${f}`, data);
    copied++;
  }
  return copied > 0 ? profile.path(name) : undefined;
}

/** Refuses to replace an identity unless `force` (IDENTITY_EXISTS, with what to do). */
export function assertNoIdentity(profile: ProfileDir, force: boolean | undefined): void {
  const had = existingIdentity(profile);
  if (!had || force) return;
  throw new ClientError('IDENTITY_EXISTS', `${profile.dir} already holds ${had.screenName}'s keys (fingerprint ${formatFingerprint(had.fingerprint)}).\n` +
    'Replacing them makes buddies see a key change and the server revokes the old certificates (superseded).\n' +
    'To rotate keys keep this profile and run `certim keys rotate`; to start over anyway add --force (the old files are kept in a backup directory).');
}

/** Creates a profile: pins the CA, generates both key pairs, enrolls them over EST, and saves everything. */
export async function initKeys(o: InitKeysOptions): Promise<{ settings: ProfileSettings; identity: Identity<KeyObject> }> {
  if (o.profile.exists()) {
    const s = o.profile.settings();
    if (!sameScreenName(s.screenName, o.screenName)) {
      throw new ClientError('PROFILE', `${o.profile.dir} already belongs to ${s.screenName}; use another --profile`);
    }
  }
  assertNoIdentity(o.profile, o.force);
  const { settings, ca } = await pinnedSettings(o, o.screenName, o.keySize ?? 3072, o.plain === true);
  o.profile.ensure();
  if (existingIdentity(o.profile)) backupIdentity(o.profile);
  o.profile.write('ca.pem', ca.pems.join(''));
  const identity = await enrollNewKeys(o.profile, settings, o.passphrase, (csr) => simpleEnroll(settings.https, ca.pems, o.screenName, o.password, csr));
  o.profile.saveSettings(settings);
  return { settings, identity };
}

/**
 * The server's addresses (EST defaults to https://HOST:8443), its CA pinned (`pinCa`: the expected fingerprint, else
 * the user's confirmation), and the profile settings that go with them (not saved yet).
 */
async function pinnedSettings(
  o: { profile: ProfileDir; server: string; https?: string; caFingerprint?: string; confirmCa?: ConfirmCa },
  screenName: string, keySize: number, plain = false,
): Promise<{ settings: ProfileSettings; ca: CaBundle }> {
  const target = parseHostPort(o.server, DEFAULT_TLS_PORT);
  const httpsUrl = o.https ?? `https://${target.host.includes(':') ? `[${target.host}]` : target.host}:${DEFAULT_HTTPS_PORT}`;
  const ca = await pinCa(o.profile, httpsUrl, o.caFingerprint, o.confirmCa);
  const settings: ProfileSettings = {
    version: 1, screenName, server: `${target.host}:${target.port}`, https: httpsUrl, caFingerprint: ca.rootFingerprint, keySize,
    ...(plain ? { plain: true } : {}),
  };
  return { settings, ca };
}

/** Generates fresh key pairs, has them certified by `enroll`, and stores keys (encrypted) and certificates. */
async function enrollNewKeys(profile: ProfileDir, settings: ProfileSettings, passphrase: string, enroll: (csrDer: Uint8Array) => Promise<Uint8Array>): Promise<Identity<KeyObject>> {
  if (passphrase.length === 0) throw new ClientError('BAD_ARGUMENT', 'an empty passphrase would leave the keys unprotected');
  const keys = await generateIdentityKeys(settings.keySize);
  const encCsr = buildCsr({ screenName: settings.screenName, privateKey: keys.encryption.privateKey, keyUsage: ['keyEncipherment'] });
  const sigCsr = buildCsr({ screenName: settings.screenName, privateKey: keys.signing.privateKey, keyUsage: ['digitalSignature', 'nonRepudiation'] });
  const encCert = await enroll(encCsr);
  const sigCert = await enroll(sigCsr);
  checkIssued(encCert, keys.encryption.publicKey, 'encryption');
  checkIssued(sigCert, keys.signing.publicKey, 'signing');
  // Keys first (encrypted), then certificates: a crash in between leaves the old certificates, which the old
  // keys no longer match — `keys show` reports that, and `keys init`/`rotate` repairs it.
  profile.write('encryption.key', await encryptPrivateKey(keys.encryption.privateKey, passphrase));
  profile.write('signing.key', await encryptPrivateKey(keys.signing.privateKey, passphrase));
  profile.write('encryption.crt', toPem('CERTIFICATE', encCert));
  profile.write('signing.crt', toPem('CERTIFICATE', sigCert));
  return {
    screenName: settings.screenName,
    encryption: { privateKey: keys.encryption.privateKey, certDer: encCert },
    signing: { privateKey: keys.signing.privateKey, certDer: sigCert },
  };
}

function checkIssued(certDer: Uint8Array, publicKey: KeyObject, what: string): void {
  const cert = new X509Certificate(certDer);
  if (!cert.publicKey.equals(publicKey)) throw new ClientError('ENROLL_FAILED', `the CA returned a ${what} certificate for a different key`);
}

/** Reads one PEM certificate file of the profile as DER. */
function readCert(profile: ProfileDir, name: string): Uint8Array {
  const pem = profile.read(name);
  const block = pem ? fromPem(pem).find((b) => b.label === 'CERTIFICATE') : undefined;
  if (!block) throw new ClientError('NO_KEYS', `no ${name} in ${profile.dir}: run \`certim keys init\` first`);
  return block.der;
}

/** Loads and decrypts our identity. BAD_PASSPHRASE on a wrong passphrase. */
export async function loadIdentity(profile: ProfileDir, passphrase: string): Promise<Identity<KeyObject>> {
  const settings = profile.settings();
  const encPem = profile.read('encryption.key');
  const sigPem = profile.read('signing.key');
  if (!encPem || !sigPem) throw new ClientError('NO_KEYS', `no keys in ${profile.dir}: run \`certim keys init\` first`);
  let enc: KeyObject;
  let sig: KeyObject;
  try {
    [enc, sig] = await Promise.all([readPrivateKey(encPem, passphrase), readPrivateKey(sigPem, passphrase)]);
  } catch (e) {
    if (e instanceof PkiError && e.code === 'BAD_PASSPHRASE') throw new ClientError('BAD_PASSPHRASE', 'wrong passphrase for the keys in this profile', { cause: e });
    throw e;
  }
  const previous: IdentityPart<KeyObject>[] = [];
  for (const role of ['encryption', 'signing']) {
    const keyPem = profile.read(`previous-${role}.key`);
    const certPem = profile.read(`previous-${role}.crt`);
    if (!keyPem || !certPem) continue;
    try {
      previous.push({ privateKey: await readPrivateKey(keyPem, passphrase), certDer: readCert(profile, `previous-${role}.crt`) });
    } catch {
      // A previous key under an older passphrase is only a convenience; skip it.
    }
  }
  return {
    screenName: settings.screenName,
    encryption: { privateKey: enc, certDer: readCert(profile, 'encryption.crt') },
    signing: { privateKey: sig, certDer: readCert(profile, 'signing.crt') },
    ...(previous.length ? { previous } : {}),
  };
}

/** What `keys show` prints. */
export interface KeysSummary {
  /** Screen name. */
  screenName: string;
  /** Server. */
  server: string;
  /** Pinned CA fingerprint. */
  caFingerprint: string;
  /** Identity fingerprint (what buddies verify). */
  fingerprint: string;
  /** Per-certificate details. */
  certs: { role: 'encryption' | 'signing'; fingerprint: string; serial: string; notAfter: string; keyBits: number | undefined }[];
}

/** Summarizes the profile's certificates (no passphrase needed). */
export function keysSummary(profile: ProfileDir): KeysSummary {
  const s = profile.settings();
  const enc = readCert(profile, 'encryption.crt');
  const sig = readCert(profile, 'signing.crt');
  return {
    screenName: s.screenName,
    server: s.server,
    caFingerprint: s.caFingerprint,
    fingerprint: identityFingerprint(enc, sig),
    certs: ([['encryption', enc], ['signing', sig]] as const).map(([role, der]) => {
      const c = new X509Certificate(der);
      return { role, fingerprint: certFingerprint(der), serial: c.serialNumber.toLowerCase(), notAfter: new Date(c.validTo).toISOString(), keyBits: c.publicKey.asymmetricKeyDetails?.modulusLength };
    }),
  };
}

/**
 * New key pairs for the same account (e.g. after a suspected compromise, or before expiry): enrolled with
 * `/simplereenroll`, authenticated by the CURRENT signing certificate over TLS, so no password is needed.
 * Buddies see a new certificate hash and a key change.
 */
export async function rotateKeys(profile: ProfileDir, passphrase: string, opts: { password?: string; keySize?: number } = {}): Promise<Identity<KeyObject>> {
  const settings = profile.settings();
  if (opts.keySize) settings.keySize = opts.keySize;
  const current = await loadIdentity(profile, passphrase);
  const caPems = profile.caPems();
  const certPem = toPem('CERTIFICATE', current.signing.certDer);
  const keyPem = current.signing.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  const enroll = opts.password !== undefined
    ? (csr: Uint8Array) => simpleEnroll(settings.https, caPems, settings.screenName, opts.password!, csr)
    : (csr: Uint8Array) => simpleReenroll(settings.https, caPems, certPem, keyPem, csr);
  // Keep the replaced keys (still encrypted) to read IMs already encrypted to them; one generation is enough.
  for (const f of ['encryption.key', 'signing.key', 'encryption.crt', 'signing.crt']) {
    const old = profile.read(f);
    if (old) profile.write(`previous-${f}`, old);
  }
  const id = await enrollNewKeys(profile, settings, passphrase, enroll);
  profile.saveSettings(settings);
  return { ...id, previous: [current.encryption, current.signing] };
}

/** True when either certificate expires within {@link REENROLL_BEFORE_MS}. */
export function needsReenroll(id: Identity<KeyObject>, now = new Date()): boolean {
  return [id.encryption.certDer, id.signing.certDer].some((der) => new Date(new X509Certificate(der).validTo).getTime() - now.getTime() < REENROLL_BEFORE_MS);
}

/** The pinned CA as DER, root first. */
export function caDers(profile: ProfileDir): Uint8Array[] {
  const ders = profile.caPems().flatMap((p) => fromPem(p).map((b) => b.der));
  const bundle = caBundleFromDer(ders);
  if (bundle.rootFingerprint !== profile.settings().caFingerprint) {
    throw new ClientError('CA_CHANGED', `ca.pem in ${profile.dir} does not match the pinned fingerprint: the profile was tampered with`);
  }
  return ders;
}

/**
 * The profile's CRL cache: fetched from the server's `/ca/crl` over HTTPS pinned to the profile's CA, kept in
 * `crl.pem` so a restart (or a server that cannot be reached) still has the last one (see client/revocation.ts).
 */
export function profileCrl(profile: ProfileDir, opts: Omit<CrlCacheOptions, 'source' | 'caCerts'> = {}): CrlCache {
  const settings = profile.settings();
  return new CrlCache({
    ...opts,
    caCerts: caDers(profile),
    source: {
      fetch: () => fetchCrl(settings.https, profile.caPems()),
      load: () => {
        const pem = profile.read('crl.pem');
        return pem ? fromPem(pem).find((b) => b.label === 'X509 CRL')?.der : undefined;
      },
      save: (der) => profile.write('crl.pem', crlToPem(der)),
    },
  });
}

/** Options of {@link openClient}. */
export interface OpenClientOptions {
  /** Account password. */
  password: string;
  /** Key passphrase (omit to run without keys: plaintext only, explicitly). */
  passphrase?: string;
  /** Buddies to watch (default: every buddy in the certificate cache). */
  buddies?: string[];
  /** Passed through to the client. */
  client?: Partial<CertimClientOptions>;
  /** Override the login address (test rigs). */
  server?: TransportTarget;
  /** Clock for the re-enrollment decision (tests). */
  now?: Date;
  /** The CRL cache to use (default: {@link profileCrl}). */
  revocation?: CrlCache;
}

/**
 * Builds a client from the profile: TLS pinned to the profile's CA, our identity (re-enrolled first when a
 * certificate is close to expiry), and the buddy cache as store. The caller calls `connect()`.
 */
export async function openClient(profile: ProfileDir, o: OpenClientOptions): Promise<{ client: CertimClient; identity: Identity<KeyObject> | undefined; settings: ProfileSettings; reenrolled: boolean }> {
  const settings = profile.settings();
  const ca = caDers(profile);
  let identity = o.passphrase !== undefined ? await loadIdentity(profile, o.passphrase) : undefined;
  let reenrolled = false;
  if (identity && o.passphrase !== undefined && needsReenroll(identity, o.now)) {
    identity = await rotateKeys(profile, o.passphrase);
    reenrolled = true;
  }
  const transport = nodeTransportFactory(settings.plain ? { plain: true } : { caPem: profile.caPems() });
  const client = new CertimClient({
    screenName: settings.screenName,
    password: o.password,
    server: o.server ?? parseHostPort(settings.server, DEFAULT_TLS_PORT),
    transport,
    ...(settings.plain ? { mode: 'md5' as const } : {}),
    ...(identity ? { identity } : {}),
    caCerts: ca,
    revocation: o.revocation ?? profileCrl(profile),
    replayCache: new ProfileReplayCache(profile.path('replay.json')),
    buddyStore: profile,
    buddies: o.buddies ?? profile.all().map((b) => b.screenName),
    codec: nodeCodec,
    ...o.client,
  });
  return { client, identity, settings, reenrolled };
}

/** Maps a TLS failure against the pinned CA to the loud CA_CHANGED message. */
export function explainTlsFailure(e: unknown, settings: ProfileSettings): unknown {
  if (ClientError.is(e, 'TLS_UNTRUSTED')) {
    return new ClientError('CA_CHANGED', `the server at ${settings.server} is not certified by the pinned CA ${formatFingerprint(settings.caFingerprint)}.\nIts CA may have changed, or someone is intercepting the connection. Refusing to sign on.`, { cause: e });
  }
  return e;
}

/** Writes our identity (both pairs and the CA certificates) to a PKCS#12 file, mode 0600. */
export async function exportIdentityP12(profile: ProfileDir, passphrase: string, file: string, legacy: boolean): Promise<void> {
  const id = await loadIdentity(profile, passphrase);
  const p12 = await exportIdentityPkcs12({
    screenName: id.screenName,
    numCerts: 2,
    encryption: { privateKey: id.encryption.privateKey, certificate: parseCertificate(id.encryption.certDer) },
    signing: { privateKey: id.signing.privateKey, certificate: parseCertificate(id.signing.certDer) },
    caCertificates: caDers(profile).map((d) => parseCertificate(d)),
  }, passphrase, { legacy });
  writePrivateFile(file, p12);
}

/**
 * Imports an identity from a PKCS#12 file into an existing profile (made by `keys init`, which pinned the CA):
 * the certificates must be valid for the profile's screen name under the pinned CA. Keys are re-encrypted with
 * `passphrase` (the .p12 password is the same passphrase).
 */
export async function importIdentityP12(profile: ProfileDir, passphrase: string, file: string): Promise<Identity<KeyObject>> {
  const settings = profile.settings();
  let p12;
  try {
    p12 = await importIdentityPkcs12(readFileSync(file), passphrase);
  } catch (e) {
    if (e instanceof PkiError && e.code === 'BAD_PASSPHRASE') throw new ClientError('BAD_PASSPHRASE', `wrong password for ${file}`, { cause: e });
    throw e;
  }
  const ca = caDers(profile);
  const crl = profileCrl(profile);
  const crlState = await crl.state(true);
  for (const [part, purpose] of [[p12.encryption, 'encrypt'], [p12.signing, 'sign']] as const) {
    const r = crlState.crl ? crl.lookup(part.certificate) : undefined;
    if (r) throw new ClientError('OWN_CERT_REVOKED', `the ${purpose === 'encrypt' ? 'encryption' : 'signing'} certificate in ${file} was revoked on ${r.revokedAt.toISOString()} (reason ${r.reason}); not imported`);
    const v = await verifyCertificate(part.certificate.der, { purpose, screenName: settings.screenName, trustAnchors: ca.slice(0, 1), intermediates: ca.slice(1) });
    if (!v.ok) throw new ClientError('NO_KEYS', `the ${purpose === 'encrypt' ? 'encryption' : 'signing'} certificate in ${file} is not usable for ${settings.screenName}: ${v.reason}`);
  }
  if (existingIdentity(profile)) backupIdentity(profile);
  profile.write('encryption.key', await encryptPrivateKey(p12.encryption.privateKey, passphrase));
  profile.write('signing.key', await encryptPrivateKey(p12.signing.privateKey, passphrase));
  profile.write('encryption.crt', toPem('CERTIFICATE', p12.encryption.certificate.der));
  profile.write('signing.crt', toPem('CERTIFICATE', p12.signing.certificate.der));
  return {
    screenName: settings.screenName,
    encryption: { privateKey: p12.encryption.privateKey, certDer: p12.encryption.certificate.der },
    signing: { privateKey: p12.signing.privateKey, certDer: p12.signing.certificate.der },
  };
}

/** Options of {@link importIdentityP12NewProfile}. */
export interface ImportNewProfileOptions {
  /** The profile to create (must not exist yet). */
  profile: ProfileDir;
  /** "host[:port]" of OSCAR over TLS. */
  server: string;
  /** EST base URL (default https://HOST:8443). */
  https?: string;
  /** Expected CA root fingerprint; else `confirmCa` is asked. */
  caFingerprint?: string;
  /** Asks the user to confirm a CA fingerprint. */
  confirmCa?: ConfirmCa;
  /** The .p12 password, which also becomes the profile's key passphrase. */
  passphrase: string;
  /** The .p12 file. */
  file: string;
}

/**
 * Creates a profile from a PKCS#12 identity (one exported by the web client or by `keys export` elsewhere) instead
 * of enrolling: pins the server's CA as `keys init` does, takes the screen name from the certificates, then imports
 * with {@link importIdentityP12} (certificates checked against that CA). On failure nothing is left behind.
 */
export async function importIdentityP12NewProfile(o: ImportNewProfileOptions): Promise<{ settings: ProfileSettings; identity: Identity<KeyObject> }> {
  if (o.profile.exists()) throw new ClientError('PROFILE', `${o.profile.dir} is already a profile; import into it without --server`);
  let p12;
  try {
    p12 = await importIdentityPkcs12(readFileSync(o.file), o.passphrase);
  } catch (e) {
    if (e instanceof PkiError && e.code === 'BAD_PASSPHRASE') throw new ClientError('BAD_PASSPHRASE', `wrong password for ${o.file}`, { cause: e });
    throw e;
  }
  const { settings, ca } = await pinnedSettings(o, p12.screenName, p12.encryption.certificate.keyBits ?? 3072);
  o.profile.ensure();
  o.profile.write('ca.pem', ca.pems.join(''));
  o.profile.saveSettings(settings);
  try {
    return { settings, identity: await importIdentityP12(o.profile, o.passphrase, o.file) };
  } catch (e) {
    for (const f of ['profile.json', 'ca.pem']) rmSync(o.profile.path(f), { force: true });
    throw e;
  }
}
