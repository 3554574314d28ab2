/**
 * Get File for a signed-on client (docs/protocol.md §8.5, §15.2): the requester proposes a rendezvous with the Get
 * File capability (09461348…), its service data and the TLS flag; the owner's sharing session accepts it, connects,
 * and serves the shared folder over the pinned TLS stream (getfile-share.ts).
 *
 * Sharing is off unless a {@link ShareServer} runs (`certim file share DIR`); it answers only TLS proposals, at most
 * {@link SHARE_MAX_SESSIONS} at a time, and only from the screen names it was told to allow (everyone with a valid
 * certificate when no list is given). Everything else is declined.
 */
import { EventEmitter } from 'node:events';
import { realpath, stat } from 'node:fs/promises';
import { capabilityBytes } from '../../wire/capabilities.js';
import { encodeGetFileServiceData } from '../../wire/getfile.js';
import { RvCancelReason, type RendezvousMessage } from '../../wire/rendezvous.js';
import { normalizeScreenName } from '../../pki/screen-name.js';
import type { CertimClient } from '../client.js';
import { ClientError } from '../errors.js';
import { certFingerprint, trustLevel } from '../trust.js';
import { GetFileClient } from './getfile-client.js';
import { serveShare, type ShareEvent } from './getfile-share.js';
import type { PinnedPeer } from './odc-session.js';
import { declinePeerProposal, isNewProposal, openPeerConnection, sameCapability, type PeerConnection } from './peer-connection.js';

/** The Get File capability (docs/protocol.md §5). */
export const CAP_GET_FILE = capabilityBytes('GetFile');
/** Concurrent Get File sessions one sharing session serves. */
export const SHARE_MAX_SESSIONS = 4;
/** How long a requester waits for the owner's sharing session to accept (it accepts at once when it runs). */
export const GETFILE_ACCEPT_MS = 30_000;

type PeerOptions = Partial<Omit<Parameters<typeof openPeerConnection>[0], 'client' | 'role'>>;

async function pinnedPeer(client: CertimClient, conn: PeerConnection): Promise<PinnedPeer> {
  const certs = await client.buddyCerts(conn.peer, false).catch(() => undefined);
  return { screenName: conn.peer, fingerprint: certFingerprint(conn.peerCertificate), trust: certs ? trustLevel(certs.record) : 'ca' };
}

/**
 * Asks `buddy` for their shared folder. Resolves with a {@link GetFileClient} once the pinned connection is up
 * (its `root()` is the listing the owner sends first); rejects with the peer layer's error — PEER_TIMEOUT with a
 * clear message when nobody answers (the buddy shares nothing).
 */
export async function requestGetFile(client: CertimClient, buddy: string, peer: PeerOptions = {}): Promise<GetFileClient> {
  if (!client.identity) throw new ClientError('NO_KEYS', 'Get File needs your certificate: certim keys init first');
  let conn: PeerConnection;
  try {
    conn = await openPeerConnection({
      ...peer, timeouts: { acceptMs: GETFILE_ACCEPT_MS, ...peer.timeouts }, client, role: 'propose', to: buddy, capability: CAP_GET_FILE,
      serviceData: encodeGetFileServiceData(), invitation: 'Get File (certim, TLS)',
    });
  } catch (e) {
    if ((e as { code?: string }).code === 'PEER_TIMEOUT') {
      throw new ClientError('TIMEOUT', `${buddy} did not answer the Get File request: they are not sharing a folder right now (certim file share DIR)`, { cause: e });
    }
    throw e;
  }
  return new GetFileClient({ stream: conn.socket, cookie: conn.cookie, peer: await pinnedPeer(client, conn) });
}

/** Events of a {@link ShareServer}. */
export interface ShareServerEvents {
  /** A listing, fetch, refusal or failed transfer (the owner sees who fetched what). */
  event: [ShareEvent];
  /** A request was declined (not allowed, not TLS, too many sessions). */
  declined: [{ from: string; reason: string }];
  /** A connection could not be made or ended in an error. */
  error: [{ from: string; error: Error }];
  /** A requester connected / hung up. */
  connected: [{ from: string; fingerprint: string; route: PeerConnection['route'] }];
  disconnected: [{ from: string }];
}

/** Options of {@link ShareServer}. */
export interface ShareServerOptions {
  /** The shared folder. */
  root: string;
  /** Screen names allowed to fetch (undefined = anyone whose certificate checks out). */
  allow?: string[];
  /** Passed to every rendezvous. */
  peer?: PeerOptions;
}

/** Answers Get File requests for one folder while it runs. See the file comment. */
export class ShareServer extends EventEmitter<ShareServerEvents> {
  private active = 0;
  private readonly allow: Set<string> | undefined;
  private rootReal: string | undefined;
  private stopped = false;
  private readonly sockets = new Set<PeerConnection['socket']>();
  private readonly onRv = (e: { from: string; message: RendezvousMessage }): void => {
    void this.onRendezvous(e.from, e.message);
  };

  constructor(private readonly client: CertimClient, private readonly o: ShareServerOptions) {
    super();
    this.allow = o.allow ? new Set(o.allow.map(normalizeScreenName)) : undefined;
  }

  /** Checks the folder and starts answering. */
  async start(): Promise<string> {
    const real = await realpath(this.o.root).catch((e: Error) => {
      throw new ClientError('BAD_ARGUMENT', `cannot share ${this.o.root}: ${e.message}`);
    });
    if (!(await stat(real)).isDirectory()) throw new ClientError('BAD_ARGUMENT', `cannot share ${this.o.root}: not a folder`);
    this.rootReal = real;
    this.client.on('rendezvous', this.onRv);
    return real;
  }

  /** Stops answering and hangs up on everyone. */
  stop(): void {
    this.stopped = true;
    this.client.off('rendezvous', this.onRv);
    for (const s of this.sockets) s.destroy();
  }

  private async decline(from: string, m: RendezvousMessage, reason: string): Promise<void> {
    this.emit('declined', { from, reason });
    await declinePeerProposal(this.client, from, m, RvCancelReason.Declined).catch(() => undefined);
  }

  private async onRendezvous(from: string, m: RendezvousMessage): Promise<void> {
    if (this.stopped || !sameCapability(m.capability, CAP_GET_FILE) || !isNewProposal(m)) return;
    if (!m.tls) return this.decline(from, m, 'asked without TLS (certim shares only over TLS)');
    if (this.allow && !this.allow.has(normalizeScreenName(from))) return this.decline(from, m, 'not on the --allow list');
    if (this.active >= SHARE_MAX_SESSIONS) return this.decline(from, m, `already serving ${SHARE_MAX_SESSIONS} requests`);
    this.active++; // charged before any await
    try {
      const conn = await openPeerConnection({ ...this.o.peer, client: this.client, role: 'accept', from, proposal: m });
      this.sockets.add(conn.socket);
      try {
        const peer = await pinnedPeer(this.client, conn);
        this.emit('connected', { from: conn.peer, fingerprint: peer.fingerprint, route: conn.route });
        await serveShare({ root: this.rootReal!, stream: conn.socket, cookie: conn.cookie, peer, onEvent: (e) => this.emit('event', e) });
      } finally {
        this.sockets.delete(conn.socket);
        conn.socket.destroy();
        this.emit('disconnected', { from: conn.peer });
      }
    } catch (e) {
      if (!this.stopped) this.emit('error', { from, error: e as Error });
    } finally {
      this.active--;
    }
  }
}
