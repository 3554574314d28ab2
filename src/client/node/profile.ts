/**
 * The profile directory: everything one certim identity keeps on disk.
 *
 *   profile.json        screen name, server address, EST URL, pinned CA fingerprint, key size
 *   ca.pem              the pinned CA certificates (root first)
 *   encryption.key      PKCS#8 EncryptedPrivateKeyInfo (PBES2 scrypt + AES-256) — never written unencrypted
 *   signing.key         the same, for the signing key
 *   encryption.crt      our certificates (PEM)
 *   signing.crt
 *   buddies.json        buddy certificate cache and trust marks (see ../trust.ts)
 *   previous-*          the keys and certificates replaced by the last rotation (decrypt-only)
 *   backup-<time>/      an identity replaced by `keys init --force` or `keys import` (keys still encrypted)
 *   crl.pem             the CA's last verified CRL (../revocation.ts): used when the server cannot be reached
 *   replay.json         ids of modern IMs already shown, so a restart does not accept a replay (replay-store.ts)
 *   replay.log          the ids remembered since replay.json was last written, one line each (replay-store.ts)
 *   inbox/              IMs that arrived while a one-shot command was signed on, as received (ciphertext)
 *
 * Directory mode 0700, files 0600; every write goes to a temp file first and is renamed into place, so a crash
 * never leaves half a key. Default location: $XDG_CONFIG_HOME/certim, else ~/.config/certim.
 */
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { normalizeScreenName } from '../../pki/screen-name.js';
import { ClientError } from '../errors.js';
import type { BuddyRecord, BuddyStore } from '../trust.js';

/** The settings file. */
export interface ProfileSettings {
  /** Format version. */
  version: 1;
  /** Our screen name. */
  screenName: string;
  /** OSCAR-over-TLS login address "host:port". */
  server: string;
  /** Base URL of the server's HTTPS (EST) endpoint. */
  https: string;
  /** SHA-256 of the pinned CA root certificate (hex). */
  caFingerprint: string;
  /** RSA size used for our keys. */
  keySize: number;
  /** Connect with plain TCP + classic login instead of TLS (test rigs and classic servers only). */
  plain?: boolean;
}

/** The default profile directory. */
export function defaultProfileDir(env: NodeJS.ProcessEnv = process.env): string {
  const base = env.XDG_CONFIG_HOME && env.XDG_CONFIG_HOME.length > 0 ? env.XDG_CONFIG_HOME : join(homedir(), '.config');
  return join(base, 'certim');
}

/** Writes a file atomically with mode 0600. */
export function writePrivateFile(path: string, data: string | Uint8Array): void {
  const tmp = `${path}.tmp-${process.pid}`;
  writeFileSync(tmp, data, { mode: 0o600 });
  chmodSync(tmp, 0o600);
  renameSync(tmp, path);
}

/** A profile directory on disk. */
export class ProfileDir implements BuddyStore {
  private buddies: Record<string, BuddyRecord> | undefined;
  /** Size and mtime of buddies.json when `buddies` was read from it: {@link reload} skips an unchanged file. */
  private buddiesStamp: string | undefined;

  constructor(readonly dir: string) {}

  /** Path of a file in the profile. */
  path(name: string): string {
    return join(this.dir, name);
  }

  /** Creates the directory (0700) if needed. */
  ensure(): void {
    mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    chmodSync(this.dir, 0o700);
  }

  /** True if settings exist. */
  exists(): boolean {
    return existsSync(this.path('profile.json'));
  }

  /** Reads the settings; PROFILE error when missing or malformed. */
  settings(): ProfileSettings {
    const p = this.path('profile.json');
    if (!existsSync(p)) throw new ClientError('PROFILE', `no certim profile in ${this.dir}: run \`certim keys init --server HOST:PORT --user NAME\` first`);
    try {
      const s = JSON.parse(readFileSync(p, 'utf8')) as ProfileSettings;
      if (s.version !== 1 || typeof s.screenName !== 'string' || typeof s.server !== 'string' || typeof s.caFingerprint !== 'string') {
        throw new Error('missing fields');
      }
      return s;
    } catch (e) {
      throw new ClientError('PROFILE', `${p} is not a valid certim profile: ${(e as Error).message}`, { cause: e });
    }
  }

  /** Writes the settings. */
  saveSettings(s: ProfileSettings): void {
    this.ensure();
    writePrivateFile(this.path('profile.json'), `${JSON.stringify(s, null, 2)}\n`);
  }

  /** Reads a text file of the profile, or undefined. */
  read(name: string): string | undefined {
    const p = this.path(name);
    return existsSync(p) ? readFileSync(p, 'utf8') : undefined;
  }

  /** Writes a text file of the profile (0600, atomic). */
  write(name: string, data: string): void {
    this.ensure();
    writePrivateFile(this.path(name), data);
  }

  /** The pinned CA certificates (PEM, root first). */
  caPems(): string[] {
    const text = this.read('ca.pem');
    if (!text) throw new ClientError('CA_UNKNOWN', `no pinned CA in ${this.dir}: run \`certim keys init\` first`);
    return text.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----\s*/g)?.map((s) => s.trim() + '\n') ?? [];
  }

  // --- inbox spool: IMs that arrived during one-shot commands, kept as received (ciphertext) ---

  /** Keeps one raw ICBM delivery for the next `listen`/`chat`. */
  spoolSave(body: Uint8Array, receivedAt: Date): void {
    const dir = this.path('inbox');
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const name = `${receivedAt.getTime().toString().padStart(15, '0')}-${process.pid}-${Math.random().toString(36).slice(2, 8)}.icbm`;
    writePrivateFile(join(dir, name), body);
  }

  /** Takes (reads and removes) every spooled delivery, oldest first. */
  spoolTake(): { body: Uint8Array; receivedAt: Date }[] {
    const dir = this.path('inbox');
    if (!existsSync(dir)) return [];
    const out: { body: Uint8Array; receivedAt: Date }[] = [];
    for (const name of readdirSync(dir).filter((n) => n.endsWith('.icbm')).sort()) {
      const p = join(dir, name);
      out.push({ body: new Uint8Array(readFileSync(p)), receivedAt: new Date(Number(name.split('-')[0])) });
      unlinkSync(p);
    }
    return out;
  }

  // --- BuddyStore ---

  private buddiesFileStamp(): string | undefined {
    try {
      const st = statSync(this.path('buddies.json'), { bigint: true });
      return `${st.size}:${st.mtimeNs}`;
    } catch {
      return undefined;
    }
  }

  private loadBuddies(): Record<string, BuddyRecord> {
    if (!this.buddies) {
      this.buddiesStamp = this.buddiesFileStamp();
      const text = this.read('buddies.json');
      try {
        this.buddies = text ? (JSON.parse(text) as Record<string, BuddyRecord>) : {};
      } catch (e) {
        throw new ClientError('PROFILE', `${this.path('buddies.json')} is corrupt: ${(e as Error).message}`, { cause: e });
      }
    }
    return this.buddies;
  }

  /**
   * Re-reads buddies.json on next use if it changed on disk since we read it (another certim process may have
   * written it); an unchanged file costs one stat, so callers may reload on every event.
   */
  reload(): void {
    if (this.buddiesStamp === undefined || this.buddiesFileStamp() !== this.buddiesStamp) this.buddies = undefined;
  }

  get(screenName: string): BuddyRecord | undefined {
    return this.loadBuddies()[normalizeScreenName(screenName)];
  }

  put(record: BuddyRecord): void {
    // Merge with what is on disk now, so two certim processes on one profile do not erase each other's buddies.
    this.reload();
    const all = this.loadBuddies();
    all[normalizeScreenName(record.screenName)] = record;
    this.write('buddies.json', `${JSON.stringify(all, null, 2)}\n`);
    // Not stamped: a write by another process between ours and a stat would go unseen; the next reload re-reads.
    this.buddiesStamp = undefined;
  }

  all(): BuddyRecord[] {
    return Object.values(this.loadBuddies());
  }
}
