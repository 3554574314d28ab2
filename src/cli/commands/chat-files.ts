/**
 * File transfer inside `certim chat` (docs/protocol.md §8): an incoming offer is shown in the sender's
 * conversation with its name, size and the sender's trust; `/accept` takes the latest offer (into the current
 * directory, or CERTIM_DOWNLOADS), `/decline` refuses it, `/send PATH` offers a file or directory to the open
 * conversation, `/cancel` stops a running transfer. The transfers themselves are src/client/peer/file-transfer.ts.
 */
import { resolve } from 'node:path';
import type { CertimClient } from '../../client/client.js';
import { formatFingerprint } from '../../client/trust.js';
import {
  DEFAULT_PROXY_PORT, acceptFileOffer, declineFileOffer, fileOfferOf, offerTrust, sendFile, type FileOffer, type Transfer,
  type TransferProgress,
} from '../../client/peer/index.js';
import { parseHostPort } from '../../client/transport.js';

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
  private readonly offers: FileOffer[] = [];
  private readonly running = new Set<Transfer<unknown>>();
  private lastProgress = 0;

  constructor(private readonly client: CertimClient, private readonly view: ChatFilesView, private readonly dir = resolve(process.env.CERTIM_DOWNLOADS ?? '.')) {
    client.on('rendezvous', ({ from, message }) => {
      const offer = fileOfferOf(from, message);
      if (offer) void this.show(offer);
    });
  }

  private route(): { proxy: { host: string; port: number }; forceProxy: boolean } {
    const spec = process.env.CERTIM_PROXY;
    return { proxy: spec ? parseHostPort(spec, DEFAULT_PROXY_PORT) : { host: this.client.serverHost, port: DEFAULT_PROXY_PORT }, forceProxy: process.env.CERTIM_FORCE_PROXY === '1' };
  }

  private async show(o: FileOffer): Promise<void> {
    this.offers.push(o);
    if (!o.encrypted) {
      // A classic client's plain offer (docs/protocol.md §8.7): chat has no opt-in, so say so now.
      this.view.note(o.from, `offers ${JSON.stringify(o.data.name)} WITHOUT encryption (a classic client): /accept will refuse it; only \`certim file receive --insecure-classic\` takes it, unencrypted`, '[file offer]');
      return;
    }
    let trust = 'NO VALID CERTIFICATE: /accept will fail';
    try {
      const t = await offerTrust(this.client, o.from);
      trust = `${t.trust === 'personal' ? 'personally verified' : t.trust === 'changed' ? 'KEY CHANGED' : 'CA-certified'} ${formatFingerprint(t.fingerprint)}`;
    } catch (e) {
      trust = `untrusted: ${(e as Error).message}`;
    }
    this.view.note(o.from, `offers ${o.data.kind === 2 ? 'the directory' : 'the file'} ${JSON.stringify(o.data.name)}, ${human(o.data.totalSize)}${o.data.fileCount > 1 ? ` in ${o.data.fileCount} files` : ''} (sender ${trust}) — /accept saves it in ${this.dir}, /decline refuses`, '[file offer]');
  }

  /** True when an offer waits for an answer. */
  pending(): boolean {
    return this.offers.length > 0;
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

  /** `/accept`: the latest offer. */
  async accept(): Promise<void> {
    const o = this.offers.pop();
    if (!o) return this.view.notice('no file offer to accept');
    this.view.note(o.from, `accepting ${o.data.name}…`, '[file]');
    try {
      const t = await acceptFileOffer(this.client, o, this.dir, { ...this.route(), onProgress: this.progress(o.from) });
      this.track(t, o.from, (r) => `received ${r.files.map((f) => f.path).join(', ')} over TLS (${r.route}), checksum verified`);
    } catch (e) {
      this.view.note(o.from, `refused ${o.data.name}: ${(e as Error).message}`, '[file]');
    }
  }

  /** `/decline`: the latest offer. */
  async decline(): Promise<void> {
    const o = this.offers.pop();
    if (!o) return this.view.notice('no file offer to decline');
    await declineFileOffer(this.client, o);
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
