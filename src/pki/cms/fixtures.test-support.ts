/**
 * Test-only fixtures: a throwaway CA and user certificates made with the real `openssl` CLI, so the CMS tests do not
 * depend on the rest of src/pki. Generated once per process into a temp directory.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createPrivateKey, X509Certificate, type KeyObject } from 'node:crypto';

/** One user key pair and its certificate (paths for openssl, parsed forms for certim). */
export interface FixtureIdentity {
  /** Screen name = subject CN. */
  name: string;
  keyPath: string;
  certPath: string;
  key: KeyObject;
  certDer: Buffer;
  cert: X509Certificate;
}

/** The fixture set. */
export interface Fixtures {
  dir: string;
  caCertPath: string;
  caCert: X509Certificate;
  /** Identities by label, e.g. `alice`, `bob-sign`, `bob-enc`, `mallory`, `rogue-alice` (untrusted CA), `carol3072`. */
  ids: Record<string, FixtureIdentity>;
  /** Runs openssl with the given args in the fixture directory; returns stdout. */
  openssl(args: string[], input?: Uint8Array): Buffer;
}

let cached: Fixtures | undefined;

/** Builds (once per process) the CA and the user certificates. */
export function fixtures(): Fixtures {
  if (cached) return cached;
  const dir = mkdtempSync(join(tmpdir(), 'certim-cms-'));
  const openssl = (args: string[], input?: Uint8Array): Buffer =>
    execFileSync('openssl', args, { cwd: dir, input, stdio: ['pipe', 'pipe', 'pipe'], maxBuffer: 64 << 20 });
  writeFileSync(join(dir, 'user.ext'), [
    'basicConstraints=critical,CA:FALSE',
    'keyUsage=critical,digitalSignature,keyEncipherment',
    'extendedKeyUsage=emailProtection',
    'subjectKeyIdentifier=hash',
    'authorityKeyIdentifier=keyid',
    '',
  ].join('\n'));

  const makeCa = (label: string, cn: string): void => {
    openssl(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', `${label}.key`, '-out', `${label}.pem`,
      '-subj', `/CN=${cn}`, '-days', '30', '-sha256', '-extensions', 'v3_ca', '-addext', 'keyUsage=critical,keyCertSign,cRLSign']);
  };
  makeCa('ca', 'certim test CA');
  makeCa('rogueca', 'rogue CA');
  const ids: Record<string, FixtureIdentity> = {};
  const makeUser = (label: string, cn: string, bits: number, ca: string): void => {
    openssl(['genpkey', '-algorithm', 'RSA', '-pkeyopt', `rsa_keygen_bits:${bits}`, '-out', `${label}.key`]);
    openssl(['req', '-new', '-key', `${label}.key`, '-subj', `/CN=${cn}`, '-out', `${label}.csr`]);
    openssl(['x509', '-req', '-in', `${label}.csr`, '-CA', `${ca}.pem`, '-CAkey', `${ca}.key`, '-CAcreateserial',
      '-days', '30', '-sha256', '-extfile', 'user.ext', '-out', `${label}.pem`]);
    const pem = readFileSync(join(dir, `${label}.pem`));
    const cert = new X509Certificate(pem);
    ids[label] = {
      name: cn, keyPath: join(dir, `${label}.key`), certPath: join(dir, `${label}.pem`),
      key: createPrivateKey(readFileSync(join(dir, `${label}.key`))), certDer: cert.raw, cert,
    };
  };
  makeUser('alice', 'alice', 2048, 'ca');
  makeUser('bob-sign', 'Bob Smith', 2048, 'ca');
  makeUser('bob-enc', 'Bob Smith', 2048, 'ca');
  makeUser('mallory', 'mallory', 2048, 'ca');
  makeUser('rogue-alice', 'alice', 2048, 'rogueca');
  cached = {
    dir, caCertPath: join(dir, 'ca.pem'), caCert: new X509Certificate(readFileSync(join(dir, 'ca.pem'))), ids, openssl,
  };
  return cached;
}

/** keyUsage of an extra identity: both roles (default), signing only, or key encipherment only. */
export type FixtureUsage = 'common' | 'sign' | 'encrypt';

const USAGE_BITS: Record<FixtureUsage, string> = {
  common: 'digitalSignature,keyEncipherment',
  sign: 'digitalSignature,nonRepudiation',
  encrypt: 'keyEncipherment',
};

/** Adds an identity with a non-default key size (e.g. RSA-3072 for one test) or keyUsage, under `label`. */
export function extraIdentity(label: string, cn: string, bits: number, usage: FixtureUsage = 'common'): FixtureIdentity {
  const f = fixtures();
  const existing = f.ids[label];
  if (existing) return existing;
  const ext = `user-${usage}.ext`;
  writeFileSync(join(f.dir, ext), readFileSync(join(f.dir, 'user.ext'), 'latin1').replace(/^keyUsage=.*$/m, `keyUsage=critical,${USAGE_BITS[usage]}`));
  f.openssl(['genpkey', '-algorithm', 'RSA', '-pkeyopt', `rsa_keygen_bits:${bits}`, '-out', `${label}.key`]);
  f.openssl(['req', '-new', '-key', `${label}.key`, '-subj', `/CN=${cn}`, '-out', `${label}.csr`]);
  f.openssl(['x509', '-req', '-in', `${label}.csr`, '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial',
    '-days', '30', '-sha256', '-extfile', ext, '-out', `${label}.pem`]);
  const cert = new X509Certificate(readFileSync(join(f.dir, `${label}.pem`)));
  const id: FixtureIdentity = {
    name: cn, keyPath: join(f.dir, `${label}.key`), certPath: join(f.dir, `${label}.pem`),
    key: createPrivateKey(readFileSync(join(f.dir, `${label}.key`))), certDer: cert.raw, cert,
  };
  f.ids[label] = id;
  return id;
}

let seq = 0;

/** Options of {@link opensslMessage}. */
export interface OpensslMessageOptions {
  signer: FixtureIdentity;
  recipient: FixtureIdentity;
  /** Bytes signed (normally inner header block + text). */
  inner: Uint8Array;
  /** Digest for `openssl cms -sign -md`. */
  md: string;
  /** Extra sign flags, e.g. ['-nocerts'] or ['-noattr']. */
  signArgs?: string[];
  /** Cipher and recipient flags for `openssl cms -encrypt`, placed before `-recip`, e.g. ['-aes128', '-keyid']. */
  encryptArgs: string[];
  /** Flags placed after `-recip cert` (per-recipient -keyopt). */
  recipArgs?: string[];
  /** Prefix for the signed data before encryption (the outer header block); default none. */
  outerHeaders?: Uint8Array;
}

/** Builds a Secure IM entirely with `openssl cms -sign` then `openssl cms -encrypt` (the independent reference). */
export function opensslMessage(o: OpensslMessageOptions): Buffer {
  const f = fixtures();
  const n = `m${process.pid}-${seq++}`;
  writeFileSync(join(f.dir, `${n}.inner`), o.inner);
  f.openssl(['cms', '-sign', '-binary', '-nodetach', '-in', `${n}.inner`, '-signer', o.signer.certPath, '-inkey', o.signer.keyPath,
    '-md', o.md, '-outform', 'DER', '-out', `${n}.sd`, ...(o.signArgs ?? [])]);
  const sd = readFileSync(join(f.dir, `${n}.sd`));
  writeFileSync(join(f.dir, `${n}.outer`), Buffer.concat([o.outerHeaders ?? Buffer.alloc(0), sd]));
  f.openssl(['cms', '-encrypt', '-binary', '-in', `${n}.outer`, '-outform', 'DER', '-out', `${n}.env`, ...o.encryptArgs,
    '-recip', o.recipient.certPath, ...(o.recipArgs ?? [])]);
  return readFileSync(join(f.dir, `${n}.env`));
}

/** Decrypts with `openssl cms -decrypt` and returns the plaintext (outer header block + SignedData). */
export function opensslDecrypt(message: Uint8Array, recipient: FixtureIdentity): Buffer {
  const f = fixtures();
  const n = `d${process.pid}-${seq++}`;
  writeFileSync(join(f.dir, `${n}.der`), message);
  return f.openssl(['cms', '-decrypt', '-binary', '-inform', 'DER', '-in', `${n}.der`, '-recip', recipient.certPath, '-inkey', recipient.keyPath]);
}

/** Verifies a DER SignedData with `openssl cms -verify` against the test CA; returns the signed content. Throws if
 *  verification fails. */
export function opensslVerify(signedData: Uint8Array, extra: string[] = []): Buffer {
  const f = fixtures();
  const n = `v${process.pid}-${seq++}`;
  writeFileSync(join(f.dir, `${n}.der`), signedData);
  return f.openssl(['cms', '-verify', '-binary', '-inform', 'DER', '-in', `${n}.der`, '-CAfile', f.caCertPath, '-purpose', 'smimesign', ...extra]);
}
