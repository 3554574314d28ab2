/**
 * Withdrawing a revoked certificate from Locate. A user's certificate-info block (docs/protocol.md §6.1) is stored
 * verbatim and served to anyone who asks (02/15 flag 0x08), and its MD5 rides in every user-info block as TLV
 * 0x001B (§4.2). Once one of its certificates is revoked the block must stop being served: buddies would
 * otherwise keep encrypting to a revoked key until the owner signs on again. So on revocation the stored block is
 * cleared, and if the owner is online their session drops the hash and presence is re-announced (03/0B without
 * 0x001B), which tells every watching client that the certificates are gone. The owner's client re-uploads at its
 * next sign-on, and the upload check refuses a revoked certificate (Locate 02/01 subcode 5).
 */
import { normalizeSerial } from '../../pki/ca.js';
import { parseCertificate } from '../../pki/x509-parse.js';
import { decodeCertificateInfo } from '../../wire/cert-info.js';
import type { Engine } from '../engine.js';
import { LogEvent, errorText } from '../log.js';
import type { UserInfoPort } from '../ports.js';

/** True when the cert-info block carries a certificate with this serial (unparseable parts never match). */
export function blockHasSerial(block: Uint8Array, serial: string): boolean {
  const want = normalizeSerial(serial);
  let info;
  try {
    info = decodeCertificateInfo(block);
  } catch {
    return false;
  }
  for (const der of [info.certA, info.certB]) {
    if (der === undefined) continue;
    try {
      if (normalizeSerial(parseCertificate(der).serial) === want) return true;
    } catch {
      // not a certificate we can read: cannot be the revoked one
    }
  }
  return false;
}

/** Clears the user's stored block when it carries `serial`; true when it did (works without a running server). */
export async function withdrawStoredBlock(userInfo: UserInfoPort, screenName: string, serial: string): Promise<boolean> {
  const stored = await userInfo.get(screenName);
  if (!stored.certBlock || !blockHasSerial(stored.certBlock, serial)) return false;
  await userInfo.setCertBlock(screenName, null);
  return true;
}

/**
 * The server's revocation hook: withdraws the stored block if it carries `serial`, and re-announces the owner's
 * presence without a certificate hash when they are online. Resolves to whether a block was withdrawn.
 */
export async function onCertificateRevoked(engine: Engine, screenName: string, serial: string): Promise<boolean> {
  let withdrawn: boolean;
  try {
    withdrawn = await withdrawStoredBlock(engine.ports.userInfo, screenName, serial);
  } catch (e) {
    engine.log('error', LogEvent.STORE_ERROR, { operation: 'userInfo.setCertBlock', screenName, error: errorText(e) });
    throw e;
  }
  if (!withdrawn) return false;
  const online = (await withdrawFromLocalSessions(engine, screenName)) > 0;
  engine.log('info', LogEvent.CERT_WITHDRAWN, { screenName, serial: normalizeSerial(serial), online });
  return true;
}

/**
 * Every session of the owner on this node (several sessions per user) drops its certificate hash and re-announces
 * presence without it; resolves to how many. A cluster node runs this when the node that revoked asks it to.
 */
export async function withdrawFromLocalSessions(engine: Engine, screenName: string): Promise<number> {
  const sessions = engine.registry.sessionsOf(screenName).filter((s) => !s.closed);
  for (const s of sessions) {
    s.certHash = undefined;
    s.touch();
    await engine.presence.broadcast(s);
  }
  return sessions.length;
}
