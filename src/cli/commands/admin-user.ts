/**
 * `certim admin user add|list|remove|passwd`: account administration. Thin: parse arguments, read the password,
 * call the store and server/auth/password.ts, print.
 */
import { normalizeScreenName } from '../../pki/screen-name.js';
import { hashPassword, makeLegacyVerifier } from '../../server/auth/password.js';
import { screenNameProblem, StoreError } from '../../store/index.js';
import type { Account, Store } from '../../store/index.js';
import { openAdminStore, takeStoreFlags } from './admin-store.js';
import { promptHidden, UsageError, type PromptIo } from './prompt.js';

/** Streams the command talks through; tests pass their own. */
export interface AdminIo extends PromptIo {
  /** Results. */
  stdout: NodeJS.WritableStream;
  /** Prompts, warnings and errors. */
  stderr: NodeJS.WritableStream;
}

/** The usage text of `certim admin user`. */
export const ADMIN_USER_USAGE = `usage:
  certim admin user add NAME [--password-stdin] [--legacy-login] [--email ADDR]
  certim admin user list [--json]
  certim admin user remove NAME
  certim admin user passwd NAME [--password-stdin] [--legacy-login | --no-legacy-login]
options (all subcommands):
  --data-dir DIR   data directory (default ./data; database DIR/certim.db)
  --db URL         database URL, overrides --data-dir: sqlite:PATH or postgres://...
Passwords are read from the terminal without echo, or from stdin with --password-stdin.
--legacy-login lets classic AIM clients (4.8-5.x) sign on with BUCP MD5. It is off by default because it stores
MD5(password), which is password-equivalent: whoever reads the database can sign on as the user with a classic
client, and crack an unsalted MD5 quickly. --no-legacy-login (the default) is still accepted.`;

/** Shortest and longest password accepted. */
const PASSWORD_MIN = 6;
const PASSWORD_MAX = 1024;
/** COMPAT: classic AIM clients (3.x–5.x) cap the password field at 16 characters. */
const CLASSIC_PASSWORD_MAX = 16;
/** Largest stdin read for --password-stdin. */
const STDIN_MAX = 4096;

interface Parsed {
  positional: string[];
  flags: Set<string>;
  values: Map<string, string>;
}

const BOOLEAN_FLAGS = new Set(['--password-stdin', '--no-legacy-login', '--legacy-login', '--json']);
const VALUE_FLAGS = new Set(['--email']);

function parse(argv: readonly string[]): Parsed {
  const out: Parsed = { positional: [], flags: new Set(), values: new Map() };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (!arg.startsWith('--')) {
      out.positional.push(arg);
    } else if (BOOLEAN_FLAGS.has(arg)) {
      out.flags.add(arg);
    } else if (VALUE_FLAGS.has(arg.split('=')[0] as string)) {
      const [flag, inline] = arg.includes('=') ? [arg.slice(0, arg.indexOf('=')), arg.slice(arg.indexOf('=') + 1)] : [arg, argv[++i]];
      if (inline === undefined) throw new UsageError(`${flag} needs a value`);
      out.values.set(flag, inline);
    } else {
      throw new UsageError(`unknown option ${arg}`);
    }
  }
  return out;
}

function allowOnly(p: Parsed, allowed: readonly string[], positionals: number): void {
  for (const f of [...p.flags, ...p.values.keys()]) if (!allowed.includes(f)) throw new UsageError(`option ${f} does not apply here`);
  if (p.positional.length !== positionals) {
    throw new UsageError(positionals === 1 ? 'expected exactly one screen name' : `unexpected argument ${p.positional[positionals] ?? ''}`);
  }
}

/** Reads all of stdin (bounded) and strips one trailing newline: `echo pw | certim ... --password-stdin`. */
async function readPasswordStdin(io: AdminIo): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of io.stdin) {
    const b = typeof chunk === 'string' ? Buffer.from(chunk) : Buffer.from(chunk as Uint8Array);
    size += b.length;
    if (size > STDIN_MAX) throw new UsageError(`password on stdin is longer than ${STDIN_MAX} bytes`);
    chunks.push(b);
  }
  return Buffer.concat(chunks).toString('utf8').replace(/\r?\n$/, '');
}

async function readNewPassword(io: AdminIo, fromStdin: boolean, name: string): Promise<string> {
  let password: string;
  if (fromStdin) {
    password = await readPasswordStdin(io);
  } else {
    if (!io.stdin.isTTY) throw new UsageError('no terminal to prompt for the password; pipe it in with --password-stdin');
    password = await promptHidden(`New password for ${name}: `, io, PASSWORD_MAX);
    const again = await promptHidden('Repeat password: ', io, PASSWORD_MAX);
    if (again !== password) throw new UsageError('the passwords do not match');
  }
  if (password.length < PASSWORD_MIN) throw new UsageError(`the password must be at least ${PASSWORD_MIN} characters`);
  if (password.length > PASSWORD_MAX) throw new UsageError(`the password must be at most ${PASSWORD_MAX} characters`);
  return password;
}

function warnClassicLength(io: AdminIo, password: string, legacy: boolean): void {
  if (legacy && password.length > CLASSIC_PASSWORD_MAX) {
    io.stderr.write(`warning: classic AIM clients accept at most ${CLASSIC_PASSWORD_MAX} password characters; they will not be able to sign on\n`);
  }
}

function checkName(name: string): void {
  const problem = screenNameProblem(name);
  if (problem) throw new UsageError(`invalid screen name ${JSON.stringify(name)}: ${problem}`);
}

async function add(store: Store, p: Parsed, io: AdminIo): Promise<number> {
  const name = p.positional[0] as string;
  if (await store.accounts.get(name)) throw new StoreError('STORE_DUPLICATE', `screen name ${JSON.stringify(name)} is taken`);
  const password = await readNewPassword(io, p.flags.has('--password-stdin'), name);
  if (p.flags.has('--legacy-login') && p.flags.has('--no-legacy-login')) throw new UsageError('--legacy-login and --no-legacy-login conflict');
  // Classic MD5 login is opt-in (see the usage text); --no-legacy-login, once needed to turn it off, is the default.
  const legacy = p.flags.has('--legacy-login');
  warnClassicLength(io, password, legacy);
  const a = await store.accounts.create({
    screenName: name,
    passwordHash: await hashPassword(password),
    legacyLoginEnabled: legacy,
    legacyVerifier: legacy ? makeLegacyVerifier(password) : null,
    email: p.values.get('--email') ?? null,
  });
  io.stdout.write(`added ${a.screenName} (classic MD5 login ${legacy ? 'enabled' : 'disabled'})\n`);
  return 0;
}

function describe(a: Account): Record<string, unknown> {
  return {
    screenName: a.screenName,
    key: a.key,
    email: a.email,
    createdAt: new Date(a.createdAt).toISOString(),
    legacyLogin: a.legacyLoginEnabled,
    disabled: a.disabled,
  };
}

async function list(store: Store, p: Parsed, io: AdminIo): Promise<number> {
  const accounts = await store.accounts.list();
  if (p.flags.has('--json')) {
    io.stdout.write(`${JSON.stringify(accounts.map(describe))}\n`);
    return 0;
  }
  if (accounts.length === 0) {
    io.stderr.write('no accounts\n');
    return 0;
  }
  const rows = [['SCREEN NAME', 'CREATED', 'LEGACY LOGIN', 'STATUS'],
    ...accounts.map((a) => [a.screenName, new Date(a.createdAt).toISOString().slice(0, 10), a.legacyLoginEnabled ? 'yes' : 'no', a.disabled ? 'disabled' : 'active'])];
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => (r[c] ?? '').length)));
  for (const r of rows) io.stdout.write(`${r.map((cell, c) => cell.padEnd(widths[c] ?? 0)).join('  ').trimEnd()}\n`);
  return 0;
}

async function remove(store: Store, p: Parsed, io: AdminIo): Promise<number> {
  const name = p.positional[0] as string;
  if (!(await store.accounts.remove(name))) throw new StoreError('STORE_NOT_FOUND', `no account ${JSON.stringify(name)}`);
  // A removed user's certificates must stop being trusted: revoke every one still valid. They stay in the ledger
  // (and so on the CRL) after the account is gone (docs/protocol.md §12.2).
  const now = new Date();
  const revoked: string[] = [];
  for (const c of await store.ledger.listByScreenName(normalizeScreenName(name))) {
    if (c.revokedAt || c.notAfter < now) continue;
    if (await store.ledger.revoke(c.serial, 'cessationOfOperation', now)) revoked.push(c.serial);
  }
  io.stdout.write(`removed ${name} (profile, buddy list and offline messages deleted; ${revoked.length} certificate${revoked.length === 1 ? '' : 's'} revoked${revoked.length ? `: ${revoked.join(', ')}` : ''}, reason cessationOfOperation)\n`);
  return 0;
}

async function passwd(store: Store, p: Parsed, io: AdminIo): Promise<number> {
  if (p.flags.has('--legacy-login') && p.flags.has('--no-legacy-login')) throw new UsageError('--legacy-login and --no-legacy-login conflict');
  const name = p.positional[0] as string;
  const current = await store.accounts.get(name);
  if (!current) throw new StoreError('STORE_NOT_FOUND', `no account ${JSON.stringify(name)}`);
  const password = await readNewPassword(io, p.flags.has('--password-stdin'), current.screenName);
  const legacy = p.flags.has('--legacy-login') ? true : p.flags.has('--no-legacy-login') ? false : current.legacyLoginEnabled;
  warnClassicLength(io, password, legacy);
  await store.accounts.update(name, {
    passwordHash: await hashPassword(password),
    legacyLoginEnabled: legacy,
    legacyVerifier: legacy ? makeLegacyVerifier(password) : null,
  });
  io.stdout.write(`password changed for ${current.screenName} (classic MD5 login ${legacy ? 'enabled' : 'disabled'})\n`);
  return 0;
}

interface Subcommand {
  /** Options it accepts. */
  options: readonly string[];
  /** Number of positional arguments (0 or 1 screen name). */
  positionals: number;
  /** The work, once arguments are checked and the store is open. */
  run: (store: Store, p: Parsed, io: AdminIo) => Promise<number>;
}

const SUBCOMMANDS: Record<string, Subcommand> = {
  add: { options: ['--password-stdin', '--legacy-login', '--no-legacy-login', '--email'], positionals: 1, run: add },
  list: { options: ['--json'], positionals: 0, run: list },
  remove: { options: [], positionals: 1, run: remove },
  passwd: { options: ['--password-stdin', '--legacy-login', '--no-legacy-login'], positionals: 1, run: passwd },
};

/** Runs `certim admin user ...` (argv after `user`); resolves to the exit code (0 ok, 1 failed, 2 usage). */
export async function runAdminUser(argv: readonly string[], io: AdminIo = process): Promise<number> {
  const [sub, ...args] = argv;
  if (!sub || sub === '--help' || sub === '-h' || sub === 'help') {
    io.stderr.write(`${ADMIN_USER_USAGE}\n`);
    return sub ? 0 : 2;
  }
  const spec = SUBCOMMANDS[sub];
  let store: Store | undefined;
  try {
    if (!spec) throw new UsageError(`unknown subcommand 'user ${sub}'`);
    const { rest, ...location } = takeStoreFlags(args);
    const parsed = parse(rest);
    allowOnly(parsed, spec.options, spec.positionals); // before opening: a typo must not create a database
    if (sub === 'add') checkName(parsed.positional[0] as string);
    store = await openAdminStore(location);
    return await spec.run(store, parsed, io);
  } catch (e) {
    if (e instanceof UsageError) {
      io.stderr.write(`certim admin user: ${e.message}\n${ADMIN_USER_USAGE}\n`);
      return 2;
    }
    if (StoreError.is(e)) {
      io.stderr.write(`certim admin user: ${e.message}\n`);
      return 1;
    }
    throw e;
  } finally {
    await store?.close();
  }
}
