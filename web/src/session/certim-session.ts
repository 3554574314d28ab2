/**
 * The ChatSession over the shared client library (src/client): CertimClient on the OSCAR WebSocket of this page's
 * own origin (docs/protocol.md §14.3), the modern Secure IM profile on WebCrypto, buddy trust records and the CRL
 * kept in IndexedDB (keystore.ts). The private keys come from the passphrase-sealed PKCS#8 and are imported as
 * non-extractable WebCrypto keys; the PKCS#8 bytes are wiped once imported.
 */
import { CertimClient, type BuddyPresence, type IncomingIm } from '../../../src/client/client.js';
import { ClientError } from '../../../src/client/errors.js';
import { addBuddy as feedbagAdd, buddyListOf, readFeedbag, removeBuddy as feedbagRemove } from '../../../src/client/feedbag.js';
import { setAway as locateSetAway } from '../../../src/client/locate-info.js';
import { CrlCache } from '../../../src/client/revocation.js';
import { acceptRecord, identityFingerprint, pendingKeyChange, trustLevel, verifyRecord, type BuddyRecord, type BuddyStore } from '../../../src/client/trust.js';
import { pageOriginUrl, webSocketTransportFactory } from '../../../src/client/ws-transport.js';
import { defaultCmsCrypto, importSecureImKey } from '../../../src/pki/cms/crypto.js';
import { accountKey, getItem, listAccounts, setItem, unlockAccount, type StoredAccount } from '../keys/keystore.js';
import { pinnedCa } from '../keys/enroll.js';
import type { BuddyKind, BuddyView, ChatLine, ChatSession, ConnectionState, SessionEvents, SignIn } from './types.js';

/** Trust records of one account, in memory for the client's synchronous reads and written through to IndexedDB. */
class IdbBuddyStore implements BuddyStore {
  private constructor(private readonly key: string, private readonly map: Map<string, BuddyRecord>, private readonly onError: (e: unknown) => void) {}

  static async open(screenName: string, onError: (e: unknown) => void): Promise<IdbBuddyStore> {
    const key = `buddies:${accountKey(screenName).slice('account:'.length)}`;
    const list = (await getItem<BuddyRecord[]>(key)) ?? [];
    return new IdbBuddyStore(key, new Map(list.map((r) => [norm(r.screenName), r])), onError);
  }

  get(screenName: string): BuddyRecord | undefined {
    return this.map.get(norm(screenName));
  }

  put(record: BuddyRecord): void {
    this.map.set(norm(record.screenName), record);
    setItem(this.key, [...this.map.values()]).catch(this.onError);
  }

  all(): BuddyRecord[] {
    return [...this.map.values()];
  }
}

function norm(name: string): string {
  return name.replace(/ /g, '').toLowerCase();
}

function kindOf(p: BuddyPresence): BuddyKind {
  if (p.modern) return 'modern';
  if (p.secureIm) return 'legacy';
  return p.online ? 'classic' : 'unknown';
}

function viewOf(p: BuddyPresence): BuddyView {
  return { screenName: p.screenName, online: p.online, away: p.away, ...(p.idleMinutes ? { idleMinutes: p.idleMinutes } : {}), kind: kindOf(p) };
}

let lineSeq = 0;
const lineId = (): string => `l${++lineSeq}`;

/** The page's CRL source: `/ca/crl` on this origin, the last accepted CRL kept in IndexedDB. */
function crlSource(initial: Uint8Array | undefined) {
  let kept = initial;
  return {
    async fetch(): Promise<Uint8Array> {
      const res = await fetch('/ca/crl', { credentials: 'omit', cache: 'no-store' });
      if (res.status !== 200) throw new ClientError('CONNECT_FAILED', `CRL: HTTP ${res.status}`);
      return new Uint8Array(await res.arrayBuffer());
    },
    load: () => kept,
    save(der: Uint8Array) {
      kept = der;
      void setItem('crl', der);
    },
  };
}

/** Builds the session for an unlocked account. */
async function open(account: StoredAccount, password: string, passphrase: string): Promise<ChatSession> {
  const ca = await pinnedCa();
  if (!ca) throw new Error('no CA pinned on this device');
  const opened = await unlockAccount(account, passphrase);
  const cms = defaultCmsCrypto();
  let enc, sig;
  try {
    [enc, sig] = await Promise.all([importSecureImKey(cms, opened.encryption), importSecureImKey(cms, opened.signing)]);
  } finally {
    opened.encryption.fill(0);
    opened.signing.fill(0);
  }
  const listeners = new Map<keyof SessionEvents, Set<(...args: never[]) => void>>();
  // Lines and key changes that arrive before the UI listens (offline IMs are delivered during the sign-on, before
  // the chat screen exists) wait here and go to the first listener: none is dropped.
  const early = new Map<keyof SessionEvents, unknown[][]>([['line', []], ['keyChange', []]]);
  const emit = <K extends keyof SessionEvents>(k: K, ...args: Parameters<SessionEvents[K]>): void => {
    const set = listeners.get(k);
    if ((!set || set.size === 0) && early.has(k)) {
      early.get(k)!.push(args);
      return;
    }
    for (const fn of set ?? []) (fn as unknown as (...a: Parameters<SessionEvents[K]>) => void)(...args);
  };
  const warn = (e: unknown) => emit('warning', e instanceof Error ? e.message : String(e));
  const buddyStore = await IdbBuddyStore.open(account.screenName, warn);
  // A key change not yet verified or accepted stays a warning across page loads (the record keeps the old
  // fingerprint until the user acts), not only in the session that saw it happen.
  for (const r of buddyStore.all()) {
    const change = pendingKeyChange(r);
    if (change) emit('keyChange', change);
  }
  const revocation = new CrlCache({ source: crlSource(await getItem<Uint8Array>('crl')), caCerts: ca.certs });
  const port = Number(location.port || 443);
  const client = new CertimClient({
    screenName: account.screenName,
    password,
    server: { host: location.hostname, port },
    transport: webSocketTransportFactory({ WebSocket: globalThis.WebSocket, url: pageOriginUrl(location.href) }),
    identity: {
      screenName: account.screenName,
      encryption: { privateKey: enc, certDer: account.certs.encryption },
      signing: { privateKey: sig, certDer: account.certs.signing },
    },
    caCerts: ca.certs,
    buddyStore,
    revocation,
  });
  const me = account.screenName;
  const ownFingerprint = identityFingerprint(account.certs.encryption, account.certs.signing);

  client.on('buddy', (p) => emit('buddy', viewOf(p)));
  client.on('im', (m: IncomingIm) => {
    const peer = m.to ?? m.from;
    // Signed by a key that replaced the one we knew: readable and CA-certified, but not the same as before, so it
    // does not pass as an ordinary verified line until the user accepted or compared the new key.
    const changed = m.verdict === 'verified' && m.trust === 'changed';
    emit('line', {
      id: lineId(), peer, from: m.from, outgoing: m.to !== undefined, text: m.verdict === 'failed' ? '' : m.text,
      verdict: changed ? 'untrusted' : m.verdict, reason: changed ? `${m.from}'s key changed: compare the safety code` : m.reason,
      code: changed ? 'key-changed' : m.code, at: m.time, ...(m.offline ? { offline: true } : {}),
    });
  });
  client.on('typing', (t) => emit('typing', t.from, t.event));
  client.on('key-change', (k) => emit('keyChange', { screenName: k.screenName, oldFingerprint: k.oldFingerprint, newFingerprint: k.newFingerprint, wasVerified: k.wasVerified }));
  client.on('warning', (e) => emit('warning', e.message));
  client.on('disconnected', (d) => { if (!d.willReconnect) emit('connection', { state: 'offline', reason: d.error?.message ?? 'disconnected' }); });
  client.on('reconnecting', (r) => emit('connection', { state: 'reconnecting', attempt: r.attempt, delayMs: r.delayMs }));
  client.on('signed-on', () => emit('connection', { state: 'online' } satisfies ConnectionState));

  await client.connect();
  // The server-stored buddy list (feedbag, docs/protocol.md §3.9): watch everyone on it.
  const initial = buddyListOf(await readFeedbag(client)).groups.flatMap((g) => g.buddies);
  for (const b of initial) client.addBuddy(b);

  const session: ChatSession = {
    screenName: me,
    on(event, fn) {
      let set = listeners.get(event);
      if (!set) listeners.set(event, (set = new Set()));
      const f = fn as (...args: never[]) => void;
      set.add(f);
      const held = early.get(event)?.splice(0) ?? [];
      for (const args of held) (f as unknown as (...a: unknown[]) => void)(...args);
      return () => void set.delete(f);
    },
    buddies: () => {
      const seen = new Map(client.buddies().map((p) => [norm(p.screenName), viewOf(p)]));
      for (const b of initial) if (!seen.has(norm(b))) seen.set(norm(b), { screenName: b, online: false, away: false, kind: 'unknown' });
      return [...seen.values()];
    },
    async addBuddy(name) {
      await feedbagAdd(client, name);
      client.addBuddy(name);
    },
    async removeBuddy(name) {
      await feedbagRemove(client, name);
    },
    async sendIm(to, text) {
      const r = await client.sendIm(to, text);
      const line: ChatLine = {
        id: lineId(), peer: to, from: me, outgoing: true, text,
        verdict: r.secure && r.trust !== 'changed' ? 'verified' : 'untrusted',
        reason: r.secure ? `encrypted (${r.profile ?? 'modern'}), ${r.delivery === 'stored' ? 'stored for later' : 'delivered'}` : 'sent without encryption',
        code: r.secure ? 'ok' : 'plaintext', at: new Date(),
      };
      emit('line', line);
      return line;
    },
    sendTyping: (to, ev) => client.sendTyping(to, ev),
    setAway: (msg) => locateSetAway(client, msg),
    async trust(name) {
      const certs = await client.buddyCerts(name).catch((e: unknown) => {
        throw new Error(e instanceof Error ? e.message : String(e));
      });
      if (!certs) return { screenName: name, ownFingerprint, unavailable: 'no certificate published: not signed on, or a classic client' };
      return { screenName: certs.record.screenName, ownFingerprint, buddyFingerprint: certs.record.fingerprint, level: trustLevel(certs.record) };
    },
    async markVerified(name, fingerprint) {
      const rec = buddyStore.get(name);
      if (!rec) throw new Error(`no key known for ${name}`);
      const r = verifyRecord(rec, fingerprint);
      if (!r.ok) throw new Error(`the key changed meanwhile: now ${r.expected}`);
      buddyStore.put(r.record);
    },
    async acceptKeyChange(name) {
      const rec = buddyStore.get(name);
      const next = rec ? acceptRecord(rec) : undefined;
      if (next) buddyStore.put(next);
    },
    close: () => client.close(),
  };
  return session;
}

/** Unlocks the account's keys with the passphrase and signs on with the password. */
export const signInWithCore: SignIn = async ({ screenName, password, passphrase }) => {
  const account = (await listAccounts()).find((a) => norm(a.screenName) === norm(screenName));
  if (!account) throw new Error(`${screenName} is not set up on this device`);
  return open(account, password, passphrase);
};
