/**
 * The typed seam between the web UI and the client core: the UI only sees this interface; certim-session.ts
 * implements it over the shared client library (src/client) on the WebSocket transport.
 */

/** A message's verdict as the decoder gave it (docs/protocol.md §11.4). */
export type Verdict = 'verified' | 'untrusted' | 'failed';

/** One line of a conversation. */
export interface ChatLine {
  /** Local id. */
  id: string;
  /** The buddy the conversation is with. */
  peer: string;
  /** Who wrote it. */
  from: string;
  /** Our own line. */
  outgoing: boolean;
  /** The text (empty for a failed message: a tampered message never shows a text). */
  text: string;
  /** Verdict; our own lines carry `verified` once the server acknowledged them. */
  verdict: Verdict;
  /** Why, in words. */
  reason: string;
  /** Stable code (`ok`, a decoder or verifier code, `plaintext`). */
  code: string;
  /** When. */
  at: Date;
  /** Stored while we were offline and delivered at sign-in. */
  offline?: boolean;
}

/** What kind of client a buddy runs, as its capabilities tell. */
export type BuddyKind = 'modern' | 'legacy' | 'classic' | 'unknown';

/** A buddy in the list. */
export interface BuddyView {
  screenName: string;
  online: boolean;
  away: boolean;
  idleMinutes?: number;
  kind: BuddyKind;
}

/** A buddy's key changed since we last saw it. */
export interface KeyChangeView {
  screenName: string;
  oldFingerprint: string;
  newFingerprint: string;
  /** The old key had been verified personally: sending waits until the user looks. */
  wasVerified: boolean;
}

/** The trust view of one buddy. */
export interface TrustView {
  screenName: string;
  /** Our identity fingerprint (lowercase hex). */
  ownFingerprint: string;
  /** The buddy's identity fingerprint, when its certificates are known. */
  buddyFingerprint?: string;
  /** `ca` (certified by the CA), `personal` (compared by the user), `changed` (key changed). */
  level?: 'ca' | 'personal' | 'changed';
  /** Why there is no fingerprint. */
  unavailable?: string;
}

/** Connection state for the status bar. */
export type ConnectionState = { state: 'online' } | { state: 'reconnecting'; attempt: number; delayMs: number } | { state: 'offline'; reason: string };

/** Events a session delivers. */
export interface SessionEvents {
  connection: (s: ConnectionState) => void;
  buddy: (b: BuddyView) => void;
  line: (l: ChatLine) => void;
  typing: (from: string, event: 'none' | 'paused' | 'typing') => void;
  keyChange: (k: KeyChangeView) => void;
  warning: (text: string) => void;
}

/** One signed-on session, as the UI uses it. */
export interface ChatSession {
  readonly screenName: string;
  on<K extends keyof SessionEvents>(event: K, fn: SessionEvents[K]): () => void;
  buddies(): BuddyView[];
  addBuddy(screenName: string): Promise<void>;
  removeBuddy(screenName: string): Promise<void>;
  /** Sends an IM; resolves with our own line (verdict `verified` once acknowledged) or rejects with a reason. */
  sendIm(to: string, text: string): Promise<ChatLine>;
  sendTyping(to: string, event: 'none' | 'paused' | 'typing'): void;
  setAway(message: string | undefined): Promise<void>;
  trust(screenName: string): Promise<TrustView>;
  /** Marks the buddy's current key as compared in person. */
  markVerified(screenName: string, fingerprint: string): Promise<void>;
  /** Accepts a changed key without comparing it. */
  acceptKeyChange(screenName: string): Promise<void>;
  close(): void;
}

/** Signs on: what the unlock screen calls. */
export type SignIn = (o: { screenName: string; password: string; passphrase: string }) => Promise<ChatSession>;
