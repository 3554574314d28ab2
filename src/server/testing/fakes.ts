/**
 * Tiny in-memory fakes of the server ports and of a session link, for handler unit tests (
 * small fakes, not generated mocks). Not used in production code.
 */
import { createHash } from 'node:crypto';
import { normalizeScreenName } from '../../pki/screen-name.js';
import { Engine } from '../engine.js';
import type { EngineConfig } from '../config.js';
import type { AccountRecord, CertificateCheck, FeedbagItemRecord, OfflineMessageRecord, ServerPorts } from '../ports.js';
import { Session, type SessionLink, type SnacSendOptions } from '../session/session.js';

/** A SNAC captured by a {@link FakeLink}. */
export interface SentSnac {
  /** Family. */
  family: number;
  /** Subtype. */
  subtype: number;
  /** Body. */
  body: Uint8Array;
  /** Options. */
  options: SnacSendOptions | undefined;
}

/** A session link that records what it was asked to send. */
export class FakeLink implements SessionLink {
  /** Sent SNACs. */
  readonly sent: SentSnac[] = [];
  /** Sign-off reasons received (undefined = no reason). */
  readonly signOffs: Array<number | undefined> = [];
  /** Always IPv4 203.0.113.7. */
  readonly remoteIpv4 = Uint8Array.from([203, 0, 113, 7]);
  /** Plain TCP. */
  readonly tls = false;
  readonly kind = 'tcp' as const;
  /** Bytes "not yet written" (a test sets it to make the link look backed up). */
  pendingOutput = 0;
  /** Set by a test: the connection closed under what was sent. */
  closed = false;
  /** Records. */
  sendSnac(family: number, subtype: number, body: Uint8Array, options?: SnacSendOptions): boolean {
    this.sent.push({ family, subtype, body: body.slice(), options });
    return true;
  }
  /** Records. */
  signOff(reason?: number): void {
    this.signOffs.push(reason);
  }
  /** Sent SNACs of (family, subtype). */
  of(family: number, subtype: number): SentSnac[] {
    return this.sent.filter((s) => s.family === family && s.subtype === subtype);
  }
}

/** In-memory state behind {@link fakePorts}. */
export interface FakeState {
  /** Accounts by key. */
  accounts: Map<string, AccountRecord>;
  /** Cert blocks by key. */
  certs: Map<string, Uint8Array>;
  /** Feedbags by key. */
  feedbags: Map<string, FeedbagItemRecord[]>;
  /** Offline queues by key. */
  offline: Map<string, OfflineMessageRecord[]>;
  /** Permit/deny by key. */
  pd: Map<string, { mode: number; permit: string[]; deny: string[] }>;
  /** Certificate verdicts by DER hex (default ok). */
  certVerdicts: Map<string, CertificateCheck>;
  /** Next offline id. */
  nextId: number;
}

/** Fake ports over a FakeState; `users` become accounts (password = legacy hash check always false). */
export function fakePorts(users: string[]): { ports: ServerPorts; state: FakeState } {
  const state: FakeState = { accounts: new Map(), certs: new Map(), feedbags: new Map(), offline: new Map(), pd: new Map(), certVerdicts: new Map(), nextId: 1 };
  for (const u of users) state.accounts.set(normalizeScreenName(u), { screenName: u, passwordHash: 'x', legacyLoginEnabled: false, legacyVerifier: null, disabled: false });
  const k = normalizeScreenName;
  const ports: ServerPorts = {
    accounts: { get: async (sn) => state.accounts.get(k(sn)) ?? null },
    passwords: { verifyPassword: async (pw, hash) => hash === `plain:${pw}`, checkLegacyLogin: () => false },
    userInfo: {
      get: async (sn) => {
        const b = state.certs.get(k(sn));
        return { certBlock: b ?? null, certHash: b ? md5(b) : null };
      },
      setCertBlock: async (sn, block) => {
        if (block === null) {
          state.certs.delete(k(sn));
          return null;
        }
        state.certs.set(k(sn), block);
        return md5(block);
      },
    },
    feedbag: {
      get: async (sn) => ({ items: state.feedbags.get(k(sn)) ?? [], lastModified: 0 }),
      apply: async (sn, changes) => {
        const items = state.feedbags.get(k(sn)) ?? [];
        state.feedbags.set(k(sn), items);
        return changes.map(({ op, item }) => {
          const i = items.findIndex((x) => x.groupId === item.groupId && x.itemId === item.itemId);
          if (op === 'insert') {
            if (i >= 0) return 0x0a;
            items.push(item);
          } else if (i < 0) return 0x02;
          else if (op === 'update') items[i] = item;
          else items.splice(i, 1);
          return 0;
        });
      },
    },
    permitDeny: {
      get: async (sn) => state.pd.get(k(sn)) ?? { mode: 1, permit: [], deny: [] },
      setMode: async (sn, mode) => {
        const cur = state.pd.get(k(sn)) ?? { mode: 1, permit: [], deny: [] };
        state.pd.set(k(sn), { ...cur, mode });
      },
      add: async (sn, list, names) => {
        const cur = state.pd.get(k(sn)) ?? { mode: 1, permit: [], deny: [] };
        cur[list] = [...new Set([...cur[list], ...names.map(k)])];
        state.pd.set(k(sn), cur);
      },
      remove: async (sn, list, names) => {
        const cur = state.pd.get(k(sn)) ?? { mode: 1, permit: [], deny: [] };
        const before = cur[list].length;
        cur[list] = cur[list].filter((n) => !names.map(k).includes(n));
        state.pd.set(k(sn), cur);
        return before - cur[list].length;
      },
    },
    offline: {
      enqueue: async (m, max) => {
        const q = state.offline.get(k(m.recipient)) ?? [];
        if (q.length >= max) throw Object.assign(new Error('full'), { code: 'STORE_LIMIT' });
        q.push({ id: state.nextId++, sender: m.sender, channel: m.channel, cookie: m.cookie, payload: m.payload, sentAt: m.sentAt });
        state.offline.set(k(m.recipient), q);
      },
      fetch: async (r, limit) => (state.offline.get(k(r)) ?? []).slice(0, limit),
      ack: async (r, ids) => {
        const q = state.offline.get(k(r)) ?? [];
        state.offline.set(k(r), q.filter((m) => !ids.includes(m.id)));
        return q.length - (state.offline.get(k(r))?.length ?? 0);
      },
    },
    certificates: {
      checkCertificate: async (_sn, der) => state.certVerdicts.get(Buffer.from(der).toString('hex')) ?? { ok: true },
    },
  };
  return { ports, state };
}

function md5(b: Uint8Array): Uint8Array {
  return new Uint8Array(createHash('md5').update(b).digest());
}

/** An engine over fake ports with a settable clock. */
export function fakeEngine(users: string[], config: Partial<EngineConfig> = {}): { engine: Engine; state: FakeState; clock: { t: number } } {
  const { ports, state } = fakePorts(users);
  const clock = { t: 1_700_000_000_000 };
  const engine = new Engine({ ports, config, clock: { now: () => clock.t } });
  return { engine, state, clock };
}

/**
 * Registers a ready BOS session with a FakeLink: local registry, directory entry and presence snapshot. The
 * in-process directory does this synchronously, so the session is online when this returns.
 */
export function readySession(engine: Engine, screenName: string, multiConn = 0): { session: Session; link: FakeLink } {
  const link = new FakeLink();
  const session = new Session(screenName, link, engine.clock.now(), { id: engine.nextSessionId(), node: engine.directory.node, service: 'bos', multiConn });
  engine.registry.add(session);
  void engine.directory.register({ address: session.address, user: session.key, service: 'bos', exclusive: session.exclusive });
  session.ready = true;
  engine.presence.reindex(session);
  void engine.presence.broadcast(session);
  return { session, link };
}
