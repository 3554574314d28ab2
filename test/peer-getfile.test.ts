/**
 * Get File over TLS (docs/protocol.md §15.2) with real processes: a real server, bob's `certim file share DIR
 * --json`, alice's `certim file get` listing and fetching; a requester (in process) asking for paths outside the
 * share and through a symlink leading outside gets certim's refusal and the owner sees it; and an owner presenting a
 * certificate other than bob's published one is refused before anything is listed.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, readdir, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { CertimClient } from '../src/client/client.js';
import { loadIdentity, openClient } from '../src/client/node/account.js';
import { ProfileDir } from '../src/client/node/profile.js';
import { CAP_GET_FILE, ShareServer } from '../src/client/peer/getfile-manager.js';
import { PeerReader } from '../src/client/peer/getfile-reader.js';
import { openPeerConnection } from '../src/client/peer/peer-connection.js';
import { encodeGetFileServiceData, GETFILE_REFUSED_TYPE, GetFileRefusal, joinGetFilePath } from '../src/wire/getfile.js';
import { OftType, encodeOftHeader, oftHeader } from '../src/wire/oft.js';
import { TestServer, type RunningCli, type TestUser } from './support/cli-harness.js';

describe('Get File over a pinned TLS peer connection', { timeout: 400_000 }, () => {
  let server: TestServer;
  let alice: TestUser;
  let bob: TestUser;
  let carol: TestUser;
  let share: string;
  let sharing: RunningCli;
  const clients: CertimClient[] = [];
  let env: Record<string, string>;

  before(async () => {
    server = await TestServer.start();
    [alice, bob, carol] = [await server.enrolledUser('alice'), await server.enrolledUser('bob'), await server.enrolledUser('carol')];
    env = { CERTIM_PROXY: `127.0.0.1:${server.ready.proxy}` };
    share = join(server.tmp, 'bob-share');
    await mkdir(join(share, 'docs', 'deep'), { recursive: true });
    await writeFile(join(share, 'hello.txt'), 'hello from bob\n');
    await writeFile(join(share, 'docs', 'big.bin'), Buffer.alloc(300_000, 0x5a));
    await writeFile(join(share, 'docs', 'deep', 'note.txt'), 'deep note');
    await writeFile(join(server.tmp, 'secret.txt'), 'bob did not share this');
    await symlink(join(server.tmp, 'secret.txt'), join(share, 'escape.txt'));
    sharing = bob.start(['file', 'share', share, '--json'], env);
    await sharing.waitFor((out) => out.includes('"event":"sharing"'), 'bob sharing');
  });

  after(async () => {
    for (const c of clients) c.close();
    await sharing?.stop();
    await server?.stop();
  });

  it('alice lists bob\'s share and fetches a file and a folder; bob sees who fetched what', async () => {
    const list = await alice.run(['file', 'get', 'bob', '--json'], env);
    assert.equal(list.code, 0, list.stderr);
    const entries = (JSON.parse(list.stdout.trim().split('\n').at(-1)!) as { entries: { name: string; directory: boolean; size: number }[] }).entries;
    assert.deepEqual(entries.map((e) => [e.name, e.directory, e.size]), [['docs', true, 0], ['hello.txt', false, 15]]); // no escape.txt

    const dest = await mkdtemp(join(server.tmp, 'alice-dl-'));
    const one = await alice.run(['file', 'get', 'bob', 'hello.txt', '--dir', dest], env);
    assert.equal(one.code, 0, one.stderr);
    assert.match(one.stderr, /TLS pinned to/);
    assert.equal(await readFile(join(dest, 'hello.txt'), 'utf8'), 'hello from bob\n');
    const dir = await alice.run(['file', 'get', 'bob', 'docs', '--dir', dest], env);
    assert.equal(dir.code, 0, dir.stderr);
    assert.deepEqual(await readFile(join(dest, 'docs', 'big.bin')), Buffer.alloc(300_000, 0x5a));
    assert.equal(await readFile(join(dest, 'docs', 'deep', 'note.txt'), 'utf8'), 'deep note');
    // Fetching again never overwrites.
    const again = await alice.run(['file', 'get', 'bob', 'hello.txt', '--dir', dest], env);
    assert.equal(again.code, 1, again.stderr);
    assert.match(again.stderr, /already exists; not overwritten/);
    assert.deepEqual((await readdir(dest)).sort(), ['docs', 'hello.txt']);

    await sharing.waitFor((out) => out.includes('/docs/deep/note.txt'), 'bob sees the fetches');
    const fetched = sharing.jsonLines().filter((l) => l.event === 'fetch').map((l) => [l.from, l.path, l.bytes]);
    assert.deepEqual(fetched, [['alice', '/hello.txt', 15], ['alice', '/docs/big.bin', 300_000], ['alice', '/docs/deep/note.txt', 9]]);
    // A path the user types outside the share is refused before asking.
    const bad = await alice.run(['file', 'get', 'bob', '../secret.txt', '--dir', dest], env);
    assert.equal(bad.code, 2, bad.stderr);
  });

  it('the owner refuses paths outside the share and a symlink leading outside, and keeps serving', async () => {
    const { client: a } = await openClient(new ProfileDir(alice.profile), { password: alice.password, passphrase: alice.passphrase, buddies: ['bob'], client: { reconnect: false } });
    clients.push(a);
    await a.connect();
    // A hostile requester: the rendezvous and TLS as usual, then raw OFT2 requests no certim client would send.
    const conn = await openPeerConnection({ client: a, role: 'propose', to: 'bob', capability: CAP_GET_FILE, serviceData: encodeGetFileServiceData(), proxy: { host: '127.0.0.1', port: server.ready.proxy } });
    const reader = new PeerReader(conn.socket, 'raw');
    const first = await reader.header(10_000);
    assert.equal(first.type, OftType.GetFileList);
    conn.socket.write(encodeOftHeader({ ...first, type: OftType.GetFileListAck }));
    await reader.exactly(first.size, 10_000);
    conn.socket.write(encodeOftHeader({ ...first, type: OftType.GetFileListReceived, flags: first.flags | 1 }));
    const ask = async (name: string): Promise<number> => {
      conn.socket.write(encodeOftHeader(oftHeader({ type: OftType.GetFileRequestFile, cookie: conn.cookie, name, totalFiles: 0, filesLeft: 0 })));
      const h = await reader.header(10_000);
      assert.equal(h.type, GETFILE_REFUSED_TYPE, `refusal for ${JSON.stringify(name)}`);
      return h.bytesReceived;
    };
    assert.equal(await ask(joinGetFilePath(['..', 'secret.txt'])), GetFileRefusal.Refused);
    assert.equal(await ask(`${server.tmp}/secret.txt`), GetFileRefusal.Refused); // an absolute path
    assert.equal(await ask('escape.txt'), GetFileRefusal.Refused); // the symlink leading outside
    assert.equal(await ask('NUL'), GetFileRefusal.Refused);
    // Still serving on the same connection.
    conn.socket.write(encodeOftHeader(oftHeader({ type: OftType.GetFileRequestFile, cookie: conn.cookie, name: 'hello.txt', totalFiles: 0, filesLeft: 0 })));
    const prompt = await reader.header(10_000);
    assert.deepEqual([prompt.type, prompt.size, prompt.name], [OftType.Prompt, 15, 'hello.txt']);
    conn.socket.destroy();
    await sharing.waitFor((out) => (out.match(/"event":"refused"/g) ?? []).length >= 4, 'bob sees the refusals');
    const refused = sharing.jsonLines().filter((l) => l.event === 'refused');
    assert.ok(refused.every((l) => l.from === 'alice'));
    assert.ok(refused.some((l) => l.path === '/escape.txt' && /outside the shared folder/.test(String(l.reason))));
    assert.ok(!sharing.stdout.includes('bob did not share this'));
  });

  it('an owner presenting a certificate other than bob\'s published one is refused: nothing is listed', async () => {
    // "bob" answers with carol's signing key and certificate (as a stolen session or a MITM at the proxy would).
    const { client: b } = await openClient(new ProfileDir(bob.profile), { password: bob.password, passphrase: bob.passphrase, client: { reconnect: false } });
    clients.push(b);
    const carolId = await loadIdentity(new ProfileDir(carol.profile), carol.passphrase);
    const impostor = Object.create(b, { identity: { get: () => carolId } }) as CertimClient;
    await sharing.stop(); // the real share would answer too
    await b.connect();
    const fake = new ShareServer(impostor, { root: share, peer: { proxy: { host: '127.0.0.1', port: server.ready.proxy } } });
    const errors: Error[] = [];
    fake.on('error', (e) => errors.push(e.error));
    await fake.start();
    try {
      const r = await alice.run(['file', 'get', 'bob', '--json'], env);
      assert.equal(r.code, 1, r.stdout + r.stderr);
      const { certFingerprint, formatFingerprint } = await import('../src/client/trust.js');
      assert.match(r.stderr, /presented certificate .*, not bob's current published certificate .*; connection refused \[PEER_CERT_MISMATCH\]/);
      assert.ok(r.stderr.includes(formatFingerprint(certFingerprint(carolId.signing.certDer))), 'the certificate named is the one presented (carol\'s)');
      assert.doesNotMatch(r.stdout, /hello\.txt/);
    } finally {
      fake.stop();
    }
  });
});
