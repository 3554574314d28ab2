/**
 * Send file end to end (docs/protocol.md §8): the offer (rendezvous with the send-file capability and its service
 * data), the pinned-TLS peer connection, OFT2, and cancel from either side (a rendezvous cancel plus closing the
 * stream). The CLI (`certim file`) and `certim chat` both use these three calls.
 */
import { capabilityBytes } from '../../wire/capabilities.js';
import { RvCancelReason, RvType, decodeSendFileServiceData, encodeRendezvous, type RendezvousMessage, type SendFileServiceData } from '../../wire/rendezvous.js';
import { trustLevel, type TrustLevel } from '../trust.js';
import { PeerError } from './peer-error.js';
import {
  openClassicPeerConnection, declinePeerProposal, isNewProposal, sameCapability, type PeerConnection, type PeerHost, type PeerStage, type PeerTimeouts,
  type PlainPeerConnection,
} from './peer-connection.js';
import { collectOffer, offerServiceData, sendFiles, type SendResultSummary } from './oft-send.js';
import { checkOffer, receiveFiles, type ReceivedFile } from './oft-receive.js';
import type { TransferProgress } from './oft-progress.js';

/** The send-file capability (docs/protocol.md §5). */
export const SEND_FILE_CAPABILITY = capabilityBytes('SendFile');

/** Where to reach the proxy and how hard to try directly. */
export interface RouteOptions {
  proxy?: { host: string; port: number };
  forceProxy?: boolean;
  timeouts?: Partial<PeerTimeouts>;
  onStage?: (s: PeerStage) => void;
  /**
   * The user's explicit consent to an UNENCRYPTED transfer with a classic client (docs/protocol.md §8.7): a send
   * is offered without TLS; a receive takes a plain offer as it is (a TLS offer stays TLS). Off by default: then a
   * plain offer is declined and a classic accept of our TLS offer ends the transfer (PEER_INSECURE).
   */
  insecureClassic?: boolean;
}

/** A file offer someone made us. */
export interface FileOffer {
  from: string;
  proposal: RendezvousMessage;
  /** The service data as offered (name, kind, count, total size). */
  data: SendFileServiceData;
  /** Whether the offer asks for TLS (TLV 0x0011). False: a classic client offering an unencrypted transfer. */
  encrypted: boolean;
}

/** Recognises a new send-file offer among `rendezvous` events; undefined for anything else. */
export function fileOfferOf(from: string, m: RendezvousMessage): FileOffer | undefined {
  if (!isNewProposal(m) || !sameCapability(m.capability, SEND_FILE_CAPABILITY) || !m.serviceData) return undefined;
  try {
    return { from, proposal: m, data: decodeSendFileServiceData(m.serviceData), encrypted: m.tls === true };
  } catch {
    return undefined;
  }
}

/** The sender's trust as the user should see it, from the client's verified certificates (throws if none). */
export async function offerTrust(client: PeerHost, from: string): Promise<{ trust: TrustLevel; fingerprint: string }> {
  const certs = await client.buddyCerts(from, true);
  if (!certs) throw new PeerError('PEER_NO_CERT', `${from} publishes no certificate`);
  return { trust: trustLevel(certs.record), fingerprint: certs.record.fingerprint };
}

type AnyConnection = PeerConnection | PlainPeerConnection;

/** Watches for the peer's cancel during a transfer; `stop()` ends the watch. */
function watchCancel(client: PeerHost, conn: AnyConnection, onCancel: (reason: number) => void): () => void {
  const l = (e: { from: string; message: RendezvousMessage }): void => {
    const m = e.message;
    if (m.type === RvType.Cancel && m.cookie.every((b, i) => b === conn.cookie[i])) onCancel(m.cancelReason ?? 0);
  };
  client.on('rendezvous', l);
  return () => client.off('rendezvous', l);
}

/** A transfer in progress: its result, and a way to cancel it. */
export interface Transfer<T> {
  /** Resolves when done; rejects with PeerError (PEER_CANCELLED when the peer cancelled, ABORTED when we did). */
  result: Promise<T & { route: PeerConnection['route']; peer: string; encrypted: boolean }>;
  /** Cancels: the peer is told (rendezvous cancel) and the stream closed. A partial file stays for a resume. */
  cancel(): void;
}

function run<T>(client: PeerHost, connect: (signal: AbortSignal) => Promise<AnyConnection>, work: (c: AnyConnection) => Promise<T>): Transfer<T> {
  const ac = new AbortController();
  let conn: AnyConnection | undefined;
  let cancelled: PeerError | undefined;
  const result = (async () => {
    conn = await connect(ac.signal);
    const c = conn;
    if (ac.signal.aborted) {
      c.socket.destroy();
      throw new PeerError('ABORTED', 'cancelled');
    }
    const stop = watchCancel(client, c, (reason) => {
      cancelled = new PeerError('PEER_CANCELLED', `${c.peer} cancelled the transfer`, { cancelReason: reason });
      c.socket.destroy();
    });
    try {
      const r = await work(c);
      return { ...r, route: c.route, peer: c.peer, encrypted: c.encrypted };
    } catch (e) {
      if (cancelled) throw cancelled;
      if (ac.signal.aborted) throw new PeerError('ABORTED', 'you cancelled the transfer', { cause: e });
      if (!PeerError.is(e, 'TRANSFER_CLOSED')) {
        // We end it (a refused name, a bad checksum, a protocol error): tell the peer, then close the stream.
        await client.sendRendezvous(c.peer, encodeCancel(c, PeerError.is(e, 'PEER_TIMEOUT') ? RvCancelReason.Timeout : RvCancelReason.Unknown)).catch(() => undefined);
        c.socket.destroy();
      }
      if (PeerError.is(e, 'TRANSFER_CLOSED')) {
        // The stream closing may overtake the peer's cancel on the OSCAR connection: give it a moment to arrive.
        await new Promise((r) => setTimeout(r, 1500));
        if (cancelled) throw cancelled;
      }
      throw e;
    } finally {
      stop();
    }
  })();
  return {
    result,
    cancel(): void {
      if (ac.signal.aborted) return;
      ac.abort();
      const c = conn;
      if (c) {
        void client.sendRendezvous(c.peer, encodeCancel(c)).catch(() => undefined).finally(() => c.socket.destroy());
      }
    },
  };
}

function encodeCancel(c: AnyConnection, cancelReason: number = RvCancelReason.Unknown): Uint8Array {
  return encodeRendezvous({ type: RvType.Cancel, cookie: c.cookie, capability: c.capability, cancelReason });
}

/** Offers `path` (a file or a directory) to `to` and sends it once accepted. */
export async function sendFile(client: PeerHost, to: string, path: string, o: RouteOptions & { onProgress?: (p: TransferProgress) => void; onProposed?: () => void } = {}): Promise<Transfer<SendResultSummary>> {
  const offer = await collectOffer(path);
  return run(client, (signal) => openClassicPeerConnection({
    client, role: 'propose', to, capability: SEND_FILE_CAPABILITY, serviceData: offerServiceData(offer), signal,
    ...(o.onProposed ? { onProposed: () => o.onProposed!() } : {}),
    ...routeFields(o),
  }), (c) => sendFiles(c, offer, o.onProgress ? { onProgress: o.onProgress } : {}));
}

/** Accepts an offer and receives it into `dir`. The offer is checked first (OFFER_REFUSED: declined with a cancel). */
export async function acceptFileOffer(client: PeerHost, offer: FileOffer, dir: string, o: RouteOptions & { onProgress?: (p: TransferProgress) => void } = {}): Promise<Transfer<{ files: ReceivedFile[] }>> {
  try {
    checkOffer(offer.data);
  } catch (e) {
    await declinePeerProposal(client, offer.from, offer.proposal).catch(() => undefined);
    throw e;
  }
  return run(client, (signal) => openClassicPeerConnection({ client, role: 'accept', from: offer.from, proposal: offer.proposal, signal, ...routeFields(o) }),
    async (c) => ({ files: await receiveFiles(c, { dir, offer: offer.data, ...(o.onProgress ? { onProgress: o.onProgress } : {}) }) }));
}

/** Declines an offer. */
export function declineFileOffer(client: PeerHost, offer: FileOffer): Promise<void> {
  return declinePeerProposal(client, offer.from, offer.proposal);
}

function routeFields(o: RouteOptions): Partial<RouteOptions> {
  return {
    ...(o.proxy ? { proxy: o.proxy } : {}),
    ...(o.forceProxy ? { forceProxy: true } : {}),
    ...(o.timeouts ? { timeouts: o.timeouts } : {}),
    ...(o.onStage ? { onStage: o.onStage } : {}),
    ...(o.insecureClassic === true ? { insecureClassic: true } : {}),
  };
}
