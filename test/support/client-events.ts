/** Waiting on a library client's events in tests. */
import type { CertimClient, IncomingIm } from '../../src/client/client.js';

/** The next IM `c` emits, or a failure after `timeoutMs`. */
export function nextIm(c: CertimClient, timeoutMs = 30_000): Promise<IncomingIm> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error('no IM in time')), timeoutMs);
    c.once('im', (m) => {
      clearTimeout(t);
      resolve(m);
    });
  });
}
