/**
 * Direct IM for a signed-on client (docs/protocol.md §8.4, §15.1): proposes and accepts Direct IM rendezvous
 * (capability 09461345…, TLS flag 0x0011) through the peer-connection layer, runs one {@link DirectImSession} per
 * buddy, and forwards its messages and typing notices. A buddy's invitation waits until the user accepts it
 * (`open(buddy)` accepts a pending invitation, else proposes one); nothing is accepted automatically.
 *
 * A session is closed when the buddy's certificate changes (the TLS pin was the old certificate) or when we sign
 * off; the owner of the manager hears `closed` and goes back to server IMs.
 */
import { EventEmitter } from 'node:events';
import { capabilityBytes } from '../../wire/capabilities.js';
import type { RendezvousMessage } from '../../wire/rendezvous.js';
import { RvType } from '../../wire/rendezvous.js';
import { normalizeScreenName } from '../../pki/screen-name.js';
import type { CertimClient, SendImOptions, SendResult } from '../client.js';
import { ClientError } from '../errors.js';
import { certFingerprint, trustLevel, type KeyChange } from '../trust.js';
import { DirectImSession, type DirectIncomingIm } from './odc-session.js';
import { declinePeerProposal, isNewProposal, openPeerConnection, sameCapability, type PeerConnection } from './peer-connection.js';

/** The Direct IM capability (docs/protocol.md §5). */
export const CAP_DIRECT_IM = capabilityBytes('DirectIm');
/** How long an unanswered invitation is kept. */
export const DIRECT_IM_INVITATION_MS = 10 * 60_000;
/** Most invitations kept at once (older ones are declined). */
export const DIRECT_IM_MAX_PENDING = 16;

/** Events of a {@link DirectImManager}. */
export interface DirectImManagerEvents {
  /** A buddy asks for a Direct IM: `open(from)` accepts, `decline(from)` declines. */
  invitation: [{ from: string }];
  /** A pending invitation was withdrawn by the buddy. */
  'invitation-cancelled': [{ from: string }];
  /** A Direct IM connection is up. */
  opened: [{ buddy: string; route: PeerConnection['route']; fingerprint: string }];
  /** It went down (error undefined: an orderly close). */
  closed: [{ buddy: string; error: Error | undefined }];
  im: [DirectIncomingIm];
  typing: [{ from: string; event: 'none' | 'paused' | 'typing' }];
}

/** Options of {@link DirectImManager}. */
export interface DirectImManagerOptions {
  /** Passed to every rendezvous (proxy address, timeouts, forceProxy...). */
  peer?: Partial<Omit<Parameters<typeof openPeerConnection>[0], 'client' | 'role'>>;
  /** Clock (tests). */
  now?: () => number;
}

/** Direct IM sessions of one client. See the file comment. */
export class DirectImManager extends EventEmitter<DirectImManagerEvents> {
  private readonly sessions = new Map<string, DirectImSession>();
  private readonly pending = new Map<string, { from: string; proposal: RendezvousMessage; at: number }>();
  private readonly opening = new Map<string, Promise<DirectImSession>>();
  private readonly aborts = new Map<string, AbortController>();
  private readonly now: () => number;
  private stopped = false;
  private readonly onRv = (e: { from: string; message: RendezvousMessage }): void => this.onRendezvous(e.from, e.message);
  private readonly onKeyChange = (k: KeyChange): void => {
    const s = this.sessions.get(normalizeScreenName(k.screenName));
    if (s) s.close(); // pinned to the old certificate: the buddy must connect again with the new one
  };
  private readonly onSignedOff = (): void => this.closeAll();

  constructor(private readonly client: CertimClient, private readonly opts: DirectImManagerOptions = {}) {
    super();
    this.now = opts.now ?? Date.now;
    client.on('rendezvous', this.onRv);
    client.on('key-change', this.onKeyChange);
    client.on('signed-off', this.onSignedOff);
  }

  /** The open session with `buddy`, if any. */
  session(buddy: string): DirectImSession | undefined {
    const s = this.sessions.get(normalizeScreenName(buddy));
    return s?.isOpen ? s : undefined;
  }

  /** True while a Direct IM with `buddy` is up. */
  isOpen(buddy: string): boolean {
    return this.session(buddy) !== undefined;
  }

  /** True when `buddy` invited us and we have not answered. */
  hasInvitation(buddy: string): boolean {
    this.expire();
    return this.pending.has(normalizeScreenName(buddy));
  }

  /**
   * Opens a Direct IM with `buddy`: accepts their pending invitation, else invites them and waits for them to
   * accept. Resolves once the connection is up and confirmed; rejects with the peer layer's error (declined,
   * timeout, certificate mismatch...).
   */
  open(buddy: string): Promise<DirectImSession> {
    const k = normalizeScreenName(buddy);
    const existing = this.session(buddy);
    if (existing) return Promise.resolve(existing);
    const running = this.opening.get(k);
    if (running) return running;
    const p = this.connect(buddy).finally(() => {
      this.opening.delete(k);
      this.aborts.delete(k);
    });
    this.opening.set(k, p);
    return p;
  }

  /**
   * Sends `text` to `to` over the Direct IM connection while one is up, else (or when it fails right now) as a
   * secure server IM (`client.sendIm`, which never falls back to plaintext on its own). Says which way it went.
   */
  async send(to: string, text: string, opts: SendImOptions = {}): Promise<{ direct: true } | { direct: false; result: SendResult; directError?: Error }> {
    const s = this.session(to);
    let directError: Error | undefined;
    if (s) {
      try {
        await s.send(text);
        return { direct: true };
      } catch (e) {
        if (!ClientError.is(e, 'CONNECTION_CLOSED')) throw e; // too long, empty: the server path would refuse too
        directError = e;
      }
    }
    const result = await this.client.sendIm(to, text, opts);
    return directError ? { direct: false, result, directError } : { direct: false, result };
  }

  /** Declines a pending invitation. */
  async decline(buddy: string): Promise<boolean> {
    const k = normalizeScreenName(buddy);
    const inv = this.pending.get(k);
    if (!inv) return false;
    this.pending.delete(k);
    await declinePeerProposal(this.client, inv.from, inv.proposal);
    return true;
  }

  /** Closes the Direct IM with `buddy` (or stops opening it). */
  close(buddy: string): boolean {
    const k = normalizeScreenName(buddy);
    this.aborts.get(k)?.abort();
    const s = this.sessions.get(k);
    if (!s) return this.aborts.has(k);
    s.close();
    return true;
  }

  /** Closes every session and stops listening for invitations. */
  closeAll(): void {
    for (const a of this.aborts.values()) a.abort();
    for (const s of [...this.sessions.values()]) s.close();
  }

  /** Stops for good (the client is closing). */
  stop(): void {
    this.stopped = true;
    this.closeAll();
    this.client.off('rendezvous', this.onRv);
    this.client.off('key-change', this.onKeyChange);
    this.client.off('signed-off', this.onSignedOff);
  }

  private expire(): void {
    const t = this.now();
    for (const [k, v] of this.pending) if (t - v.at > DIRECT_IM_INVITATION_MS) this.pending.delete(k);
  }

  private onRendezvous(from: string, m: RendezvousMessage): void {
    if (!sameCapability(m.capability, CAP_DIRECT_IM) || this.stopped) return;
    const k = normalizeScreenName(from);
    if (m.type === RvType.Cancel) {
      const inv = this.pending.get(k);
      if (inv && inv.proposal.cookie.every((b, i) => b === m.cookie[i])) {
        this.pending.delete(k);
        this.emit('invitation-cancelled', { from });
      }
      return;
    }
    if (!isNewProposal(m)) return; // re-proposals belong to a running rendezvous
    if (!m.tls) {
      // A classic client offering plaintext Direct IM: never accepted (no silent plaintext).
      void declinePeerProposal(this.client, from, m).catch(() => undefined);
      return;
    }
    this.expire();
    if (this.pending.size >= DIRECT_IM_MAX_PENDING && !this.pending.has(k)) {
      void declinePeerProposal(this.client, from, m).catch(() => undefined);
      return;
    }
    this.pending.set(k, { from, proposal: m, at: this.now() });
    this.emit('invitation', { from });
  }

  private async connect(buddy: string): Promise<DirectImSession> {
    if (!this.client.identity) throw new ClientError('NO_KEYS', 'Direct IM needs your certificate: certim keys init first');
    const k = normalizeScreenName(buddy);
    this.expire();
    const inv = this.pending.get(k);
    this.pending.delete(k);
    const abort = new AbortController();
    this.aborts.set(k, abort);
    const common = { ...this.opts.peer, client: this.client, signal: abort.signal };
    const conn = inv
      ? await openPeerConnection({ ...common, role: 'accept', from: inv.from, proposal: inv.proposal })
      : await openPeerConnection({ ...common, role: 'propose', to: buddy, capability: CAP_DIRECT_IM, invitation: 'Direct IM (certim, TLS)' });
    const certs = await this.client.buddyCerts(conn.peer, false).catch(() => undefined);
    const fingerprint = certFingerprint(conn.peerCertificate);
    const session = new DirectImSession({
      stream: conn.socket,
      screenName: this.client.screenName,
      cookie: conn.cookie,
      role: conn.role,
      peer: { screenName: conn.peer, fingerprint, trust: certs ? trustLevel(certs.record) : 'ca' },
    });
    const previous = this.sessions.get(k);
    this.sessions.set(k, session);
    previous?.close();
    let opened = false;
    session.on('im', (m) => this.emit('im', m));
    session.on('typing', (t) => this.emit('typing', t));
    session.once('closed', ({ error }) => {
      if (this.sessions.get(k) === session) this.sessions.delete(k);
      if (opened) this.emit('closed', { buddy: conn.peer, error });
    });
    await session.ready();
    opened = true;
    this.emit('opened', { buddy: conn.peer, route: conn.route, fingerprint });
    return session;
  }
}

