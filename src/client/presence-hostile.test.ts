/**
 * Buddy presence from a server that announces names the user never asked about (03/0B for anyone, each with a new
 * certificate-info hash): the client fetches certificates only for buddies it watches or already knows, and keeps
 * a bounded presence table. Before, every such name opened a Locate request and stayed in the table for good.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { encodeUserInfoBlocks } from '../wire/families/chat.js';
import { UserInfoBuilder } from '../wire/user-info.js';
import { CertimClient } from './client.js';
import { MemoryBuddyStore, type BuddyRecord } from './trust.js';

function arrivals(names: string[]): { family: number; subtype: number; body: Uint8Array } {
  const blocks = names.map((n, i) => new UserInfoBuilder(n).certInfoHash(new Uint8Array(16).fill(i & 0xff)).encode());
  return { family: 0x0003, subtype: 0x000b, body: encodeUserInfoBlocks(blocks) };
}

test('certificates are fetched on arrival only for watched or known buddies; the presence table stays bounded', async () => {
  const store = new MemoryBuddyStore();
  await store.put({ screenName: 'Known Pal', fingerprint: 'ab'.repeat(32), certInfoHash: '00'.repeat(16) } as BuddyRecord);
  const client = new CertimClient({
    screenName: 'me', password: 'p', server: { host: '127.0.0.1', port: 1 }, transport: () => { throw new Error('unused'); },
    caCerts: [], buddyStore: store, buddies: ['Watched Pal'],
    revocation: { state: async () => ({ status: 'unavailable' }), current: () => ({ status: 'unavailable' }), lookup: () => undefined },
  });
  const fetched: string[] = [];
  (client as unknown as { buddyCerts: (n: string) => Promise<undefined> }).buddyCerts = async (n) => {
    fetched.push(n);
    return undefined;
  };
  const onSnac = (client as unknown as { onSnac: (s: ReturnType<typeof arrivals>) => void }).onSnac.bind(client);
  onSnac(arrivals(['watchedpal', 'Known Pal', 'stranger1', 'stranger2']));
  await new Promise((r) => setTimeout(r, 20));
  assert.deepEqual(fetched.sort(), ['Known Pal', 'watchedpal']);
  assert.equal(client.buddies().length >= 4, true, 'every announced name is still shown');
  // 12 SNACs of 1,000 strangers each: the table keeps at most 5,000 names, and nothing is fetched for them.
  for (let k = 0; k < 12; k++) onSnac(arrivals(Array.from({ length: 1000 }, (_, i) => `s${k}x${i}`)));
  await new Promise((r) => setTimeout(r, 50));
  assert.equal(fetched.length, 2);
  assert.equal(client.buddies().length, 5000);
});
