/**
 * One certificate authority for every node of a cluster, kept in the shared database.
 *
 * Choice: the CA's public certificates and its **encrypted** issuing key travel through the store's server-secrets
 * table as one bundle (`ca-bundle`); each node writes them into its own `<data-dir>/ca/` at startup and opens the
 * CA as a single server would. The passphrase never enters the database: every node needs the same
 * `CERTIM_CA_PASSPHRASE` in its environment (a cluster refuses to start without it), so a stolen database alone
 * yields no usable CA key. The root key is not shared: it stays (encrypted) on the node that created the CA.
 * Issued certificates and revocations are in the shared ledger already, and CRL numbers are issue times, so every
 * node serves the same CRL.
 *
 * Creation is race-free: a node that finds no bundle makes a CA in a private temporary directory, offers it with
 * create-once semantics (`getOrCreate`), and uses whatever bundle won — its own or another node's.
 */
import { LogEvent, type Logger } from '../log.js';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CA_PASSPHRASE_ENV, openCertificateAuthority } from '../../pki/ca.js';
import type { CertificateLedger } from '../../pki/ledger.js';
import type { ServerSecretStore } from '../../store/secrets.js';
import { ClusterError } from './cluster-url.js';

/** Name of the bundle in the server-secrets table. */
export const CA_BUNDLE_SECRET = 'ca-bundle';

/** The CA files a node needs (PEM text; the key is encrypted PKCS#8). */
interface CaBundle {
  rootCrt: string;
  issuingCrt: string;
  issuingKey: string;
  chainPem: string;
}

/** Options of {@link syncClusterCa}. */
export interface SyncClusterCaOptions {
  /** This node's data directory (the CA goes to `<dataDir>/ca`). */
  dataDir: string;
  /** IM domain (for a CA this node creates). */
  domain: string;
  /** The shared store's secrets. */
  secrets: ServerSecretStore;
  /** The shared ledger (for a CA this node creates). */
  ledger: CertificateLedger;
  /** Environment holding CERTIM_CA_PASSPHRASE. */
  env: Record<string, string | undefined>;
  /** Log sink. */
  log?: Logger;
}

/**
 * Makes `<dataDir>/ca` hold the cluster's CA: the one in the database, or — when there is none yet — one this node
 * creates (or one it already has from running alone), published for the others. Refuses a data directory whose
 * CA differs from the cluster's (CLUSTER_CA_MISMATCH) rather than overwrite it.
 */
export async function syncClusterCa(o: SyncClusterCaOptions): Promise<void> {
  if (!o.env[CA_PASSPHRASE_ENV]) {
    throw new ClusterError('CLUSTER_CA_PASSPHRASE', `a cluster node needs ${CA_PASSPHRASE_ENV} (the same on every node): the CA key is shared encrypted under it`);
  }
  const log = o.log ?? (() => {});
  const caDir = join(o.dataDir, 'ca');
  const existing = await o.secrets.get(CA_BUNDLE_SECRET);
  if (existing) {
    install(decodeBundle(existing), caDir);
    return;
  }
  let offer: CaBundle;
  let tmp: string | undefined;
  if (existsSync(join(caDir, 'root.crt'))) {
    if (existsSync(join(caDir, 'issuing.pass'))) {
      throw new ClusterError('CLUSTER_CA_PASSPHRASE', `${join(caDir, 'issuing.pass')} exists: this CA's key is encrypted under a generated passphrase; a cluster shares it under ${CA_PASSPHRASE_ENV} only`);
    }
    offer = readBundle(caDir);
  } else {
    tmp = join(o.dataDir, `ca-new-${randomBytes(6).toString('hex')}`);
    await openCertificateAuthority({ dataDir: tmp, domain: o.domain, ledger: o.ledger, env: o.env, warn: (m) => log('warn', LogEvent.CA_WARNING, { detail: m }) });
    offer = readBundle(join(tmp, 'ca'));
  }
  try {
    const won = decodeBundle(await o.secrets.getOrCreate(CA_BUNDLE_SECRET, () => encodeBundle(offer)));
    const ours = won.rootCrt === offer.rootCrt;
    if (tmp && ours) {
      // Our new CA is the cluster's: keep the whole directory (the root key stays here, encrypted).
      mkdirSync(o.dataDir, { recursive: true, mode: 0o700 });
      renameSync(join(tmp, 'ca'), caDir);
    } else {
      install(won, caDir);
    }
    log('info', LogEvent.CLUSTER_CA, { detail: ours ? 'this node\'s CA is now the cluster\'s' : 'using the CA another node created' });
  } finally {
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  }
}

function readBundle(dir: string): CaBundle {
  const read = (f: string): string => (existsSync(join(dir, f)) ? readFileSync(join(dir, f), 'utf8') : '');
  return { rootCrt: read('root.crt'), issuingCrt: read('issuing.crt'), issuingKey: read('issuing.key'), chainPem: read('chain.pem') };
}

/** Writes a bundle into `dir` (root.crt last: its presence marks a complete CA), or checks an existing one. */
function install(b: CaBundle, dir: string): void {
  if (existsSync(join(dir, 'root.crt'))) {
    if (readFileSync(join(dir, 'root.crt'), 'utf8') !== b.rootCrt) {
      throw new ClusterError('CLUSTER_CA_MISMATCH', `${join(dir, 'root.crt')} is not the cluster's CA root; use a fresh data directory for this node`);
    }
    if (readFileSync(join(dir, 'issuing.crt'), 'utf8') === b.issuingCrt) return;
  }
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  writeFileSync(join(dir, 'issuing.key'), b.issuingKey, { mode: 0o600 });
  writeFileSync(join(dir, 'issuing.crt'), b.issuingCrt, { mode: 0o644 });
  writeFileSync(join(dir, 'chain.pem'), b.chainPem, { mode: 0o644 });
  writeFileSync(join(dir, 'root.crt'), b.rootCrt, { mode: 0o644 });
}

function encodeBundle(b: CaBundle): Uint8Array {
  return new TextEncoder().encode(JSON.stringify({ v: 1, ...b }));
}

function decodeBundle(bytes: Uint8Array): CaBundle {
  const o = JSON.parse(new TextDecoder().decode(bytes)) as Partial<CaBundle> & { v?: number };
  if (o.v !== 1 || typeof o.rootCrt !== 'string' || typeof o.issuingCrt !== 'string' || typeof o.issuingKey !== 'string' || typeof o.chainPem !== 'string') {
    throw new ClusterError('CLUSTER_CA_MISMATCH', 'the cluster CA bundle in the database is unreadable');
  }
  return { rootCrt: o.rootCrt, issuingCrt: o.issuingCrt, issuingKey: o.issuingKey, chainPem: o.chainPem };
}
