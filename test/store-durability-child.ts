// Child process for store-durability.test.ts: enqueues offline IMs to a SQLite store forever, printing
// "acked <id> <n>" only after each enqueue resolved — the moment the server would ack the sender. The parent
// kills it with SIGKILL mid-stream and checks that every acked message survived.
import { writeSync } from 'node:fs';
import { openStore } from '../src/store/index.js';

const path = process.argv[2];
if (!path) throw new Error('usage: store-durability-child.ts DBPATH');
const store = await openStore(`sqlite:${path}`);
if (!(await store.accounts.get('victim'))) await store.accounts.create({ screenName: 'victim', passwordHash: 'scrypt$x' });
writeSync(1, 'ready\n');
for (let n = 0; ; n++) {
  const payload = new Uint8Array(200).fill(n & 0xff);
  const m = await store.offline.enqueue(
    { recipient: 'victim', sender: 'sender', channel: 1, cookie: new Uint8Array(8).fill(n & 0xff), payload, sentAt: n },
    1_000_000,
  );
  writeSync(1, `acked ${m.id} ${n}\n`); // synchronous: the parent never sees an ack before the commit returned
}
