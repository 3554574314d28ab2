/**
 * OSCAR services (docs/protocol.md §2.2, §3.1 01/04–01/05): BOS, and later ChatNav, Chat, ... Each is a declared
 * thing: an id, the family table its connections serve, what redeeming its cookie does, what client ready does.
 * A connection learns its service from the redeemed cookie and takes that service's table as a parameter; an
 * `01/04` on any connection asks for another service and gets an `01/05` redirect with a cookie naming it.
 *
 * Adding a service = one module exporting an {@link OscarService} + one line in `services/index.ts`.
 */
import type { CookieClaims } from '../auth/cookie.js';
import type { ServiceId } from '../cluster/directory.js';
import type { Engine } from '../engine.js';
import type { HandlerEnv } from '../handler-env.js';
import type { BosContext, BosFamily, BosHandler } from '../families/family.js';
import type { Session, SessionLink } from '../session/session.js';
import type { TlvList } from '../../wire/tlv.js';

/** One OSCAR service. */
export interface OscarService {
  /** Id carried in cookies and in the directory ('bos', 'chat', ...). */
  id: ServiceId;
  /** Families served on its connections, in the order 01/03 announces them (OService first). */
  families: readonly BosFamily[];
  /**
   * The family an `01/04` names to reach this service (0x000E for chat); undefined when it is reached only by
   * login (BOS). `01/04` for a family no service declares is answered ServiceUnavailable.
   */
  requestFamily?: number;
  /**
   * Checks an `01/04` for this service from `ctx.session` and says what its cookie carries: `{ room }` (or `{}`),
   * or a SNAC error code to answer with. Absent: every request is accepted with no room.
   */
  request?(ctx: BosContext, tlvs: TlvList): Promise<{ room?: Uint8Array } | number> | { room?: Uint8Array } | number;
  /**
   * Redeeming its cookie: creates, loads and registers the session (takeover per the directory's rule, among
   * sessions of this service). A service whose connections a user may hold several of whatever the login flag
   * (chat: one per room) registers them non-exclusive (`startSession(..., { exclusive: false })`); ending the user's
   * other connections when BOS is taken over is the service's business.
   */
  start(engine: Engine, claims: CookieClaims, link: SessionLink): Promise<Session>;
  /** `01/02` client ready. */
  clientReady(env: HandlerEnv, session: Session): Promise<void>;
  /** The connection closed: unregister, tell whom it concerns. Must not throw. */
  end(engine: Engine, session: Session): void;
}

/** A service with its handler lookup compiled (one per service per server). */
export interface CompiledService {
  /** The declaration. */
  service: OscarService;
  /** Families for 01/03. */
  familyIds: readonly number[];
  /** Handler by `family << 16 | subtype`. */
  handlers: ReadonlyMap<number, BosHandler>;
  /** The `family << 16 | subtype` keys whose handlers may overlap on one connection ({@link BosFamily.pipelined}). */
  pipelined: ReadonlySet<number>;
}

/** The services of one server, by id and by `01/04` family. */
export class ServiceTable {
  private readonly byId = new Map<ServiceId, CompiledService>();
  private readonly byFamily = new Map<number, CompiledService>();

  /** @param services the declarations; ids and request families must be unique */
  constructor(services: readonly OscarService[]) {
    for (const service of services) {
      if (this.byId.has(service.id)) throw new RangeError(`duplicate service ${service.id}`);
      const handlers = new Map<number, BosHandler>();
      const pipelined = new Set<number>();
      for (const f of service.families) {
        for (const [sub, h] of Object.entries(f.handlers)) handlers.set((f.family << 16) | Number(sub), h);
        for (const sub of f.pipelined ?? []) {
          if (!(sub in f.handlers)) throw new RangeError(`family ${f.family} pipelines subtype ${sub} it has no handler for`);
          pipelined.add((f.family << 16) | sub);
        }
      }
      const compiled: CompiledService = { service, familyIds: service.families.map((f) => f.family), handlers, pipelined };
      this.byId.set(service.id, compiled);
      if (service.requestFamily !== undefined) {
        if (this.byFamily.has(service.requestFamily)) throw new RangeError(`two services for family ${service.requestFamily}`);
        this.byFamily.set(service.requestFamily, compiled);
      }
    }
  }

  /** The service with this id. */
  get(id: ServiceId): CompiledService | undefined {
    return this.byId.get(id);
  }

  /** The service an `01/04` for `family` reaches. */
  forFamily(family: number): CompiledService | undefined {
    return this.byFamily.get(family);
  }
}
