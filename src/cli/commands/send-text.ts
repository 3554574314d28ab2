/** Small shared pieces of `send` and `chat`: reading a message from stdin, and saying where a sent IM went. */
import type { SendResult } from '../../client/client.js';

/** Reads all of stdin as UTF-8 (for `certim send BUDDY -`), without the one trailing newline a shell adds. */
export async function readStdinText(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8').replace(/\r?\n$/, '');
}

/** "delivered" / "stored on the server until bob signs on", with the part count when there were several. */
export function deliveryWords(to: string, r: Pick<SendResult, 'delivery' | 'parts'>): string {
  const where = r.delivery === 'delivered' ? 'delivered' : `${to} is offline: stored on the server until they sign on`;
  return r.parts > 1 ? `${where} in ${r.parts} parts` : where;
}
