/** The BOS service (docs/protocol.md §2.2): the connection a login's cookie leads to; presence, IMs, lists. */
import { BOS_FAMILIES } from '../families/index.js';
import { clientReady, endSession, startSession } from '../session/lifecycle.js';
import type { OscarService } from './service.js';

/** BOS. */
export const bosService: OscarService = {
  id: 'bos',
  families: BOS_FAMILIES,
  start: (engine, claims, link) => startSession(engine, claims, link),
  clientReady: (engine, session) => clientReady(engine, session),
  end: (engine, session) => endSession(engine, session),
};
