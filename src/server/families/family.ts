/**
 * The contract between the connection loop and the per-family modules: a family declares its id, version and
 * subtype handlers in one file; a handler gets the session and the body and returns replies for its own
 * connection. Output to any other session (IMs, events, presence, room fan-out) goes through the engine's delivery
 * directory (`engine.directory`, cluster/directory.ts), never to another session's link.
 */
import type { HandlerEnv } from '../handler-env.js';
import type { OscarService } from '../services/service.js';
import type { Session } from '../session/session.js';

/** A reply to the requesting connection. `requestId` defaults to the request's id. */
export interface Reply {
  /** Family. */
  family: number;
  /** Subtype. */
  subtype: number;
  /** Body bytes. */
  body: Uint8Array;
  /** SNAC flags (default 0). */
  flags?: number;
  /** Request id (default: echo the request). */
  requestId?: number;
}

/**
 * What a handler sees: the same object for every SNAC of a connection (built once when its cookie is redeemed).
 * Replies carry the request's id unless they set their own (`Reply.requestId`).
 */
export interface BosContext {
  /** The handler's view of the server (ports, directory, presence, config, clock): not the engine itself. */
  readonly engine: HandlerEnv;
  /** The signed-on session. */
  readonly session: Session;
  /** The service of the connection (its family table for 01/03, 01/07, 01/18). */
  readonly service: OscarService;
}

/** A handler: returns replies (possibly none). May throw WireError (-> error 0x0E reply). */
export type BosHandler = (ctx: BosContext, body: Uint8Array) => Promise<Reply[] | void> | Reply[] | void;

/** One SNAC family served on a service's connections. */
export interface BosFamily {
  /** Family id. */
  family: number;
  /** Version announced in 01/18. */
  version: number;
  /** Handlers by subtype. */
  handlers: Readonly<Record<number, BosHandler>>;
  /**
   * Subtypes whose handlers may overlap on one connection while an earlier one of this set still waits (an IM to a
   * user on another node waits for that node's answer). The connection sends their replies in the client's order;
   * such a handler must start its cross-session output synchronously (the directory dispatches in call order) and
   * order whatever it does after the directory answers itself (icbm.ts, `afterEarlierIms`).
   */
  pipelined?: readonly number[];
}

/** Builds a reply. */
export function reply(family: number, subtype: number, body: Uint8Array, extra: { flags?: number; requestId?: number } = {}): Reply {
  return { family, subtype, body, ...extra };
}

/** Builds a SNAC error reply (subtype 0x0001) with a u16 code and optional raw TLV bytes after it. */
export function errorReply(family: number, code: number, tlvBytes?: Uint8Array): Reply {
  const body = new Uint8Array(2 + (tlvBytes?.length ?? 0));
  body[0] = code >> 8;
  body[1] = code & 0xff;
  if (tlvBytes) body.set(tlvBytes, 2);
  return { family, subtype: 0x0001, body };
}
