/**
 * EST (RFC 7030) from the page, same origin (docs/protocol.md §12.3, §18.2): `/cacerts` to learn the CA and
 * `/simpleenroll` with HTTP Basic (screen name + password), exactly the requests the CLI sends
 * (src/client/node/est-client.ts). Requests go out with `credentials: 'omit'`: the browser then neither shows its
 * own password dialog on a 401 nor offers a TLS client certificate, and the Basic header is ours alone.
 */
import { decodeCertsOnly } from '../../../src/pki/certs-only.js';
import { parseAsn1, rawOf, seqOf, TAG, readString, readOid, children } from '../../../src/pki/asn1/der.js';
import { OID } from '../../../src/pki/oids.js';
import { fromBase64, toBase64 } from './b64.js';

/** The EST path prefix (RFC 7030 §3.2.2). */
export const EST_PREFIX = '/.well-known/est/';

/** An EST failure, with the HTTP status (0 when the request never got an answer). */
export class EstError extends Error {
  constructor(readonly status: number, message: string) {
    super(message);
    this.name = 'EstError';
  }
}

/** Reads the certificates out of a base64 certs-only PKCS#7 body (RFC 7030 §4.1.3). */
export function parseCertsOnlyBody(text: string): Uint8Array[] {
  const b64 = text.replace(/-----[^-]+-----/g, '').replace(/\s+/g, '');
  return decodeCertsOnly(fromBase64(b64));
}

/** The parts of a certificate the page shows and compares. */
export interface CertSummary {
  /** Issuer Name, DER. */
  issuer: Uint8Array;
  /** Subject Name, DER. */
  subject: Uint8Array;
  /** Subject common name, if any. */
  commonName: string | undefined;
  /** SubjectPublicKeyInfo, DER. */
  spki: Uint8Array;
  /** notAfter. */
  notAfter: string;
}

/** Splits a certificate (RFC 5280 §4.1) into the fields the page needs; throws on malformed input. */
export function summarizeCertificate(certDer: Uint8Array): CertSummary {
  const [tbsN] = seqOf(parseAsn1(certDer), 'Certificate', 3);
  const tbs = seqOf(tbsN, 'TBSCertificate', 6);
  const o = tbs[0]!.tag === 0xa0 ? 1 : 0; // [0] EXPLICIT version present
  const issuerN = tbs[o + 2]!;
  const validity = seqOf(tbs[o + 3], 'Validity', 2);
  const subjectN = tbs[o + 4]!;
  let commonName: string | undefined;
  for (const rdn of children(subjectN)) {
    for (const atv of children(rdn)) {
      const [t, v] = children(atv);
      if (t && v && t.tag === TAG.OID && readOid(t) === OID.commonName) commonName = readString(v);
    }
  }
  const notAfterN = validity[1]!;
  const t = new TextDecoder('latin1').decode(notAfterN.buf.subarray(notAfterN.contentStart, notAfterN.contentEnd));
  return { issuer: rawOf(issuerN), subject: rawOf(subjectN), commonName, spki: rawOf(tbs[o + 5]!), notAfter: t };
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

/** SHA-256 of `bytes`, lowercase hex (the machine form of every certim fingerprint). */
export async function sha256Hex(...parts: Uint8Array[]): Promise<string> {
  const size = parts.reduce((n, p) => n + p.length, 0);
  const all = new Uint8Array(size);
  let at = 0;
  for (const p of parts) {
    all.set(p, at);
    at += p.length;
  }
  const d = new Uint8Array(await crypto.subtle.digest('SHA-256', all));
  return Array.from(d, (b) => b.toString(16).padStart(2, '0')).join('');
}

/** The CA as `/cacerts` returned it: DER certificates, self-signed root first, and the root's fingerprint. */
export interface CaBundle {
  /** DER certificates, root first. */
  certs: Uint8Array[];
  /** SHA-256 of the root's DER, lowercase hex. */
  rootFingerprint: string;
}

/** Orders `/cacerts` root first (the one self-issued certificate) and fingerprints the root. */
export async function caBundle(certs: Uint8Array[]): Promise<CaBundle> {
  const root = certs.find((c) => {
    const s = summarizeCertificate(c);
    return sameBytes(s.issuer, s.subject);
  });
  if (!root) throw new EstError(0, 'the CA certificates contain no self-signed root');
  return { certs: [root, ...certs.filter((c) => c !== root)], rootFingerprint: await sha256Hex(root) };
}

async function call(path: string, init: RequestInit): Promise<Response> {
  try {
    return await fetch(path, { ...init, credentials: 'omit', cache: 'no-store', redirect: 'error' });
  } catch (e) {
    throw new EstError(0, `cannot reach the server: ${e instanceof Error ? e.message : String(e)}`);
  }
}

/** `GET /.well-known/est/cacerts` on this page's origin. */
export async function fetchCaCerts(): Promise<CaBundle> {
  const res = await call(`${EST_PREFIX}cacerts`, { method: 'GET' });
  if (res.status !== 200) throw new EstError(res.status, `EST cacerts: HTTP ${res.status}`);
  return caBundle(parseCertsOnlyBody(await res.text()));
}

/** `POST /.well-known/est/simpleenroll` with a CSR; returns the issued certificate (DER). */
export async function simpleEnroll(screenName: string, password: string, csrDer: Uint8Array): Promise<Uint8Array> {
  const auth = toBase64(new TextEncoder().encode(`${screenName}:${password}`));
  const res = await call(`${EST_PREFIX}simpleenroll`, {
    method: 'POST',
    body: toBase64(csrDer),
    headers: { 'Content-Type': 'application/pkcs10', 'Content-Transfer-Encoding': 'base64', Authorization: `Basic ${auth}` },
  });
  const body = await res.text();
  if (res.status !== 200) {
    const why = res.status === 401 ? 'wrong screen name or password' : body.trim().slice(0, 300);
    throw new EstError(res.status, `enrollment refused (HTTP ${res.status}): ${why}`);
  }
  const cert = parseCertsOnlyBody(body)[0];
  if (!cert) throw new EstError(res.status, 'the enrollment response holds no certificate');
  return cert;
}
