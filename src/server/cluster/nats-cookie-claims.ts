/**
 * Cluster-wide single use of BOS/service cookies (docs/protocol.md §2.1). A cookie is single-use on the node that
 * redeems it (auth/cookie.ts keeps the nonces it has seen), but with several nodes sharing the cookie key, a cookie
 * captured on the plain port could be redeemed once more at each other node within its lifetime. This module
 * claims a cookie's nonce in a JetStream KV bucket with create-only semantics: exactly one claim in the cluster
 * succeeds; entries expire with the bucket's max age (longer than any cookie lives).
 *
 * Wired by join-cluster.ts into the engine (`cookieClaims`): server/net/connection.ts claims the nonce after
 * `cookies.redeem` succeeds and refuses the connection when the claim resolves false or rejects (fail closed).
 */
import { Kvm, type KV } from '@nats-io/kv';
import type { ClusterConnection } from './nats-connection.js';

/** Claims cookie nonces once per cluster. */
export class NatsCookieClaims {
  private constructor(private readonly kv: KV) {}

  /** Opens (or creates) the claims bucket; `maxAgeMs` must exceed the cookie lifetime. */
  static async open(conn: ClusterConnection, maxAgeMs = 5 * 60_000): Promise<NatsCookieClaims> {
    return new NatsCookieClaims(await new Kvm(conn.nc).create(conn.bucket('cookies'), { history: 1, ttl: maxAgeMs }));
  }

  /** True for the first claim of `nonce` in the cluster, false for every later one; rejects when NATS fails. */
  async claim(nonce: Uint8Array): Promise<boolean> {
    try {
      await this.kv.create(`n.${Buffer.from(nonce).toString('hex')}`, new Uint8Array(1));
      return true;
    } catch (e) {
      const code = (e as { code?: unknown }).code;
      if (code === 10071 || (e instanceof Error && /wrong last sequence|key exists/i.test(e.message))) return false;
      throw e;
    }
  }
}
