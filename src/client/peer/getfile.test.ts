import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtemp, mkdir, readFile, readdir, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { encodeGetFileList, GETFILE_REFUSED_TYPE, GetFileRefusal, joinGetFilePath } from '../../wire/getfile.js';
import { OftFlag, OftType, encodeOftHeader, oftChecksum, oftHeader } from '../../wire/oft.js';
import { GetFileClient } from './getfile-client.js';
import { PeerReader } from './getfile-reader.js';
import { serveShare, type ShareEvent } from './getfile-share.js';
import { within } from './deadline.test-support.js';
import { makeTestCa, testPeerIdentity, tlsPair, type TestPeerIdentity } from './odc-tls-pair.test-support.js';
import type { TestCa } from '../../pki/test-ca.test-support.js';

const COOKIE = Uint8Array.from([8, 7, 6, 5, 4, 3, 2, 1]);
let ca: TestCa;
let owner: TestPeerIdentity;
let requester: TestPeerIdentity;
let base: string;
let share: string;

before(async () => {
  ca = await makeTestCa('getfile');
  [owner, requester] = await Promise.all([testPeerIdentity(ca, 'bob'), testPeerIdentity(ca, 'alice')]);
  base = await mkdtemp(join(tmpdir(), 'certim-getfile-'));
  share = join(base, 'share');
  await mkdir(join(share, 'docs', 'deep'), { recursive: true });
  await writeFile(join(share, 'hello.txt'), 'hello from bob\n');
  await writeFile(join(share, 'docs', 'a.bin'), Buffer.alloc(200_001, 7));
  await writeFile(join(share, 'docs', 'deep', 'b.txt'), 'b');
  await writeFile(join(share, 'empty'), '');
  await writeFile(join(base, 'secret.txt'), 'not shared');
  await symlink(join(base, 'secret.txt'), join(share, 'escape.txt'));
  await symlink(base, join(share, 'escape-dir'));
  await symlink(join(share, 'hello.txt'), join(share, 'inside-link.txt'));
  execFileSync('mkfifo', [join(share, 'fifo')]);
});

after(async () => {
  await rm(base, { recursive: true, force: true });
});

async function session(): Promise<{
  client: GetFileClient; events: ShareEvent[]; served: Promise<void>; close(): void; raw: ReturnType<typeof rawRequester>;
  cutOwnerAfter(bytes: number): Promise<void>;
}> {
  const p = await tlsPair(ca, requester, owner); // the requester listens (it proposed), the owner connects
  const events: ShareEvent[] = [];
  const served = serveShare({ root: share, stream: p.client, cookie: COOKIE, peer: { screenName: 'alice', fingerprint: p.serverSeen, trust: 'ca' }, onEvent: (e) => events.push(e) });
  served.catch(() => undefined);
  const client = new GetFileClient({ stream: p.server, cookie: COOKIE, peer: { screenName: 'bob', fingerprint: p.clientSeen, trust: 'ca' } });
  // The owner's socket dies once it has written `bytes` (a network cut in the middle of a file).
  const cutOwnerAfter = (bytes: number): Promise<void> => new Promise((resolve) => {
    const write = p.client.write.bind(p.client) as (b: Uint8Array) => boolean;
    let written = 0;
    (p.client as unknown as { write: (b: Uint8Array) => boolean }).write = (b) => {
      written += b.length;
      if (written < bytes) return write(b);
      p.client.destroy();
      resolve();
      return false;
    };
  });
  return { client, events, served, close: p.close, raw: rawRequester(p.server), cutOwnerAfter };
}

/** A requester that skips the client's own path checks, to see what the owner does with hostile names. */
function rawRequester(stream: import('node:stream').Duplex) {
  let reader: PeerReader | undefined; // made on first use: one reader per stream at a time
  return {
    async ask(type: number, name: string) {
      stream.write(encodeOftHeader(oftHeader({ type, cookie: COOKIE, name, totalFiles: 0, filesLeft: 0 })));
      reader ??= new PeerReader(stream, 'raw');
      return reader.header(5000);
    },
  };
}

test('listing, folder listing, file and folder fetch; the owner sees each request', async () => {
  const s = await session();
  try {
    const root = await s.client.root();
    assert.deepEqual(root.map((e) => [e.name, e.directory, e.size]), [
      ['docs', true, 0], ['empty', false, 0], ['hello.txt', false, 15], ['inside-link.txt', false, 15],
    ]);
    const docs = await s.client.list(['docs']);
    assert.deepEqual(docs.map((e) => e.name), ['a.bin', 'deep']);
    const dest = await mkdtemp(join(base, 'dl-'));
    const [f] = await s.client.fetch(['hello.txt'], dest);
    assert.equal(await readFile(f!.file, 'utf8'), 'hello from bob\n');
    const got = await s.client.fetch(['docs'], dest);
    assert.deepEqual(got.map((x) => [x.path, x.bytes]), [['/docs/a.bin', 200_001], ['/docs/deep/b.txt', 1]]);
    assert.deepEqual(await readFile(join(dest, 'docs', 'a.bin')), Buffer.alloc(200_001, 7));
    assert.equal((await s.client.fetch(['empty'], dest))[0]!.bytes, 0);
    await assert.rejects(s.client.fetch(['hello.txt'], dest), /already exists; not overwritten/);
    assert.deepEqual((await readdir(dest)).sort(), ['docs', 'empty', 'hello.txt']); // no .part left behind
    s.client.close();
    await s.served;
    assert.deepEqual(s.events.filter((e) => e.kind === 'fetch').map((e) => [e.from, e.path]), [
      ['alice', '/hello.txt'], ['alice', '/docs/a.bin'], ['alice', '/docs/deep/b.txt'], ['alice', '/empty'],
    ]);
    assert.deepEqual(s.events.filter((e) => e.kind === 'list').map((e) => e.path), ['/', '/docs', '/docs', '/docs/deep']);
  } finally {
    s.close();
  }
});

test('the owner refuses ../, absolute-looking and device names, symlinks leading outside, special files; the session goes on', async () => {
  const s = await session();
  try {
    await s.client.root(); // the unasked root listing is consumed first
    const cases: [number, string, number][] = [
      [OftType.GetFileRequestFile, joinGetFilePath(['..', 'secret.txt']), GetFileRefusal.Refused],
      [OftType.GetFileRequestFile, '/etc/passwd', GetFileRefusal.Refused], // '/' inside a segment
      [OftType.GetFileRequestDirectory, joinGetFilePath(['docs', '..', '..']), GetFileRefusal.Refused],
      [OftType.GetFileRequestFile, 'escape.txt', GetFileRefusal.Refused],
      [OftType.GetFileRequestFile, joinGetFilePath(['escape-dir', 'secret.txt']), GetFileRefusal.Refused],
      [OftType.GetFileRequestDirectory, 'escape-dir', GetFileRefusal.Refused],
      [OftType.GetFileRequestFile, 'CON', GetFileRefusal.Refused],
      [OftType.GetFileRequestFile, 'nul.txt', GetFileRefusal.Refused],
      [OftType.GetFileRequestFile, 'fifo', GetFileRefusal.NotFound],
      [OftType.GetFileRequestFile, 'missing', GetFileRefusal.NotFound],
      [OftType.GetFileRequestFile, 'docs', GetFileRefusal.NotFound],
    ];
    for (const [type, name, code] of cases) {
      const h = await s.raw.ask(type, name);
      assert.equal(h.type, GETFILE_REFUSED_TYPE, name);
      assert.equal(h.bytesReceived, code, name);
    }
    // Still serving: a good request after the refusals works (through the client, on the same connection).
    const dest = await mkdtemp(join(base, 'dl-'));
    const [f] = await s.client.fetch(['inside-link.txt'], dest);
    assert.equal(await readFile(f!.file, 'utf8'), 'hello from bob\n');
    assert.equal(s.events.filter((e) => e.kind === 'refused').length, cases.length);
    assert.ok(s.events.every((e) => e.kind !== 'fetch' || !e.path.includes('secret')));
  } finally {
    s.close();
  }
});

test('the requester checks names too: no request for ../, hostile listing entries dropped, a prompt for another path refused', async () => {
  const s = await session();
  try {
    await assert.rejects(s.client.list(['..']), /cannot ask for/);
    await assert.rejects(s.client.fetch(['..', 'x'], base), /cannot ask for|shares no/);
  } finally {
    s.close();
  }
  // A hostile owner: its listing names ../ and /etc paths, and it answers a file request with another path.
  const p = await tlsPair(ca, requester, owner);
  try {
    const ownerReader = new PeerReader(p.client, 'hostile owner');
    const list = encodeGetFileList([
      { name: '../../.bashrc', size: 1, modTime: 0, directory: false },
      { name: 'CON', size: 1, modTime: 0, directory: false },
      { name: 'ok.txt', size: 2, modTime: 0, directory: false },
    ]);
    p.client.write(encodeOftHeader(oftHeader({ type: OftType.GetFileList, cookie: COOKIE, flags: OftFlag.Default | OftFlag.FileList, size: list.length, totalSize: list.length, checksum: oftChecksum(list) })));
    const client = new GetFileClient({ stream: p.server, cookie: COOKIE, peer: { screenName: 'bob', fingerprint: p.clientSeen, trust: 'ca' } });
    const root = client.root();
    assert.equal((await ownerReader.header(5000)).type, OftType.GetFileListAck);
    p.client.write(list);
    assert.deepEqual((await root).map((e) => e.name), ['ok.txt']);
    assert.equal((await ownerReader.header(5000)).type, OftType.GetFileListReceived);
    const dest = await mkdtemp(join(base, 'dl-'));
    const fetching = client.fetchFile(['ok.txt'], dest);
    assert.equal((await ownerReader.header(5000)).type, OftType.GetFileRequestFile);
    p.client.write(encodeOftHeader(oftHeader({ type: OftType.Prompt, cookie: COOKIE, size: 2, totalSize: 2, name: joinGetFilePath(['..', 'evil']) })));
    await assert.rejects(fetching, /offered \/\.\.\/evil when asked for \/ok\.txt/);
    assert.deepEqual(await readdir(dest), []);
  } finally {
    p.close();
  }
});

test('a refused folder listing reaches the requester as a clear error', async () => {
  const s = await session();
  try {
    await assert.rejects(s.client.list(['escape-dir']), /bob refused \/escape-dir: refused \(outside the shared folder/);
    await assert.rejects(s.client.list(['missing']), /no such file or folder/);
  } finally {
    s.close();
  }
});

test('the listing flags and header are what §8.5 describes (0x1108 with the file-list flag, ack, received)', async () => {
  const p = await tlsPair(ca, requester, owner);
  try {
    const served = serveShare({ root: share, stream: p.client, cookie: COOKIE, peer: { screenName: 'alice', fingerprint: '', trust: 'ca' }, onEvent: () => undefined });
    served.catch(() => undefined);
    const r = new PeerReader(p.server, 'raw');
    const h = await r.header(5000);
    assert.equal(h.type, OftType.GetFileList);
    assert.equal(h.flags, OftFlag.Default | OftFlag.FileList);
    assert.deepEqual([...h.cookie], [...COOKIE]);
    assert.equal(h.name, '');
  } finally {
    p.close();
  }
});

test('a connection cut mid-file leaves nothing behind at the requester and is reported to the owner', async () => {
  const s = await session();
  try {
    await s.client.root();
    const dest = await mkdtemp(join(base, 'dl-'));
    const cut = s.cutOwnerAfter(100_000);
    const fetching = s.client.fetchFile(['docs', 'a.bin'], dest);
    await cut;
    await assert.rejects(fetching, /closed/);
    assert.deepEqual(await readdir(dest), []);
    await assert.rejects(s.served);
    assert.ok(s.events.some((e) => e.kind === 'failed' && e.path === '/docs/a.bin'));
  } finally {
    s.close();
  }
});

test('an idle requester is hung up on after the idle time', async () => {
  const p = await tlsPair(ca, requester, owner);
  try {
    const served = serveShare({ root: share, stream: p.client, cookie: COOKIE, peer: { screenName: 'alice', fingerprint: '', trust: 'ca' }, onEvent: () => undefined, stepMs: 100, idleMs: 100 });
    // The requester never acknowledges the listing: the owner gives up after stepMs.
    await assert.rejects(served, (e: Error & { code?: string }) => e.code === 'TIMEOUT');
  } finally {
    p.close();
  }
});

test('a requester that takes a file prompt and then reads nothing is hung up on after the step time (TIMEOUT)', { timeout: 30_000 }, async () => {
  const root = await mkdtemp(join(base, 'big-share-'));
  // Larger than what the TLS and loopback socket buffers on both sides take, so the owner must wait for the reader.
  await writeFile(join(root, 'big.bin'), Buffer.alloc(64 << 20, 1));
  const p = await tlsPair(ca, requester, owner);
  try {
    const events: ShareEvent[] = [];
    const served = serveShare({ root, stream: p.client, cookie: COOKIE, peer: { screenName: 'alice', fingerprint: '', trust: 'ca' }, onEvent: (e) => events.push(e), stepMs: 300 });
    served.catch(() => undefined);
    const r = new PeerReader(p.server, 'raw');
    const send = (h: Parameters<typeof encodeOftHeader>[0]): boolean => p.server.write(encodeOftHeader(h));
    const listing = await r.header(5000);
    send({ ...listing, type: OftType.GetFileListAck, flags: OftFlag.Default, cookie: COOKIE });
    await r.exactly(listing.size, 5000);
    send({ ...listing, type: OftType.GetFileListReceived, flags: OftFlag.Default | OftFlag.Done, cookie: COOKIE, bytesReceived: listing.size });
    send(oftHeader({ type: OftType.GetFileRequestFile, cookie: COOKIE, name: joinGetFilePath(['big.bin']), totalFiles: 0, filesLeft: 0 }));
    const prompt = await r.header(5000);
    assert.equal(prompt.type, OftType.Prompt);
    send({ ...prompt, type: OftType.Ack, cookie: COOKIE, bytesReceived: 0, receivedChecksum: oftChecksum(new Uint8Array(0)) });
    p.server.pause(); // and never reads again
    await assert.rejects(within(served, 10_000), (e: Error & { code?: string }) => e.code === 'TIMEOUT' && /read nothing/.test(e.message));
    assert.ok(events.some((e) => e.kind === 'failed' && e.path === '/big.bin'), 'the owner is told');
  } finally {
    p.close();
  }
});
