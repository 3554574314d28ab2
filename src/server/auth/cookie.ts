/**
 * The BOS hand-off cookie (PROTOCOL §2.1 step 5/6): opaque to clients, HMAC-SHA256-signed by the server,
 * short-lived and single-use. Padded to exactly 256 bytes because some clients expect that length (R).
 *
 * Layout (server-private): u8 version 1 · u32 expiry (Unix s) · 16 random bytes (nonce) · u8 flags
 * (0x01 signed on over TLS) · u8 multi-conn flag · string08 screen name · string08 client id string (at most
 * {@link MAX_CLIENT_ID_BYTES}, for the sign-on log line) · 32-byte HMAC over everything before it ·
 * zero padding to 256.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { ByteReader, ByteWriter, WireError, encodeText } from '../../wire/bytes.js';

/** Cookie length on the wire. */
export const COOKIE_LENGTH = 256;

/** Longest client id string (17/02 TLV 0x0003) a cookie carries, in bytes; longer ones are cut. */
export const MAX_CLIENT_ID_BYTES = 64;

/** What a valid cookie says. */
export interface CookieClaims {
  /** Formatted screen name that authenticated. */
  screenName: string;
  /** Whether the login happened over TLS. */
  tls: boolean;
  /** The client's 17/02 TLV 0x004A multi-conn flag (0 when absent). */
  multiConn: number;
  /** The client id string the login sent (17/02 TLV 0x0003), cut to {@link MAX_CLIENT_ID_BYTES}; for logs only. */
  clientId?: string;
}

/** Issues and checks BOS cookies with one secret key. */
export class CookieIssuer {
  private readonly used = new Map<string, number>();

  /**
   * @param secret HMAC key (≥ 32 random bytes; a fresh one per process is fine: cookies live seconds)
   * @param ttlSeconds lifetime of a cookie
   */
  constructor(
    private readonly secret: Uint8Array = randomBytes(32),
    private readonly ttlSeconds = 60,
  ) {}

  /** Creates a cookie for `claims` at time `nowMs`. */
  issue(claims: CookieClaims, nowMs: number): Uint8Array {
    const w = new ByteWriter(COOKIE_LENGTH);
    w.u8(1).u32(Math.floor(nowMs / 1000) + this.ttlSeconds).bytes(randomBytes(16));
    w.u8(claims.tls ? 1 : 0).u8(claims.multiConn & 0xff).string8(claims.screenName);
    w.block8(encodeText(claims.clientId ?? '').subarray(0, MAX_CLIENT_ID_BYTES));
    const signed = w.finish().slice();
    const mac = this.mac(signed);
    const out = new Uint8Array(COOKIE_LENGTH);
    out.set(signed, 0);
    out.set(mac, signed.length);
    return out;
  }

  /** Verifies a cookie (signature in constant time, expiry, single use); undefined when invalid. */
  redeem(cookie: Uint8Array, nowMs: number): CookieClaims | undefined {
    try {
      const r = new ByteReader(cookie);
      if (r.u8() !== 1) return undefined;
      const expiry = r.u32();
      const nonce = r.bytes(16);
      const flags = r.u8();
      const multiConn = r.u8();
      const sn = r.string8();
      const clientId = r.string8();
      const signedLen = r.offset;
      const mac = r.bytes(32);
      const expect = this.mac(cookie.subarray(0, signedLen));
      if (!timingSafeEqual(mac, expect)) return undefined;
      const nowS = Math.floor(nowMs / 1000);
      if (nowS > expiry) return undefined;
      this.sweep(nowS);
      const id = Buffer.from(nonce).toString('hex');
      if (this.used.has(id)) return undefined;
      this.used.set(id, expiry);
      return { screenName: sn, tls: (flags & 1) !== 0, multiConn, ...(clientId ? { clientId } : {}) };
    } catch (e) {
      if (WireError.is(e)) return undefined;
      throw e;
    }
  }

  private mac(data: Uint8Array): Uint8Array {
    return createHmac('sha256', this.secret).update(data).digest();
  }

  private sweep(nowS: number): void {
    if (this.used.size < 1024) return;
    for (const [id, exp] of this.used) if (exp < nowS) this.used.delete(id);
  }
}
