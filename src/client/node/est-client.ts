/**
 * EST client (RFC 7030) over node:https: `/cacerts` to learn the CA on first contact, `/simpleenroll` with HTTP
 * Basic (screen name + password) and `/simplereenroll` with TLS client authentication by the current signing
 * certificate. Every call except the first-contact `/cacerts` trusts only the pinned CA (see tcp-transport.ts).
 */
import * as https from 'node:https';
import { toPem } from '../../pki/asn1/der.js';
import { decodeCertsOnly } from '../../pki/certs-only.js';
import { parseCertificate } from '../../pki/x509-parse.js';
import { ClientError } from '../errors.js';
import { certFingerprint } from '../trust.js';
import { isTlsTrustError, pinnedTlsOptions } from './tcp-transport.js';

/** Largest EST response we read (a few certificates). */
const MAX_RESPONSE = 256 * 1024;

/** One HTTP exchange. */
interface HttpResult {
  status: number;
  contentType: string;
  body: Buffer;
}

function estRequest(
  baseUrl: string,
  op: string,
  opts: { method: 'GET' | 'POST'; body?: Uint8Array; headers?: Record<string, string>; tls: https.RequestOptions; timeoutMs?: number; maxBytes?: number },
): Promise<HttpResult> {
  // `op` is an EST operation, or an absolute path on the same server (the CRL).
  const url = new URL(op.startsWith('/') ? op : `/.well-known/est/${op}`, baseUrl);
  if (url.protocol !== 'https:') return Promise.reject(new ClientError('BAD_ARGUMENT', `EST needs an https:// URL, got ${baseUrl}`));
  return new Promise((resolve, reject) => {
    const req = https.request(url, { method: opts.method, headers: opts.headers, ...opts.tls, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (c: Buffer) => {
        size += c.length;
        const max = opts.maxBytes ?? MAX_RESPONSE;
        if (size > max) {
          req.destroy(new ClientError('ENROLL_FAILED', `EST ${op}: response larger than ${max} bytes`));
          return;
        }
        chunks.push(c);
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, contentType: String(res.headers['content-type'] ?? ''), body: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    req.setTimeout(opts.timeoutMs ?? 30_000, () => req.destroy(new ClientError('TIMEOUT', `EST ${op}: no answer from ${url.host}`)));
    req.on('error', (err: NodeJS.ErrnoException) => {
      if (ClientError.is(err)) return reject(err);
      reject(isTlsTrustError(err)
        ? new ClientError('TLS_UNTRUSTED', `${url.host}: the HTTPS certificate does not chain to the pinned CA (${err.message})`, { cause: err })
        : new ClientError('CONNECT_FAILED', `EST ${op}: cannot reach ${url.host}: ${err.message}`, { cause: err }));
    });
    if (opts.body) req.write(opts.body);
    req.end();
  });
}

/** Extracts the certificates (DER) from a base64 certs-only PKCS#7 (RFC 7030 §4.1.3 / §4.2.3). */
export function parseCertsOnly(body: Uint8Array): Uint8Array[] {
  const text = Buffer.from(body).toString('latin1').replace(/-----[^-]+-----/g, '').replace(/\s+/g, '');
  try {
    return decodeCertsOnly(Buffer.from(text, 'base64')).map((c) => new Uint8Array(c));
  } catch (e) {
    throw new ClientError('PROTOCOL', `EST: malformed certs-only response: ${(e as Error).message}`, { cause: e });
  }
}

/** True if a DER certificate's issuer and subject are the same bytes (a self-signed root). */
function isSelfIssued(der: Uint8Array): boolean {
  const c = parseCertificate(der);
  return Buffer.from(c.issuer.der).equals(c.subject.der);
}

/** The CA as learned from `/cacerts`: PEMs with the root first, and the root's SHA-256 fingerprint. */
export interface CaBundle {
  /** PEM certificates, root first. */
  pems: string[];
  /** SHA-256 of the root certificate's DER, lowercase hex. */
  rootFingerprint: string;
}

/** Orders certificates root first and computes the root fingerprint. */
export function caBundleFromDer(certs: Uint8Array[]): CaBundle {
  const root = certs.find((c) => isSelfIssued(c));
  if (!root) throw new ClientError('CA_UNKNOWN', 'the CA certificates contain no self-signed root');
  const ordered = [root, ...certs.filter((c) => c !== root)];
  return { pems: ordered.map((c) => toPem('CERTIFICATE', c)), rootFingerprint: certFingerprint(root) };
}

/**
 * Fetches `/cacerts`. With `pinnedCaPem` the HTTPS peer must chain to it; without (first contact) the TLS
 * certificate cannot be checked yet, so the caller MUST compare the returned fingerprint with one the user
 * confirmed (prompt or --ca-fingerprint) before trusting anything.
 */
export async function fetchCaCerts(baseUrl: string, pinnedCaPem?: string[]): Promise<CaBundle> {
  const host = new URL(baseUrl).hostname;
  const tlsOpts: https.RequestOptions = pinnedCaPem ? pinnedTlsOptions(pinnedCaPem, host) : { rejectUnauthorized: false };
  const res = await estRequest(baseUrl, 'cacerts', { method: 'GET', tls: tlsOpts });
  if (res.status !== 200) throw new ClientError('ENROLL_FAILED', `EST cacerts: HTTP ${res.status} ${res.body.toString('utf8').slice(0, 200)}`);
  return caBundleFromDer(parseCertsOnly(res.body));
}

/** Largest CRL we read: a CRL entry is ~40 bytes, so this is ~100,000 revoked certificates. */
const MAX_CRL = 4 * 1024 * 1024;

/**
 * Fetches the CA's CRL (DER) from `crlUrl` (default `<baseUrl>/ca/crl`, docs/protocol.md §12.3) over HTTPS that
 * trusts only the pinned CA. The caller checks the CRL's signature and dates (client/revocation.ts).
 */
export async function fetchCrl(baseUrl: string, caPem: string[], crlPath = '/ca/crl'): Promise<Uint8Array> {
  const host = new URL(baseUrl).hostname;
  const res = await estRequest(baseUrl, crlPath, { method: 'GET', tls: pinnedTlsOptions(caPem, host), timeoutMs: 15_000, maxBytes: MAX_CRL });
  if (res.status !== 200) throw new ClientError('CONNECT_FAILED', `CRL: HTTP ${res.status} from ${host}`);
  return new Uint8Array(res.body);
}

/** Sends a CSR to `/simpleenroll` with HTTP Basic auth; returns the issued certificate (DER). */
export async function simpleEnroll(baseUrl: string, caPem: string[], screenName: string, password: string, csrDer: Uint8Array): Promise<Uint8Array> {
  const host = new URL(baseUrl).hostname;
  const auth = Buffer.from(`${screenName}:${password}`, 'utf8').toString('base64');
  const res = await estRequest(baseUrl, 'simpleenroll', {
    method: 'POST',
    body: Buffer.from(Buffer.from(csrDer).toString('base64'), 'ascii'),
    headers: { 'Content-Type': 'application/pkcs10', 'Content-Transfer-Encoding': 'base64', Authorization: `Basic ${auth}` },
    tls: pinnedTlsOptions(caPem, host),
  });
  return enrollResult('simpleenroll', res);
}

/** Sends a CSR to `/simplereenroll`, authenticating with the current certificate and key over TLS. */
export async function simpleReenroll(baseUrl: string, caPem: string[], clientCertPem: string, clientKeyPem: string, csrDer: Uint8Array): Promise<Uint8Array> {
  const host = new URL(baseUrl).hostname;
  const res = await estRequest(baseUrl, 'simplereenroll', {
    method: 'POST',
    body: Buffer.from(Buffer.from(csrDer).toString('base64'), 'ascii'),
    headers: { 'Content-Type': 'application/pkcs10', 'Content-Transfer-Encoding': 'base64' },
    tls: { ...pinnedTlsOptions(caPem, host), cert: clientCertPem, key: clientKeyPem },
  });
  return enrollResult('simplereenroll', res);
}

function enrollResult(op: string, res: HttpResult): Uint8Array {
  if (res.status !== 200) {
    const why = res.status === 401 ? 'wrong screen name or password' : res.body.toString('utf8').trim().slice(0, 300);
    throw new ClientError('ENROLL_FAILED', `EST ${op} refused (HTTP ${res.status}): ${why}`);
  }
  const certs = parseCertsOnly(res.body);
  const cert = certs[0];
  if (!cert) throw new ClientError('ENROLL_FAILED', `EST ${op}: the response holds no certificate`);
  return cert;
}
