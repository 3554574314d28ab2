/**
 * Bench accounts: bench00000, bench00001, ... all with one password, created straight in the server's database
 * before the server starts. One scrypt hash is computed and shared (same password, so the same hash string is
 * valid for all), because hashing 1,000 times would take a minute and measure nothing about the relay. Each account
 * gets its own legacy MD5 verifier (cheap) so clients sign on with classic BUCP login on the plain port.
 */
import { hashPassword, makeLegacyVerifier } from '../../src/server/auth/password.js';
import { databaseUrlForDataDir, openStore } from '../../src/store/index.js';

/** Password of every bench account. */
export const BENCH_PASSWORD = 'bench-password';

/** Screen name of bench client i. */
export function benchScreenName(i: number): string {
  return `bench${String(i).padStart(5, '0')}`;
}

/** Creates accounts benchScreenName(0..n-1) in the SQLite database of data directory `dir`. */
export async function createBenchAccounts(dir: string, n: number): Promise<void> {
  const store = await openStore(databaseUrlForDataDir(dir));
  try {
    const passwordHash = await hashPassword(BENCH_PASSWORD);
    for (let i = 0; i < n; i++) {
      await store.accounts.create({
        screenName: benchScreenName(i),
        passwordHash,
        legacyVerifier: makeLegacyVerifier(BENCH_PASSWORD),
        legacyLoginEnabled: true,
      });
    }
  } finally {
    await store.close();
  }
}
