/**
 * File transfer with classic clients that cannot do TLS (docs/protocol.md §8.7): the explicit `--insecure-classic`
 * opt-in, between real `certim file send` / `certim file receive` processes (one of them standing in for the
 * classic side, since the opt-in proposes exactly what a classic client proposes), and the refusals without it —
 * a plain offer declined, and a classic-style accept (no TLV 0x0011) of a TLS offer ending the transfer.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { CertimClient } from '../src/client/client.js';
import { SEND_FILE_CAPABILITY } from '../src/client/peer/index.js';
import { RvType, encodeRendezvous, type RendezvousMessage } from '../src/wire/rendezvous.js';
import { jsonLines, TestServer, type RunningCli, type TestUser } from './support/cli-harness.js';
import { libraryClient, proxyArgs, startFileReceiver } from './support/file-peer.js';

describe('certim file --insecure-classic (unencrypted transfer with classic clients)', { timeout: 300_000 }, () => {
  let server: TestServer;
  let alice: TestUser;
  let bob: TestUser;
  let file: string;
  let data: Buffer;
  const libs: CertimClient[] = [];

  before(async () => {
    server = await TestServer.start();
    alice = await server.enrolledUser('alice');
    bob = await server.enrolledUser('bob');
    data = randomBytes(700_000);
    file = join(server.tmp, 'plain.bin');
    writeFileSync(file, data);
  });

  after(async () => {
    for (const c of libs) c.close();
    await server?.stop();
  });

  const receiver = (dir: string, extra: string[]): Promise<RunningCli> => startFileReceiver(bob, 'alice', dir, [...proxyArgs(server), ...extra]);

  for (const route of ['direct', 'proxy'] as const) {
    it(`both sides opted in: the file goes ${route} without TLS, every event says encrypted: false, both warn`, async () => {
      const dir = join(server.tmp, `in-plain-${route}`);
      const r = await receiver(dir, ['--insecure-classic']);
      const s = await alice.run(['file', 'send', 'bob', file, '--json', '--insecure-classic', ...proxyArgs(server), ...(route === 'proxy' ? ['--force-proxy'] : [])]);
      assert.equal(s.code, 0, s.stderr);
      const rr = await r.finish();
      assert.equal(rr.code, 0, rr.stderr);
      const sent = jsonLines(s.stdout).find((l) => l.event === 'sent')!;
      assert.deepEqual([sent.route, sent.encrypted, sent.bytes], [route, false, data.length]);
      const offer = r.jsonLines().find((l) => l.event === 'offer')!;
      assert.deepEqual([offer.encrypted, offer.trust, offer.fingerprint], [false, null, null]);
      const got = r.jsonLines().find((l) => l.event === 'received')!;
      assert.deepEqual([got.route, got.encrypted], [route, false]);
      assert.match(s.stderr, /WARNING: UNENCRYPTED transfer/);
      assert.match(rr.stderr, /WARNING: UNENCRYPTED transfer/);
      assert.ok(readFileSync(join(dir, 'plain.bin')).equals(data));
    });
  }

  it('a receiver that opted in still takes a TLS offer over TLS (the offer decides, never weaker)', async () => {
    const dir = join(server.tmp, 'in-tls-optin');
    const r = await receiver(dir, ['--insecure-classic']);
    const s = await alice.run(['file', 'send', 'bob', file, '--json', ...proxyArgs(server)]);
    assert.equal(s.code, 0, s.stderr);
    assert.equal((await r.finish()).code, 0, r.stderr);
    assert.equal(jsonLines(s.stdout).find((l) => l.event === 'sent')!.encrypted, true);
    const offer = r.jsonLines().find((l) => l.event === 'offer')!;
    assert.deepEqual([offer.encrypted, offer.trust], [true, 'ca']);
    assert.doesNotMatch(r.stderr, /UNENCRYPTED/);
  });

  it('without the opt-in a plain offer is declined (PEER_INSECURE) and nothing is written; the sender hears the decline', async () => {
    const dir = join(server.tmp, 'in-plain-refused');
    const r = await receiver(dir, []);
    const s = await alice.run(['file', 'send', 'bob', file, '--json', '--insecure-classic', ...proxyArgs(server)]);
    assert.equal(s.code, 1);
    const err = jsonLines(s.stdout).find((l) => l.event === 'error')!;
    assert.equal(err.code, 'PEER_CANCELLED', JSON.stringify(err));
    const rr = await r.finish();
    assert.equal(rr.code, 1);
    const refused = r.jsonLines().find((l) => l.event === 'refused')!;
    assert.deepEqual([refused.code, refused.encrypted], ['PEER_INSECURE', false]);
    assert.match(String(refused.reason), /WITHOUT encryption.*--insecure-classic/);
    assert.deepEqual(readdirSync(dir), []);
  });

  it('a TLS offer accepted the classic way (accept without TLV 0x0011) ends at once with PEER_INSECURE and a cancel', async () => {
    // bob's library session plays a classic client: it accepts without 0x0011 and never connects.
    const b = await libraryClient(bob);
    libs.push(b);
    const seen: RendezvousMessage[] = [];
    b.on('rendezvous', ({ message }) => {
      seen.push(message);
      if (message.type === RvType.Propose) void b.sendRendezvous('alice', encodeRendezvous({ type: RvType.Accept, cookie: message.cookie, capability: SEND_FILE_CAPABILITY }));
    });
    const started = Date.now();
    const s = await alice.run(['file', 'send', 'bob', file, '--json', ...proxyArgs(server)]);
    assert.equal(s.code, 1);
    const err = jsonLines(s.stdout).find((l) => l.event === 'error')!;
    assert.equal(err.code, 'PEER_INSECURE', JSON.stringify(err));
    assert.match(String(err.message), /bob accepted without TLS/);
    assert.ok(Date.now() - started < 60_000, 'no TLS timeout was waited for');
    assert.equal(seen[0]?.tls, true, 'the offer asked for TLS');
    await new Promise((res) => setTimeout(res, 500));
    assert.ok(seen.some((m) => m.type === RvType.Cancel), 'the offer was cancelled');
    b.close();
  });
});
