/**
 * The ChatNav service (docs/protocol.md §3.6): reached by `01/04` for family 0x000D, it serves the room directory
 * (create-or-join, room and exchange info). A ChatNav connection receives nothing from other sessions, so its
 * session is neither in the local registry nor in the delivery directory: it never counts as the user being
 * online and never displaces anything.
 */
import { chatNavFamily } from '../families/chat-nav.js';
import { oserviceFamily } from '../families/oservice.js';
import { CHATNAV_FAMILY } from '../../wire/families/chat-nav.js';
import { Session } from '../session/session.js';
import type { OscarService } from './service.js';

/** ChatNav. */
export const chatNavService: OscarService = {
  id: 'chatnav',
  families: [oserviceFamily, chatNavFamily],
  requestFamily: CHATNAV_FAMILY,
  start: (engine, claims, link) =>
    Promise.resolve(new Session(claims.screenName, link, engine.clock.now(), { id: engine.nextSessionId(), node: engine.directory.node, service: 'chatnav', multiConn: claims.multiConn, exclusive: false })),
  clientReady: (_env, s) => {
    s.ready = true;
    return Promise.resolve();
  },
  end: (_engine, s) => {
    s.closed = true;
  },
};
