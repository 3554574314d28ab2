/** First use on this device: check and pin the CA, then enroll (docs/protocol.md §18.2). */
import { useEffect, useState } from 'preact/hooks';
import { checkCa, enroll, formatFingerprint, invitationFingerprint, pinCa, type CaCheck } from '../keys/enroll.js';
import { KEY_SIZES } from '../keys/csr.js';
import type { StoredAccount } from '../keys/keystore.js';

export function CaPanel(props: { onPinned: () => void }) {
  const [check, setCheck] = useState<CaCheck | undefined>();
  const [error, setError] = useState<string | undefined>();
  useEffect(() => {
    checkCa(invitationFingerprint(location.hash)).then(async (c) => {
      setCheck(c);
      if (c.status === 'pinned') props.onPinned();
      else if (c.status === 'matches-invitation') {
        await pinCa(c.ca);
        props.onPinned();
      }
    }, (e: unknown) => setError(e instanceof Error ? e.message : String(e)));
  }, []);
  if (error) return <section class="panel" role="alert"><h2>Cannot reach the CA</h2><p>{error}</p></section>;
  if (!check) return <section class="panel"><p>Checking the server's certificate authority…</p></section>;
  if (check.status === 'mismatch') {
    return (
      <section class="panel danger" role="alert" data-testid="ca-mismatch">
        <h2>The server's CA is not the one expected</h2>
        <p>Expected ({check.source === 'pinned' ? 'pinned on this device' : 'from your invitation link'}):</p>
        <code class="fp">{formatFingerprint(check.expected)}</code>
        <p>The server presents:</p>
        <code class="fp">{formatFingerprint(check.ca.rootFingerprint)}</code>
        <p>Do not sign in. Ask the server's administrator.</p>
      </section>
    );
  }
  if (check.status === 'first-use') {
    return (
      <section class="panel" data-testid="ca-first-use">
        <h2>Trust this server's CA?</h2>
        <p>Compare this fingerprint with the one your administrator gave you:</p>
        <code class="fp" data-testid="ca-fingerprint">{formatFingerprint(check.ca.rootFingerprint)}</code>
        <button type="button" onClick={() => void pinCa(check.ca).then(props.onPinned, (e: Error) => setError(e.message))}>It matches: trust it</button>
      </section>
    );
  }
  return <section class="panel"><p>CA pinned.</p></section>;
}

export function EnrollForm(props: { onEnrolled: (a: StoredAccount) => void }) {
  const [busy, setBusy] = useState<string | undefined>();
  const [error, setError] = useState<string | undefined>();
  const submit = (ev: Event) => {
    ev.preventDefault();
    const f = new FormData(ev.currentTarget as HTMLFormElement);
    const passphrase = String(f.get('passphrase'));
    if (passphrase !== String(f.get('passphrase2'))) return setError('the two passphrases differ');
    setError(undefined);
    enroll({
      screenName: String(f.get('screenName')).trim(),
      password: String(f.get('password')),
      passphrase,
      keySize: Number(f.get('keySize')),
      onStep: setBusy,
    }).then(props.onEnrolled, (e: Error) => {
      setBusy(undefined);
      setError(e.message);
    });
  };
  return (
    <form class="panel" onSubmit={submit} data-testid="enroll-form">
      <h2>Set up this device</h2>
      <p>Your keys are made here and never leave this browser unencrypted.</p>
      <label>Screen name <input name="screenName" required autocomplete="username" /></label>
      <label>Password <input name="password" type="password" required autocomplete="current-password" /></label>
      <label>Passphrase for your keys on this device <input name="passphrase" type="password" required minLength={8} autocomplete="new-password" /></label>
      <label>Passphrase again <input name="passphrase2" type="password" required minLength={8} autocomplete="new-password" /></label>
      <label>Key size <select name="keySize">{KEY_SIZES.map((k) => <option value={k}>{k} bits</option>)}</select></label>
      <button type="submit" disabled={busy !== undefined}>Create keys and enroll</button>
      {busy && <p aria-live="polite">{busy}…</p>}
      {error && <p class="error" role="alert">{error}</p>}
    </form>
  );
}
