/**
 * OService (0x0001) handlers, shared by every service's connections: handshake, rate info, self info, idle, status,
 * cert BART IDs, client ready (the service's own), and 01/04 service requests answered with a 01/05 redirect.
 */
import {
  OSERVICE_FAMILY as F, OServiceSubtype as S, decodeBartQuery2, decodeIdle, decodeServiceRequest, decodeSetUserInfoFields, decodeVersions,
  encodeBartReply2, encodeRateInfo, encodeServiceRedirect, encodeVersions, type RateClassRecord,
} from '../../wire/families/oservice.js';
import { SnacErrorCode } from '../../wire/snac.js';
import { pairsByClass } from '../session/rate-classes.js';
import { userInfoBlock } from '../session/user-info-block.js';
import { errorReply, reply, type BosContext, type BosFamily, type Reply } from './family.js';

function selfInfo(ctx: BosContext): Reply {
  return reply(F, S.USER_INFO_UPDATE, userInfoBlock(ctx.session, ctx.engine.clock.now()));
}

/** Builds 01/07 for the session's declared OService version. */
export function rateInfoBody(ctx: BosContext): Uint8Array {
  const { config } = ctx.engine;
  const handled: Array<[number, number]> = [];
  for (const fam of ctx.service.families) for (const sub of Object.keys(fam.handlers)) handled.push([fam.family, Number(sub)]);
  const pairs = pairsByClass(config.rateClasses, config.rateClassMap, handled);
  const records: RateClassRecord[] = config.rateClasses.map((c) => ({ ...c, current: c.max, lastTime: 0, dropping: false }));
  return encodeRateInfo(records, pairs, ctx.session.oserviceVersion >= 2);
}

/**
 * 01/04 -> 01/05: a cookie naming the service (and room) that the client presents on a new connection to the same
 * host and port kind it is on now (TLS stays TLS). Unknown families and refused requests get an error SNAC.
 */
async function serviceRequest(ctx: BosContext, body: Uint8Array): Promise<Reply[]> {
  const { engine, session: s } = ctx;
  const req = decodeServiceRequest(body);
  const target = engine.services.forFamily(req.family);
  if (!target || target.service === ctx.service) return [errorReply(F, SnacErrorCode.ServiceUnavailable)];
  const verdict = target.service.request ? await target.service.request(ctx, req.tlvs) : {};
  if (typeof verdict === 'number') return [errorReply(F, verdict)];
  const tls = s.link.tls;
  const port = tls ? engine.boundPorts.tls : engine.boundPorts.plain;
  const claims = { screenName: s.screenName, tls, multiConn: s.multiConn, service: target.service.id, ...(verdict.room ? { room: verdict.room } : {}) };
  const cookie = engine.cookies.issue(claims, engine.clock.now());
  const redirect = encodeServiceRedirect({ family: req.family, address: `${engine.config.advertisedHost}:${port ?? 5190}`, cookie, ...(tls ? {} : { sslState: 0 }) });
  return [reply(F, S.SERVICE_REDIRECT, redirect)];
}

/** OService, on every service's connections. */
export const oserviceFamily: BosFamily = {
  family: F,
  version: 4,
  handlers: {
    // Lenient on purpose: a client whose 01/02 tuple list we cannot parse must still become ready (COMPAT).
    [S.CLIENT_ONLINE]: (ctx) => ctx.service.clientReady(ctx.engine, ctx.session),
    [S.CLIENT_VERSIONS]: (ctx, body) => {
      // An odd-length list is read as far as it goes, so the client still gets its 01/18 (COMPAT).
      const list = decodeVersions(body.subarray(0, body.length - (body.length % 4)));
      const os = list.find((v) => v.family === F);
      if (os) ctx.session.oserviceVersion = os.version;
      // R echoes the client's list; we answer with what we serve, at the client's version where it asked.
      const served = ctx.service.families.map((fam) => ({ family: fam.family, version: list.find((v) => v.family === fam.family)?.version ?? fam.version }));
      return [reply(F, S.HOST_VERSIONS, encodeVersions(served))];
    },
    [S.RATE_PARAMS_QUERY]: (ctx) => [reply(F, S.RATE_PARAMS_REPLY, rateInfoBody(ctx))],
    [S.RATE_PARAMS_SUB_ADD]: () => {},
    [S.USER_INFO_QUERY]: (ctx) => [selfInfo(ctx)],
    [S.IDLE_NOTIFICATION]: (ctx, body) => {
      const secs = decodeIdle(body);
      const s = ctx.session;
      s.idleSince = secs === 0 ? 0 : ctx.engine.clock.now() - secs * 1000;
      s.touch();
      return ctx.engine.presence.broadcast(s);
    },
    [S.SET_USER_INFO_FIELDS]: (ctx, body) => {
      const f = decodeSetUserInfoFields(body);
      if (f.status !== undefined) ctx.session.status = f.status;
      ctx.session.touch();
      return ctx.engine.presence.broadcast(ctx.session).then(() => [selfInfo(ctx)]);
    },
    [S.BART_QUERY2]: (_ctx, body) => {
      // joustsim sends its cert hash BART IDs here (PROTOCOL §6.4); we echo each with code 0 (§9.4, inferred).
      const ids = decodeBartQuery2(body);
      return [reply(F, S.BART_REPLY2, encodeBartReply2(ids.map((id) => ({ query: id, code: 0, reply: id }))))];
    },
    [S.SERVICE_REQUEST]: serviceRequest,
    [S.SET_PRIVACY_FLAGS]: () => {},
    [S.NOOP]: () => {},
    [0x0c]: () => {},
  },
};
