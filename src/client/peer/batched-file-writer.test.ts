import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BatchedFileWriter, WRITE_BATCH_BYTES } from './batched-file-writer.js';

const dir = mkdtempSync(join(tmpdir(), 'certim-bfw-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** Feeds `data` to a writer in chunks of the given sizes (cycled), awaiting what `add` returns, then closes it. */
async function writeInChunks(path: string, data: Buffer, sizes: number[], at = 0): Promise<number> {
  const fh = await open(path, 'r+');
  let waits = 0;
  try {
    const w = new BatchedFileWriter(fh, at, data.length);
    for (let i = 0, k = 0; i < data.length; k++) {
      const n = Math.min(sizes[k % sizes.length]!, data.length - i);
      const r = w.add(data.subarray(i, i + n));
      if (r) {
        waits++;
        await r;
      }
      i += n;
    }
    await w.close();
  } finally {
    await fh.close();
  }
  return waits;
}

test('BatchedFileWriter writes every byte in place, whatever the chunk sizes across batch boundaries', async () => {
  const data = randomBytes(3 * WRITE_BATCH_BYTES + 12_345);
  for (const sizes of [[16_384], [1, 65_537, 7], [WRITE_BATCH_BYTES + 3], [2 * WRITE_BATCH_BYTES + 1, 5]]) {
    const path = join(dir, 'chunks');
    writeFileSync(path, Buffer.alloc(0));
    const waits = await writeInChunks(path, data, sizes);
    assert.ok(readFileSync(path).equals(data), `chunks of ${sizes.join(',')}`);
    assert.ok(waits >= 1, 'a full batch hands back a promise to await (backpressure)');
  }
});

test('BatchedFileWriter appends from a resume offset and keeps the bytes before it', async () => {
  const path = join(dir, 'resume');
  const head = randomBytes(1000);
  writeFileSync(path, head);
  const tail = randomBytes(WRITE_BATCH_BYTES + 999);
  await writeInChunks(path, tail, [4096], head.length);
  assert.ok(readFileSync(path).equals(Buffer.concat([head, tail])));
});

test('BatchedFileWriter reports a failed write (here: a read-only handle) instead of losing it', async () => {
  const path = join(dir, 'read-only');
  writeFileSync(path, Buffer.alloc(0));
  const fh = await open(path, 'r');
  try {
    const w = new BatchedFileWriter(fh, 0, 100);
    assert.equal(w.add(Buffer.from('0123456789')), undefined, 'a batch that is not full has nothing to wait for');
    await assert.rejects(w.close(), /EBADF/);
  } finally {
    await fh.close();
  }
});
