/**
 * Away messages and profiles over Locate (docs/protocol.md §3.2): `02/04` sets ours (TLVs 0x0001-0x0004; an empty
 * away text means "back"), `02/15` with flags 0x01 | 0x02 reads a signed-on user's. Texts travel as UTF-8 with the
 * MIME type `text/aolrtf; charset="utf-8"`; other charsets a classic client may send are read too.
 */
import { InfoQueryFlag, LOCATE_FAMILY, LocateSubtype, LocateTlv, decodeUserInfoReply, encodeSetInfo, encodeUserInfoQuery2 } from '../wire/families/locate.js';
import type { Snac } from '../wire/snac.js';
import { latin1Decode } from '../wire/bytes.js';
import { ClientError } from './errors.js';

/** What the Locate helpers need from a signed-on client (CertimClient has it). */
export interface LocateRequester {
  /** Sends a SNAC and resolves with its reply. */
  request(family: number, subtype: number, body: Uint8Array): Promise<Snac>;
  /** Sends a SNAC with no reply on success; rejects when refused. */
  sendChecked(family: number, subtype: number, body: Uint8Array): Promise<void>;
}

/** A user's profile and away state, as another user sees them. */
export interface UserDetails {
  /** Screen name as the server formats it. */
  screenName: string;
  /** Away message, when away. */
  away?: string;
  /** Profile text, when set. */
  profile?: string;
  /** Minutes idle, when idle. */
  idleMinutes?: number;
  /** Signed on since. */
  onlineSince?: Date;
}

/** The MIME type certim sends texts with. */
export const TEXT_MIME = 'text/aolrtf; charset="utf-8"';

/** Most bytes of a profile or away text (the server's announced limit, §3.2). */
export const MAX_INFO_BYTES = 4096;

function encodeText(text: string, what: string): Uint8Array {
  const b = new TextEncoder().encode(text);
  if (b.length > MAX_INFO_BYTES) throw new ClientError('BAD_ARGUMENT', `the ${what} is too long: ${b.length} bytes, at most ${MAX_INFO_BYTES}`);
  return b;
}

/** Goes away with `message`, or comes back with undefined (an empty away TLV, §3.2). */
export async function setAway(c: LocateRequester, message: string | undefined): Promise<void> {
  const away = message === undefined || message.trim() === '' ? new Uint8Array(0) : encodeText(message, 'away message');
  await setInfo(c, encodeSetInfo({ awayMime: TEXT_MIME, away }));
}

/** Sets our profile (empty text clears it). */
export async function setProfile(c: LocateRequester, text: string): Promise<void> {
  await setInfo(c, encodeSetInfo({ profileMime: TEXT_MIME, profile: encodeText(text, 'profile') }));
}

async function setInfo(c: LocateRequester, body: Uint8Array): Promise<void> {
  const done = c.sendChecked(LOCATE_FAMILY, LocateSubtype.SET_INFO, body);
  done.catch(() => undefined);
  // 02/04 has no reply; a later request's reply proves no error is coming (the server answers in order).
  await c.request(LOCATE_FAMILY, LocateSubtype.RIGHTS_QUERY, new Uint8Array(0));
  await done;
}

/** A signed-on user's profile and away message; NO_SUCH_USER when they are not signed on (or hide from us). */
export async function getDetails(c: LocateRequester, screenName: string): Promise<UserDetails> {
  let reply: Snac;
  try {
    reply = await c.request(LOCATE_FAMILY, LocateSubtype.USER_INFO_QUERY2, encodeUserInfoQuery2({ flags: InfoQueryFlag.PROFILE | InfoQueryFlag.AWAY, screenName }));
  } catch (e) {
    if (ClientError.is(e, 'SNAC_ERROR')) throw new ClientError('NO_SUCH_USER', `${screenName} is not signed on (or there is no such user); profiles and away messages are only shown while signed on`, { snacError: e.snacError ?? 0 });
    throw e;
  }
  const info = decodeUserInfoReply(reply.body);
  const out: UserDetails = { screenName: info.user.screenName || screenName };
  const away = info.tlvs.bytes(LocateTlv.AWAY);
  if (away && away.length > 0) out.away = decodeInfoText(away, info.tlvs.string(LocateTlv.AWAY_MIME));
  const profile = info.tlvs.bytes(LocateTlv.PROFILE);
  if (profile && profile.length > 0) out.profile = decodeInfoText(profile, info.tlvs.string(LocateTlv.PROFILE_MIME));
  const idle = info.user.idleMinutes;
  if (idle) out.idleMinutes = idle;
  const since = info.user.onlineSince;
  if (since) out.onlineSince = new Date(since * 1000);
  return out;
}

/** Decodes a profile or away text by the charset in its MIME type (UTF-16BE "unicode-2-0", Latin-1, else UTF-8). */
export function decodeInfoText(bytes: Uint8Array, mime: string | undefined): string {
  const cs = /charset="?([^";]+)"?/i.exec(mime ?? '')?.[1]?.toLowerCase();
  if (cs === 'unicode-2-0' || cs === 'utf-16be') {
    return new TextDecoder('utf-16be').decode(bytes.subarray(0, bytes.length & ~1));
  }
  if (cs === 'iso-8859-1' || cs === 'latin1') return latin1Decode(bytes);
  return new TextDecoder('utf-8').decode(bytes);
}
