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
import type { CertificateRole } from '../ports.js';
import { normalizeScreenName } from '../../pki/screen-name.js';
import { representative } from '../cluster/directory.js';
import { snapshotLets, visibleTo } from '../session/presence.js';
import { offlineUserInfoBlock, userInfoBlock } from '../session/user-info-block.js';
import { errorReply, reply, type BosContext, type BosFamily, type Reply } from './family.js';

/** Subcodes in TLV 0x0008 of the 02/01 error refusing a certificate upload (certim; stable). */
export const CertRejectSubcode: Readonly<Record<string, number>> = {
  MALFORMED: 0x0001,
  UNTRUSTED: 0x0002,
  WRONG_NAME: 0x0003,
  EXPIRED: 0x0004,
  NOT_YET_VALID: 0x0004,
  REVOKED: 0x0005,
  TOO_LARGE: 0x0006,
  OTHER: 0x00ff,
};

function certRefusal(code: string, reason: string): Reply {
  const sub = CertRejectSubcode[code] ?? CertRejectSubcode.OTHER!;
  const tlvs = writeTlvRestList(new ByteWriter(64), [tlvU16(0x0008, sub), tlvString(0x001b, `${code}: ${reason}`.slice(0, 200))]).finish();
  return errorReply(F, SnacErrorCode.RequestDenied, tlvs);
}

async function setCertInfo(ctx: BosContext, block: Uint8Array): Promise<Reply[] | undefined> {
  const { engine, session } = ctx;
  if (block.length > engine.config.maxCertBlockLength) return [certRefusal('TOO_LARGE', `block over ${engine.config.maxCertBlockLength} bytes`)];
  let info;
  try {
    info = decodeCertificateInfo(block);
  } catch (e) {
    if (WireError.is(e)) return [certRefusal('MALFORMED', e.reason)];
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
      engine.log('info', 'certificate upload refused', { screenName: session.screenName, code: res.code });
      return [certRefusal(res.code, res.reason)];
    }
  }
  // Stored verbatim; the hash is over exactly these bytes (PROTOCOL §4.2).
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
    // Signed on only on another node: its published block and the stored certificates; profile and away text live
    // in that node's session and are not served from here.
    const rep = representative(await engine.directory.sessionsOf(key));
    if (rep && snapshotLets(rep.presence, session.key)) {
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
      if (info.profileMime !== undefined) s.profileMime = info.profileMime;
      if (info.profile !== undefined) s.profile = info.profile.slice();
      if (info.awayMime !== undefined) s.awayMime = info.awayMime;
      if (info.away !== undefined) {
        const next = info.away.length === 0 ? undefined : info.away.slice();
        changed ||= (next === undefined) !== (s.away === undefined);
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

