/**
 * Delivery status, refusals, empty and long messages with real processes: a `certim server`, and `certim send` /
 * `certim listen` as separate CLI processes (docs/protocol.md §3.4, §10.4).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { TestServer, TestUser } from './support/cli-harness.js';

describe('delivery status and long messages (real server, real CLI)', { timeout: 400_000 }, () => {
  let server: TestServer;
  let alice: TestUser;
  let bob: TestUser;

  before(async () => {
    server = await TestServer.start();
    alice = await server.enrolledUser('alice');
    bob = await server.enrolledUser('bob');
  });

  after(async () => {
    await server?.stop();
  });

  it('says "stored" for an offline buddy, and bob gets it when he signs on', async () => {
    const r = await alice.run(['send', 'bob', 'waiting for you', '--json']);
    assert.equal(r.code, 0, r.stderr);
    const out = JSON.parse(r.stdout) as Record<string, unknown>;
    assert.equal(out.delivery, 'stored');
    assert.equal(out.secure, true);
    const human = await alice.run(['send', 'bob', 'and another']);
    assert.match(human.stdout, /sent to bob: encrypted and signed .* — bob is offline: stored on the server until they sign on/);
    const listen = await bob.run(['listen', '--json', '--count', '2']);
    assert.deepEqual(listen.stdout.trim().split('\n').map((l) => (JSON.parse(l) as { text: string }).text), ['waiting for you', 'and another']);
  });

  it('says "delivered" when bob is signed on', async () => {
    const listen = bob.start(['listen', '--json', '--count', '1']);
    await listen.waitFor((_o, e) => e.includes('waiting for IMs'), 'bob signed on');
    const r = await alice.run(['send', 'bob', 'you are here', '--json']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal((JSON.parse(r.stdout) as { delivery: string }).delivery, 'delivered');
    assert.equal((await listen.finish()).code, 0);
  });

  it('refuses a user that does not exist, and never suggests plaintext for them', async () => {
    for (const extra of [[], ['--allow-plaintext']]) {
      const r = await alice.run(['send', 'nosuchuser', 'hello?', ...extra]);
      assert.equal(r.code, 1, r.stdout);
      assert.match(r.stderr, /there is no user nosuchuser/);
      assert.match(r.stderr, /\[NO_SUCH_USER\]/);
      assert.doesNotMatch(r.stderr, /plaintext/i);
    }
  });

  it('does not send an empty message', async () => {
    for (const text of ['', '   ']) {
      const r = await alice.run(['send', 'bob', text]);
      assert.equal(r.code, 2);
      assert.match(r.stderr, /nothing to send: the message is empty/);
    }
  });

  it('sends a 20,000-character message (emoji, CJK) in parts; bob gets it joined, verified and exact', async () => {
    const text = Array.from({ length: 1000 }, (_, i) => `${i} 漢字😀 long`).join(' ').slice(0, 20_000);
    const listen = bob.start(['listen', '--json', '--count', '1']);
    await listen.waitFor((_o, e) => e.includes('waiting for IMs'), 'bob signed on');
    const r = await alice.run(['send', 'bob', '-', '--json'], {}, { input: `${text}\n` });
    assert.equal(r.code, 0, r.stderr);
    const sent = JSON.parse(r.stdout) as { parts: number; delivery: string };
    assert.ok(sent.parts > 2, `parts: ${sent.parts}`);
    assert.equal(sent.delivery, 'delivered');
    const done = await listen.finish();
    assert.equal(done.code, 0, done.stderr);
    const [im] = listen.jsonLines();
    assert.equal(im?.verdict, 'verified');
    assert.equal(im?.text, text);
  });

  it('a message too long for the most parts is refused up front with the limit', async () => {
    const r = await alice.run(['send', 'bob', '-'], {}, { input: 'x'.repeat(400_000) });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /the message is too long: 400000 characters; at most about \d+ fit/);
    assert.match(r.stderr, /MESSAGE_TOO_LONG/);
  });
});
