/**
 * Locate (0x0002) handlers: rights, set info (profile, away, capabilities, certificate-info block) and user-info
 * queries. A cert-info upload is accepted only when every certificate in it passes the CertificateChecker
 * (chain, name binding to this screen name, validity, revocation); otherwise the old block stays and the client
 * gets SNAC error 0x000D with TLV 0x0008 = a certim reject subcode (see {@link CertRejectSubcode}).
 */
import { ByteWriter, WireError } from '../../wire/bytes.js';
import { encodeCapabilityBlock } from '../../wire/capabilities.js';
import { decodeCertificateInfo, isClearedCertificateInfo } from '../../wire/cert-info.js';
import {
  InfoQueryFlag, LOCATE_FAMILY as F, LocateSubtype as S, LocateTlv, decodeSetInfo, decodeUserInfoQuery, decodeUserInfoQuery2,
  encodeRights, encodeUserInfoReply, type LocateUserInfoQuery,
} from '../../wire/families/locate.js';
import { SnacErrorCode } from '../../wire/snac.js';
import { tlv, tlvString, tlvU16, writeTlvRestList, type Tlv } from '../../wire/tlv.js';
import { storedPermits } from '../session/stored-privacy.js';
import { LogEvent } from '../log.js';
import type { CertificateRole } from '../ports.js';
import { normalizeScreenName } from '../../pki/screen-name.js';
import { representative } from '../cluster/directory.js';
import { snapshotLets, visibleTo } from '../session/presence.js';
import { offlineUserInfoBlock, userInfoBlock } from '../session/user-info-block.js';
import { errorReply, reply, type BosContext, type BosFamily, type Reply } from './family.js';

/**
 * Subcodes in TLV 0x0008 of the 02/01 error (code 0x0D) refusing a certificate upload (certim extension, stable;
 * docs/protocol.md §6.1). 0x00FF is only for a verifier code this table does not know yet.
 */
export const CertRejectSubcode = {
  /** Not a parseable cert-info block or certificate, or a critical extension we cannot process. */
  MALFORMED: 0x0001,
  /** No chain to a trusted CA: unknown issuer, or a signature in the chain does not verify. */
  UNTRUSTED: 0x0002,
  /** The certificate does not name the uploading screen name. */
  WRONG_NAME: 0x0003,
  /** Outside its validity period (expired or not yet valid). */
  EXPIRED: 0x0004,
  /** Revoked by its CA. */
  REVOKED: 0x0005,
  /** The block is larger than the advertised maximum (02/03 TLV 0x0004). */
  TOO_LARGE: 0x0006,
  /** keyUsage/extKeyUsage do not allow the certificate's role (encryption, signing, or both for numcerts 1). */
  WRONG_KEY_USAGE: 0x0007,
  /** A weak key (RSA under 2048 bits) or a weak signature algorithm (MD5, SHA-1). */
  WEAK: 0x0008,
  /** Revocation status was required and could not be established. */
  REVOCATION_UNKNOWN: 0x0009,
  /** Any other refusal. */
  OTHER: 0x00ff,
} as const;

/** The subcode for a refusal code (the PKI verifier's stable codes, plus this module's own). */
export function certRejectSubcode(code: string): number {
  switch (code) {
    case 'MALFORMED': case 'UNSUPPORTED_CRITICAL_EXTENSION': return CertRejectSubcode.MALFORMED;
    case 'UNTRUSTED': case 'UNTRUSTED_ISSUER': case 'BAD_SIGNATURE': case 'ISSUER_NOT_CA': case 'PATH_LENGTH_EXCEEDED':
    case 'NAME_CONSTRAINTS_VIOLATION': case 'UNSUPPORTED_NAME_CONSTRAINT': return CertRejectSubcode.UNTRUSTED;
    case 'WRONG_NAME': return CertRejectSubcode.WRONG_NAME;
    case 'EXPIRED': case 'NOT_YET_VALID': return CertRejectSubcode.EXPIRED;
    case 'REVOKED': return CertRejectSubcode.REVOKED;
    case 'TOO_LARGE': return CertRejectSubcode.TOO_LARGE;
    case 'WRONG_KEY_USAGE': return CertRejectSubcode.WRONG_KEY_USAGE;
    case 'WEAK_KEY': case 'WEAK_ALGORITHM': return CertRejectSubcode.WEAK;
    case 'REVOCATION_UNKNOWN': case 'REVOCATION_STALE': return CertRejectSubcode.REVOCATION_UNKNOWN;
    default: return CertRejectSubcode.OTHER;
  }
}

function certRefusal(code: string, reason: string): Reply {
  const sub = certRejectSubcode(code);
  const tlvs = writeTlvRestList(new ByteWriter(64), [tlvU16(0x0008, sub), tlvString(0x001b, `${code}: ${reason}`.slice(0, 200))]).finish();
  return errorReply(F, SnacErrorCode.RequestDenied, tlvs);
}

async function setCertInfo(ctx: BosContext, block: Uint8Array): Promise<Reply[] | undefined> {
  const { engine, session } = ctx;
  if (block.length > engine.config.maxCertBlockLength) {
    engine.log('warn', LogEvent.CERT_UPLOAD_REFUSED, { screenName: session.screenName, code: 'TOO_LARGE', length: block.length });
    return [certRefusal('TOO_LARGE', `block over ${engine.config.maxCertBlockLength} bytes`)];
  }
  let info;
  try {
    info = decodeCertificateInfo(block);
  } catch (e) {
    if (WireError.is(e)) {
      engine.log('warn', LogEvent.CERT_UPLOAD_REFUSED, { screenName: session.screenName, code: 'MALFORMED' });
      return [certRefusal('MALFORMED', e.reason)];
    }
    throw e;
  }
  if (isClearedCertificateInfo(info)) {
    await engine.ports.userInfo.setCertBlock(session.screenName, null);
    session.certHash = undefined;
    session.touch();
    return undefined;
  }
  const now = new Date(engine.clock.now());
  const toCheck: Array<[Uint8Array | undefined, CertificateRole]> = info.numCerts === 1 ? [[info.certA, 'common']] : [[info.certA, 'encrypt'], [info.certB, 'sign']];
  for (const [der, role] of toCheck) {
    if (der === undefined) continue;
    const res = await engine.ports.certificates.checkCertificate(session.screenName, der, now, role);
    if (!res.ok) {
      engine.log('warn', LogEvent.CERT_UPLOAD_REFUSED, { screenName: session.screenName, code: res.code, role });
      return [certRefusal(res.code, res.reason)];
    }
  }
  // Stored verbatim; the hash is over exactly these bytes (docs/protocol.md §4.2).
  const hash = await engine.ports.userInfo.setCertBlock(session.screenName, block.slice());
  session.certHash = hash ?? undefined;
  session.touch();
  return undefined;
}

async function answerQuery(ctx: BosContext, q: LocateUserInfoQuery): Promise<Reply[]> {
  const { engine, session } = ctx;
  const key = normalizeScreenName(q.screenName);
  const target = engine.registry.readyByKey(key);
  const online = target !== undefined && visibleTo(target, session.key);
  const tlvs: Tlv[] = [];
  let infoBlock: Uint8Array;
  if (!target) {
    // Signed on only on another node: its published block, its profile and away text as published with its
    // presence snapshot, and the stored certificates.
    const entries = await engine.directory.sessionsOf(key);
    const rep = representative(entries);
    if (rep && snapshotLets(rep.presence, session.key)) {
      const l = rep.presence.locate;
      // The profile is the user's: the representative session's, else any session's that set one.
      const p = l?.profile !== undefined ? l : entries.find((e) => e.presence?.locate?.profile !== undefined)?.presence?.locate;
      if (q.flags & InfoQueryFlag.PROFILE && p?.profile !== undefined) {
        if (p.profileMime !== undefined) tlvs.push(tlvString(LocateTlv.PROFILE_MIME, p.profileMime));
        tlvs.push(tlv(LocateTlv.PROFILE, p.profile));
      }
      if (q.flags & InfoQueryFlag.AWAY && l?.away !== undefined) {
        tlvs.push(tlvString(LocateTlv.AWAY_MIME, l.awayMime ?? 'text/aolrtf; charset="us-ascii"'));
        tlvs.push(tlv(LocateTlv.AWAY, l.away));
      }
      if (q.flags & InfoQueryFlag.CERTIFICATES) {
        const stored = await engine.ports.userInfo.get(q.screenName);
        if (stored.certBlock) tlvs.push(tlv(LocateTlv.CERT_INFO, stored.certBlock));
      }
      return [reply(F, S.USER_INFO_REPLY, encodeUserInfoReply(rep.presence.info, tlvs))];
    }
  }
  if (online) {
    infoBlock = userInfoBlock(target, engine.clock.now());
    if (q.flags & InfoQueryFlag.PROFILE) {
      if (target.profileMime !== undefined) tlvs.push(tlvString(LocateTlv.PROFILE_MIME, target.profileMime));
      if (target.profile !== undefined) tlvs.push(tlv(LocateTlv.PROFILE, target.profile));
    }
    if (q.flags & InfoQueryFlag.AWAY && target.away !== undefined) {
      tlvs.push(tlvString(LocateTlv.AWAY_MIME, target.awayMime ?? 'text/aolrtf; charset="us-ascii"'));
      tlvs.push(tlv(LocateTlv.AWAY, target.away));
    }
    if (q.flags & InfoQueryFlag.CAPABILITIES) tlvs.push(tlv(LocateTlv.CAPABILITIES, encodeCapabilityBlock(target.capabilities)));
  } else {
    // Certificates of an offline user are served too (needed to encrypt an IM that waits offline), unless the
    // user's stored privacy hides them from the requester. Everything else needs the user online (R: 0x04).
    if (!(q.flags & InfoQueryFlag.CERTIFICATES) || target !== undefined) return [errorReply(F, SnacErrorCode.NotLoggedOn)];
    const account = await engine.ports.accounts.get(q.screenName);
    if (!account || !(await storedPermits(ctx.engine, q.screenName, ctx.session.key))) return [errorReply(F, SnacErrorCode.NotLoggedOn)];
    const stored = await engine.ports.userInfo.get(q.screenName);
    infoBlock = offlineUserInfoBlock(account.screenName, stored.certHash ?? undefined);
    if (stored.certBlock) tlvs.push(tlv(LocateTlv.CERT_INFO, stored.certBlock));
    return [reply(F, S.USER_INFO_REPLY, encodeUserInfoReply(infoBlock, tlvs))];
  }
  if (q.flags & InfoQueryFlag.CERTIFICATES && target.certHash !== undefined) {
    const stored = await engine.ports.userInfo.get(target.screenName);
    if (stored.certBlock) tlvs.push(tlv(LocateTlv.CERT_INFO, stored.certBlock));
  }
  return [reply(F, S.USER_INFO_REPLY, encodeUserInfoReply(infoBlock, tlvs))];
}

function sameCaps(a: readonly Uint8Array[], b: readonly Uint8Array[]): boolean {
  return a.length === b.length && a.every((x, i) => Buffer.compare(x, b[i]!) === 0);
}

/** Locate on BOS. */
export const locateFamily: BosFamily = {
  family: F,
  version: 1,
  handlers: {
    [S.RIGHTS_QUERY]: (ctx) => {
      const c = ctx.engine.config;
      return [reply(F, S.RIGHTS_REPLY, encodeRights({ maxProfile: c.maxProfileLength, maxCapabilities: c.maxCapabilities, maxCertBlock: c.maxCertBlockLength }))];
    },
    [S.SET_INFO]: async (ctx, body) => {
      const info = decodeSetInfo(body);
      const s = ctx.session;
      const c = ctx.engine.config;
      let changed = false;
      if ((info.profile?.length ?? 0) > c.maxProfileLength || (info.away?.length ?? 0) > c.maxProfileLength) {
        return [errorReply(F, SnacErrorCode.MalformedPayload)];
      }
      // A new profile or away text is published too (the directory carries it to the other nodes' 02/05 answers).
      if (info.profileMime !== undefined) s.profileMime = info.profileMime;
      if (info.profile !== undefined) {
        changed ||= s.profile === undefined || Buffer.compare(s.profile, info.profile) !== 0;
        s.profile = info.profile.slice();
      }
      if (info.awayMime !== undefined) s.awayMime = info.awayMime;
      if (info.away !== undefined) {
        const next = info.away.length === 0 ? undefined : info.away.slice();
        changed ||= (next === undefined) !== (s.away === undefined) || (next !== undefined && Buffer.compare(next, s.away!) !== 0);
        s.away = next;
      }
      if (info.capabilities !== undefined) {
        const caps = info.capabilities.slice(0, c.maxCapabilities).map((x) => x.slice());
        changed ||= !sameCaps(caps, s.capabilities);
        s.capabilities = caps;
      }
      let replies: Reply[] | undefined;
      if (info.certInfo !== undefined) {
        const before = s.certHash;
        replies = await setCertInfo(ctx, info.certInfo);
        changed ||= before === undefined ? s.certHash !== undefined : s.certHash === undefined || Buffer.compare(before, s.certHash) !== 0;
      }
      s.touch();
      if (changed) await ctx.engine.presence.broadcast(s);
      return replies;
    },
    [S.USER_INFO_QUERY]: (ctx, body) => answerQuery(ctx, decodeUserInfoQuery(body)),
    [S.USER_INFO_QUERY2]: (ctx, body) => answerQuery(ctx, decodeUserInfoQuery2(body)),
    [S.SET_DIR_INFO]: () => [reply(F, S.SET_DIR_REPLY, new Uint8Array([0, 1]))],
    [S.SET_KEYWORD_INFO]: () => [reply(F, S.SET_KEYWORD_REPLY, new Uint8Array([0, 1]))],
  },
};

