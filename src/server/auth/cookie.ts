/**
 * The service hand-off cookie (docs/protocol.md §2.1 step 5/6, §3.1 01/05): opaque to clients, HMAC-SHA256-signed
 * by the server, short-lived and single-use. It names the service the connection that redeems it will serve (BOS
 * after login; another service after a 01/04 request) and, for chat, the room. Padded to exactly 256 bytes because
 * some clients expect that length (R).
 *
 * Layout (server-private): u8 version 2 · u32 expiry (Unix s) · 16 random bytes (nonce) · u8 flags
 * (0x01 signed on over TLS) · u8 multi-conn flag · string08 screen name · string08 service id · u8-length room
 * bytes (empty when none) · string08 client id string (at most {@link MAX_CLIENT_ID_BYTES}, for the sign-on log
 * line) · 32-byte HMAC over everything before it · zero padding to 256.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { ByteReader, ByteWriter, WireError, encodeText } from '../../wire/bytes.js';

/** Cookie length on the wire. */
export const COOKIE_LENGTH = 256;

/** Longest client id string (17/02 TLV 0x0003) a cookie carries, in bytes; longer ones are cut. */
export const MAX_CLIENT_ID_BYTES = 32;

/** What a valid cookie says. */
export interface CookieClaims {
  /** Formatted screen name that authenticated. */
  screenName: string;
  /** Whether the login happened over TLS. */
  tls: boolean;
  /** The client's 17/02 TLV 0x004A multi-conn flag (0 when absent). */
  multiConn: number;
  /** The service the redeeming connection serves ('bos' after login). */
  service: string;
  /** Service-specific target (a chat room's cookie), at most {@link MAX_COOKIE_ROOM} bytes; absent when none. */
  room?: Uint8Array;
  /** The client id string the login sent (17/02 TLV 0x0003), cut to {@link MAX_CLIENT_ID_BYTES}; for logs only. */
  clientId?: string;
}

/** What {@link CookieIssuer.redeem} returns: the claims and the cookie's nonce (for a cluster-wide single-use claim). */
export interface RedeemedCookie extends CookieClaims {
  /** The cookie's 16 random bytes; unique per cookie. */
  nonce: Uint8Array;
}

/**
 * Cluster-wide single use (docs/protocol.md §2.1): a node that shares its cookie key with others claims each redeemed
 * nonce once in the cluster. Resolves true for the first claim anywhere, false for a replay; rejects when the claim
 * cannot be decided (the connection is then refused: fail closed).
 */
export interface CookieNonceClaims {
  /** Claims `nonce`; true only for the first claim in the cluster. */
  claim(nonce: Uint8Array): Promise<boolean>;
}

/** Most bytes a cookie's room may hold (keeps the signed part well inside 256 bytes). */
export const MAX_COOKIE_ROOM = 128;

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
    const room = claims.room ?? new Uint8Array(0);
    if (room.length > MAX_COOKIE_ROOM) throw new RangeError(`cookie room of ${room.length} bytes`);
    w.u8(2).u32(Math.floor(nowMs / 1000) + this.ttlSeconds).bytes(randomBytes(16));
    w.u8(claims.tls ? 1 : 0).u8(claims.multiConn & 0xff).string8(claims.screenName).string8(claims.service);
    w.u8(room.length).bytes(room);
    w.block8(encodeText(claims.clientId ?? '').subarray(0, MAX_CLIENT_ID_BYTES));
    const signed = w.finish().slice();
    if (signed.length + 32 > COOKIE_LENGTH) throw new RangeError(`cookie claims of ${signed.length} bytes do not fit`);
    const mac = this.mac(signed);
    const out = new Uint8Array(COOKIE_LENGTH);
    out.set(signed, 0);
    out.set(mac, signed.length);
    return out;
  }

  /** Redeemed nonces remembered now (each until its cookie expires). */
  get rememberedNonces(): number {
    return this.used.size;
  }

  /** Verifies a cookie (signature in constant time, expiry, single use); undefined when invalid. */
  redeem(cookie: Uint8Array, nowMs: number): RedeemedCookie | undefined {
    try {
      const r = new ByteReader(cookie);
      if (r.u8() !== 2) return undefined;
      const expiry = r.u32();
      const nonce = r.bytes(16);
      const flags = r.u8();
      const multiConn = r.u8();
      const sn = r.string8();
      const service = r.string8();
      const room = r.bytes(r.u8());
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
      const claims: RedeemedCookie = { screenName: sn, tls: (flags & 1) !== 0, multiConn, service, nonce: nonce.slice() };
      if (room.length > 0) claims.room = room.slice();
      if (clientId) claims.clientId = clientId;
      return claims;
    } catch (e) {
      if (WireError.is(e)) return undefined;
      throw e;
    }
  }

  private mac(data: Uint8Array): Uint8Array {
    return createHmac('sha256', this.secret).update(data).digest();
  }

  /**
   * Forgets redeemed nonces whose cookies have expired (they can no longer be redeemed anyway). The map is in
   * redemption order, and every cookie lives the same TTL, so expiries are nearly in order: the sweep takes expired
   * entries from the front and stops at the first live one, O(1) per redemption amortised. A scan of the whole map
   * per redemption cost O(n) each, n growing with the redemption rate. An early-expiring entry behind a later one
   * waits at most one TTL longer.
   */
  private sweep(nowS: number): void {
    for (const [id, exp] of this.used) {
      if (exp >= nowS) return;
      this.used.delete(id);
    }
  }
}
