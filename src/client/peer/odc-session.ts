/**
 * A Direct IM (ODC2) session over one connected peer stream (docs/protocol.md §8.4, §15.1): the confirmation
 * handshake, messages and typing notices. The stream is already TLS, with the peer's certificate pinned to the
 * buddy's current one (the peer-connection layer does that before handing the stream over), so every message that
 * arrives here comes from that buddy, unaltered, and was read by nobody else; the session's `verdict` says so.
 *
 * Protocol rules it enforces:
 * - The side that accepted the invitation sends one confirmation header first (flags 0x60, the rendezvous cookie,
 *   its screen name, no payload); the proposing side accepts nothing else first and checks cookie and name.
 * - Every header must name the peer; payloads over `maxPayload` and any framing error close the connection
 *   (a stream that lost its framing cannot be resynchronised).
 * - Attachments (`<BINARY>` sections) are not supported: the text before them is shown, the rest dropped, and the
 *   message says so.
 */
import { EventEmitter } from 'node:events';
import { timingSafeEqual } from 'node:crypto';
import type { Duplex } from 'node:stream';
import { WireError } from '../../wire/bytes.js';
import { ImCharset } from '../../wire/icbm-message.js';
import { OdcDeframer, OdcFlag, encodeOdcHeader, odcTypingFlags, odcTypingState, type OdcFrame } from '../../wire/odc.js';
import { normalizeScreenName } from '../../pki/screen-name.js';
import { ClientError } from '../errors.js';
import type { IncomingIm } from '../client.js';
import type { TrustLevel } from '../trust.js';

/** Largest message accepted or sent over Direct IM (text only; AIM's picture attachments are not supported). */
export const ODC_MAX_PAYLOAD = 64 * 1024;
/** How long the proposing side waits for the confirmation header. */
export const ODC_CONFIRM_TIMEOUT_MS = 30_000;

/** What the peer-connection layer established about the other end, shown with every message. */
export interface PinnedPeer {
  /** The buddy's screen name (as the rendezvous named it). */
  screenName: string;
  /** SHA-256 fingerprint (lowercase hex) of the certificate the peer presented in the TLS handshake. */
  fingerprint: string;
  /** Our trust in that certificate (docs: ARCHITECTURE.md "Trust model"). */
  trust: TrustLevel;
}

/** Options of {@link DirectImSession}. */
export interface DirectImSessionOptions {
  /** The connected, TLS-protected, peer-pinned stream. */
  stream: Duplex;
  /** Our screen name (written in every header). */
  screenName: string;
  /** The other end, as pinned. */
  peer: PinnedPeer;
  /** The rendezvous cookie (8 bytes). */
  cookie: Uint8Array;
  /** `acceptor` sends the confirmation header; `proposer` waits for it. */
  role: 'proposer' | 'acceptor';
  /** Largest payload (default {@link ODC_MAX_PAYLOAD}). */
  maxPayload?: number;
  /** Confirmation wait (default {@link ODC_CONFIRM_TIMEOUT_MS}). */
  confirmTimeoutMs?: number;
  /** Clock (tests). */
  now?: () => Date;
}

/** A message that came over a Direct IM connection. */
export interface DirectIncomingIm extends IncomingIm {
  /** Always true: it came over the peer connection, not through the server. */
  direct: true;
  /** The sender marked it as an automatic reply. */
  autoResponse: boolean;
}

/** Events of a {@link DirectImSession}. */
export interface DirectImSessionEvents {
  /** The confirmation was exchanged: messages may flow. */
  open: [];
  im: [DirectIncomingIm];
  typing: [{ from: string; event: 'none' | 'paused' | 'typing' }];
  /** The connection is gone (error undefined for an orderly close by either side). */
  closed: [{ error: Error | undefined }];
}

/** One Direct IM conversation over a pinned peer stream. See the file comment. */
export class DirectImSession extends EventEmitter<DirectImSessionEvents> {
  private readonly deframer: OdcDeframer;
  private readonly maxPayload: number;
  private readonly now: () => Date;
  private state: 'confirming' | 'open' | 'closed' = 'confirming';
  private confirmTimer: ReturnType<typeof setTimeout> | undefined;
  private readonly opened: Promise<void>;
  private resolveOpen!: () => void;
  private rejectOpen!: (e: Error) => void;

  constructor(private readonly opts: DirectImSessionOptions) {
    super();
    if (opts.cookie.length !== 8) throw new ClientError('BAD_ARGUMENT', 'a rendezvous cookie is 8 bytes');
    this.maxPayload = opts.maxPayload ?? ODC_MAX_PAYLOAD;
    this.deframer = new OdcDeframer({ maxPayload: this.maxPayload });
    this.now = opts.now ?? (() => new Date());
    this.opened = new Promise<void>((res, rej) => {
      this.resolveOpen = res;
      this.rejectOpen = rej;
    });
    this.opened.catch(() => undefined); // observed through ready() or the closed event
    const s = opts.stream;
    s.on('data', (chunk: Buffer) => this.onData(chunk));
    s.on('error', (e: Error) => this.finish(e));
    s.on('end', () => this.finish(undefined));
    s.on('close', () => this.finish(undefined));
    if (opts.role === 'acceptor') {
      this.write(encodeOdcHeader({
        cookie: opts.cookie, flags: OdcFlag.Confirmation | OdcFlag.ConfirmationExtra, screenName: this.wireName(),
      }));
      this.markOpen();
    } else {
      this.confirmTimer = setTimeout(() => {
        this.fail(new ClientError('TIMEOUT', `${opts.peer.screenName} did not confirm the Direct IM connection within ${Math.round((opts.confirmTimeoutMs ?? ODC_CONFIRM_TIMEOUT_MS) / 1000)} s`));
      }, opts.confirmTimeoutMs ?? ODC_CONFIRM_TIMEOUT_MS);
      this.confirmTimer.unref();
    }
  }

  /** The pinned peer. */
  get peer(): PinnedPeer {
    return this.opts.peer;
  }

  /** True while messages can be sent. */
  get isOpen(): boolean {
    return this.state === 'open';
  }

  /** Resolves once the confirmation is exchanged; rejects if the connection ends first. */
  ready(): Promise<void> {
    return this.opened;
  }

  /**
   * Sends one message. Resolves once the bytes are handed to the TLS stream (TCP gives no per-message receipt;
   * a message written just before the connection drops may be lost, and the caller is told by `closed`).
   */
  async send(text: string, opts: { autoResponse?: boolean } = {}): Promise<void> {
    if (this.state !== 'open') throw new ClientError('CONNECTION_CLOSED', `the Direct IM connection to ${this.opts.peer.screenName} is not open`);
    if (text.length === 0) throw new ClientError('EMPTY_MESSAGE', 'nothing to send');
    const { charset, bytes } = encodeText(text);
    if (bytes.length > this.maxPayload) throw new ClientError('MESSAGE_TOO_LONG', `a Direct IM carries at most ${this.maxPayload} bytes; this one is ${bytes.length}`);
    const header = encodeOdcHeader({
      screenName: this.wireName(), payloadLength: bytes.length, charset, flags: opts.autoResponse ? OdcFlag.AutoResponse : 0,
    });
    const frame = new Uint8Array(header.length + bytes.length);
    frame.set(header, 0);
    frame.set(bytes, header.length);
    if (!this.write(frame)) await this.drain();
  }

  /** Sends a typing notice (docs/protocol.md §8.4). Ignored when not open. */
  typing(state: 'typing' | 'paused' | 'none'): void {
    if (this.state !== 'open') return;
    this.write(encodeOdcHeader({ screenName: this.wireName(), flags: odcTypingFlags(state) }));
  }

  /** Closes the connection (orderly). */
  close(): void {
    if (this.state === 'closed') return;
    this.opts.stream.end();
    this.finish(undefined);
    this.opts.stream.destroy();
  }

  private wireName(): string {
    // The header has 16 bytes for the name; certim screen names fit (at most 16 characters, ASCII).
    return this.opts.screenName.slice(0, 16);
  }

  private write(b: Uint8Array): boolean {
    try {
      return this.opts.stream.write(b);
    } catch (e) {
      this.fail(e as Error);
      return false;
    }
  }

  private drain(): Promise<void> {
    return new Promise((resolve, reject) => {
      const onDrain = (): void => {
        this.off('closed', onClosed);
        resolve();
      };
      const onClosed = (): void => {
        this.opts.stream.off('drain', onDrain);
        reject(new ClientError('CONNECTION_CLOSED', `the Direct IM connection to ${this.opts.peer.screenName} closed while sending`));
      };
      this.opts.stream.once('drain', onDrain);
      this.once('closed', onClosed);
    });
  }

  private markOpen(): void {
    if (this.confirmTimer) clearTimeout(this.confirmTimer);
    this.state = 'open';
    this.resolveOpen();
    this.emit('open');
  }

  private onData(chunk: Uint8Array): void {
    if (this.state === 'closed') return;
    let frames: OdcFrame[];
    try {
      frames = this.deframer.push(chunk);
    } catch (e) {
      const why = WireError.is(e, 'FRAME_TOO_LARGE') ? `a message over ${this.maxPayload} bytes` : `broken framing (${(e as Error).message})`;
      this.fail(new ClientError('PROTOCOL', `${this.opts.peer.screenName} sent ${why}; Direct IM connection closed`, { cause: e }));
      return;
    }
    for (const f of frames) {
      if (this.isClosed()) return; // a frame before this one closed the session
      this.onFrame(f);
    }
  }

  private onFrame(f: OdcFrame): void {
    const peer = this.opts.peer.screenName;
    if (normalizeScreenName(f.header.screenName) !== normalizeScreenName(peer.slice(0, 16))) {
      this.fail(new ClientError('PROTOCOL', `a Direct IM header named ${JSON.stringify(f.header.screenName)}, not ${peer}; connection closed`));
      return;
    }
    if (this.state === 'confirming') {
      const confirm = (f.header.flags & OdcFlag.Confirmation) !== 0;
      if (!confirm || f.header.payloadLength !== 0 || !timingSafeEqual(f.header.cookie, this.opts.cookie)) {
        this.fail(new ClientError('PROTOCOL', `${peer} did not confirm this Direct IM connection (wrong first header or cookie); connection closed`));
        return;
      }
      this.markOpen();
      return;
    }
    if (f.header.flags & OdcFlag.Confirmation) return; // a repeated confirmation is harmless
    const typing = odcTypingState(f.header.flags);
    if (typing !== undefined) {
      this.emit('typing', { from: peer, event: typing });
      if (f.payload.length === 0) return;
    }
    if (f.payload.length === 0) return;
    let text = decodeText(f.payload, f.header.charset);
    let note = '';
    const bin = text.indexOf('<BINARY>');
    if (bin >= 0) {
      text = text.slice(0, bin);
      note = '; attachments are not supported and were dropped';
    }
    const p = this.opts.peer;
    this.emit('im', {
      from: peer,
      text,
      secure: true,
      verdict: 'verified',
      trust: p.trust,
      reason: `over a direct TLS connection pinned to ${peer}'s certificate${note}`,
      code: 'direct-tls',
      time: this.now(),
      offline: false,
      direct: true,
      autoResponse: (f.header.flags & OdcFlag.AutoResponse) !== 0,
    });
  }

  private isClosed(): boolean {
    return this.state === 'closed';
  }

  private fail(e: Error): void {
    if (this.state === 'closed') return;
    this.finish(e);
    this.opts.stream.destroy();
  }

  private finish(error: Error | undefined): void {
    if (this.state === 'closed') return;
    const wasConfirming = this.state === 'confirming';
    this.state = 'closed';
    if (this.confirmTimer) clearTimeout(this.confirmTimer);
    if (wasConfirming) this.rejectOpen(error ?? new ClientError('CONNECTION_CLOSED', `the Direct IM connection to ${this.opts.peer.screenName} closed before it was confirmed`));
    this.emit('closed', { error });
  }
}

/** ASCII when it fits, else UTF-16BE: the charsets classic clients read (docs/protocol.md §1.4). */
function encodeText(text: string): { charset: number; bytes: Uint8Array } {
  // eslint-disable-next-line no-control-regex
  if (/^[\x00-\x7f]*$/.test(text)) return { charset: ImCharset.Ascii, bytes: Buffer.from(text, 'ascii') };
  const b = Buffer.from(text, 'utf16le');
  b.swap16();
  return { charset: ImCharset.Utf16be, bytes: b };
}

function decodeText(bytes: Uint8Array, charset: number): string {
  if (charset === ImCharset.Utf16be) {
    const b = Buffer.from(bytes.subarray(0, bytes.length & ~1));
    b.swap16();
    return b.toString('utf16le');
  }
  if (charset === ImCharset.Latin1) return Buffer.from(bytes).toString('latin1');
  return Buffer.from(bytes).toString('utf8');
}
