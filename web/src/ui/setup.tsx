/** First use on this device: check and pin the CA, then enroll (docs/protocol.md §18.2) or import a .p12 (§18.5). */
import { useEffect, useState } from 'preact/hooks';
import { checkCa, enroll, formatFingerprint, invitationFingerprint, pinCa, type CaCheck } from '../keys/enroll.js';
import { KEY_SIZES } from '../keys/csr.js';
import type { StoredAccount } from '../keys/keystore.js';
import { download, exportIdentity, importIdentity, MIN_P12_PASSWORD } from '../keys/p12.js';

/**
 * One form's long-running task: the step it is on (undefined: idle) and the last error. `run` clears the error,
 * shows `first`, passes a step reporter to the task, and on failure shows its message.
 */
function useTask() {
  const [busy, setBusy] = useState<string | undefined>();
  const [error, setError] = useState<string | undefined>();
  const run = <T,>(first: string, task: (onStep: (s: string) => void) => Promise<T>, done: (v: T) => void): void => {
    setError(undefined);
    setBusy(first);
    task(setBusy).then((v) => {
      setBusy(undefined);
      done(v);
    }, (e: Error) => {
      setBusy(undefined);
      setError(e.message);
    });
  };
  return { busy, error, setError, run };
}

function TaskStatus(props: { busy: string | undefined; error: string | undefined }) {
  return (
    <>
      {props.busy && <p aria-live="polite">{props.busy}…</p>}
      {props.error && <p class="error" role="alert">{props.error}</p>}
    </>
  );
}

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
  const { busy, error, setError, run } = useTask();
  const submit = (ev: Event) => {
    ev.preventDefault();
    const f = new FormData(ev.currentTarget as HTMLFormElement);
    const passphrase = String(f.get('passphrase'));
    if (passphrase !== String(f.get('passphrase2'))) return setError('the two passphrases differ');
    run('starting', (onStep) => enroll({
      screenName: String(f.get('screenName')).trim(),
      password: String(f.get('password')),
      passphrase,
      keySize: Number(f.get('keySize')),
      onStep,
    }), props.onEnrolled);
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
      <TaskStatus busy={busy} error={error} />
    </form>
  );
}

/** Set up this device from a .p12 exported by the CLI or another browser, instead of enrolling (docs/protocol.md §18.5). */
export function ImportForm(props: { onImported: (a: StoredAccount) => void }) {
  const { busy, error, setError, run } = useTask();
  const submit = (ev: Event) => {
    ev.preventDefault();
    const f = new FormData(ev.currentTarget as HTMLFormElement);
    const passphrase = String(f.get('passphrase'));
    if (passphrase !== String(f.get('passphrase2'))) return setError('the two passphrases differ');
    const file = f.get('file');
    if (!(file instanceof Blob) || file.size === 0) return setError('choose a .p12 file');
    run('reading the file', async (onStep) => importIdentity({ file: new Uint8Array(await file.arrayBuffer()), filePassword: String(f.get('filePassword')), passphrase, onStep }), props.onImported);
  };
  return (
    <form class="panel" onSubmit={submit} data-testid="import-form">
      <h2>Or bring your identity</h2>
      <p>Import the .p12 file written by <code>certim keys export</code> or by certim in another browser. Its certificates must come from this server's CA.</p>
      <label>Identity file (.p12) <input name="file" type="file" required accept=".p12,.pfx,application/x-pkcs12" /></label>
      <label>Password of the file <input name="filePassword" type="password" required autocomplete="off" /></label>
      <label>New passphrase for your keys on this device <input name="passphrase" type="password" required minLength={8} autocomplete="new-password" /></label>
      <label>New passphrase again <input name="passphrase2" type="password" required minLength={8} autocomplete="new-password" /></label>
      <button type="submit" disabled={busy !== undefined}>Import identity</button>
      <TaskStatus busy={busy} error={error} />
    </form>
  );
}

/** Writes an account's identity to a .p12 file the CLI (`certim keys import`) or another browser can read. */
export function ExportForm(props: { accounts: StoredAccount[] }) {
  const { busy, error, setError, run } = useTask();
  const [done, setDone] = useState<string | undefined>();
  const submit = (ev: Event) => {
    ev.preventDefault();
    const f = new FormData(ev.currentTarget as HTMLFormElement);
    const filePassword = String(f.get('filePassword'));
    if (filePassword !== String(f.get('filePassword2'))) return setError('the two file passwords differ');
    const account = props.accounts.find((a) => a.screenName === String(f.get('screenName')));
    if (!account) return setError('choose an account');
    setDone(undefined);
    run('exporting', () => exportIdentity(account, String(f.get('passphrase')), filePassword), (bytes) => {
      const name = `${account.screenName.replace(/[^A-Za-z0-9._-]/g, '_')}.p12`;
      download(bytes, name);
      setDone(`Saved ${name}. Keep it private: anyone with the file and its password can read your messages.`);
    });
  };
  return (
    <details class="panel">
      <summary>Export your identity (.p12)</summary>
      <form onSubmit={submit} data-testid="export-form">
        <p>For <code>certim keys import</code> or another browser. Written with AES-256 and PBKDF2-SHA-256 (600,000 rounds).</p>
        <label>Account
          <select name="screenName">{props.accounts.map((a) => <option value={a.screenName}>{a.screenName}</option>)}</select>
        </label>
        <label>Key passphrase on this device <input name="passphrase" type="password" required /></label>
        <label>Password for the file <input name="filePassword" type="password" required minLength={MIN_P12_PASSWORD} autocomplete="new-password" /></label>
        <label>Password for the file again <input name="filePassword2" type="password" required minLength={MIN_P12_PASSWORD} autocomplete="new-password" /></label>
        <button type="submit" disabled={busy !== undefined}>{busy ? 'Exporting…' : 'Export .p12'}</button>
        {done && <p role="status" data-testid="export-done">{done}</p>}
        {error && <p class="error" role="alert">{error}</p>}
      </form>
    </details>
  );
}
