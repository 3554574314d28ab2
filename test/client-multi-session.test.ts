/**
 * Several sessions per user with real processes: a running `certim listen` is not kicked by `certim send` of the
 * same user, and it shows the IM that `send` sent (our own, encrypted to our key as a second recipient, copied by
 * the server with the original recipient) with a verified verdict, then the reply.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { TestServer, TestUser } from './support/cli-harness.js';

describe('several sessions per user (CLI)', { timeout: 600_000 }, () => {
  let server: TestServer;
  let alice: TestUser;
  let bob: TestUser;

  before(async () => {
    server = await TestServer.start();
    alice = new TestUser('alice', join(server.tmp, 'alice-profile'), 'alice-password-1', 'alice passphrase');
    bob = new TestUser('bob', join(server.tmp, 'bob-profile'), 'bob-password-1', 'bob passphrase');
    for (const u of [alice, bob]) {
      await server.addUser(u.name, u.password);
      const r = await u.keysInit(server);
      assert.equal(r.code, 0, r.stderr);
    }
  });

  after(async () => {
    await server?.stop();
  });

  it('send does not kick a running listen of the same user, which shows the sent IM and then the reply', async () => {
    const listen = alice.start(['listen', '--json', '--count', '2']);
    await listen.waitFor((_o, e) => e.includes('waiting for IMs'), 'alice listening');
    const bobListen = bob.start(['listen', '--json', '--count', '1']);
    await bobListen.waitFor((_o, e) => e.includes('waiting for IMs'), 'bob listening');
    const m = `MARKER-${randomBytes(6).toString('hex')}`;
    const sent = await alice.run(['send', 'bob', `from my other terminal ${m}`]);
    assert.equal(sent.code, 0, sent.stderr);
    await listen.waitFor((o) => o.includes(m), 'alice listen shows her own IM');
    assert.equal((await bobListen.finish()).code, 0);
    assert.equal(bobListen.jsonLines()[0]?.text, `from my other terminal ${m}`);
    const reply = await bob.run(['send', 'alice', `reply ${m}`]);
    assert.equal(reply.code, 0, reply.stderr);
    const done = await listen.finish();
    assert.equal(done.code, 0, done.stderr);
    assert.doesNotMatch(done.stderr, /signed off/);
    const [own, got] = listen.jsonLines();
    assert.deepEqual([own?.from, own?.to, own?.text, own?.verdict], ['alice', 'bob', `from my other terminal ${m}`, 'verified']);
    assert.deepEqual([got?.from, got?.to, got?.text, got?.verdict], ['bob', undefined, `reply ${m}`, 'verified']);
  });
});

describe('a server that allows one session per account (CLI, --max-sessions 1)', { timeout: 600_000 }, () => {
  let server: TestServer;
  let carol: TestUser;

  before(async () => {
    server = await TestServer.start([], ['--max-sessions', '1']);
    carol = new TestUser('carol', join(server.tmp, 'carol-profile'), 'carol-password-1', 'carol passphrase');
    await server.addUser(carol.name, carol.password);
    const r = await carol.keysInit(server);
    assert.equal(r.code, 0, r.stderr);
  });

  after(async () => {
    await server?.stop();
  });

  it('send while a listen runs is refused with the reason, and the listen keeps running', async () => {
    const listen = carol.start(['listen', '--json']);
    await listen.waitFor((_o, e) => e.includes('waiting for IMs'), 'carol listening');
    const sent = await carol.run(['send', 'carol', 'hello']);
    assert.notEqual(sent.code, 0);
    assert.match(sent.stderr, /carol is already signed on in 1 place, the most this server allows; sign off one of them/);
    assert.equal(listen.child.exitCode, null, 'the running listen is not kicked');
    assert.doesNotMatch(listen.stderr, /signed off/);
    await listen.stop();
    // With the listen gone, the place is free again.
    const again = await carol.run(['send', 'carol', 'hello again']);
    assert.doesNotMatch(again.stderr, /already signed on/);
  });
});
