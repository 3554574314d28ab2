/**
 * File transfer inside `certim chat` (docs/protocol.md §8): an incoming offer is shown in the sender's
 * conversation with its name, size and the sender's trust; `/accept` takes the open conversation's offer (into the
 * current directory, or CERTIM_DOWNLOADS), `/decline` refuses it, `/send PATH` offers a file or directory to the open
 * conversation, `/cancel` stops a running transfer. The transfers themselves are src/client/peer/file-transfer.ts.
 *
 * What a buddy can make chat hold is bounded: one pending offer per sender (a newer one replaces it), at most
 * {@link MAX_PENDING_OFFERS} senders at once (more are ignored, not answered: a flood must not make us send a flood),
 * an offer is forgotten when its sender cancels it or after {@link OFFER_TTL_MS}. `/accept` never takes another
 * sender's offer than the open conversation's, so an offer arriving just before the user types it cannot take the
 * place of the one they meant (with offers from several senders and none from the open conversation, it asks).
 */
import { resolve } from 'node:path';
import type { CertimClient } from '../../client/client.js';
import { formatFingerprint } from '../../client/trust.js';
import {
  DEFAULT_PROXY_PORT, acceptFileOffer, declineFileOffer, fileOfferOf, offerTrust, sendFile, type FileOffer, type Transfer,
  type TransferProgress,
} from '../../client/peer/index.js';
import { parseHostPort } from '../../client/transport.js';
import { normalizeScreenName } from '../../pki/screen-name.js';
import { RvType } from '../../wire/rendezvous.js';
import { bytesEqual } from '../../wire/bytes.js';

/** Senders whose offers chat holds at once. */
export const MAX_PENDING_OFFERS = 8;
/** How long an unanswered offer is kept (a sender gives up on its own well before). */
export const OFFER_TTL_MS = 10 * 60_000;
/** At most one "ignored" notice per this long, however many offers are ignored. */
const IGNORED_NOTICE_MS = 60_000;

/** What chat does with offers (the real transfer functions; a test passes its own). */
export interface OfferOps {
  accept: typeof acceptFileOffer;
  decline: typeof declineFileOffer;
  trust: typeof offerTrust;
  now: () => number;
}

const REAL_OPS: OfferOps = { accept: acceptFileOffer, decline: declineFileOffer, trust: offerTrust, now: Date.now };

interface Pending {
  offer: FileOffer;
  at: number;
}

/** How chat shows things. */
export interface ChatFilesView {
  /** A line in a conversation. */
  note(peer: string, text: string, marker?: string): void;
  /** A warning above the input. */
  notice(text: string): void;
}

function human(n: number): string {
  return n < 1 << 20 ? `${(n / 1024).toFixed(1)} KiB` : `${(n / (1 << 20)).toFixed(1)} MiB`;
}

/** Offers and transfers of one chat session. */
export class ChatFiles {
  /** Pending offers by normalized sender, oldest first. */
  private readonly offers = new Map<string, Pending>();
  private readonly running = new Set<Transfer<unknown>>();
  private lastProgress = 0;
  private ignoredNoticeAt = -Infinity;

  constructor(
    private readonly client: CertimClient,
    private readonly view: ChatFilesView,
    private readonly dir = resolve(process.env.CERTIM_DOWNLOADS ?? '.'),
    private readonly ops: OfferOps = REAL_OPS,
  ) {
    client.on('rendezvous', ({ from, message }) => {
      if (message.type === RvType.Cancel) return this.withdrawn(from, message.cookie);
      const offer = fileOfferOf(from, message);
      if (offer) void this.show(offer);
    });
  }

  /** The sender cancelled: its offer is gone (only the offer with that cookie: a cancel names its rendezvous). */
  private withdrawn(from: string, cookie: Uint8Array): void {
    const key = normalizeScreenName(from);
    const p = this.offers.get(key);
    if (!p || !bytesEqual(p.offer.proposal.cookie, cookie)) return;
    this.offers.delete(key);
    this.view.note(p.offer.from, `withdrew the offer of ${JSON.stringify(p.offer.data.name)}`, '[file offer]');
  }

  /** Drops offers older than {@link OFFER_TTL_MS}. */
  private expire(): void {
    const oldest = this.ops.now() - OFFER_TTL_MS;
    for (const [key, p] of this.offers) if (p.at < oldest) this.offers.delete(key);
  }

  private route(): { proxy: { host: string; port: number }; forceProxy: boolean } {
    const spec = process.env.CERTIM_PROXY;
    return { proxy: spec ? parseHostPort(spec, DEFAULT_PROXY_PORT) : { host: this.client.serverHost, port: DEFAULT_PROXY_PORT }, forceProxy: process.env.CERTIM_FORCE_PROXY === '1' };
  }

  private async show(o: FileOffer): Promise<void> {
    this.expire();
    const key = normalizeScreenName(o.from);
    if (!this.offers.has(key) && this.offers.size >= MAX_PENDING_OFFERS) {
      const now = this.ops.now();
      if (now - this.ignoredNoticeAt >= IGNORED_NOTICE_MS) {
        this.ignoredNoticeAt = now;
        this.view.notice(`ignoring file offers from ${o.from} and others: ${MAX_PENDING_OFFERS} offers already wait for /accept or /decline`);
      }
      return;
    }
    // A newer offer from the same sender replaces the older (the sender gives up on that one by itself).
    this.offers.delete(key);
    this.offers.set(key, { offer: o, at: this.ops.now() });
    if (!o.encrypted) {
      // A classic client's plain offer (docs/protocol.md §8.7): chat has no opt-in, so say so now.
      this.view.note(o.from, `offers ${JSON.stringify(o.data.name)} WITHOUT encryption (a classic client): /accept will refuse it; only \`certim file receive --insecure-classic\` takes it, unencrypted`, '[file offer]');
      return;
    }
    let trust = 'NO VALID CERTIFICATE: /accept will fail';
    try {
      const t = await this.ops.trust(this.client, o.from);
      trust = `${t.trust === 'personal' ? 'personally verified' : t.trust === 'changed' ? 'KEY CHANGED' : 'CA-certified'} ${formatFingerprint(t.fingerprint)}`;
    } catch (e) {
      trust = `untrusted: ${(e as Error).message}`;
    }
    this.view.note(o.from, `offers ${o.data.kind === 2 ? 'the directory' : 'the file'} ${JSON.stringify(o.data.name)}, ${human(o.data.totalSize)}${o.data.fileCount > 1 ? ` in ${o.data.fileCount} files` : ''} (sender ${trust}) — /accept saves it in ${this.dir}, /decline refuses`, '[file offer]');
  }

  /** True when an offer waits for an answer. */
  pending(): boolean {
    this.expire();
    return this.offers.size > 0;
  }

  /**
   * The offer `/accept` or `/decline` means: the open conversation's; else the only one. With offers from several
   * senders and none from the open conversation, none (the user is told whose offers wait). Removed from the list.
   */
  private take(current: string | undefined, verb: string): FileOffer | undefined {
    this.expire();
    const key = current === undefined ? undefined : normalizeScreenName(current);
    let p = key === undefined ? undefined : this.offers.get(key);
    if (!p && this.offers.size === 1) p = this.offers.values().next().value;
    if (!p) {
      const from = [...this.offers.values()].map((x) => x.offer.from);
      if (from.length === 0) this.view.notice(`no file offer to ${verb}`);
      else this.view.notice(`file offers wait from ${from.join(', ')}: open that conversation (/msg NAME), then /${verb}`);
      return undefined;
    }
    this.offers.delete(normalizeScreenName(p.offer.from));
    return p.offer;
  }

  private progress(peer: string): (p: TransferProgress) => void {
    return (p) => {
      const now = Date.now();
      if (now - this.lastProgress < 2000 && p.bytes < p.totalSize) return;
      this.lastProgress = now;
      const eta = p.etaSeconds === undefined ? '' : `, ${Math.ceil(p.etaSeconds)} s left`;
      this.view.note(peer, `${p.file}: ${human(p.bytes)} of ${human(p.totalSize)} at ${human(p.rate)}/s${eta}`, '[file]');
    };
  }

  /** `/accept` in the conversation with `current`: that buddy's offer (see {@link take}). */
  async accept(current: string | undefined): Promise<void> {
    const o = this.take(current, 'accept');
    if (!o) return;
    this.view.note(o.from, `accepting ${o.data.name}…`, '[file]');
    try {
      const t = await this.ops.accept(this.client, o, this.dir, { ...this.route(), onProgress: this.progress(o.from) });
      this.track(t, o.from, (r) => `received ${r.files.map((f) => f.path).join(', ')} over TLS (${r.route}), checksum verified`);
    } catch (e) {
      this.view.note(o.from, `refused ${o.data.name}: ${(e as Error).message}`, '[file]');
    }
  }

  /** `/decline` in the conversation with `current`: that buddy's offer (see {@link take}). */
  async decline(current: string | undefined): Promise<void> {
    const o = this.take(current, 'decline');
    if (!o) return;
    await this.ops.decline(this.client, o);
    this.view.note(o.from, `declined ${o.data.name}`, '[file]');
  }

  /** `/send PATH` to `to`. */
  async send(to: string | undefined, path: string): Promise<void> {
    if (!to) return this.view.notice('no conversation open: /msg NAME first');
    if (!path) return this.view.notice('usage: /send PATH');
    const t = await sendFile(this.client, to, path, { ...this.route(), onProgress: this.progress(to), onProposed: () => this.view.note(to, `offered ${path}; waiting for ${to} to accept`, '[file]') });
    this.track(t, to, (r) => `sent ${r.files} file(s) over TLS (${r.route}), checksum verified`);
  }

  /** `/cancel`: every running transfer. */
  cancel(): void {
    if (this.running.size === 0) return this.view.notice('no transfer running');
    for (const t of this.running) t.cancel();
  }

  private track<T>(t: Transfer<T>, peer: string, done: (r: T & { route: string }) => string): void {
    this.running.add(t as Transfer<unknown>);
    t.result.then(
      (r) => this.view.note(peer, done(r), '[file]'),
      (e: unknown) => this.view.note(peer, `transfer failed: ${(e as Error).message}`, '[file]'),
    ).finally(() => this.running.delete(t as Transfer<unknown>));
  }
}
