/** The trust view: both identity fingerprints, the safety code and its QR code, verify / accept a change. */
import { useEffect, useState } from 'preact/hooks';
import type { ChatSession, TrustView } from '../session/types.js';
import { formatFingerprint } from '../keys/enroll.js';
import { safetyCode, safetyQr } from '../safety.js';

export function TrustPanel(props: { session: ChatSession; buddy: string; onDone: () => void }) {
  const [t, setT] = useState<TrustView | undefined>();
  const [code, setCode] = useState<string | undefined>();
  const [error, setError] = useState<string | undefined>();
  const load = () => props.session.trust(props.buddy).then(async (v) => {
    setT(v);
    if (v.buddyFingerprint) setCode(await safetyCode({ screenName: props.session.screenName, fingerprint: v.ownFingerprint }, { screenName: v.screenName, fingerprint: v.buddyFingerprint }));
  }, (e: Error) => setError(e.message));
  useEffect(() => void load(), [props.buddy]);
  if (error) return <p class="error" role="alert">{error}</p>;
  if (!t) return <p class="muted">Loading keys…</p>;
  return (
    <section class="trust" data-testid="trust-view">
      <h3>Keys</h3>
      <dl>
        <dt>Your fingerprint</dt>
        <dd><code class="fp" data-testid="own-fp">{formatFingerprint(t.ownFingerprint)}</code></dd>
        <dt>{t.screenName}'s fingerprint</dt>
        <dd>{t.buddyFingerprint ? <code class="fp" data-testid="buddy-fp">{formatFingerprint(t.buddyFingerprint)}</code> : <span class="muted">{t.unavailable ?? 'not known yet'}</span>}</dd>
        <dt>Status</dt>
        <dd data-testid="trust-level">{t.level === 'personal' ? 'verified by you' : t.level === 'changed' ? 'key changed — not verified' : t.level === 'ca' ? 'certified by the CA (not compared in person)' : 'unknown'}</dd>
      </dl>
      {code && t.buddyFingerprint && (
        <>
          <h3>Safety code</h3>
          <p>Compare it with {t.screenName} in person or on a call: the same code on both screens means nobody is in between.</p>
          <p class="safety" data-testid="safety-code">{code}</p>
          <img class="qr" src={safetyQr(code)} alt={`QR code of the safety code ${code}`} width={180} height={180} />
          <p>
            <button type="button" onClick={() => void props.session.markVerified(t.screenName, t.buddyFingerprint!).then(props.onDone, (e: Error) => setError(e.message))}>The codes match: mark as verified</button>
            {t.level === 'changed' && <button type="button" onClick={() => void props.session.acceptKeyChange(t.screenName).then(props.onDone, (e: Error) => setError(e.message))}>Accept the new key without comparing</button>}
          </p>
        </>
      )}
    </section>
  );
}
