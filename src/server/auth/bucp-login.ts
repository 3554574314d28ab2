/**
 * BUCP login on auth connections (docs/protocol.md §2.1): 17/06 -> 17/07 key, 17/02 -> 17/03 with the BOS address
 * and a signed cookie, or a login error. Also certim's TLS password login (wire/families/bucp.ts TLV 0x7C01).
 *
 * - Every 17/07 carries a fresh random key, remembered on this connection for the one 17/02 that follows (for the
 *   same screen name, within {@link CHALLENGE_TTL_MS}) and then forgotten: a captured 17/02 cannot be replayed,
 *   and known and unknown screen names get indistinguishable keys without any lookup.
 * - Classic MD5 login needs the account's opt-in (`certim admin user add --legacy-login`) and the strong answer
 *   (AIM 4.8+); the weak AIM 3.5–4.7 answer cannot be checked without the plaintext (see auth/password.ts).
 * - Every password check goes through the login throttle (auth/login-throttle.ts): charged before the check, with
 *   the wait in the error URL when refused. Unknown accounts cost a full scrypt on TLS, like wrong passwords.
 */
import {
  BUCP_FAMILY as F, BucpSubtype as S, LOGIN_REASON_TOO_MANY_SESSIONS as TOO_MANY_SESSIONS, LoginError, decodeKeyRequest, decodeLoginRequest, encodeKeyResponse,
  encodeLoginFailure, encodeLoginSuccess, type SNAC_0x17_0x02_BUCPLoginRequest,
} from '../../wire/families/bucp.js';
import { encodeText } from '../../wire/bytes.js';
import { normalizeScreenName } from '../../pki/screen-name.js';
import type { Engine } from '../engine.js';
import { LogEvent } from '../log.js';
import { redirectAddress } from '../handler-env.js';
import type { LinkKind } from '../session/session.js';
import type { Reply } from '../families/family.js';
import { reply } from '../families/family.js';
import type { LoginAttemptOutcome } from './login-throttle.js';
import { newChallengeKey, UNMATCHABLE_HASH } from './password.js';
import type { AccountRecord } from '../ports.js';

/** How long a 17/07 key stays valid for its 17/02. */
export const CHALLENGE_TTL_MS = 60_000;

/** What the auth handlers know about (and keep on) the connection. */
export interface AuthConnection {
  /** True when the client connected over TLS (the TLS listener, or WebSocket over HTTPS). */
  tls: boolean;
  /** Listener kind: the BOS address sends the client back to the same kind (docs/protocol.md §14.3). */
  kind: LinkKind;
  /** Remote address (throttling key). */
  address: string;
  /** The outstanding 17/07 challenge of this connection, if any (single use). */
  challenge?: { account: string; key: string; expiresAt: number } | undefined;
}

/** Handles one SNAC on an auth connection; undefined when the SNAC is not a BUCP one we serve. */
export async function handleAuthSnac(engine: Engine, conn: AuthConnection, subtype: number, body: Uint8Array): Promise<Reply[] | undefined> {
  if (subtype === S.KEY_REQUEST) return [keyResponse(engine, conn, decodeKeyRequest(body).screenName)];
  if (subtype === S.LOGIN_REQUEST) return [await login(engine, conn, decodeLoginRequest(body))];
  return undefined;
}

function keyResponse(engine: Engine, conn: AuthConnection, screenName: string): Reply {
  const key = newChallengeKey();
  conn.challenge = { account: normalizeScreenName(screenName), key, expiresAt: engine.clock.now() + CHALLENGE_TTL_MS };
  return reply(F, S.KEY_RESPONSE, encodeKeyResponse(encodeText(key)));
}

/** A refused login's error URL (TLV 0x0004): the code, and what certim clients read from the query (§2.1). */
function errorUrl(code: number, query: Record<string, string | number>): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) q.set(k, String(v));
  return `https://certim.invalid/login-error/${code}?${q}`;
}

/** The 17/03 error URL of a refusal that names its wait. */
function waitUrl(code: number, retryAfterMs: number, scope: string): string {
  return errorUrl(code, { 'retry-after': Math.ceil(retryAfterMs / 1000), scope });
}

async function login(engine: Engine, conn: AuthConnection, req: SNAC_0x17_0x02_BUCPLoginRequest): Promise<Reply> {
  const key = normalizeScreenName(req.screenName);
  const fail = (code: number, url?: string): Reply => reply(F, S.LOGIN_RESPONSE, encodeLoginFailure(req.screenName, code, url));
  // The challenge is single-use whatever happens next.
  const challenge = conn.challenge;
  conn.challenge = undefined;
  if (req.certimPassword !== undefined && !conn.tls) {
    // The plaintext-password login must never run over plain TCP; refuse without looking at it.
    engine.log('warn', LogEvent.LOGIN_PLAINTEXT_REFUSED, { address: conn.address });
    return fail(LoginError.BAD_INPUT);
  }
  let account: AccountRecord | null = null;
  const outcome: LoginAttemptOutcome = await engine.throttle.attempt(
    { account: key, address: conn.address, hashes: req.certimPassword !== undefined },
    async () => {
      account = await engine.ports.accounts.get(req.screenName);
      if (req.certimPassword !== undefined) {
        // Unknown accounts hash too, so timing does not tell which screen names exist.
        const ok = await engine.ports.passwords.verifyPassword(req.certimPassword, account?.passwordHash ?? UNMATCHABLE_HASH);
        return ok && account !== null;
      }
      const now = engine.clock.now();
      if (!account?.legacyLoginEnabled || !account.legacyVerifier || req.passwordHash === undefined) return false;
      if (!challenge || challenge.account !== key || challenge.expiresAt < now) return false;
      return engine.ports.passwords.checkLegacyLogin(account.legacyVerifier, challenge.key, req.passwordHash, req.strong);
    },
  );
  const fields = { screenName: req.screenName, address: conn.address, tls: conn.tls, via: 'oscar' };
  switch (outcome.status) {
    case 'throttled': {
      engine.counters.loginsFailed++;
      const code = outcome.scope === 'address' ? LoginError.RATE_LIMITED : LoginError.CONNECTING_TOO_OFTEN;
      engine.log('warn', LogEvent.LOGIN_THROTTLED, { ...fields, scope: outcome.scope, retryAfterSeconds: Math.ceil(outcome.retryAfterMs / 1000) });
      return fail(code, waitUrl(code, outcome.retryAfterMs, outcome.scope));
    }
    case 'busy':
      engine.counters.loginsFailed++;
      engine.log('warn', LogEvent.LOGIN_BUSY, { ...fields });
      return fail(LoginError.TEMPORARILY_UNAVAILABLE, waitUrl(LoginError.TEMPORARILY_UNAVAILABLE, outcome.retryAfterMs, 'busy'));
    case 'bad':
      engine.counters.loginsFailed++;
      engine.log('warn', LogEvent.LOGIN_FAILED, { ...fields, ...(req.passwordHash && !req.strong ? { note: 'weak MD5 answer (AIM 3.5-4.7) is not supported' } : {}) });
      return fail(LoginError.INVALID_SN_OR_PASSWORD);
    case 'ok':
      break;
  }
  const acc = account as AccountRecord | null;
  if (!acc) return fail(LoginError.INVALID_SN_OR_PASSWORD);
  if (acc.disabled) {
    engine.log('warn', LogEvent.LOGIN_DISABLED, { screenName: acc.screenName, address: conn.address, via: 'oscar' });
    return fail(LoginError.SUSPENDED);
  }
  // A multi-session login keeps the user's other sessions: refused here, with a reason, when the account holds as
  // many as it may (the directory enforces the same limit atomically when the session registers).
  if (req.multiConn === 1) {
    const sessions = (await engine.directory.sessionsOf(key)).filter((e) => e.service === 'bos').length;
    if (sessions >= engine.config.maxSessionsPerUser) {
      engine.log('warn', LogEvent.LOGIN_FAILED, { screenName: acc.screenName, address: conn.address, via: 'oscar', reason: 'too many sessions', sessions });
      return fail(LoginError.CONNECTING_TOO_OFTEN, errorUrl(LoginError.CONNECTING_TOO_OFTEN, { reason: TOO_MANY_SESSIONS, max: engine.config.maxSessionsPerUser }));
    }
  }
  engine.counters.loginsOk++;
  engine.log('info', LogEvent.LOGIN_OK, {
    screenName: acc.screenName, address: conn.address, tls: conn.tls, via: 'oscar', clientId: req.clientId,
    method: req.certimPassword !== undefined ? 'password' : 'md5',
  });
  const cookie = engine.cookies.issue({
    screenName: acc.screenName, tls: conn.tls, multiConn: req.multiConn, service: 'bos', ...(req.clientId !== undefined ? { clientId: req.clientId } : {}),
  }, engine.clock.now());
  return reply(F, S.LOGIN_RESPONSE, encodeLoginSuccess(acc.screenName, redirectAddress(engine, conn.kind), cookie));
}
