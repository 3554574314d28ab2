/**
 * `certim admin ca show|import`: the server CA. Thin: parse arguments, call src/pki, print.
 *
 *   certim admin ca show [--data-dir DIR]        root SHA-256 fingerprint (verify it out of band), subject, validity;
 *                                                the fingerprint in the one display format (pki/fingerprint.ts) on
 *                                                the line starting `SHA-256:`
 *   certim admin ca import --cert F --key F [--chain F] [--data-dir DIR]
 *                                                use an existing issuing CA (key passphrase from env
 *                                                CERTIM_IMPORT_KEY_PASSPHRASE if the key is encrypted)
 */
import { readFile } from 'node:fs/promises';
import { readRootCertificate, openCertificateAuthority } from '../../pki/ca.js';
import { MemoryCertificateLedger } from '../../pki/ledger-memory.js';
import { formatName } from '../../pki/name.js';
import { PkiError } from '../../pki/errors.js';
import { formatFingerprint } from '../../pki/fingerprint.js';

/** Where output goes; tests pass their own. */
export interface AdminCaIo {
  /** Results. */
  out: (line: string) => void;
  /** Errors and warnings. */
  err: (line: string) => void;
}

const defaultIo: AdminCaIo = { out: (l) => console.log(l), err: (l) => console.error(l) };

/** Usage text. */
export const ADMIN_CA_USAGE = `usage:
  certim admin ca show [--data-dir DIR]
  certim admin ca import --cert FILE --key FILE [--chain FILE] [--domain DOMAIN] [--data-dir DIR]
The import key passphrase (if the key is encrypted) is read from env CERTIM_IMPORT_KEY_PASSPHRASE.`;

function takeFlags(argv: readonly string[], names: readonly string[]): { flags: Record<string, string>; rest: string[] } {
  const flags: Record<string, string> = {};
  const rest: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const eq = a.indexOf('=');
    const name = eq > 0 ? a.slice(0, eq) : a;
    if (names.includes(name)) {
      const v = eq > 0 ? a.slice(eq + 1) : argv[++i];
      if (v === undefined) throw new PkiError('INVALID_ARGUMENT', `${name} needs a value`);
      flags[name] = v;
    } else {
      rest.push(a);
    }
  }
  return { flags, rest };
}

/** Runs `certim admin ca ...` (argv after `ca`); resolves to the exit code. */
export async function runAdminCa(argv: readonly string[], io: AdminCaIo = defaultIo): Promise<number> {
  const [sub, ...args] = argv;
  try {
    if (sub === 'show') {
      const { flags, rest } = takeFlags(args, ['--data-dir']);
      if (rest.length) throw new PkiError('INVALID_ARGUMENT', `unexpected argument '${rest[0]}'`);
      const root = await readRootCertificate(flags['--data-dir'] ?? './data');
      io.out(`Root CA:      ${formatName(root.subject)}`);
      io.out(`SHA-256:      ${formatFingerprint(root.fingerprint256)}`);
      io.out(`Valid:        ${root.notBefore.toISOString()} .. ${root.notAfter.toISOString()}`);
      io.out(`Key:          ${root.keyType.toUpperCase()} ${root.keyBits ?? '?'} bits`);
      io.out('Users should compare the SHA-256 fingerprint with what their client shows before trusting this server.');
      return 0;
    }
    if (sub === 'import') {
      const { flags, rest } = takeFlags(args, ['--data-dir', '--cert', '--key', '--chain', '--domain']);
      if (rest.length) throw new PkiError('INVALID_ARGUMENT', `unexpected argument '${rest[0]}'`);
      if (!flags['--cert'] || !flags['--key']) throw new PkiError('INVALID_ARGUMENT', '--cert and --key are required');
      const ca = await openCertificateAuthority({
        dataDir: flags['--data-dir'] ?? './data', domain: flags['--domain'] ?? 'localhost', ledger: new MemoryCertificateLedger(),
        warn: io.err,
      });
      await ca.importIssuingCa(
        await readFile(flags['--cert'], 'utf8'), await readFile(flags['--key'], 'utf8'),
        flags['--chain'] ? await readFile(flags['--chain'], 'utf8') : undefined,
        process.env.CERTIM_IMPORT_KEY_PASSPHRASE,
      );
      io.out(`Imported issuing CA: ${formatName(ca.issuingCertificate.subject)}`);
      io.out(`Root SHA-256:        ${formatFingerprint(ca.rootFingerprint())}`);
      return 0;
    }
    io.err(sub === undefined || sub === '--help' || sub === 'help' ? ADMIN_CA_USAGE : `certim admin ca: unknown command '${sub}'\n${ADMIN_CA_USAGE}`);
    return sub === '--help' || sub === 'help' ? 0 : 2;
  } catch (e) {
    if (e instanceof PkiError) {
      io.err(`certim admin ca: ${e.message}`);
      return e.code === 'INVALID_ARGUMENT' ? 2 : 1;
    }
    throw e;
  }
}
