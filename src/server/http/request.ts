/** Small request/response helpers for the HTTPS listener: bounded body reading, Basic auth, text replies. */
import type { IncomingMessage, ServerResponse } from 'node:http';

/** An HTTP failure with the status to answer and a reason for the text body. Codes are stable. */
export class HttpError extends Error {
  /** HTTP status. */
  readonly status: number;
  /** Stable machine-readable code (first line of the body). */
  readonly code: string;
  /** Extra response headers (WWW-Authenticate, Retry-After, Allow). */
  readonly headers: Record<string, string>;

  /** @param status HTTP status; @param code stable code; @param reason human-readable reason */
  constructor(status: number, code: string, reason: string, headers: Record<string, string> = {}) {
    super(reason);
    this.name = 'HttpError';
    this.status = status;
    this.code = code;
    this.headers = headers;
  }
}

/**
 * Reads the body, refusing more than `max` bytes (413) before buffering them: a declared Content-Length over the
 * limit is refused at once, and a chunked body is cut off as soon as it passes the limit.
 */
export function readBody(req: IncomingMessage, max: number): Promise<Uint8Array> {
  const declared = Number(req.headers['content-length'] ?? NaN);
  if (Number.isFinite(declared) && declared > max) {
    return Promise.reject(new HttpError(413, 'BODY_TOO_LARGE', `request body of ${declared} bytes exceeds the ${max}-byte limit`));
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > max) {
        req.removeAllListeners('data');
        req.resume();
        reject(new HttpError(413, 'BODY_TOO_LARGE', `request body exceeds the ${max}-byte limit`));
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(new Uint8Array(Buffer.concat(chunks, size))));
    req.on('error', reject);
  });
}

/** Username and password from an `Authorization: Basic` header (RFC 7617), or undefined when absent/malformed. */
export function parseBasicAuth(header: string | undefined): { user: string; password: string } | undefined {
  if (!header) return undefined;
  const m = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(header);
  if (!m) return undefined;
  const decoded = Buffer.from(m[1]!, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  // The user-id cannot contain a colon (RFC 7617 §2); the password may.
  if (colon <= 0) return undefined;
  return { user: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}

/** Sends a response with a body and headers; `Content-Length` is set. */
export function send(res: ServerResponse, status: number, contentType: string, body: Uint8Array | string, headers: Record<string, string> = {}): void {
  const bytes = typeof body === 'string' ? Buffer.from(body, 'utf8') : Buffer.from(body.buffer, body.byteOffset, body.byteLength);
  res.writeHead(status, { 'Content-Type': contentType, 'Content-Length': String(bytes.length), 'Cache-Control': 'no-store', ...headers });
  res.end(bytes);
}

/** Answers an {@link HttpError} as `text/plain`: the code on the first line, the reason on the second. */
export function sendError(res: ServerResponse, err: HttpError): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  send(res, err.status, 'text/plain; charset=utf-8', `${err.code}\n${err.message}\n`, err.headers);
}
