/**
 * The buddy list, blocking, away messages and profiles from the CLI, with real processes: a `certim server`,
 * `certim buddy`, `certim away`, `certim profile`, `certim send` and `certim listen` (docs/protocol.md §3.2, §3.9).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { TestServer, TestUser, type RunningCli } from './support/cli-harness.js';

describe('buddy list, blocks, away and profile (real server, real CLI)', { timeout: 400_000 }, () => {
  let server: TestServer;
  let alice: TestUser;
  let bob: TestUser;
  let aliceListen: RunningCli | undefined;

  before(async () => {
    server = await TestServer.start();
    alice = await server.enrolledUser('alice');
    bob = await server.enrolledUser('bob');
  });

  after(async () => {
    await aliceListen?.stop();
    await server?.stop();
  });

  it('adds buddies and groups, lists them with presence, removes them', async () => {
    let r = await bob.run(['buddy', 'add', 'alice', '--group', 'Friends']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /alice added to "Friends"/);
    r = await bob.run(['buddy', 'add', 'carol']);
    assert.equal(r.code, 0, r.stderr);
    aliceListen = alice.start(['listen']);
    await aliceListen.waitFor((_o, e) => e.includes('waiting for IMs'), 'alice signed on');
    r = await bob.run(['buddy', 'list']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^Friends \(1\/1\)\n {2}\* alice {2}online$/m);
    assert.match(r.stdout, /^Buddies \(0\/1\)\n {2}- carol {2}offline$/m);
    r = await bob.run(['buddy', 'remove', 'carol']);
    assert.equal(r.code, 0, r.stderr);
    r = await bob.run(['buddy', 'remove', 'carol']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /carol is not on your buddy list/);
    r = await bob.run(['buddy', 'group', 'remove', 'Friends']);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /still has 1 buddies; remove them first, or pass --with-buddies/);
    const json = JSON.parse((await bob.run(['buddy', 'list', '--json'])).stdout) as { groups: Array<{ name: string; buddies: Array<{ screenName: string; online: boolean }> }> };
    assert.deepEqual(json.groups.map((g) => [g.name, g.buddies.map((b) => [b.screenName, b.online])]), [['Friends', [['alice', true]]], ['Buddies', []]]);
  });

  it("an away message set while listen runs is what a buddy sees; the profile too; clear brings alice back", async () => {
    let r = await alice.run(['away', 'set', 'gone fishing 🎣']);
    assert.equal(r.code, 0, r.stderr);
    r = await alice.run(['profile', 'set', 'Alice, 漢字 OK']);
    assert.equal(r.code, 0, r.stderr);
    const deadline = Date.now() + 20_000;
    let seen = '';
    while (Date.now() < deadline) {
      seen = (await bob.run(['profile', 'show', 'alice'])).stdout;
      if (seen.includes('away: gone fishing 🎣') && seen.includes('profile: Alice, 漢字 OK')) break;
    }
    assert.match(seen, /^alice: away: gone fishing 🎣\nprofile: Alice, 漢字 OK$/m);
    assert.match((await bob.run(['buddy', 'list'])).stdout, /~ alice {2}away/);
    r = await alice.run(['away', 'clear']);
    assert.equal(r.code, 0, r.stderr);
    const until = Date.now() + 20_000;
    while (Date.now() < until && (await bob.run(['away', 'show', 'alice'])).stdout.includes('away:'));
    assert.match((await bob.run(['away', 'show', 'alice'])).stdout, /^alice: available$/m);
  });

  it('blocking: a blocked buddy is refused with what to do, and unblocking lets IMs through again', async () => {
    let r = await alice.run(['buddy', 'block', 'bob']);
    assert.equal(r.code, 0, r.stderr);
    r = await alice.run(['send', 'bob', 'you are blocked']);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /you block bob; unblock first \(certim buddy unblock bob/);
    assert.match(r.stderr, /\[BLOCKED\]/);
    r = await bob.run(['send', 'alice', 'let me in']);
    assert.equal(r.code, 1, 'the blocked side cannot send either');
    assert.match(r.stderr, /\[NO_SUCH_USER\]/);
    assert.doesNotMatch(r.stderr, /plaintext/i);
    assert.match((await alice.run(['buddy', 'list'])).stdout, /Blocked: bob/);
    r = await alice.run(['buddy', 'unblock', 'bob']);
    assert.equal(r.code, 0, r.stderr);
    r = await alice.run(['send', 'bob', 'welcome back', '--json']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal((JSON.parse(r.stdout) as { delivery: string }).delivery, 'stored');
  });
});
