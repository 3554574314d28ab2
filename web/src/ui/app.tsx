/** The app's screens: CA check, enrollment or .p12 import, unlock + sign-in (and .p12 export), then the chat (chat.tsx). */
import { useEffect, useState } from 'preact/hooks';
import { listAccounts, type StoredAccount } from '../keys/keystore.js';
import { pinnedCa } from '../keys/enroll.js';
import type { ChatSession } from '../session/types.js';
import { signIn } from '../session/index.js';
import { CaPanel, EnrollForm, ExportForm, ImportForm } from './setup.js';
import { Chat } from './chat.js';

type Screen = { s: 'loading' } | { s: 'ca' } | { s: 'enroll' } | { s: 'unlock'; accounts: StoredAccount[] } | { s: 'chat'; session: ChatSession };

export function App() {
  const [screen, setScreen] = useState<Screen>({ s: 'loading' });
  const refresh = async () => {
    if (!(await pinnedCa())) return setScreen({ s: 'ca' });
    const accounts = await listAccounts();
    setScreen(accounts.length ? { s: 'unlock', accounts } : { s: 'enroll' });
  };
  useEffect(() => void refresh(), []);
  return (
    <div class="app">
      {screen.s !== 'chat' && <header class="top"><h1>certim</h1></header>}
      {screen.s === 'loading' && <p class="panel">Loading…</p>}
      {screen.s === 'ca' && <CaPanel onPinned={() => void refresh()} />}
      {screen.s === 'enroll' && <EnrollForm onEnrolled={() => void refresh()} />}
      {screen.s === 'enroll' && <ImportForm onImported={() => void refresh()} />}
      {screen.s === 'unlock' && (
        <Unlock accounts={screen.accounts} onSession={(session) => setScreen({ s: 'chat', session })} onEnrollAnother={() => setScreen({ s: 'enroll' })} />
      )}
      {screen.s === 'unlock' && <ExportForm accounts={screen.accounts} />}
      {screen.s === 'chat' && <Chat session={screen.session} onSignOut={() => { screen.session.close(); void refresh(); }} />}
    </div>
  );
}

function Unlock(props: { accounts: StoredAccount[]; onSession: (s: ChatSession) => void; onEnrollAnother: () => void }) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | undefined>();
  const submit = (ev: Event) => {
    ev.preventDefault();
    const f = new FormData(ev.currentTarget as HTMLFormElement);
    setBusy(true);
    setError(undefined);
    signIn({ screenName: String(f.get('screenName')), password: String(f.get('password')), passphrase: String(f.get('passphrase')) }).then(props.onSession, (e: Error) => {
      setBusy(false);
      setError(e.message);
    });
  };
  return (
    <form class="panel" onSubmit={submit} data-testid="signin-form">
      <h2>Sign in</h2>
      <label>Account
        <select name="screenName">{props.accounts.map((a) => <option value={a.screenName}>{a.screenName}</option>)}</select>
      </label>
      <label>Password <input name="password" type="password" required autocomplete="current-password" /></label>
      <label>Key passphrase <input name="passphrase" type="password" required /></label>
      <button type="submit" disabled={busy}>{busy ? 'Signing in…' : 'Sign in'}</button>
      {error && <p class="error" role="alert">{error}</p>}
      <p><button type="button" class="link" onClick={props.onEnrollAnother}>Set up another account on this device</button></p>
    </form>
  );
}
