/**
 * Enrollment over Secure Transport (RFC 7030) as pure functions: the server mounts them on its HTTPS port and owns
 * the HTTP framing, TLS, HTTP Basic authentication (and its rate limiting) and TLS client authentication. These
 * functions take the already-authenticated identity and the request body, and return status, headers and body.
 *
 *   GET  /.well-known/est/cacerts        -> estCaCerts(ca)
 *   POST /.well-known/est/simpleenroll   -> estSimpleEnroll(ca, basicAuthScreenName, body)
 *   POST /.well-known/est/simplereenroll -> estSimpleReenroll(ca, tlsClientCertificateDer, body)
 *
 * Request bodies are base64 DER PKCS#10 (RFC 7030 §4.2.1); PEM and raw DER are accepted too, because hand-driven
 * `curl --data-binary @req.pem` is common. Responses are base64 certs-only PKCS#7 (§4.1.3, §4.2.3). Refusals:
 * 401 unauthenticated, 400 unreadable / bad proof of possession / weak key, 403 names another account, 413 too big.
 * A successful enrollment supersedes the user's earlier certificates of the same purpose (revoked, reason
 * superseded), so every user has at most one valid encryption, one signing and one common certificate.
 */
import { PkiError } from './errors.js';
import { parseCsr, verifyCsrSignature, type CertificationRequest } from './csr.js';
import { encodeCertsOnly } from './certs-only.js';
import { normalizeScreenName } from './screen-name.js';
import { imUriScreenName } from './verifier.js';
import { MIN_RSA_BITS } from './keys.js';
import { purposeFromKeyUsage } from './profiles.js';
import type { CertificateAuthority } from './ca.js';
import type { Certificate } from './x509-parse.js';

/** What the EST functions need from the CA (the real CertificateAuthority satisfies it). */
export type EstCa = Pick<CertificateAuthority, 'issueUserCertificate' | 'caCertsPkcs7' | 'verify' | 'chain'> & Partial<Pick<CertificateAuthority, 'supersede'>>;

/** An HTTP response for the server to send as is. */
export interface EstResponse {
  /** HTTP status. */
  status: number;
  /** Content-Type header value. */
  contentType: string;
  /** Extra headers (e.g. Content-Transfer-Encoding). */
  headers: Record<string, string>;
  /** Response body (base64 text for success, a plain-text reason for errors). */
  body: string;
  /** For errors: the reason (same as body), for logs. */
  reason?: string;
}

/** Largest enrollment body accepted (a CSR with an RSA-16384 key is ~4 KB DER). */
export const EST_MAX_BODY = 64 * 1024;

const PKCS7 = 'application/pkcs7-mime';
const PKCS7_CERTS_ONLY = 'application/pkcs7-mime; smime-type=certs-only';

function b64Lines(b: Uint8Array): string {
  return `${(Buffer.from(b).toString('base64').match(/.{1,64}/g) ?? []).join('\r\n')}\r\n`;
}

function refuse(status: number, reason: string): EstResponse {
  return { status, contentType: 'text/plain; charset=utf-8', headers: {}, body: `${reason}\n`, reason };
}

/** GET /cacerts: the CA certificates as base64 certs-only PKCS#7. */
export function estCaCerts(ca: Pick<EstCa, 'caCertsPkcs7'>): EstResponse {
  return { status: 200, contentType: PKCS7, headers: { 'Content-Transfer-Encoding': 'base64' }, body: b64Lines(ca.caCertsPkcs7()) };
}

/** Decodes an enrollment body: base64 DER (RFC 7030), PEM, or raw DER. */
export function decodeCsrBody(body: Uint8Array): CertificationRequest {
  if (body.length === 0) throw new PkiError('MALFORMED', 'empty request body');
  if (body[0] === 0x30) return parseCsr(body);
  const text = Buffer.from(body).toString('latin1');
  if (text.includes('-----BEGIN')) return parseCsr(text);
  if (!/^[A-Za-z0-9+/=\s]+$/.test(text)) throw new PkiError('MALFORMED', 'request body is not base64');
  return parseCsr(new Uint8Array(Buffer.from(text.replace(/\s+/g, ''), 'base64')));
}

/** The screen names a CSR claims: its subject CN and any `im:` SAN URIs, normalized. */
function claimedNames(csr: CertificationRequest): string[] {
  const names: string[] = [];
  if (csr.subjectCN !== undefined) names.push(normalizeScreenName(csr.subjectCN));
  for (const u of csr.sanUris) {
    const n = imUriScreenName(u);
    names.push(n ?? `<${u}>`);
  }
  return names;
}

async function enroll(ca: EstCa, screenName: string, body: Uint8Array): Promise<EstResponse> {
  if (body.length > EST_MAX_BODY) return refuse(413, 'request body too large');
  let csr: CertificationRequest;
  try {
    csr = decodeCsrBody(body);
  } catch (e) {
    return refuse(400, `the CSR cannot be read: ${(e as Error).message}`);
  }
  if (!verifyCsrSignature(csr)) return refuse(400, 'the CSR signature does not verify with its own key (no proof of possession)');
  if (csr.publicKey.asymmetricKeyType !== 'rsa') return refuse(400, 'only RSA keys can be certified (AIM clients understand only RSA)');
  if ((csr.keyBits ?? 0) < MIN_RSA_BITS) return refuse(400, `the key is ${csr.keyBits} bits; at least ${MIN_RSA_BITS} bits are required`);
  const want = normalizeScreenName(screenName);
  const names = claimedNames(csr);
  if (names.length === 0) return refuse(403, 'the CSR names no screen name (subject CN must be your screen name)');
  const wrong = names.find((n) => n !== want);
  if (wrong !== undefined) return refuse(403, `the CSR is for "${wrong}", but you are authenticated as "${want}"`);
  const purpose = purposeFromKeyUsage(csr.keyUsage) ?? 'common';
  try {
    const issued = await ca.issueUserCertificate(csr, csr.subjectCN ?? screenName, purpose);
    // One valid certificate per purpose and user: the new one supersedes (revokes) the previous ones.
    await ca.supersede?.(want, purpose, issued.record.serial);
    return {
      status: 200, contentType: PKCS7_CERTS_ONLY, headers: { 'Content-Transfer-Encoding': 'base64' },
      body: b64Lines(encodeCertsOnly([issued.der])),
    };
  } catch (e) {
    if (e instanceof PkiError && (e.code === 'WEAK_KEY' || e.code === 'BAD_SIGNATURE' || e.code === 'MALFORMED' || e.code === 'INVALID_ARGUMENT' || e.code === 'UNSUPPORTED_ALGORITHM')) {
      return refuse(400, e.message);
    }
    throw e;
  }
}

/**
 * POST /simpleenroll. `screenName` is the account the server authenticated with HTTP Basic over TLS, or undefined
 * when authentication failed/was absent (-> 401 with a WWW-Authenticate challenge).
 */
export async function estSimpleEnroll(ca: EstCa, screenName: string | undefined, body: Uint8Array): Promise<EstResponse> {
  if (screenName === undefined) {
    const r = refuse(401, 'authentication required');
    r.headers['WWW-Authenticate'] = 'Basic realm="certim EST", charset="UTF-8"';
    return r;
  }
  return enroll(ca, screenName, body);
}

/**
 * POST /simplereenroll. `clientCertificate` is the certificate the TLS client authenticated with (DER or parsed), or
 * undefined. It must be a currently valid, unrevoked certificate from this CA; the new CSR must name the same account.
 */
export async function estSimpleReenroll(ca: EstCa, clientCertificate: Uint8Array | Certificate | undefined, body: Uint8Array): Promise<EstResponse> {
  if (clientCertificate === undefined) return refuse(401, 'TLS client authentication with your current certificate is required');
  const v = await ca.verify(clientCertificate, { purpose: 'tls-client' });
  if (!v.ok) return refuse(403, `your current certificate is not acceptable: ${v.reason}`);
  const leaf = v.chain[0]!;
  const im = leaf.sanUris.map(imUriScreenName).find((x) => x !== undefined);
  const sn = im ?? (leaf.subjectCN !== undefined ? normalizeScreenName(leaf.subjectCN) : undefined);
  if (sn === undefined) return refuse(403, 'your current certificate names no screen name');
  return enroll(ca, sn, body);
}
