/**
 * Test helpers (not for production use): make keys, certificates and CRLs with the `openssl` command line, the
 * independent reference the verifier tests compare against, and ask `openssl verify` for its verdict. Everything
 * goes to one temporary directory per test file; EC P-256 keys keep key generation fast.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createPrivateKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { parseCertificate, type Certificate } from './x509-parse.js';

/** Result of one openssl run. */
export interface OpensslRun {
  /** Exit status 0. */
  ok: boolean;
  /** stdout + stderr. */
  out: string;
}

/** Runs openssl with arguments (and optional stdin). */
export function openssl(args: readonly string[], input?: string | Uint8Array): OpensslRun {
  const r = spawnSync('openssl', args, { input, encoding: 'buffer' });
  if (r.error) throw r.error;
  return { ok: r.status === 0, out: `${r.stdout.toString('latin1')}${r.stderr.toString('latin1')}` };
}

/**
 * openssl's output with every PEM block taken out: what is left is openssl's own description (algorithms, MAC,
 * attributes). A pattern such as /RC2/ checked against the whole output also matches base64 inside a certificate
 * or key, now and then, and fails a test that is right.
 */
export function outsidePem(out: string): string {
  return out.replace(/-----BEGIN ([A-Z0-9 ]+)-----[\s\S]*?-----END \1-----/g, '');
}

function must(args: readonly string[], input?: string): string {
  const r = openssl(args, input);
  if (!r.ok) throw new Error(`openssl ${args.join(' ')} failed:\n${r.out}`);
  return r.out;
}

/** One certificate made by openssl: its files and certim's parse. */
export interface MadeCert {
  /** Name used for its files. */
  name: string;
  /** PEM file path. */
  pem: string;
  /** Private key file path. */
  key: string;
  /** DER bytes. */
  der: Uint8Array;
  /** certim's parse (throws for a certificate certim refuses; use `der` then). */
  cert(): Certificate;
  /** The private key as a KeyObject. */
  privateKey(): KeyObject;
}

/** Options of {@link OpensslPki.issue}. */
export interface IssueOptions {
  /** Subject, openssl -subj form ("/O=x/CN=y"). */
  subj: string;
  /** Issuer (omit: self-signed). */
  issuer?: MadeCert;
  /** Extension lines (openssl x509v3_config), e.g. "basicConstraints=critical,CA:TRUE". */
  ext: string[];
  /** Extra config sections appended after [v3] (e.g. a dirName section). */
  sections?: string;
  /** Reuse the key file of another certificate (or a key made with {@link OpensslPki.key}). */
  keyFile?: string;
  /** Validity days (default 30). */
  days?: number;
  /** Serial (default a counter). */
  serial?: string;
}

/** A scratch directory with openssl-backed factories. */
export interface OpensslPki {
  /** The directory. */
  dir: string;
  /** Writes a file in the directory; returns its path. */
  file(name: string, content: string | Uint8Array): string;
  /**
   * Generates a key (default EC P-256) into `<name>.key`; returns its path. Node generates the ordinary keys (no
   * process per key); openssl writes the explicit-parameter one, which Node cannot produce.
   */
  key(name: string, alg?: 'P-256' | 'P-192' | 'P-256-explicit' | 'rsa2048'): string;
  /** Issues (or self-signs) a certificate. */
  issue(name: string, o: IssueOptions): MadeCert;
  /** `openssl verify` with the given anchors, untrusted intermediates, CRLs and flags. */
  verify(leaf: MadeCert | string, o: { trusted: MadeCert[]; untrusted?: MadeCert[]; crls?: string[]; purpose?: string; flags?: string[] }): OpensslRun;
  /**
   * Makes a CRL signed by `ca` with `openssl ca -gencrl`, revoking `revoke` (keyCompromise). `crlNumber` false leaves
   * out the cRLNumber; times in openssl's YYYYMMDDHHMMSSZ form.
   */
  crl(name: string, ca: MadeCert, o?: { revoke?: MadeCert[]; crlNumber?: boolean; lastUpdate?: string; nextUpdate?: string }): string;
}

/** Creates an {@link OpensslPki} in a fresh temporary directory. */
export function makeOpensslPki(prefix = 'certim-ossl-'): OpensslPki {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  let serial = 0x1000;
  const file = (name: string, content: string | Uint8Array): string => {
    const p = join(dir, name);
    writeFileSync(p, content);
    return p;
  };
  const key = (name: string, alg: 'P-256' | 'P-192' | 'P-256-explicit' | 'rsa2048' = 'P-256'): string => {
    const out = join(dir, `${name}.key`);
    if (alg === 'P-256-explicit') {
      must(['ecparam', '-name', 'prime256v1', '-param_enc', 'explicit', '-genkey', '-noout', '-out', out]);
    } else {
      const { privateKey } = alg === 'rsa2048'
        ? generateKeyPairSync('rsa', { modulusLength: 2048 })
        : generateKeyPairSync('ec', { namedCurve: alg === 'P-192' ? 'prime192v1' : 'prime256v1' });
      writeFileSync(out, privateKey.export({ type: 'pkcs8', format: 'pem' }));
    }
    return out;
  };
  // One `openssl req -x509` per certificate: self-signed, or signed by `issuer` with -CA/-CAkey (OpenSSL >= 3.0).
  const issue = (name: string, o: IssueOptions): MadeCert => {
    const k = o.keyFile ?? key(name);
    const cfg = file(`${name}.cnf`, `[req]\ndistinguished_name = dn\n[dn]\n[v3]\n${o.ext.join('\n')}\n${o.sections ?? ''}\n`);
    const pem = join(dir, `${name}.pem`);
    const sign = o.issuer ? ['-CA', o.issuer.pem, '-CAkey', o.issuer.key] : [];
    must(['req', '-new', '-x509', '-key', k, '-subj', o.subj, ...sign, '-set_serial', o.serial ?? `0x${(serial++).toString(16)}`,
      '-days', String(o.days ?? 30), '-config', cfg, '-extensions', 'v3', '-out', pem]);
    const der = new Uint8Array(Buffer.from(readFileSync(pem, 'utf8').replace(/-----[^-]+-----|\s/g, ''), 'base64'));
    return { name, pem, key: k, der, cert: () => parseCertificate(der), privateKey: () => createPrivateKey(readFileSync(k)) };
  };
  const verify: OpensslPki['verify'] = (leaf, o) => {
    const bundle = (certs: MadeCert[], n: string): string => file(n, certs.map((c) => readFileSync(c.pem, 'utf8')).join(''));
    const args = ['verify', '-CAfile', bundle(o.trusted, 'trusted.pem')];
    if (o.untrusted?.length) args.push('-untrusted', bundle(o.untrusted, 'untrusted.pem'));
    if (o.crls?.length) {
      args.push('-crl_check');
      for (const c of o.crls) args.push('-CRLfile', c);
    }
    if (o.purpose) args.push('-purpose', o.purpose);
    args.push(...(o.flags ?? []), typeof leaf === 'string' ? leaf : leaf.pem);
    return openssl(args);
  };
  const crl: OpensslPki['crl'] = (name, ca, o = {}) => {
    const d = join(dir, `ca-${name}`);
    must(['version']);
    spawnSync('mkdir', ['-p', d]);
    writeFileSync(join(d, 'index.txt'), '');
    if (o.crlNumber !== false) writeFileSync(join(d, 'crlnumber'), '1000\n');
    const cfg = file(`${name}.cnf`, [
      '[ca]', 'default_ca = CA_default', '[CA_default]', `dir = ${d}`, `database = ${d}/index.txt`,
      ...(o.crlNumber !== false ? [`crlnumber = ${d}/crlnumber`] : []), 'default_md = sha256', 'default_crl_days = 1',
      'crl_extensions = crl_ext', '[crl_ext]', 'authorityKeyIdentifier=keyid:always', '',
    ].join('\n'));
    for (const r of o.revoke ?? []) must(['ca', '-config', cfg, '-keyfile', ca.key, '-cert', ca.pem, '-revoke', r.pem, '-crl_reason', 'keyCompromise']);
    const out = join(dir, `${name}.crl`);
    const times = [...(o.lastUpdate ? ['-crl_lastupdate', o.lastUpdate] : []), ...(o.nextUpdate ? ['-crl_nextupdate', o.nextUpdate] : [])];
    must(['ca', '-config', cfg, '-gencrl', '-keyfile', ca.key, '-cert', ca.pem, ...times, '-out', out]);
    return out;
  };
  return { dir, file, key, issue, verify, crl };
}

/** The CRL file's DER. */
export function crlDer(path: string): Uint8Array {
  return new Uint8Array(Buffer.from(readFileSync(path, 'utf8').replace(/-----[^-]+-----|\s/g, ''), 'base64'));
}
