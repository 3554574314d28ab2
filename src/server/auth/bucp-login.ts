/**
 * BUCP login on auth connections (PROTOCOL §2.1): 17/06 -> 17/07 key, 17/02 -> 17/03 with the BOS address and a
 * signed cookie, or a login error. Also certim's TLS password login (wire/families/bucp.ts TLV 0x7C01).
 *
 * - Unknown accounts and accounts without legacy login still get a (deterministic, fake) key in 17/07, so the
 *   key request does not reveal which screen names exist; the 17/02 then fails with 0x0001.
 * - Failed attempts are counted per account and per address; over budget, 17/02 gets 0x0018 (account) or 0x001D
 *   (address) before any password check runs.
 * - Which MD5 variants are accepted is the password module's policy (it accepts both, like R).
 */
import { createHmac } from 'node:crypto';
import {
  BUCP_FAMILY as F, BucpSubtype as S, LoginError, decodeKeyRequest, decodeLoginRequest, encodeKeyResponse,
  encodeLoginFailure, encodeLoginSuccess, type SNAC_0x17_0x02_BUCPLoginRequest,
} from '../../wire/families/bucp.js';
import { encodeText } from '../../wire/bytes.js';
import { normalizeScreenName } from '../../pki/screen-name.js';
import type { Engine } from '../engine.js';
import type { Reply } from '../families/family.js';
import { reply } from '../families/family.js';

/** What the auth handlers know about the connection. */
export interface AuthConnection {
  /** True when the client connected over TLS. */
  tls: boolean;
  /** Remote address (throttling key). */
  address: string;
}

/** Handles one SNAC on an auth connection; undefined when the SNAC is not a BUCP one we serve. */
export async function handleAuthSnac(engine: Engine, conn: AuthConnection, subtype: number, body: Uint8Array): Promise<Reply[] | undefined> {
  if (subtype === S.KEY_REQUEST) return [await keyResponse(engine, decodeKeyRequest(body).screenName)];
  if (subtype === S.LOGIN_REQUEST) return [await login(engine, conn, decodeLoginRequest(body))];
  return undefined;
}

async function keyResponse(engine: Engine, screenName: string): Promise<Reply> {
  const account = await engine.ports.accounts.get(screenName);
  const key = account?.legacyLoginEnabled && account.legacyVerifier
    ? encodeText(account.legacyVerifier.authKey)
    : fakeKey(engine.fakeKeySecret, screenName);
  return reply(F, S.KEY_RESPONSE, encodeKeyResponse(key));
}

/** Fake key: stable per screen name for as long as the secret (shared by every node on one store) lives. */
function fakeKey(fakeKeySecret: Uint8Array, screenName: string): Uint8Array {
  return encodeText(createHmac('sha256', fakeKeySecret).update(normalizeScreenName(screenName)).digest('hex').slice(0, 32));
}

async function login(engine: Engine, conn: AuthConnection, req: SNAC_0x17_0x02_BUCPLoginRequest): Promise<Reply> {
  const now = engine.clock.now();
  const key = normalizeScreenName(req.screenName);
  const fail = (code: number): Reply => reply(F, S.LOGIN_RESPONSE, encodeLoginFailure(req.screenName, code));
  if (req.certimPassword !== undefined && !conn.tls) {
    // The plaintext-password login must never run over plain TCP; refuse without looking at it.
    engine.log('warn', 'certim password login refused on plain TCP', { address: conn.address });
    return fail(LoginError.BAD_INPUT);
  }
  const throttled = engine.throttle.check(key, conn.address, now);
  if (throttled !== 'ok') {
    engine.counters.loginsFailed++;
    return fail(throttled === 'account' ? LoginError.CONNECTING_TOO_OFTEN : LoginError.RATE_LIMITED);
  }
  const account = await engine.ports.accounts.get(req.screenName);
  let ok = false;
  if (account) {
    if (req.certimPassword !== undefined) {
      ok = await engine.ports.passwords.verifyPassword(req.certimPassword, account.passwordHash);
    } else if (req.passwordHash !== undefined && account.legacyLoginEnabled && account.legacyVerifier) {
      ok = engine.ports.passwords.checkLegacyLogin(account.legacyVerifier, req.passwordHash, req.strong);
    }
  }
  if (!ok || !account) {
    engine.throttle.fail(key, conn.address, now);
    engine.counters.loginsFailed++;
    engine.log('info', 'login failed', { screenName: req.screenName, address: conn.address });
    return fail(LoginError.INVALID_SN_OR_PASSWORD);
  }
  if (account.disabled) return fail(LoginError.SUSPENDED);
  engine.throttle.succeed(key);
  engine.counters.loginsOk++;
  const port = conn.tls ? engine.boundPorts.tls : engine.boundPorts.plain;
  const cookie = engine.cookies.issue({ screenName: account.screenName, tls: conn.tls, multiConn: req.multiConn, service: 'bos' }, now);
  return reply(F, S.LOGIN_RESPONSE, encodeLoginSuccess(account.screenName, `${engine.config.advertisedHost}:${port ?? 5190}`, cookie));
}
