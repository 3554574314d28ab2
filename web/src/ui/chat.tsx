/**
 * The signed-in screen: buddy list (presence, away, idle, add/remove), one conversation at a time with a verdict
 * badge per message, key-change warnings, the trust view, typing notifications and desktop notifications. The side
 * panel keeps a place for rooms and file transfers. At phone width the list and the conversation take turns.
 */
import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import type { BuddyView, ChatLine, ChatSession, ConnectionState, KeyChangeView } from '../session/types.js';
import { TrustPanel } from './trust.js';

const CLASSIC_NOTE = 'classic client — secure IM needs the desktop client';

function presenceText(b: BuddyView): string {
  if (!b.online) return 'offline';
  if (b.away) return 'away';
  if (b.idleMinutes) return `idle ${b.idleMinutes} min`;
  return 'online';
}

function presenceClass(b: BuddyView): string {
  if (!b.online) return 'offline';
  if (b.away) return 'away';
  if (b.idleMinutes) return 'idle';
  return 'online';
}

function Badge(props: { line: ChatLine }) {
  const { line } = props;
  const label = line.verdict === 'verified' ? 'verified' : line.verdict === 'untrusted' ? `untrusted: ${line.reason}` : `failed: ${line.reason}`;
  return <span class={`badge ${line.verdict}`} data-verdict={line.verdict} title={`${line.code}: ${line.reason}`}>{label}</span>;
}

function notify(line: ChatLine): void {
  if (typeof Notification === 'undefined' || Notification.permission !== 'granted' || !document.hidden) return;
  // The notification names the sender only: the text stays on the page.
  new Notification(`certim: message from ${line.from}`, { tag: `certim-${line.peer}` });
}

export function Chat(props: { session: ChatSession; onSignOut: () => void }) {
  const { session } = props;
  const [buddies, setBuddies] = useState<Map<string, BuddyView>>(() => new Map(session.buddies().map((b) => [b.screenName.toLowerCase(), b])));
  const [lines, setLines] = useState<ChatLine[]>([]);
  const [active, setActive] = useState<string | undefined>();
  const [view, setView] = useState<'chat' | 'trust'>('chat');
  const [typing, setTyping] = useState<Map<string, string>>(new Map());
  const [changes, setChanges] = useState<Map<string, KeyChangeView>>(new Map());
  const [conn, setConn] = useState<ConnectionState>({ state: 'online' });
  const [warning, setWarning] = useState<string | undefined>();
  const [unread, setUnread] = useState<Set<string>>(new Set());
  const [away, setAway] = useState(false);
  const [perm, setPerm] = useState(typeof Notification === 'undefined' ? 'denied' : Notification.permission);
  const activeRef = useRef(active);
  activeRef.current = active;

  useEffect(() => {
    const offs = [
      session.on('buddy', (b) => setBuddies((m) => new Map(m).set(b.screenName.toLowerCase(), b))),
      session.on('line', (l) => {
        setLines((ls) => [...ls, l]);
        if (!l.outgoing) {
          if (activeRef.current?.toLowerCase() !== l.peer.toLowerCase()) setUnread((u) => new Set(u).add(l.peer.toLowerCase()));
          notify(l);
          setTyping((t) => { const n = new Map(t); n.delete(l.peer.toLowerCase()); return n; });
        }
        setBuddies((m) => (m.has(l.peer.toLowerCase()) ? m : new Map(m).set(l.peer.toLowerCase(), { screenName: l.peer, online: true, away: false, kind: 'unknown' })));
      }),
      session.on('typing', (from, ev) => setTyping((t) => { const n = new Map(t); if (ev === 'none') n.delete(from.toLowerCase()); else n.set(from.toLowerCase(), ev); return n; })),
      session.on('keyChange', (k) => setChanges((c) => new Map(c).set(k.screenName.toLowerCase(), k))),
      session.on('connection', (c) => {
        setConn(c);
        // Back online: the failed attempts' warnings are moot now.
        if (c.state === 'online') setWarning(undefined);
      }),
      session.on('warning', setWarning),
    ];
    return () => offs.forEach((off) => off());
  }, [session]);

  const open = (name: string) => {
    setActive(name);
    setView('chat');
    setUnread((u) => { const n = new Set(u); n.delete(name.toLowerCase()); return n; });
  };
  const sorted = useMemo(() => [...buddies.values()].sort((a, b) => Number(b.online) - Number(a.online) || a.screenName.localeCompare(b.screenName)), [buddies]);
  const activeBuddy = active ? buddies.get(active.toLowerCase()) : undefined;

  return (
    <div class={`chat ${active ? 'has-active' : ''}`}>
      <header class="top">
        <h1>certim</h1>
        <span class="me" data-testid="me">{session.screenName}</span>
        <span class={`conn ${conn.state}`} data-testid="connection" role="status">
          {conn.state === 'online' ? 'online' : conn.state === 'reconnecting' ? `reconnecting (attempt ${conn.attempt})…` : `offline: ${conn.reason}`}
        </span>
        <label class="away">
          <input type="checkbox" checked={away} onChange={(e) => { const on = (e.currentTarget as HTMLInputElement).checked; setAway(on); void session.setAway(on ? 'away' : undefined); }} /> away
        </label>
        {perm === 'default' && <button type="button" onClick={() => void Notification.requestPermission().then(setPerm)}>Enable notifications</button>}
        <button type="button" onClick={props.onSignOut}>Sign out</button>
      </header>
      {warning && <p class="warning" role="status" data-testid="warning">{warning} <button type="button" class="link" onClick={() => setWarning(undefined)}>dismiss</button></p>}
      <nav class="side" aria-label="Buddies">
        <h2>Buddies</h2>
        <AddBuddy onAdd={(n) => session.addBuddy(n).then(() => {
          // Listed at once, offline until the server says otherwise (it reports arrivals, not absences).
          setBuddies((m) => (m.has(n.toLowerCase()) ? m : new Map(m).set(n.toLowerCase(), { screenName: n, online: false, away: false, kind: 'unknown' })));
          open(n);
        })} />
        <ul class="buddies" data-testid="buddy-list">
          {sorted.map((b) => (
            <li key={b.screenName}>
              <button type="button" class={`buddy ${presenceClass(b)} ${active?.toLowerCase() === b.screenName.toLowerCase() ? 'active' : ''}`}
                onClick={() => open(b.screenName)} data-buddy={b.screenName} data-presence={presenceClass(b)}>
                <span class="dot" aria-hidden="true" />
                <span class="name">{b.screenName}</span>
                <span class="status">{presenceText(b)}{b.kind === 'classic' ? ' · classic' : ''}</span>
                {unread.has(b.screenName.toLowerCase()) && <span class="unread" aria-label="unread messages">●</span>}
              </button>
            </li>
          ))}
        </ul>
        <h2>Rooms</h2>
        <p class="muted">Secure rooms are coming to the web client.</p>
        <h2>Files</h2>
        <p class="muted">File transfer is coming to the web client.</p>
      </nav>
      <main class="main">
        {!active && <p class="muted panel">Choose a buddy, or add one.</p>}
        {active && (
          <>
            <div class="conv-head">
              <button type="button" class="back" onClick={() => setActive(undefined)} aria-label="Back to buddies">←</button>
              <h2 data-testid="conversation-with">{activeBuddy?.screenName ?? active}</h2>
              <span class="status">{activeBuddy ? presenceText(activeBuddy) : ''}</span>
              <button type="button" onClick={() => setView(view === 'trust' ? 'chat' : 'trust')} data-testid="trust-button">{view === 'trust' ? 'Conversation' : 'Keys'}</button>
              <button type="button" onClick={() => void session.removeBuddy(active).then(() => { setBuddies((m) => { const n = new Map(m); n.delete(active.toLowerCase()); return n; }); setActive(undefined); })}>Remove</button>
            </div>
            {changes.get(active.toLowerCase()) && (
              <KeyChangeBanner change={changes.get(active.toLowerCase())!} onReview={() => setView('trust')} />
            )}
            {activeBuddy?.kind === 'classic' && <p class="note" data-testid="classic-note">{CLASSIC_NOTE}</p>}
            {view === 'trust'
              ? <TrustPanel session={session} buddy={active} onDone={() => { setChanges((c) => { const n = new Map(c); n.delete(active.toLowerCase()); return n; }); setView('chat'); }} />
              : <Conversation session={session} peer={active} lines={lines.filter((l) => l.peer.toLowerCase() === active.toLowerCase())} typing={typing.get(active.toLowerCase())} />}
          </>
        )}
      </main>
    </div>
  );
}

function KeyChangeBanner(props: { change: KeyChangeView; onReview: () => void }) {
  return (
    <div class="keychange" role="alert" data-testid="key-change">
      <strong>{props.change.screenName}'s key changed.</strong>{' '}
      {props.change.wasVerified
        ? 'You had verified the old key; messages wait until you compare the new one.'
        : 'This happens when they set up a new device or new keys. Compare the safety code to be sure.'}{' '}
      <button type="button" onClick={props.onReview}>Review keys</button>
    </div>
  );
}

function AddBuddy(props: { onAdd: (name: string) => Promise<void> }) {
  const [error, setError] = useState<string | undefined>();
  return (
    <form class="add" onSubmit={(ev) => {
      ev.preventDefault();
      const form = ev.currentTarget as HTMLFormElement;
      const name = String(new FormData(form).get('buddy')).trim();
      if (!name) return;
      props.onAdd(name).then(() => { form.reset(); setError(undefined); }, (e: Error) => setError(e.message));
    }}>
      <input name="buddy" placeholder="Add a buddy" aria-label="Screen name to add" maxLength={97} />
      <button type="submit">Add</button>
      {error && <p class="error" role="alert">{error}</p>}
    </form>
  );
}

function Conversation(props: { session: ChatSession; peer: string; lines: ChatLine[]; typing: string | undefined }) {
  const [error, setError] = useState<string | undefined>();
  const [sending, setSending] = useState(0);
  const listRef = useRef<HTMLOListElement>(null);
  const typingSent = useRef<number>(0);
  useEffect(() => {
    listRef.current?.lastElementChild?.scrollIntoView({ block: 'end' });
  }, [props.lines.length]);
  const send = (text: string) => {
    setSending((n) => n + 1);
    props.session.sendTyping(props.peer, 'none');
    typingSent.current = 0;
    props.session.sendIm(props.peer, text).then(() => setError(undefined), (e: Error) => setError(e.message)).finally(() => setSending((n) => n - 1));
  };
  return (
    <section class="conversation" aria-label={`Conversation with ${props.peer}`}>
      <ol class="lines" aria-live="polite" aria-label="Messages" ref={listRef} data-testid="lines">
        {props.lines.map((l) => (
          <li key={l.id} class={`line ${l.outgoing ? 'out' : 'in'} ${l.verdict}`} data-verdict={l.verdict}>
            <span class="meta">{l.outgoing ? 'me' : l.from} · {l.at.toLocaleTimeString()}{l.offline ? ' · while you were away' : ''}</span>
            <Badge line={l} />
            {l.verdict === 'failed' ? <span class="text failed-text">(message could not be read)</span> : <span class="text">{l.text}</span>}
          </li>
        ))}
      </ol>
      <p class="typing" aria-live="polite" data-testid="typing">{props.typing === 'typing' ? `${props.peer} is typing…` : props.typing === 'paused' ? `${props.peer} stopped typing` : ''}</p>
      {error && <p class="error" role="alert" data-testid="send-error">{error}</p>}
      <form class="composer" onSubmit={(ev) => {
        ev.preventDefault();
        const ta = (ev.currentTarget as HTMLFormElement).elements.namedItem('text') as HTMLTextAreaElement;
        const text = ta.value.trim();
        if (text) send(text);
        ta.value = '';
      }}>
        <textarea name="text" rows={2} aria-label={`Message to ${props.peer}`} placeholder="Message (Enter sends, Shift+Enter for a new line)"
          onKeyDown={(e) => {
            if (e.key === 'Enter' && !e.shiftKey) {
              e.preventDefault();
              (e.currentTarget as HTMLTextAreaElement).form?.requestSubmit();
            }
          }}
          onInput={(e) => {
            const empty = (e.currentTarget as HTMLTextAreaElement).value.length === 0;
            const now = Date.now();
            if (empty) { props.session.sendTyping(props.peer, 'none'); typingSent.current = 0; }
            else if (now - typingSent.current > 5000) { props.session.sendTyping(props.peer, 'typing'); typingSent.current = now; }
          }} />
        <button type="submit" disabled={sending > 5}>Send</button>
      </form>
    </section>
  );
}
