/**
 * Shared bits of the user commands (`keys`, `trust`, `send`, `listen`, `chat`): the profile directory, secrets
 * (password and passphrase from a prompt, an environment variable or a file — never from argv, where other
 * users could read them), and error printing with stable exit codes.
 */
import { readFileSync } from 'node:fs';
import { ClientError } from '../../client/errors.js';
import type { CertimClient } from '../../client/client.js';
import type { KeyObject } from 'node:crypto';
import type { Identity } from '../../client/identity.js';
import { explainTlsFailure, openClient } from '../../client/node/account.js';
import { defaultProfileDir, ProfileDir, type ProfileSettings } from '../../client/node/profile.js';
import { formatFingerprint, type KeyChange } from '../../client/trust.js';
import { promptHidden, UsageError } from './prompt.js';

export { UsageError };

/** The profile named by --profile (default: the user's config directory). */
export function profileFrom(values: { profile?: string | undefined }): ProfileDir {
  return new ProfileDir(values.profile ?? process.env.CERTIM_PROFILE ?? defaultProfileDir());
}

/** Reads a hidden line from the terminal; a UsageError when stdin is not one. */
function promptSecret(question: string): Promise<string> {
  if (!process.stdin.isTTY) return Promise.reject(new UsageError(`${question.trim()} needs a terminal; use the environment variable or file option instead`));
  return promptHidden(question);
}

/** Reads a visible answer from the terminal. */
export function promptLine(question: string): Promise<string> {
  const stdin = process.stdin;
  if (!stdin.isTTY) return Promise.resolve('');
  return new Promise((resolve) => {
    process.stderr.write(question);
    stdin.resume();
    stdin.once('data', (d: Buffer) => {
      stdin.pause();
      resolve(d.toString('utf8').trim());
    });
  });
}

function readSecretFile(path: string, what: string): string {
  try {
    // The first line only, so files written with `echo` work; secrets never contain newlines.
    return readFileSync(path, 'utf8').split(/\r?\n/)[0] ?? '';
  } catch (e) {
    throw new UsageError(`cannot read the ${what} file ${path}: ${(e as Error).message}`);
  }
}

/** The account password: --password-file, else CERTIM_PASSWORD, else a prompt. */
export async function readPassword(values: { 'password-file'?: string | undefined }, screenName: string): Promise<string> {
  if (values['password-file']) return readSecretFile(values['password-file'], 'password');
  const env = process.env.CERTIM_PASSWORD;
  if (env !== undefined && env.length > 0) return env;
  return promptSecret(`Password for ${screenName}: `);
}

/** The key passphrase: --passphrase-file, else CERTIM_PASSPHRASE, else a prompt (twice when `confirm`). */
export async function readPassphrase(values: { 'passphrase-file'?: string | undefined }, confirm = false): Promise<string> {
  if (values['passphrase-file']) return readSecretFile(values['passphrase-file'], 'passphrase');
  const env = process.env.CERTIM_PASSPHRASE;
  if (env !== undefined && env.length > 0) return env;
  const p = await promptSecret('Key passphrase: ');
  if (confirm && (await promptSecret('Repeat passphrase: ')) !== p) throw new UsageError('the passphrases differ');
  return p;
}

/** Options every user command takes. */
export const COMMON_OPTIONS = {
  profile: { type: 'string' },
  'password-file': { type: 'string' },
  'passphrase-file': { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

/** Prints an error the way every user command does and returns its exit code (2 usage, 1 otherwise). */
export function reportError(command: string, e: unknown): number {
  if (e instanceof UsageError) {
    console.error(`certim ${command}: ${e.message}`);
    return 2;
  }
  if (ClientError.is(e)) {
    console.error(`certim ${command}: ${e.message} [${e.code}]`);
    return 1;
  }
  if (e instanceof TypeError && (e as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
    console.error(`certim ${command}: ${e.message}`);
    return 2;
  }
  console.error(`certim ${command}: ${e instanceof Error ? e.message : String(e)}`);
  return 1;
}

/** Small key size for tests (CERTIM_KEY_SIZE), else undefined (the library default, 3072). */
export function keySizeFrom(value: string | undefined): number | undefined {
  const v = value ?? process.env.CERTIM_KEY_SIZE;
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 2048) throw new UsageError(`--key-size must be an integer >= 2048, got ${v}`);
  return n;
}

/**
 * Opens and signs on a client from the profile (password and passphrase read as above). `setup` runs before
 * sign-on (given the client and the profile it uses as buddy store) so no event (e.g. an offline IM delivered at sign-on) is missed. With `consume`, IMs that earlier
 * one-shot commands kept in the profile's inbox are replayed after sign-on; without it (send, trust, rotate)
 * incoming IMs go to that inbox instead of being lost.
 */
export async function connectFromProfile(
  values: { profile?: string | undefined; 'password-file'?: string | undefined; 'passphrase-file'?: string | undefined },
  opts: { reconnect: boolean; consume?: boolean; buddies?: string[]; setup?: (client: CertimClient, profile: ProfileDir) => void; secrets?: { password?: string; passphrase?: string } },
): Promise<{ client: CertimClient; profile: ProfileDir; settings: ProfileSettings; identity: Identity<KeyObject> | undefined }> {
  const profile = profileFrom(values);
  const settings = profile.settings();
  const password = opts.secrets?.password ?? await readPassword(values, settings.screenName);
  const passphrase = opts.secrets?.passphrase ?? await readPassphrase(values);
  const { client, reenrolled, identity } = await openClient(profile, {
    password,
    passphrase,
    ...(opts.buddies ? { buddies: [...new Set([...profile.all().map((b) => b.screenName), ...opts.buddies])] } : {}),
    client: {
      ...(opts.reconnect ? { reconnect: reconnectSchedule() } : { reconnect: false }),
      ...(opts.consume ? {} : { spool: (body: Uint8Array, at: Date) => profile.spoolSave(body, at) }),
    },
  });
  if (reenrolled) console.error('certim: your certificates were close to expiry and have been renewed.');
  opts.setup?.(client, profile);
  try {
    await client.connect();
  } catch (e) {
    throw explainTlsFailure(e, settings);
  }
  if (opts.consume) for (const { body, receivedAt } of profile.spoolTake()) void client.replay(body, receivedAt);
  return { client, profile, settings, identity };
}

/**
 * The reconnect backoff of `listen` and `chat`: 1 s doubling to 60 s with jitter, or CERTIM_RECONNECT_MS=
 * "INITIAL,MAX" (milliseconds; operators tuning a fleet, and tests that cannot wait a minute).
 */
export function reconnectSchedule(env: NodeJS.ProcessEnv = process.env): { initialDelayMs: number; maxDelayMs: number } {
  const v = env.CERTIM_RECONNECT_MS;
  if (v === undefined || v === '') return { initialDelayMs: 1000, maxDelayMs: 60_000 };
  const [a, b] = v.split(',').map(Number);
  if (!Number.isInteger(a) || !Number.isInteger(b) || a! < 100 || b! < a!) throw new UsageError(`CERTIM_RECONNECT_MS must be "INITIAL,MAX" in milliseconds (INITIAL >= 100, MAX >= INITIAL), got "${v}"`);
  return { initialDelayMs: a!, maxDelayMs: b! };
}

/** One line warning about a buddy's key change, for stderr. */
export function keyChangeWarning(c: KeyChange): string {
  return `WARNING: ${c.screenName}'s key changed!${c.wasVerified ? ' (you had verified the old one)' : ''}\n` +
    `  old fingerprint: ${formatFingerprint(c.oldFingerprint)}\n  new fingerprint: ${formatFingerprint(c.newFingerprint)}\n` +
    `  Check the new fingerprint with ${c.screenName}, then run: certim trust verify ${c.screenName} ${formatFingerprint(c.newFingerprint)}`;
}
