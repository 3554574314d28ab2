/**
 * Peer services in `certim chat` (docs/protocol.md §15): `/direct NAME` opens a Direct IM — a TLS connection to the
 * buddy pinned to their current certificate — and while it is up the conversation's messages and typing notices go
 * over it (marked "direct"); when it drops, the chat says so and messages go through the server again. A buddy's
 * invitation is shown and waits for `/direct NAME`. `/get NAME [PATH]` lists a buddy's shared folder or fetches
 * PATH from it into the current directory (they must be running `certim file share`).
 */
import { resolve } from 'node:path';
import type { CertimClient, IncomingIm } from '../../client/client.js';
import { formatFingerprint, type TrustLevel } from '../../client/trust.js';
import { requestGetFile } from '../../client/peer/getfile-manager.js';
import { parseUserPath, pathProblem, showPath } from '../../client/peer/getfile-paths.js';
import { DirectImManager } from '../../client/peer/odc-manager.js';
import type { ChatLine } from './chat-screen.js';
import { peerOptionsFromEnv } from './peer-env.js';

/** The /help lines of the peer commands. */
export const PEER_HELP = [
  '/direct NAME         Direct IM: TLS straight to NAME, pinned to their key · /direct off [NAME]  back to the server',
  '/get NAME [PATH]     list NAME\'s shared folder, or fetch PATH (file or folder) into the current directory',
];

/** What the chat gives this module. */
export interface ChatPeerHooks {
  /** A line in the conversation with `name`. */
  note(name: string, text: string, marker?: string): void;
  /** A warning above the input line. */
  notice(text: string): void;
  /** An incoming message (shown like a server IM, with the direct marker). */
  incoming(m: IncomingIm): void;
  /** A typing notice. */
  typing(e: { from: string; event: 'none' | 'paused' | 'typing' }): void;
  /** Adds a line to the conversation with `name` and returns it (for later status updates). */
  push(name: string, line: ChatLine): ChatLine;
  redraw(): void;
}

/** The marker of a message that went over a Direct IM connection. */
export function directMarker(trust: TrustLevel | null | undefined): string {
  return trust === 'personal' ? '[secure, verified, direct]' : trust === 'changed' ? '[secure, KEY CHANGED, direct]' : '[secure, direct]';
}

/** Direct IM and Get File for one chat session. */
export class ChatPeer {
  readonly dim: DirectImManager;

  constructor(private readonly client: CertimClient, private readonly hooks: ChatPeerHooks) {
    this.dim = new DirectImManager(client, { peer: peerOptionsFromEnv() });
    this.dim.on('invitation', ({ from }) => {
      hooks.note(from, `${from} invites you to a Direct IM (straight to them over TLS): /direct ${from} to accept`, '[direct?]');
      hooks.notice(`${from} invites you to a Direct IM: /direct ${from}`);
    });
    this.dim.on('invitation-cancelled', ({ from }) => hooks.note(from, `${from} withdrew the Direct IM invitation`, '[direct]'));
    this.dim.on('opened', ({ buddy, fingerprint, route }) => {
      hooks.note(buddy, `Direct IM with ${buddy} is up: TLS pinned to ${buddy}'s certificate ${formatFingerprint(fingerprint)}${route === 'proxy' ? ' (through the server\'s proxy, still end to end)' : ''}. Messages now go direct.`, '[direct]');
    });
    this.dim.on('closed', ({ buddy, error }) => {
      const why = error ? `: ${error.message}` : '';
      hooks.note(buddy, `Direct IM with ${buddy} closed${why}. Messages go through the server again.`, '[direct closed]');
      hooks.notice(`Direct IM with ${buddy} closed; back to server IMs`);
    });
    this.dim.on('im', (m) => hooks.incoming(m));
    this.dim.on('typing', (t) => hooks.typing(t));
  }

  /** True while a Direct IM with `buddy` is up. */
  isDirect(buddy: string): boolean {
    return this.dim.isOpen(buddy);
  }

  /**
   * Sends over the Direct IM connection when one is up. Returns the line shown, or undefined when there is none (or
   * it failed just now: the caller sends through the server, and the chat has said why).
   */
  async trySend(to: string, text: string): Promise<ChatLine | undefined> {
    const s = this.dim.session(to);
    if (!s) return undefined;
    try {
      await s.send(text);
    } catch (e) {
      this.hooks.note(to, `the Direct IM could not take this message (${(e as Error).message}); sending it through the server`, '[direct]');
      return undefined;
    }
    return this.hooks.push(to, { time: new Date(), who: 'me', text, marker: directMarker(s.peer.trust), status: 'sent direct' });
  }

  /** Sends a typing notice over the Direct IM when one is up; false when the caller should use the server. */
  typing(to: string, event: 'typing' | 'paused' | 'none'): boolean {
    const s = this.dim.session(to);
    if (!s) return false;
    s.typing(event);
    return true;
  }

  /** Runs `/direct` or `/get`; false for other commands. */
  command(cmd: string | undefined, args: string[], current: string | undefined): boolean {
    if (cmd === 'direct') {
      if (args[0] === 'off') {
        const name = args[1] ?? current;
        if (!name) this.hooks.notice('usage: /direct off NAME');
        else if (this.dim.close(name)) this.hooks.note(name, `closing the Direct IM with ${name}`, '[direct]');
        else if (this.dim.hasInvitation(name)) void this.dim.decline(name).then(() => this.hooks.note(name, `declined ${name}'s Direct IM invitation`, '[direct]'));
        else this.hooks.notice(`no Direct IM with ${name}`);
        return true;
      }
      const name = args[0] ?? current;
      if (!name) {
        this.hooks.notice('usage: /direct NAME');
        return true;
      }
      if (this.dim.isOpen(name)) {
        this.hooks.note(name, `a Direct IM with ${name} is already up`, '[direct]');
        return true;
      }
      const accepting = this.dim.hasInvitation(name);
      this.hooks.note(name, accepting ? `accepting ${name}'s Direct IM invitation…` : `inviting ${name} to a Direct IM (TLS, pinned to their certificate)… /direct off cancels`, '[direct]');
      this.dim.open(name).catch((e: Error) => this.hooks.note(name, `no Direct IM with ${name}: ${e.message}. Messages go through the server.`, '[direct failed]'));
      return true;
    }
    if (cmd === 'get') {
      const [name, path] = args;
      const who = name ?? current;
      if (!who) {
        this.hooks.notice('usage: /get NAME [PATH]');
        return true;
      }
      void this.get(who, path);
      return true;
    }
    return false;
  }

  private async get(name: string, path: string | undefined): Promise<void> {
    const segments = parseUserPath(path ?? '');
    const problem = pathProblem(segments);
    if (problem) return this.hooks.note(name, `cannot ask for ${path}: ${problem}`, '[get]');
    this.hooks.note(name, `asking ${name} for their shared folder…`, '[get]');
    let g;
    try {
      g = await requestGetFile(this.client, name, peerOptionsFromEnv());
      if (segments.length === 0) {
        const entries = await g.list([]);
        const lines = entries.map((e) => (e.directory ? `  ${e.name}/` : `  ${e.name}  (${e.size} bytes)`));
        this.hooks.note(name, `${name} shares (TLS pinned to ${formatFingerprint(g.peer.fingerprint)}):\n${lines.join('\n') || '  (empty)'}\n/get ${name} PATH fetches one`, '[get]');
        return;
      }
      const dest = resolve('.');
      const files = await g.fetch(segments, dest);
      const bytes = files.reduce((n, f) => n + f.bytes, 0);
      this.hooks.note(name, `fetched ${showPath(segments)} from ${name} into ${dest}: ${files.length} file${files.length === 1 ? '' : 's'}, ${bytes} bytes`, '[get]');
    } catch (e) {
      this.hooks.note(name, `Get File from ${name} failed: ${(e as Error).message}`, '[get failed]');
    } finally {
      g?.close();
      this.hooks.redraw();
    }
  }

  /** Closes every Direct IM. */
  stop(): void {
    this.dim.stop();
  }
}
