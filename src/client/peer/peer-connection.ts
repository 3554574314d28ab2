/**
 * Peer connections: the AIM rendezvous (ICBM channel 2, docs/protocol.md §8.1–§8.3) that gets two signed-on users
 * a direct byte stream, always inside TLS pinned to the buddy's published certificate (§8.6). File transfer
 * (oft-*.ts), Direct IM and Get File run on top of the stream this module returns.
 *
 * ## API (stable; other peer services build on it)
 *
 *   const conn = await openPeerConnection({ client, role: 'propose', to: 'bob', capability, serviceData });
 *   client.on('rendezvous', ({ from, message }) => {
 *     if (isNewProposal(message) && sameCapability(message, capability))
 *       openPeerConnection({ client, role: 'accept', from, proposal: message });   // or declinePeerProposal(...)
 *   });
 *
 * `openPeerConnection` resolves with a {@link PeerConnection}: `socket` is a connected TLS Duplex whose peer
 * presented exactly `peer`'s current signing certificate (CA-valid, not revoked, checked with the client's trust
 * and revocation code before the handshake); `role` says which side proposed (Direct IM: the acceptor sends the
 * first ODC header), `route` how the stream got through ('direct', 'reverse' or 'proxy'). It rejects with a
 * {@link PeerError}: PEER_CANCELLED (the peer declined or cancelled; `cancelReason`), PEER_CERT_MISMATCH /
 * PEER_NO_CERT (wrong or missing certificate: the connection is refused, nothing is sent), PEER_TIMEOUT,
 * PROXY_REFUSED, ABORTED (`signal`), or a ClientError from the client (NO_BUDDY_CERT, BUDDY_REVOKED,
 * CRL_UNAVAILABLE, BUDDY_OFFLINE). On any failure the peer is sent a cancel.
 *
 * ## The sequence of attempts (docs/protocol.md §8.2, AIM's order)
 *
 * 1. The proposer listens and proposes its address (request index 1, TLV 0x0011 = TLS). The acceptor sends an
 *    accept and connects: TLS client; the listener is the TLS server.
 * 2. If that fails, the acceptor listens and proposes its own address (index 2, "reverse"); the proposer connects.
 * 3. If that fails too, the side that failed opens a proxy session (init-send, ack), proposes the proxy's address
 *    and PIN (index 3, TLV 0x0010); the other side joins with init-recv; after ready both start TLS on the same
 *    socket, the init-send side as TLS server.
 * Each wait has a timeout ({@link PeerTimeouts}); the side that waits in vain moves to the proxy itself, or gives up
 * with a cancel (reason 2, timeout). `forceProxy` skips the direct attempts (both sides honour their own setting).
 * If both sides propose at once, the higher request index wins, then the smaller screen name.
 *
 * ## Classic clients without TLS (docs/protocol.md §8.7)
 *
 * `openPeerConnection` only ever returns a TLS stream: a proposal without TLV 0x0011, or an accept of our TLS
 * proposal without it (what classic clients send: they ignore the flag and would talk in the clear), ends the
 * rendezvous with PEER_INSECURE and a cancel, before any byte of the service moves. `openClassicPeerConnection`
 * with `insecureClassic: true` is the explicit opt-in: as proposer it proposes WITHOUT TLS; as acceptor it follows
 * the proposal (TLS when it carries 0x0011, plain otherwise). The mode is fixed by the first proposal: a later
 * message of the same rendezvous that disagrees ends it (no downgrade half-way).
 */
import { randomBytes } from 'node:crypto';
import { createServer, connect, type Server, type Socket } from 'node:net';
import { networkInterfaces } from 'node:os';
import type { TLSSocket } from 'node:tls';
import {
  RvCancelReason, RvType, cancelReasonText, encodeRendezvous, proposalAddresses, type RendezvousMessage,
} from '../../wire/rendezvous.js';
import { normalizeScreenName, sameScreenName } from '../../pki/screen-name.js';
import type { CertimClient } from '../client.js';
import { keyChangedRefusal, verifiedKeyChanged } from '../trust.js';
import { PeerError } from './peer-error.js';
import { securePeerSocket } from './peer-tls.js';
import { ProxySession } from './proxy-session.js';

/** The default port of certim's rendezvous proxy (`certim server --proxy-port`, default OSCAR port + 3). */
export const DEFAULT_PROXY_PORT = 5193;

/** How long each step may take. */
export interface PeerTimeouts {
  /** The proposer waits this long for the buddy to accept (a person decides). Default 10 min. */
  acceptMs: number;
  /** One TCP connect attempt to one address. Default 5 s. */
  connectMs: number;
  /** After an accept or a re-proposal, waiting for the other side's next move. Default 30 s. */
  stageMs: number;
  /** Proxy handshake steps (connect, ack). Default 10 s. */
  proxyMs: number;
  /** The TLS handshake. Default 15 s. */
  tlsMs: number;
}

/** Default {@link PeerTimeouts}. */
export const DEFAULT_PEER_TIMEOUTS: PeerTimeouts = { acceptMs: 600_000, connectMs: 5_000, stageMs: 30_000, proxyMs: 10_000, tlsMs: 15_000 };

/** Timer seam (tests). */
export interface PeerTimers {
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

/** What the peer layer needs from the signed-on client ({@link CertimClient} has all of it). */
export type PeerHost = Pick<CertimClient, 'screenName' | 'identity' | 'serverHost' | 'sendRendezvous' | 'buddyCerts' | 'on' | 'off'>;

/** A connected, certificate-pinned peer stream. */
export interface PeerConnection {
  /** The TLS stream; the peer's certificate is `peerCertificate`. */
  socket: TLSSocket;
  /** The buddy at the other end. */
  peer: string;
  /** The rendezvous cookie (OFT headers and the ODC handshake repeat it). */
  cookie: Uint8Array;
  /** The service capability. */
  capability: Uint8Array;
  /** Which side of the rendezvous we are. */
  role: 'proposer' | 'acceptor';
  /** How the connection was made. */
  route: 'direct' | 'reverse' | 'proxy';
  /** Our TLS role (listener / init-send side = server). */
  tlsRole: 'server' | 'client';
  /** The buddy's signing certificate the peer presented (DER; equal to the published one). */
  peerCertificate: Uint8Array;
  /** The first proposal of the rendezvous (service data, invitation text). */
  proposal: RendezvousMessage;
  /** Always true here; see {@link PlainPeerConnection}. */
  encrypted: true;
}

/**
 * A peer stream WITHOUT TLS, with a classic client (§8.7): no encryption, no certificate, nothing authenticates
 * the peer beyond the server's word that the rendezvous came from that screen name. Only
 * {@link openClassicPeerConnection} returns one.
 */
export interface PlainPeerConnection extends Omit<PeerConnection, 'socket' | 'tlsRole' | 'peerCertificate' | 'encrypted'> {
  socket: Socket;
  encrypted: false;
}

/** Progress notes for a UI. */
export type PeerStage =
  | { stage: 'proposed'; index: number; via: 'direct' | 'proxy' }
  | { stage: 'accepted' }
  | { stage: 'connecting'; address: string }
  | { stage: 'proxy'; host: string; port: number };

interface CommonOptions {
  /** The signed-on client. */
  client: PeerHost;
  /** Where the rendezvous proxy listens (default: the server host, port 5193). */
  proxy?: { host: string; port: number };
  /** Skip direct attempts (default false). */
  forceProxy?: boolean;
  /** The IPv4 address to advertise (default: the first non-loopback interface address; the server adds the one it sees). */
  advertise?: string;
  /** The IPv6 address to advertise (default: the first global interface address, if any). */
  advertise6?: string;
  /** Timeouts (defaults {@link DEFAULT_PEER_TIMEOUTS}). */
  timeouts?: Partial<PeerTimeouts>;
  /** Timer seam (tests). */
  timers?: PeerTimers;
  /** Cancels the rendezvous (the peer is sent a cancel). */
  signal?: AbortSignal;
  /** Progress notes. */
  onStage?: (s: PeerStage) => void;
  /**
   * Only with {@link openClassicPeerConnection}: allow a connection WITHOUT TLS, for classic clients (§8.7). The
   * proposer proposes without 0x0011; the acceptor follows the proposal. Never set it without the user asking.
   */
  insecureClassic?: boolean;
}

/** Propose a peer connection to `to`. */
export interface ProposeOptions extends CommonOptions {
  role: 'propose';
  /** The buddy. */
  to: string;
  /** The 16-byte service capability. */
  capability: Uint8Array;
  /** Service data (TLV 0x2711), e.g. the send-file block. */
  serviceData?: Uint8Array;
  /** Invitation text (TLV 0x000C). */
  invitation?: string;
  /** The cookie (default random). */
  cookie?: Uint8Array;
  /** Called once the first proposal is sent (e.g. to remember the cookie for a cancel). */
  onProposed?: (cookie: Uint8Array) => void;
}

/** Accept a proposal the client emitted as `rendezvous`. */
export interface AcceptOptions extends CommonOptions {
  role: 'accept';
  /** Who proposed. */
  from: string;
  /** The proposal. */
  proposal: RendezvousMessage;
}

/** True for the first proposal of a new rendezvous (not a re-proposal of a running one). */
export function isNewProposal(m: RendezvousMessage): boolean {
  return m.type === RvType.Propose && (m.requestIndex ?? 1) === 1;
}

/** True when two capabilities are the same 16 bytes. */
export function sameCapability(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

/** Opens a peer connection (see the file comment): always TLS, pinned; a plain peer gets PEER_INSECURE. */
export async function openPeerConnection(o: ProposeOptions | AcceptOptions): Promise<PeerConnection> {
  const conn = await new Rendezvous({ ...o, insecureClassic: false }).run();
  if (!conn.encrypted) throw new PeerError('PEER_INSECURE', 'internal: a plain connection without the opt-in');
  return conn;
}

/**
 * Like {@link openPeerConnection}, but with `insecureClassic: true` a connection without TLS is allowed (§8.7):
 * the result says which one it is (`encrypted`). Without the option it behaves exactly like openPeerConnection.
 */
export function openClassicPeerConnection(o: ProposeOptions | AcceptOptions): Promise<PeerConnection | PlainPeerConnection> {
  return new Rendezvous(o).run();
}

/** The message for a peer that would talk without TLS while we did not allow it. */
function insecureRefusal(peer: string, what: string): PeerError {
  return new PeerError('PEER_INSECURE', `${peer} ${what} without TLS (a classic client), i.e. WITHOUT encryption: refused, nothing was ` +
    'sent or received. An unencrypted transfer needs your explicit consent (certim file send/receive --insecure-classic)');
}

/** Declines a proposal: sends a cancel with `reason` (default: declined). */
export async function declinePeerProposal(client: PeerHost, from: string, proposal: RendezvousMessage, reason: number = RvCancelReason.Declined): Promise<void> {
  await client.sendRendezvous(from, encodeRendezvous({ type: RvType.Cancel, cookie: proposal.cookie, capability: proposal.capability, cancelReason: reason }));
}

type Event =
  | { kind: 'rv'; msg: RendezvousMessage }
  | { kind: 'conn'; conn: PeerConnection | PlainPeerConnection }
  | { kind: 'fail'; error: Error }
  | { kind: 'timer'; generation: number }
  | { kind: 'abort' };

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

function ipv4Bytes(s: string): Uint8Array | undefined {
  const m = /^(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(s);
  if (!m) return undefined;
  const b = m.slice(1, 5).map(Number);
  return b.every((x) => x <= 255) ? new Uint8Array(b) : undefined;
}

function ipv6Bytes(s: string): Uint8Array | undefined {
  if (!s.includes(':')) return undefined;
  const [head, tail] = s.split('::') as [string, string | undefined];
  const parse = (p: string | undefined): number[] => (p ? p.split(':').filter((x) => x !== '').map((x) => parseInt(x, 16)) : []);
  const h = parse(head);
  const t = parse(tail);
  const words = tail === undefined ? h : [...h, ...new Array<number>(8 - h.length - t.length).fill(0), ...t];
  if (words.length !== 8 || words.some((w) => !Number.isInteger(w) || w < 0 || w > 0xffff)) return undefined;
  const out = new Uint8Array(16);
  words.forEach((w, i) => {
    out[2 * i] = w >> 8;
    out[2 * i + 1] = w & 0xff;
  });
  return out;
}

function defaultAddresses(): { v4: string | undefined; v6: string | undefined } {
  let v4: string | undefined;
  let v6: string | undefined;
  for (const list of Object.values(networkInterfaces())) {
    for (const a of list ?? []) {
      if (a.internal) continue;
      if (a.family === 'IPv4' && !v4) v4 = a.address;
      if (a.family === 'IPv6' && !v6 && !a.address.toLowerCase().startsWith('fe80')) v6 = a.address;
    }
  }
  return { v4, v6 };
}

/** One rendezvous, from the first proposal to a pinned TLS stream (or a failure). */
class Rendezvous {
  private readonly host: PeerHost;
  private readonly peer: string;
  private readonly cookie: Uint8Array;
  private readonly capability: Uint8Array;
  private readonly role: 'proposer' | 'acceptor';
  private readonly t: PeerTimeouts;
  private readonly timers: PeerTimers;
  private firstProposal: RendezvousMessage | undefined;
  private readonly queue: Event[] = [];
  private wake: (() => void) | undefined;
  private expected: Uint8Array = new Uint8Array(0);
  private accepted = false;
  /** Our outstanding proposal: its index and how it is served. */
  private mine: { index: number; via: 'direct' | 'proxy' } | undefined;
  private readonly servers: Server[] = [];
  private readonly proxies: ProxySession[] = [];
  private readonly sockets = new Set<Socket>();
  private timer: unknown;
  private timerGeneration = 0;
  /** The TLS socket handed to the caller, and the raw socket under each TLS socket we made. */
  private winner: Socket | undefined;
  private readonly rawOf = new WeakMap<Socket, Socket>();
  /** TLS (the default) or the classic plain mode; fixed by the first proposal. */
  private tlsMode: boolean;
  private readonly onRv = (e: { from: string; message: RendezvousMessage }): void => {
    if (!sameScreenName(e.from, this.peer) || !sameBytes(e.message.cookie, this.cookie)) return;
    this.push({ kind: 'rv', msg: e.message });
  };
  private readonly onAbort = (): void => this.push({ kind: 'abort' });

  constructor(private readonly o: ProposeOptions | AcceptOptions) {
    this.host = o.client;
    this.t = { ...DEFAULT_PEER_TIMEOUTS, ...o.timeouts };
    this.timers = o.timers ?? { setTimeout: (fn, ms) => setTimeout(fn, ms), clearTimeout: (h) => clearTimeout(h as ReturnType<typeof setTimeout>) };
    if (o.role === 'propose') {
      this.peer = o.to;
      this.cookie = o.cookie ?? randomBytes(8);
      this.capability = o.capability;
      this.role = 'proposer';
      this.tlsMode = o.insecureClassic !== true;
    } else {
      this.peer = o.from;
      this.cookie = o.proposal.cookie;
      this.capability = o.proposal.capability;
      this.role = 'acceptor';
      this.firstProposal = o.proposal;
      this.tlsMode = o.proposal.tls === true || o.insecureClassic !== true;
    }
  }

  private push(e: Event): void {
    this.queue.push(e);
    const w = this.wake;
    this.wake = undefined;
    w?.();
  }

  private async next(): Promise<Event> {
    while (this.queue.length === 0) await new Promise<void>((r) => (this.wake = r));
    return this.queue.shift()!;
  }

  private armTimer(ms: number): void {
    if (this.timer !== undefined) this.timers.clearTimeout(this.timer);
    const generation = ++this.timerGeneration;
    this.timer = this.timers.setTimeout(() => this.push({ kind: 'timer', generation }), ms);
    (this.timer as { unref?: () => void }).unref?.();
  }

  async run(): Promise<PeerConnection | PlainPeerConnection> {
    this.host.on('rendezvous', this.onRv);
    this.o.signal?.addEventListener('abort', this.onAbort);
    try {
      if (this.o.signal?.aborted) throw new PeerError('ABORTED', 'cancelled');
      if (this.role === 'acceptor' && this.firstProposal!.tls !== true && this.tlsMode) throw insecureRefusal(this.peer, 'offers a connection');
      if (this.tlsMode) {
        if (!this.host.identity) throw new PeerError('PEER_NO_CERT', 'you have no keys: peer connections need your certificate (certim keys init)');
        // The buddy's CURRENT published signing certificate, verified (CA, name, CRL) by the client: the pin.
        const certs = await this.host.buddyCerts(this.peer, true);
        if (!certs) throw new PeerError('PEER_NO_CERT', `${this.peer} publishes no certificate: a secure peer connection is impossible`);
        // A key that changed since the user verified it may be the server's own (it runs the CA): as for IMs, no
        // file, listing or direct IM goes to it, and none is taken from it, until the user decides.
        if (verifiedKeyChanged(certs.record)) throw new PeerError('KEY_CHANGED', keyChangedRefusal(certs.record, 'no peer connection'));
        this.expected = certs.signingDer;
      }
      let conn: PeerConnection | PlainPeerConnection | undefined;
      if (this.o.role === 'propose') await this.propose(1, this.o.forceProxy ? 'proxy' : 'direct');
      else conn = await this.answer(this.firstProposal!);
      while (!conn) conn = await this.step();
      this.winner = conn.socket;
      return conn;
    } catch (e) {
      // Tell the peer, unless it ended the rendezvous itself or never heard of it.
      if (!PeerError.is(e, 'PEER_CANCELLED') && (this.role === 'acceptor' || this.firstProposal !== undefined)) {
        await this.sendCancel(PeerError.is(e, 'PEER_TIMEOUT') ? RvCancelReason.Timeout : this.role === 'acceptor' && (PeerError.is(e, 'ABORTED') || PeerError.is(e, 'PEER_INSECURE')) ? RvCancelReason.Declined : RvCancelReason.Unknown);
      }
      throw e;
    } finally {
      this.cleanUp();
    }
  }

  /** One event of the main loop; resolves with the connection once there is one. */
  private async step(): Promise<PeerConnection | PlainPeerConnection | undefined> {
    const ev = await this.next();
    switch (ev.kind) {
      case 'conn':
        return ev.conn;
      case 'fail':
        throw ev.error;
      case 'abort':
        throw new PeerError('ABORTED', `the connection with ${this.peer} was cancelled`);
      case 'timer':
        if (ev.generation !== this.timerGeneration) return undefined;
        if (this.mine?.via === 'direct' && !this.o.forceProxy && (this.accepted || this.mine.index > 1)) {
          // Nobody connected and the peer said nothing more: try the proxy ourselves.
          await this.propose(this.mine.index + 1, 'proxy');
          return undefined;
        }
        throw new PeerError('PEER_TIMEOUT', this.accepted || this.role === 'acceptor'
          ? `could not connect with ${this.peer}: no route worked in time (direct, reverse, proxy)`
          : `${this.peer} did not answer the offer in time`);
      case 'rv': {
        const m = ev.msg;
        if (m.type === RvType.Cancel) throw new PeerError('PEER_CANCELLED', `${this.peer} ${cancelReasonText(m.cancelReason)}`, { cancelReason: m.cancelReason ?? 0 });
        if (m.type === RvType.Accept) {
          // Our TLS proposal accepted without 0x0011: a classic client, which would connect and talk in the clear.
          if (this.tlsMode && m.tls !== true) throw insecureRefusal(this.peer, 'accepted');
          if (!this.accepted) this.o.onStage?.({ stage: 'accepted' });
          this.accepted = true;
          if (this.mine) this.armTimer(this.t.stageMs + this.t.connectMs * 2);
          return undefined;
        }
        // A (re-)proposal from the peer: same security mode as the rendezvous, or it ends here.
        if (this.tlsMode && m.tls !== true) throw insecureRefusal(this.peer, 're-proposed the connection');
        if (!this.tlsMode && m.tls === true) throw new PeerError('PEER_PROTOCOL', `${this.peer} switched a plain rendezvous to TLS half-way`);
        // If ours is outstanding, the higher index wins, then the smaller name.
        if (this.mine) {
          const theirs = m.requestIndex ?? 1;
          const keepOurs = this.mine.index > theirs || (this.mine.index === theirs && normalizeScreenName(this.host.screenName) < normalizeScreenName(this.peer));
          if (keepOurs) return undefined;
          this.dropMine();
        }
        this.accepted = true;
        return this.answer(m);
      }
    }
  }

  /** Closes our outstanding proposal's listener / proxy session. */
  private dropMine(): void {
    this.mine = undefined;
    for (const s of this.servers.splice(0)) s.close();
    for (const p of this.proxies.splice(0)) p.close();
  }

  private rv(m: Omit<RendezvousMessage, 'cookie' | 'capability'>): Uint8Array {
    return encodeRendezvous({ ...m, cookie: this.cookie, capability: this.capability });
  }

  private async sendCancel(reason: number): Promise<void> {
    try {
      await this.host.sendRendezvous(this.peer, this.rv({ type: RvType.Cancel, cancelReason: reason }));
    } catch {
      // Best effort: the peer's own timeouts end its side.
    }
  }

  private serviceFields(): Partial<RendezvousMessage> {
    if (this.o.role !== 'propose') return {};
    return {
      ...(this.o.serviceData ? { serviceData: this.o.serviceData } : {}),
      ...(this.o.invitation !== undefined ? { invitation: this.o.invitation } : {}),
    };
  }

  /** Makes proposal number `index`: listen and propose our address, or open a proxy session and propose it. */
  private async propose(index: number, via: 'direct' | 'proxy'): Promise<void> {
    this.dropMine();
    this.mine = { index, via };
    const route = via === 'proxy' ? 'proxy' : index === 1 ? 'direct' : 'reverse';
    let msg: Omit<RendezvousMessage, 'cookie' | 'capability'>;
    if (via === 'direct') {
      const server = createServer();
      this.servers.push(server);
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(0, () => resolve());
      });
      server.on('connection', (s) => {
        this.sockets.add(s);
        this.secure(s, 'server', route);
      });
      const port = (server.address() as { port: number }).port;
      const defaults = defaultAddresses();
      const v4 = ipv4Bytes(this.o.advertise ?? defaults.v4 ?? '127.0.0.1') ?? new Uint8Array([127, 0, 0, 1]);
      const v6Text = this.o.advertise6 ?? defaults.v6;
      const v6 = v6Text ? ipv6Bytes(v6Text) : undefined;
      msg = { type: RvType.Propose, requestIndex: index, address: v4, clientAddress: v4, port, ...(v6 ? { address6: v6 } : {}), ...this.tlsFlag(), hostCheck: true, ...this.serviceFields() };
    } else {
      const target = this.o.proxy ?? { host: this.host.serverHost, port: DEFAULT_PROXY_PORT };
      this.o.onStage?.({ stage: 'proxy', host: target.host, port: target.port });
      const session = await ProxySession.open(target.host, target.port, this.t.proxyMs);
      this.proxies.push(session);
      const ack = await session.initSend(this.host.screenName, this.cookie, this.capability, this.t.proxyMs);
      msg = { type: RvType.Propose, requestIndex: index, address: ack.ipv4, port: ack.port, viaProxy: true, ...this.tlsFlag(), ...this.serviceFields() };
      // The proxy keeps a session for its pairing time; our stage timer decides how long we wait.
      session.ready(0x7fffffff).then(
        (s) => this.secure(s, 'server', 'proxy'),
        (e: unknown) => {
          if (this.mine?.via === 'proxy' && this.proxies.includes(session)) this.push({ kind: 'fail', error: e as Error });
        },
      );
    }
    await this.host.sendRendezvous(this.peer, this.rv(msg));
    if (index === 1) (this.o as ProposeOptions).onProposed?.(this.cookie);
    if (index === 1 && this.role === 'proposer') this.firstProposal = { ...msg, cookie: this.cookie, capability: this.capability };
    this.o.onStage?.({ stage: 'proposed', index, via });
    this.armTimer(index === 1 && !this.accepted ? this.t.acceptMs : this.t.stageMs + this.t.connectMs * 2);
  }

  /** TLV 0x0011 in our messages: present exactly when the rendezvous is TLS. */
  private tlsFlag(): { tls?: true } {
    return this.tlsMode ? { tls: true } : {};
  }

  /** TLS over a fresh stream; the result (or a refusal) goes to the event queue. */
  private secure(s: Socket, tlsRole: 'server' | 'client', route: PeerConnection['route']): void {
    this.secureNow(s, tlsRole, route).then(
      (conn) => this.push({ kind: 'conn', conn }),
      (e: unknown) => this.push({ kind: 'fail', error: e as Error }),
    );
  }

  private async secureNow(s: Socket, tlsRole: 'server' | 'client', route: PeerConnection['route']): Promise<PeerConnection | PlainPeerConnection> {
    const proposal = this.firstProposal ?? { type: RvType.Propose, cookie: this.cookie, capability: this.capability };
    if (!this.tlsMode) {
      // The classic opt-in (§8.7): the TCP stream as it is.
      this.rawOf.set(s, s);
      return { socket: s, peer: this.peer, cookie: this.cookie, capability: this.capability, role: this.role, route, proposal, encrypted: false };
    }
    const socket = await securePeerSocket(s, { role: tlsRole, credentials: this.host.identity!.signing, expected: this.expected, peer: this.peer, timeoutMs: this.t.tlsMs });
    this.rawOf.set(socket, s);
    return {
      socket, peer: this.peer, cookie: this.cookie, capability: this.capability, role: this.role, route, tlsRole,
      peerCertificate: this.expected, proposal, encrypted: true,
    };
  }

  /** The peer proposed `m`: accept it and connect (directly or through the proxy); else make the next proposal. */
  private async answer(m: RendezvousMessage): Promise<PeerConnection | PlainPeerConnection | undefined> {
    const index = m.requestIndex ?? 1;
    if (m.viaProxy) {
      await this.host.sendRendezvous(this.peer, this.rv({ type: RvType.Accept, ...this.tlsFlag() }));
      const target = this.o.proxy ?? { host: this.host.serverHost, port: DEFAULT_PROXY_PORT };
      const named = proposalAddresses(m).ipv4[0];
      const host = named ?? target.host;
      this.o.onStage?.({ stage: 'proxy', host, port: target.port });
      const session = await ProxySession.open(host, target.port, this.t.proxyMs);
      this.proxies.push(session);
      session.initRecv(this.host.screenName, m.port ?? 0, this.cookie, this.capability);
      const s = await session.ready(this.t.proxyMs + this.t.stageMs);
      return this.secureNow(s, 'client', 'proxy');
    }
    if (this.o.forceProxy) {
      await this.propose(index + 1, 'proxy');
      return undefined;
    }
    await this.host.sendRendezvous(this.peer, this.rv({ type: RvType.Accept, ...this.tlsFlag() }));
    const route = index === 1 ? 'direct' : 'reverse';
    const { ipv4, ipv6 } = proposalAddresses(m);
    for (const address of [...ipv4, ...ipv6]) {
      if (m.port === undefined) break;
      this.o.onStage?.({ stage: 'connecting', address });
      const s = await this.tcp(address, m.port);
      if (s) return this.secureNow(s, 'client', route);
    }
    await this.propose(index + 1, index < 2 ? 'direct' : 'proxy');
    return undefined;
  }

  /** One TCP connect with the connect timeout; undefined when it fails. */
  private tcp(host: string, port: number): Promise<Socket | undefined> {
    return new Promise((resolve) => {
      const s = connect({ host, port });
      this.sockets.add(s);
      const t = setTimeout(() => {
        s.destroy();
        resolve(undefined);
      }, this.t.connectMs);
      s.once('connect', () => {
        clearTimeout(t);
        s.removeAllListeners('error');
        resolve(s);
      });
      s.once('error', () => {
        clearTimeout(t);
        s.destroy();
        resolve(undefined);
      });
    });
  }

  private cleanUp(): void {
    if (this.timer !== undefined) this.timers.clearTimeout(this.timer);
    this.host.off('rendezvous', this.onRv);
    this.o.signal?.removeEventListener('abort', this.onAbort);
    for (const srv of this.servers.splice(0)) srv.close();
    // Everything that did not become the connection is closed; connections that arrive late are dropped.
    for (const e of this.queue.splice(0)) if (e.kind === 'conn') e.conn.socket.destroy();
    const keep = this.winner ? this.rawOf.get(this.winner) : undefined;
    for (const p of this.proxies.splice(0)) if (p.socket !== keep) p.close();
    for (const sock of this.sockets) if (sock !== keep) sock.destroy();
    this.sockets.clear();
  }
}
