/**
 * Sign-on (docs/protocol.md §2.1–2.2): BUCP login on the login connection, the cookie hand-off to BOS, and the BOS
 * handshake up to "client ready". certim signs on over TLS with its password login (17/02 TLV 0x7C01, checked
 * with scrypt by the server); `md5` mode is the classic challenge login for plain connections.
 */
import { WireError } from '../wire/bytes.js';
import {
  BUCP_FAMILY, BucpSubtype, LOGIN_REASON_TOO_MANY_SESSIONS, LoginError, decodeKeyResponse, decodeLoginResponse, encodeKeyRequest, encodeLoginRequest, strongPasswordHash,
  type SNAC_0x17_0x03_BUCPLoginResponse,
} from '../wire/families/bucp.js';
import { FlapHelloTlv } from '../wire/flap.js';
import { OSERVICE_FAMILY, OServiceSubtype, decodeRateInfo, encodeClientOnline, encodeU16List, encodeVersions, type RateInfo } from '../wire/families/oservice.js';
import { LOCATE_FAMILY, LocateSubtype, encodeSetInfo } from '../wire/families/locate.js';
import { ICBM_FAMILY, IcbmSubtype, encodeParameters } from '../wire/families/icbm.js';
import { BUDDY_FAMILY, BuddySubtype, encodeScreenNameList } from '../wire/families/buddy.js';
import { FEEDBAG_FAMILY, FeedbagSubtype } from '../wire/families/feedbag.js';
import type { Snac } from '../wire/snac.js';
import { tlv } from '../wire/tlv.js';
import { ClientError } from './errors.js';
import { DEFAULT_REQUEST_TIMEOUT_MS, OscarConnection, type OscarConnectionHandlers } from './oscar-connection.js';
import { CLIENT_FAMILIES, CLIENT_ICBM_PARAMETERS, CLIENT_ID } from './protocol.js';
import { parseHostPort, type TransportFactory, type TransportTarget } from './transport.js';

/** How the password travels. */
export type LoginMode = 'certim-tls' | 'md5';

/** What sign-on needs. */
export interface SignOnOptions {
  /** Account screen name. */
  screenName: string;
  /** Account password (sent only over TLS in `certim-tls` mode). */
  password: string;
  /** Login host. */
  server: TransportTarget;
  /** Opens connections (TLS pinned to the CA, or plain). */
  transport: TransportFactory;
  /** Default `certim-tls`. */
  mode?: LoginMode;
  /** Capabilities to announce (02/04 TLV 0x0005). */
  capabilities: Uint8Array[];
  /** Certificate-info block to publish (02/04 TLV 0x0006). */
  certInfo?: Uint8Array;
  /** Client-side buddy list to watch (03/04). */
  buddies: string[];
  /** Handlers for the BOS connection once it is up (unsolicited SNACs before "ready" are queued for them). */
  handlers: OscarConnectionHandlers;
  /** Per-request timeout. */
  timeoutMs?: number;
}

/** The result of a successful sign-on. */
export interface SignOnResult {
  /** The BOS connection, signed on and ready. */
  bos: OscarConnection;
  /** The screen name as the server formats it. */
  screenName: string;
  /** The rate classes the server announced in 01/07 (what the client paces its SNACs by, §3.1). */
  rateInfo: RateInfo;
}

const LOGIN_REASONS: Record<number, string> = {
  [LoginError.INVALID_SN_OR_PASSWORD]: 'invalid screen name or password',
  0x0004: 'invalid screen name or password',
  [LoginError.BAD_PASSWORD]: 'incorrect password',
  [LoginError.BAD_INPUT]: 'the server refused this login method',
  [LoginError.INVALID_ACCOUNT]: 'no such account',
  0x0008: 'account deleted',
  [LoginError.SUSPENDED]: 'account suspended',
  [LoginError.CONNECTING_TOO_OFTEN]: 'connecting too often; wait and retry',
  [LoginError.RATE_LIMITED]: 'too many attempts; wait and retry',
  [LoginError.TEMPORARILY_UNAVAILABLE]: 'service temporarily unavailable',
};

/** Human-readable reason for a BUCP login error code. */
export function loginErrorReason(code: number): string {
  return LOGIN_REASONS[code] ?? `login refused (code 0x${code.toString(16).padStart(4, '0')})`;
}

/** The query of a refused login's error URL (empty when there is none or it is not a URL: the server chose it). */
function errorUrlQuery(url: string | undefined): URLSearchParams {
  try {
    return new URL(url ?? '').searchParams;
  } catch {
    return new URLSearchParams();
  }
}

/** Runs the BUCP login and returns the BOS address and cookie. */
export async function bucpLogin(opts: SignOnOptions): Promise<{ bosAddress: string; cookie: Uint8Array; screenName: string }> {
  const login = await OscarConnection.open(opts.transport, opts.server, [], {}, { timeoutMs: opts.timeoutMs });
  try {
    let reply: Snac;
    if ((opts.mode ?? 'certim-tls') === 'certim-tls') {
      reply = await login.request(BUCP_FAMILY, BucpSubtype.LOGIN_REQUEST, encodeLoginRequest({
        screenName: opts.screenName, certimPassword: opts.password, clientId: CLIENT_ID, multiConn: 1,
      }), { timeoutMs: opts.timeoutMs });
    } else {
      const keyReply = await login.request(BUCP_FAMILY, BucpSubtype.KEY_REQUEST, encodeKeyRequest({ screenName: opts.screenName }), { timeoutMs: opts.timeoutMs });
      if (keyReply.subtype === BucpSubtype.LOGIN_RESPONSE) {
        reply = keyReply; // unknown user: the server answers the key request with a failed 17/03
      } else {
        const key = decodeKeyResponse(keyReply.body);
        reply = await login.request(BUCP_FAMILY, BucpSubtype.LOGIN_REQUEST, encodeLoginRequest({
          screenName: opts.screenName, passwordHash: strongPasswordHash(key, opts.password), strong: true, clientId: CLIENT_ID, multiConn: 1,
        }), { timeoutMs: opts.timeoutMs });
      }
    }
    if (reply.family !== BUCP_FAMILY || reply.subtype !== BucpSubtype.LOGIN_RESPONSE) {
      throw new ClientError('PROTOCOL', `expected a login response, got SNAC ${reply.family}/${reply.subtype}`);
    }
    let res: SNAC_0x17_0x03_BUCPLoginResponse;
    try {
      res = decodeLoginResponse(reply.body);
    } catch (e) {
      // BAD_VALUE: a well-formed reply with neither an error nor a BOS address and cookie.
      if (WireError.is(e, 'BAD_VALUE')) throw new ClientError('PROTOCOL', e.reason);
      throw e;
    }
    if (!res.ok) {
      // A throttled login names its wait in the error URL (docs/protocol.md §2.1): `...?retry-after=<seconds>`.
      // A full account names its limit (docs/protocol.md §2.1): `...?reason=too-many-sessions&max=<n>`.
      const q = errorUrlQuery(res.errorUrl);
      const wait = q.get('retry-after');
      const hint = wait !== null && /^\d+$/.test(wait) ? ` (try again in ${wait} s)` : '';
      const max = q.get('max');
      const places = max === null || !/^\d+$/.test(max) ? 'as many places as this server allows' : `${max} place${max === '1' ? '' : 's'}, the most this server allows`;
      const reason = q.get('reason') === LOGIN_REASON_TOO_MANY_SESSIONS
        ? `${opts.screenName} is already signed on in ${places}; sign off one of them (a running listen or chat) and try again`
        : loginErrorReason(res.errorCode);
      throw new ClientError('LOGIN_FAILED', `sign-on as ${opts.screenName} refused: ${reason}${hint}`, { loginError: res.errorCode });
    }
    return { bosAddress: res.bosAddress, cookie: res.cookie, screenName: res.screenName || opts.screenName };
  } finally {
    login.close();
  }
}

/**
 * Full sign-on: BUCP login, BOS connection with the cookie, then the AIM 5.x handshake (host online, versions,
 * rates, Locate set info with capabilities and certificate block, ICBM parameters, buddy list, client ready).
 * A refused certificate upload fails the sign-on: publishing our certificate is part of being secure.
 */
export async function signOn(opts: SignOnOptions): Promise<SignOnResult> {
  const { bosAddress, cookie, screenName } = await bucpLogin(opts);
  // The BOS address names the server's own listener; keep the host we were told to use when it names a
  // wildcard address, so a server bound to 0.0.0.0 still works.
  let bosTarget = parseHostPort(bosAddress, opts.server.port);
  if (bosTarget.host === '0.0.0.0' || bosTarget.host === '::') bosTarget = { host: opts.server.host, port: bosTarget.port };

  // Unsolicited SNACs that arrive during the handshake (host online first of all) are buffered here.
  const early: Snac[] = [];
  let waiter: { family: number; subtype: number; resolve(s: Snac): void } | undefined;
  let ready = false;
  const bos = await OscarConnection.open(opts.transport, bosTarget, [tlv(FlapHelloTlv.AuthCookie, cookie)], {
    onSnac: (snac) => {
      if (ready) return opts.handlers.onSnac?.(snac);
      if (waiter && snac.family === waiter.family && snac.subtype === waiter.subtype) {
        const w = waiter;
        waiter = undefined;
        w.resolve(snac);
        return;
      }
      early.push(snac);
    },
    onSignOff: (so) => opts.handlers.onSignOff?.(so),
    onClose: (err) => opts.handlers.onClose?.(err),
  }, { timeoutMs: opts.timeoutMs });

  const timeoutMs = opts.timeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
  const waitFor = (family: number, subtype: number): Promise<Snac> => {
    const i = early.findIndex((s) => s.family === family && s.subtype === subtype);
    if (i >= 0) return Promise.resolve(early.splice(i, 1)[0]!);
    return new Promise<Snac>((resolve, reject) => {
      const timer = setTimeout(() => reject(new ClientError('TIMEOUT', `${bos.peer}: no SNAC ${family}/${subtype} within ${timeoutMs} ms`)), timeoutMs);
      waiter = { family, subtype, resolve: (s) => { clearTimeout(timer); resolve(s); } };
    });
  };

  let rateInfo: RateInfo;
  try {
    await waitFor(OSERVICE_FAMILY, OServiceSubtype.HOST_ONLINE);
    await bos.request(OSERVICE_FAMILY, OServiceSubtype.CLIENT_VERSIONS, encodeVersions(CLIENT_FAMILIES), { timeoutMs });
    const rates = await bos.request(OSERVICE_FAMILY, OServiceSubtype.RATE_PARAMS_QUERY, new Uint8Array(0), { timeoutMs });
    rateInfo = decodeRateInfo(rates.body);
    bos.send(OSERVICE_FAMILY, OServiceSubtype.RATE_PARAMS_SUB_ADD, encodeU16List(rateInfo.classes.map((c) => c.id)));
    const published = bos.sendChecked(LOCATE_FAMILY, LocateSubtype.SET_INFO, encodeSetInfo({ capabilities: opts.capabilities, certInfo: opts.certInfo }));
    published.catch(() => undefined);
    await bos.request(LOCATE_FAMILY, LocateSubtype.RIGHTS_QUERY, new Uint8Array(0), { timeoutMs });
    try {
      await published;
    } catch (e) {
      throw certificateRefusal(e);
    }
    bos.send(ICBM_FAMILY, IcbmSubtype.ADD_PARAMETERS, encodeParameters(CLIENT_ICBM_PARAMETERS));
    if (opts.buddies.length > 0) bos.send(BUDDY_FAMILY, BuddySubtype.ADD_BUDDIES, encodeScreenNameList(opts.buddies));
    // Use the server-stored buddy list (docs/protocol.md §3.9): its buddies get presence, its blocks apply.
    bos.send(FEEDBAG_FAMILY, FeedbagSubtype.USE, new Uint8Array(0));
    bos.send(OSERVICE_FAMILY, OServiceSubtype.CLIENT_ONLINE, encodeClientOnline(CLIENT_FAMILIES));
    // Barrier: the server handles a connection's SNACs in order, so once our self-info query is answered it
    // has finished "client ready" — including handing us the IMs it kept while we were offline. Without this a
    // one-shot command could sign off before they arrive, and the server deletes them once handed over.
    try {
      await bos.request(OSERVICE_FAMILY, OServiceSubtype.USER_INFO_QUERY, new Uint8Array(0), { timeoutMs });
    } catch (e) {
      if (!ClientError.is(e, 'SNAC_ERROR')) throw e;
    }
  } catch (e) {
    bos.close();
    throw e;
  }
  ready = true;
  // Hand anything that arrived during the handshake (early arrivals, offline IMs) to the session, in order.
  for (const s of early.splice(0)) opts.handlers.onSnac?.(s);
  return { bos, screenName, rateInfo };
}

/** certim's subcode for a refused certificate upload because the certificate is revoked (docs/protocol.md §10.2). */
const CERT_REJECT_REVOKED = 0x0005;

/**
 * Our certificate block was refused at sign-on (02/04 answered with an error, docs/protocol.md §10.2): say so
 * plainly, with what to do. A revoked certificate is OWN_CERT_REVOKED, anything else OWN_CERT_REFUSED.
 */
function certificateRefusal(e: unknown): ClientError {
  if (!ClientError.is(e, 'SNAC_ERROR')) return ClientError.is(e) ? e : new ClientError('PROTOCOL', (e as Error).message, { cause: e });
  const fix = 'Enroll new keys with your password: certim keys init --force';
  if (e.subcode === CERT_REJECT_REVOKED) {
    return new ClientError('OWN_CERT_REVOKED', `your certificate was revoked by the server's CA, so you cannot send or receive secure IMs (${e.message}). ${fix}`, { cause: e, subcode: e.subcode });
  }
  return new ClientError('OWN_CERT_REFUSED', `the server refused to publish your certificate (${e.message}). ${fix}`, { cause: e, ...(e.subcode !== undefined ? { subcode: e.subcode } : {}) });
}
